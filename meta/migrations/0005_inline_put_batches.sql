-- Small PUTs committed in batches (issue 5). At concurrency 16 a 4 KiB PUT cost ~800 µs of PostgreSQL CPU, about a
-- third of it per transaction rather than per row: the round trip, the statement's start, the commit and its WAL
-- flush, and waking the backend. meta/src/pg/versions.ts (putInlineVersion) now gathers the small PUTs that arrive
-- while a batch is being committed and commits them together in one statement, each with its own outcome.

-- A 4 KiB object's part row stays in the parts heap, whole: no attempt to compress (an object is usually
-- compressed already, and the attempt costs CPU on every PUT), and no second row and index entry in the TOAST table.
alter table parts alter column inline_data set storage external;
alter table parts set (toast_tuple_target = 8160);

-- The outcome of If-None-Match: * and If-Match on a write, without raising: null when it holds, else the reason
-- (exists | missing | etag). The caller holds the key lock.
create function weft_write_precondition_failure(
  p_bucket_id bigint, p_key text, p_if_none_match boolean, p_if_match text
)
returns text
language plpgsql as $$
declare
  current_etag text;
  has_current boolean;
begin
  if not coalesce(p_if_none_match, false) and p_if_match is null then
    return null;
  end if;
  select etag into current_etag from versions
  where bucket_id = p_bucket_id and key = p_key and is_current and not is_delete_marker;
  has_current := found;
  if p_if_none_match and has_current then
    return 'exists';
  end if;
  if p_if_match is not null and not has_current then
    return 'missing';
  end if;
  if p_if_match is not null and p_if_match <> '*' and current_etag is distinct from p_if_match then
    return 'etag';
  end if;
  return null;
end
$$;

-- Same contract as in 0003; one copy of the rules.
create or replace function weft_check_write_precondition(
  p_bucket_id bigint, p_key text, p_if_none_match boolean, p_if_match text
)
returns void
language plpgsql as $$
declare
  failure text := weft_write_precondition_failure(p_bucket_id, p_key, p_if_none_match, p_if_match);
begin
  if failure is not null then
    raise exception using errcode = 'WF412', message = failure;
  end if;
end
$$;

-- Whole objects kept inline, several in one statement. Each item of p_items is {bucketName, owner, key, versionId,
-- storageClass, commit, dataOffset, dataLength} (commit as for weft_commit_version); its data is the slice of
-- p_inline_data that dataOffset (from 0) and dataLength name. Each is inserted complete and current under its key
-- lock, with its condition checked and what it replaces retired, exactly as a lone PUT would be; an item that cannot
-- be stored gets an error code (WF404 no such bucket, WF403 not the owner, WF412 and its reason) instead of a
-- version, and does not stop the others. Any other error aborts the statement, and the caller retries the items one
-- by one.
--
-- The items are processed in (bucket name, key) order: two batches that share keys take their key locks in the
-- same order, so they wait for each other instead of deadlocking. (Two keys whose lock hashes collide could still
-- deadlock; PostgreSQL detects it, and the caller's retry one by one resolves it.)
drop function weft_put_inline_version(text, text, text, text, text, jsonb, bytea);
create function weft_put_inline_versions(p_items jsonb, p_inline_data bytea)
returns table (item integer, version_id text, last_modified timestamptz, versioned boolean, error_code text, error_message text)
language plpgsql as $$
#variable_conflict use_column
declare
  queued record;
  item_commit jsonb;
  bucket_name text;
  bucket_row_id bigint;
  bucket_owner text;
  bucket_versioning text;
  failure text;
  row_id bigint;
begin
  for queued in
    select e.value as spec, e.ordinality::integer as position
    from jsonb_array_elements(p_items) with ordinality e
    order by e.value ->> 'bucketName' collate "C", e.value ->> 'key' collate "C", e.ordinality
  loop
    item := queued.position;
    version_id := null;
    last_modified := null;
    versioned := null;
    error_code := null;
    error_message := null;
    item_commit := queued.spec -> 'commit';
    if bucket_name is distinct from queued.spec ->> 'bucketName' then
      bucket_name := queued.spec ->> 'bucketName';
      -- no row leaves the three null
      select b.id, b.owner, b.versioning into bucket_row_id, bucket_owner, bucket_versioning
      from buckets b where b.name = bucket_name for key share;
    end if;
    if bucket_row_id is null then
      error_code := 'WF404';
      error_message := 'no such bucket';
      return next;
      continue;
    end if;
    if bucket_owner <> queued.spec ->> 'owner' then
      error_code := 'WF403';
      error_message := 'not the bucket owner';
      return next;
      continue;
    end if;
    versioned := bucket_versioning = 'Enabled';
    perform weft_lock_object_key(bucket_row_id, queued.spec ->> 'key');
    failure := weft_write_precondition_failure(bucket_row_id, queued.spec ->> 'key',
      (item_commit -> 'precondition' ->> 'ifNoneMatch')::boolean, item_commit -> 'precondition' ->> 'ifMatch');
    if failure is not null then
      error_code := 'WF412';
      error_message := failure;
      return next;
      continue;
    end if;
    perform weft_retire_current_version(bucket_row_id, queued.spec ->> 'key', queued.spec ->> 'versionId', versioned);
    insert into versions as v (
      bucket_id, key, version_id, state, is_current, storage_class, size, etag, last_modified,
      content_type, content_encoding, content_disposition, content_language, cache_control, expires, user_metadata,
      checksum_algorithm, checksum_value, checksum_type, tags
    ) values (
      bucket_row_id, queued.spec ->> 'key', queued.spec ->> 'versionId', 'complete', true, queued.spec ->> 'storageClass',
      (item_commit ->> 'size')::bigint, item_commit ->> 'etag', now(),
      item_commit ->> 'contentType', item_commit ->> 'contentEncoding', item_commit ->> 'contentDisposition',
      item_commit ->> 'contentLanguage', item_commit ->> 'cacheControl', item_commit ->> 'expires',
      coalesce(item_commit -> 'userMetadata', '{}'),
      item_commit ->> 'checksumAlgorithm', item_commit ->> 'checksumValue', item_commit ->> 'checksumType',
      coalesce(item_commit -> 'tags', '[]')
    )
    returning v.id, v.version_id, v.last_modified into row_id, version_id, last_modified;
    insert into parts (
      version_row_id, part_number, state, size, unit, k, m, inline_data, etag, committed_at, checksum_algorithm,
      checksum_value
    ) values (
      row_id, 1, 'complete', (item_commit ->> 'size')::bigint, 0, 0, 0,
      substr(p_inline_data, (queued.spec ->> 'dataOffset')::integer + 1, (queued.spec ->> 'dataLength')::integer),
      item_commit ->> 'partEtag', now(), item_commit ->> 'checksumAlgorithm', item_commit ->> 'checksumValue'
    );
    return next;
  end loop;
end
$$;
