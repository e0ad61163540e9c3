-- A batch of small PUTs written with one statement per step for the whole batch, not per item (issue 5). The loop
-- of 0005 ran six statements per item, and PostgreSQL pays for each statement's start whatever its row count: the
-- executor's set-up, and for an INSERT the parse of every check constraint of the table from its stored text (14 for
-- versions and parts). In pg_stat_statements at concurrency 16, a batch of 8 spent ~105 µs per item inserting its
-- part, ~70 inserting its version and ~36 retiring what it replaces; inserting 8 versions and parts in one statement
-- costs about half of that per item.
--
-- The contract is that of 0005: each item is stored complete and current under its key lock, its condition checked
-- and what it replaces retired, exactly as if the items were PUT one by one in (bucket name, key, position) order;
-- an item that cannot be stored gets an error code instead of a version and does not stop the others. Items that
-- share a key are taken in rounds (the first of every key, then the second...), so that a later one replaces, or
-- is refused by the condition of, an earlier one as it would be if they came one after the other.

-- One item of a batch, as the steps below pass it on.
create type weft_inline_put as (
  position integer,
  round integer,
  bucket_name text,
  bucket_id bigint,
  versioned boolean,
  key text,
  version_id text,
  storage_class text,
  commit jsonb,
  data_offset integer,
  data_length integer
);

create or replace function weft_put_inline_versions(p_items jsonb, p_inline_data bytea)
returns table (item integer, version_id text, last_modified timestamptz, versioned boolean, error_code text, error_message text)
language plpgsql
-- As 0008: no sequential scan of versions because the statistics say it is empty.
set enable_seqscan = off
as $$
#variable_conflict use_column
declare
  batch weft_inline_put[];
  live weft_inline_put[];
  refused_positions integer[];
  refused_reasons text[];
  doomed bigint[];
  superseded bigint[];
  rounds integer;
