-- The steps that change which version of a key is current, as functions, so that a commit is one statement: one
-- round trip and one WAL flush instead of one round trip per step. On a small machine each round trip wakes two
-- processes, and those wake-ups, not the SQL, were most of the cost of a small PUT or DELETE (issue 5's profile).
-- meta/src/pg/ calls them (versions.ts, uploads.ts, conditions.ts, common.ts) and documents what each guarantees.
--
-- Errors for meta to map onto typed errors: WF404 "the pending version (or the bucket) is gone", WF403 "not the
-- bucket's owner", WF412 "a write condition failed" (message: exists | missing | etag). PostgreSQL uses no class WF.

-- Deletes versions with their parts and datafiles and queues every datafile's blob for collection. The caller has
-- selected (and row-locked) the ids.
create function weft_discard_versions(p_ids bigint[]) returns integer
language plpgsql as $$
declare
  discarded integer;
begin
  -- PL/pgSQL rather than SQL: its plans are cached for the session, a SQL function's CTEs are planned on every call.
  if cardinality(p_ids) = 0 then
    return 0;
  end if;
  with gone_versions as (delete from versions where id = any (p_ids) returning id),
    gone_parts as (delete from parts where version_row_id in (select id from gone_versions) returning id),
    gone_files as (delete from datafiles where part_id in (select id from gone_parts) returning ioserver_id, blob_id),
    queued as (insert into gc_queue (ioserver_id, blob_id) select ioserver_id, blob_id from gone_files)
  select count(*)::integer into discarded from gone_versions;
  return discarded;
end
$$;

-- The object-key lock (see lockObjectKey in meta/src/pg/common.ts).
create function weft_lock_object_key(p_bucket_id bigint, p_key text) returns void
language sql as $$
  select pg_advisory_xact_lock(hashtextextended(p_key, p_bucket_id))
$$;

-- Makes room for a new current version of a key; the caller holds the key lock (see retireCurrentVersion).
create function weft_retire_current_version(p_bucket_id bigint, p_key text, p_version_id text, p_versioned boolean)
returns void
language plpgsql as $$
declare
  doomed bigint[];
begin
  select coalesce(array_agg(v.id), '{}') into doomed from (
    select id from versions
    where bucket_id = p_bucket_id and key = p_key and state = 'complete'
      and (version_id = p_version_id or (is_current and not p_versioned))
    for update
  ) v;
  perform weft_discard_versions(doomed);
  update versions set is_current = false
  where bucket_id = p_bucket_id and key = p_key and is_current and not (id = any (doomed));
end
$$;

-- If-None-Match: * and If-Match on a write (see checkWritePrecondition).
create function weft_check_write_precondition(p_bucket_id bigint, p_key text, p_if_none_match boolean, p_if_match text)
returns void
language plpgsql as $$
declare
  current_etag text;
  has_current boolean;
begin
  if not coalesce(p_if_none_match, false) and p_if_match is null then
    return;
  end if;
  select etag into current_etag from versions
  where bucket_id = p_bucket_id and key = p_key and is_current and not is_delete_marker;
  has_current := found;
  if p_if_none_match and has_current then
    raise exception using errcode = 'WF412', message = 'exists';
  end if;
  if p_if_match is not null and not has_current then
    raise exception using errcode = 'WF412', message = 'missing';
  end if;
  if p_if_match is not null and p_if_match <> '*' and current_etag is distinct from p_if_match then
    raise exception using errcode = 'WF412', message = 'etag';
  end if;
end
$$;

-- Makes a pending version complete and current (see commitVersion for the fields of p_commit).
create function weft_commit_version(p_row_id bigint, p_commit jsonb)
returns table (version_id text, last_modified timestamptz)
language plpgsql as $$
#variable_conflict use_column
declare
  pending record;
begin
  -- The key lock comes before the row lock, as everywhere else.
  select v.bucket_id, v.key, v.version_id, weft_lock_object_key(v.bucket_id, v.key) into pending
  from versions v where v.id = p_row_id and v.state = 'pending'
  for update;
  if not found then
    raise exception using errcode = 'WF404', message = 'version is not pending';
  end if;
  perform weft_check_write_precondition(pending.bucket_id, pending.key,
    (p_commit -> 'precondition' ->> 'ifNoneMatch')::boolean, p_commit -> 'precondition' ->> 'ifMatch');
  perform weft_retire_current_version(pending.bucket_id, pending.key, pending.version_id, (p_commit ->> 'versioned')::boolean);
  update versions v set
    state = 'complete', is_current = true, seq = nextval('versions_seq_seq'),
    size = (p_commit ->> 'size')::bigint, etag = p_commit ->> 'etag', last_modified = now(),
    content_type = p_commit ->> 'contentType', content_encoding = p_commit ->> 'contentEncoding',
    content_disposition = p_commit ->> 'contentDisposition', content_language = p_commit ->> 'contentLanguage',
    cache_control = p_commit ->> 'cacheControl', expires = p_commit ->> 'expires',
    user_metadata = coalesce(p_commit -> 'userMetadata', '{}'),
    checksum_algorithm = p_commit ->> 'checksumAlgorithm', checksum_value = p_commit ->> 'checksumValue',
    checksum_type = p_commit ->> 'checksumType', tags = coalesce(p_commit -> 'tags', '[]')
  where v.id = p_row_id
  returning v.version_id, v.last_modified into version_id, last_modified;
  update parts p set
    state = 'complete', etag = p_commit ->> 'partEtag', committed_at = now(), size = (p_commit ->> 'size')::bigint,
    checksum_algorithm = p_commit ->> 'checksumAlgorithm', checksum_value = p_commit ->> 'checksumValue'
  where p.version_row_id = p_row_id;
  update datafiles d set crc32c = c.crc32c, length = coalesce(c.length, d.length)
  from parts p, jsonb_to_recordset(coalesce(p_commit -> 'datafileCrcs', '[]')) as c(slot smallint, crc32c text, length bigint)
  where p.version_row_id = p_row_id and d.part_id = p.id and d.slot = c.slot;
  return next;
end
$$;

-- A whole object kept inline: nothing is written elsewhere first, so it is inserted complete and current (no pending
-- row, no second row version) under the same lock, condition and retirement as weft_commit_version. It finds the
-- bucket by name and checks its owner itself, so that a small PUT is one round trip in all.
create function weft_put_inline_version(
  p_bucket_name text, p_owner text, p_key text, p_version_id text, p_storage_class text, p_commit jsonb,
  p_inline_data bytea
)
returns table (version_id text, last_modified timestamptz, versioned boolean)
language plpgsql as $$
#variable_conflict use_column
declare
  bucket record;
  row_id bigint;
begin
  select b.id, b.owner, b.versioning into bucket from buckets b where b.name = p_bucket_name for key share;
  if not found then
    raise exception using errcode = 'WF404', message = 'no such bucket';
  end if;
  if bucket.owner <> p_owner then
    raise exception using errcode = 'WF403', message = 'not the bucket owner';
  end if;
  versioned := bucket.versioning = 'Enabled';
  perform weft_lock_object_key(bucket.id, p_key);
  perform weft_check_write_precondition(bucket.id, p_key,
    (p_commit -> 'precondition' ->> 'ifNoneMatch')::boolean, p_commit -> 'precondition' ->> 'ifMatch');
  perform weft_retire_current_version(bucket.id, p_key, p_version_id, versioned);
  insert into versions as v (
    bucket_id, key, version_id, state, is_current, storage_class, size, etag, last_modified,
    content_type, content_encoding, content_disposition, content_language, cache_control, expires, user_metadata,
    checksum_algorithm, checksum_value, checksum_type, tags
  ) values (
    bucket.id, p_key, p_version_id, 'complete', true, p_storage_class, (p_commit ->> 'size')::bigint,
    p_commit ->> 'etag', now(),
    p_commit ->> 'contentType', p_commit ->> 'contentEncoding', p_commit ->> 'contentDisposition',
    p_commit ->> 'contentLanguage', p_commit ->> 'cacheControl', p_commit ->> 'expires',
    coalesce(p_commit -> 'userMetadata', '{}'),
    p_commit ->> 'checksumAlgorithm', p_commit ->> 'checksumValue', p_commit ->> 'checksumType',
    coalesce(p_commit -> 'tags', '[]')
  )
  returning v.id, v.version_id, v.last_modified into row_id, version_id, last_modified;
  insert into parts (
    version_row_id, part_number, state, size, unit, k, m, inline_data, etag, committed_at, checksum_algorithm,
    checksum_value
  ) values (
    row_id, 1, 'complete', (p_commit ->> 'size')::bigint, 0, 0, 0, p_inline_data, p_commit ->> 'partEtag', now(),
    p_commit ->> 'checksumAlgorithm', p_commit ->> 'checksumValue'
  );
  return next;
end
$$;

-- DeleteObject without a version id (see deleteObject). Returns whether anything was deleted.
create function weft_delete_object(p_bucket_id bigint, p_key text, p_versioned boolean, p_marker_version_id text)
returns boolean
language plpgsql as $$
declare
  doomed bigint[];
begin
  perform weft_lock_object_key(p_bucket_id, p_key);
  if not p_versioned then
    select coalesce(array_agg(v.id), '{}') into doomed from (
      select id from versions where bucket_id = p_bucket_id and key = p_key and is_current for update
    ) v;
    return weft_discard_versions(doomed) > 0;
  end if;
  perform weft_retire_current_version(p_bucket_id, p_key, p_marker_version_id, true);
  insert into versions (bucket_id, key, version_id, state, is_current, is_delete_marker, storage_class, last_modified)
  values (p_bucket_id, p_key, p_marker_version_id, 'complete', true, true, 'STANDARD', now());
  return true;
end
$$;