begin
  -- The buckets first, before anything reads them: FOR KEY SHARE keeps them from being deleted under the batch.
  perform from buckets b
  where b.name in (select e.value ->> 'bucketName' from jsonb_array_elements(p_items) e)
  order by b.name collate "C"
  for key share;

  select coalesce(array_agg(row(
      e.position, e.round, e.spec ->> 'bucketName', b.id, b.versioning = 'Enabled', e.spec ->> 'key', e.spec ->> 'versionId',
      e.spec ->> 'storageClass', e.spec -> 'commit', (e.spec ->> 'dataOffset')::integer,
      (e.spec ->> 'dataLength')::integer
    )::weft_inline_put order by e.spec ->> 'bucketName' collate "C", e.spec ->> 'key' collate "C", e.position), '{}')
  into batch
  from (
    select x.value as spec, x.ordinality::integer as position,
      row_number() over (partition by x.value ->> 'bucketName', x.value ->> 'key' order by x.ordinality)::integer as round
    from jsonb_array_elements(p_items) with ordinality x
  ) e
  left join buckets b on b.name = e.spec ->> 'bucketName' and b.owner = e.spec ->> 'owner';

  -- No such bucket, or not its owner's.
  return query
  select i.position, null::text, null::timestamptz, null::boolean,
    case when exists (select from buckets b where b.name = i.bucket_name) then 'WF403' else 'WF404' end,
    case when exists (select from buckets b where b.name = i.bucket_name) then 'not the bucket owner' else 'no such bucket' end
  from unnest(batch) i
  where i.bucket_id is null;

  -- Every key's lock, in the batch's (bucket name, key) order: two batches that share keys wait for each other
  -- instead of deadlocking. unnest returns the array's elements in order. (Two keys whose lock hashes collide could
  -- still deadlock; PostgreSQL detects it, and the caller's retry one by one resolves it.)
  perform weft_lock_object_key(i.bucket_id, i.key) from unnest(batch) i where i.bucket_id is not null and i.round = 1;

  select coalesce(max(i.round), 0) into rounds from unnest(batch) i where i.bucket_id is not null;
  for current_round in 1..rounds loop
    -- The write conditions (If-None-Match, If-Match), against what is current now.
    with checked as (
      select i, case
          when (i.commit -> 'precondition' ->> 'ifNoneMatch')::boolean or i.commit -> 'precondition' ->> 'ifMatch' is not null
          then weft_write_precondition_failure(i.bucket_id, i.key,
            (i.commit -> 'precondition' ->> 'ifNoneMatch')::boolean, i.commit -> 'precondition' ->> 'ifMatch')
        end as failure
      from unnest(batch) i
      where i.bucket_id is not null and i.round = current_round
    )
    select coalesce(array_agg(c.i) filter (where c.failure is null), '{}'),
      coalesce(array_agg((c.i).position) filter (where c.failure is not null), '{}'),
      coalesce(array_agg(c.failure) filter (where c.failure is not null), '{}')
    into live, refused_positions, refused_reasons
    from checked c;

    return query
    select r.position, null::text, null::timestamptz, i.versioned, 'WF412', r.reason
    from unnest(refused_positions, refused_reasons) r(position, reason)
    join unnest(batch) i on i.position = r.position;

    -- What the new versions replace (weft_retire_current_version, for all keys at once): the same version id, or
    -- in a bucket that keeps no versions the current one, goes with its parts and datafiles; any other current
    -- version stays, superseded, as a non-current one. Each item's rows are looked up by its key in a lateral
    -- subquery, which OFFSET 0 keeps from being merged into a join: as a join, a plan made while versions was nearly
    -- empty read all of a bucket's current versions for every PUT.
    select coalesce(array_agg(r.id) filter (where r.doomed), '{}'), coalesce(array_agg(r.id) filter (where not r.doomed), '{}')
    into doomed, superseded
    from (
      select v.id, v.version_id = i.version_id or not i.versioned as doomed
      from unnest(live) i
      cross join lateral (
        select v.id, v.version_id from versions v
        where v.bucket_id = i.bucket_id and v.key = i.key and v.state = 'complete'
          and (v.version_id = i.version_id or v.is_current)
        offset 0
        for update
      ) v
    ) r;
    perform weft_discard_versions(doomed);
    update versions set is_current = false where id = any (superseded);

    -- Within a round the keys are distinct: each inserted version is matched back to its item by key.
    return query
    with inserted as (
      insert into versions as v (
        bucket_id, key, version_id, state, is_current, storage_class, size, etag, last_modified,
        content_type, content_encoding, content_disposition, content_language, cache_control, expires, user_metadata,
        checksum_algorithm, checksum_value, checksum_type, tags
      )
      select i.bucket_id, i.key, i.version_id, 'complete', true, i.storage_class, (i.commit ->> 'size')::bigint,
        i.commit ->> 'etag', now(),
        i.commit ->> 'contentType', i.commit ->> 'contentEncoding', i.commit ->> 'contentDisposition',
        i.commit ->> 'contentLanguage', i.commit ->> 'cacheControl', i.commit ->> 'expires',
        coalesce(i.commit -> 'userMetadata', '{}'),
        i.commit ->> 'checksumAlgorithm', i.commit ->> 'checksumValue', i.commit ->> 'checksumType',
        coalesce(i.commit -> 'tags', '[]')
      from unnest(live) i
      returning v.id, v.bucket_id, v.key, v.version_id, v.last_modified
    ),
    matched as (
      select n.id, n.version_id as stored_version_id, n.last_modified as stored_at, i.position, i.versioned, i.commit,
        i.data_offset, i.data_length
      from inserted n join unnest(live) i on i.bucket_id = n.bucket_id and i.key = n.key
    ),
    inserted_parts as (
      insert into parts (
        version_row_id, part_number, state, size, unit, k, m, inline_data, etag, committed_at, checksum_algorithm,
        checksum_value
      )
      select m.id, 1, 'complete', (m.commit ->> 'size')::bigint, 0, 0, 0,
        substr(p_inline_data, m.data_offset + 1, m.data_length),
        m.commit ->> 'partEtag', now(), m.commit ->> 'checksumAlgorithm', m.commit ->> 'checksumValue'
      from matched m
    )
    select m.position, m.stored_version_id, m.stored_at, m.versioned, null::text, null::text
    from matched m;
  end loop;
end
$$;
