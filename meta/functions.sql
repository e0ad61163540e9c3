-- Weft's commit rules: every PL/pgSQL function (and the one type) that decides which version of a key is current,
-- what a write replaces and what becomes garbage. This file is the current state of those rules, in one place:
-- meta/src/db.ts applies it after the migrations whenever its text changed (dropping every weft_ function first, so
-- a signature may change freely). Migrations hold tables, indexes and data; they never call these functions.
-- meta/src/pg/*.ts call them and document what each guarantees to its callers.
--
-- Why functions at all: on a small machine each round trip wakes two processes, and those wake-ups, not the SQL,
-- were most of the cost of a small PUT or DELETE (docs/performance.md). A commit is one statement.
--
-- Errors for meta to map onto typed errors: WF404 "the pending version (or the bucket) is gone", WF403 "not the
-- bucket's owner", WF412 "a write condition failed" (message: exists | missing | etag). PostgreSQL uses no class WF.
--
-- Versions (docs/architecture.md, "Versions"): every write is a row. A bucket that keeps versions (Enabled) gives a new
-- version the id minted for it; any other bucket stores it as the "null" version, which replaces the previous null
-- version wherever it sits in the key's history. Unversioned buckets keep nothing else; Suspended ones keep the
-- non-null versions written while versioning was Enabled. The newest complete row of a key (seq) is its current one.
--
-- Planner settings: functions that look a key's versions up set enable_seqscan = off. The statistics of a freshly
-- emptied table say it is empty, and the planner then prefers sequential scans: a refill ran every PUT as two scans of
-- the whole versions table until the next analyze (meta/src/versions.test.ts holds the read counts).

do $$
declare
  doomed regprocedure;
begin
  for doomed in
    select p.oid::regprocedure from pg_proc p
    where p.proname like 'weft\_%' and p.pronamespace = current_schema()::regnamespace
  loop
    execute format('drop function %s', doomed);
  end loop;
end
$$;
drop type if exists weft_inline_put;

-- The object-key lock: serializes everything that changes which version of (bucket, key) is current, until the
-- transaction ends. A row lock cannot do this alone: when a key has no version yet there is no row to lock. Hash
-- collisions only make unrelated keys wait for each other briefly.
create function weft_lock_object_key(p_bucket_id bigint, p_key text) returns void
language sql as $$
  select pg_advisory_xact_lock(hashtextextended(p_key, p_bucket_id))
$$;

-- The id a new version of a key is stored under: the one minted for it in a bucket that keeps versions, else "null".
create function weft_stored_version_id(p_versioning text, p_minted text) returns text
language sql immutable as $$
  select case when p_versioning = 'Enabled' then p_minted else 'null' end
$$;

-- Deletes versions with their parts and datafiles and queues every datafile's blob for collection. The caller has
-- selected (and row-locked) the ids. Whatever the path, a version object lock protects is never deleted: the whole
-- transaction fails with WFLCK instead (a GOVERNANCE retention gives way only to p_bypass_governance, which
-- DeleteObject passes after checking the requester may bypass it).
create function weft_discard_versions(p_ids bigint[], p_bypass_governance boolean default false) returns integer
language plpgsql as $$
declare
  discarded integer;
  locked_count integer;
begin
  -- PL/pgSQL rather than SQL: its plans are cached for the session, a SQL function's CTEs are planned on every call.
  if cardinality(p_ids) = 0 then
    return 0;
  end if;
  with gone_versions as (
      delete from versions where id = any (p_ids)
      returning id, weft_is_locked(retention_mode, retain_until, legal_hold, p_bypass_governance) as locked
    ),
    gone_parts as (delete from parts where version_row_id in (select id from gone_versions) returning id),
    gone_files as (delete from datafiles where part_id in (select id from gone_parts) returning ioserver_id, blob_id),
    queued as (insert into gc_queue (ioserver_id, blob_id) select ioserver_id, blob_id from gone_files)
  select count(*)::integer, count(*) filter (where locked)::integer into discarded, locked_count from gone_versions;
  if locked_count > 0 then
    raise exception using errcode = 'WFLCK', message = 'the version is protected by object lock';
  end if;
  return discarded;
end
$$;

-- Whether object lock keeps a version from being deleted: a legal hold, or a retention date still ahead (a GOVERNANCE
-- one unless bypassed).
create function weft_is_locked(p_mode text, p_retain_until timestamptz, p_legal_hold boolean, p_bypass_governance boolean)
returns boolean
language sql stable as $$
  select coalesce(p_legal_hold, false) or coalesce(p_retain_until > now() and (p_mode = 'COMPLIANCE' or not p_bypass_governance), false)
$$;

-- The retention a new version gets: the one its request asked for ({mode, retainUntil}), else the bucket's default
-- retention ({mode, days | years}) counted from now, else none. A json null is none, as SQL's.
create function weft_new_retention(p_requested jsonb, p_bucket_default jsonb, out mode text, out retain_until timestamptz)
language sql stable as $$
  select
    case when jsonb_typeof(p_requested) = 'object' then p_requested ->> 'mode' else p_bucket_default ->> 'mode' end,
    case
      when jsonb_typeof(p_requested) = 'object' then (p_requested ->> 'retainUntil')::timestamptz
      when jsonb_typeof(p_bucket_default) = 'object' then now() + make_interval(
        years => coalesce((p_bucket_default ->> 'years')::integer, 0), days => coalesce((p_bucket_default ->> 'days')::integer, 0))
    end
$$;

-- Makes room for a new current version of a key stored under p_version_id; the caller holds the key lock. The
-- complete version with the same id goes (a new null version replaces the old one), and so does the current version
-- when the bucket keeps no other versions (p_keeps_versions: the bucket is Enabled or Suspended); the versions that
-- go are discarded with their blobs queued. A current version that is kept stops being current.
create function weft_retire_current_version(p_bucket_id bigint, p_key text, p_version_id text, p_keeps_versions boolean)
returns void
language plpgsql
set enable_seqscan = off
as $$
declare
  doomed bigint[];
begin
  select coalesce(array_agg(v.id), '{}') into doomed from (
    select id from versions
    where bucket_id = p_bucket_id and key = p_key and state = 'complete'
      and (version_id = p_version_id or (is_current and not p_keeps_versions))
    for update
  ) v;
  perform weft_discard_versions(doomed);
  update versions set is_current = false
  where bucket_id = p_bucket_id and key = p_key and is_current and not (id = any (doomed));
end
$$;

-- After the current version of a key was removed: its newest remaining complete version (a delete marker too)
-- becomes current. The caller holds the key lock.
create function weft_promote_newest_version(p_bucket_id bigint, p_key text) returns void
language sql
set enable_seqscan = off
as $$
  update versions set is_current = true
  where id = (
    select id from versions
    where bucket_id = p_bucket_id and key = p_key and state = 'complete'
    order by seq desc
    limit 1
  )
$$;

-- The outcome of If-None-Match: * and If-Match on a write, without raising: null when it holds, else the reason
-- (exists | missing | etag). A delete marker counts as no object. The caller holds the key lock.
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

-- weft_write_precondition_failure, raising WF412 with the reason (see checkWritePrecondition).
create function weft_check_write_precondition(p_bucket_id bigint, p_key text, p_if_none_match boolean, p_if_match text)
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

-- Makes a pending version complete and current (see commitVersion for the fields of p_commit). The bucket's
-- versioning state at this moment decides the stored version id (weft_stored_version_id) and what is replaced.
create function weft_commit_version(p_row_id bigint, p_commit jsonb)
returns table (version_id text, last_modified timestamptz, versioning text)
language plpgsql
set enable_seqscan = off
as $$
#variable_conflict use_column
declare
  pending record;
  stored_id text;
  bucket_default_retention jsonb;
  retention record;
begin
  -- The key lock comes before the row lock, as everywhere else.
  select v.bucket_id, v.key, v.version_id, weft_lock_object_key(v.bucket_id, v.key) into pending
  from versions v where v.id = p_row_id and v.state = 'pending'
  for update;
  if not found then
    raise exception using errcode = 'WF404', message = 'version is not pending';
  end if;
  select b.versioning, b.default_retention into versioning, bucket_default_retention from buckets b where b.id = pending.bucket_id;
  stored_id := weft_stored_version_id(versioning, pending.version_id);
  select * into retention from weft_new_retention(p_commit -> 'retention', bucket_default_retention);
  perform weft_check_write_precondition(pending.bucket_id, pending.key,
    (p_commit -> 'precondition' ->> 'ifNoneMatch')::boolean, p_commit -> 'precondition' ->> 'ifMatch');
  perform weft_retire_current_version(pending.bucket_id, pending.key, stored_id, versioning <> 'Unversioned');
  update versions v set
    state = 'complete', is_current = true, seq = nextval('versions_seq_seq'), version_id = stored_id,
    size = (p_commit ->> 'size')::bigint, etag = p_commit ->> 'etag', last_modified = now(),
    content_type = p_commit ->> 'contentType', content_encoding = p_commit ->> 'contentEncoding',
    content_disposition = p_commit ->> 'contentDisposition', content_language = p_commit ->> 'contentLanguage',
    cache_control = p_commit ->> 'cacheControl', expires = p_commit ->> 'expires',
    user_metadata = coalesce(p_commit -> 'userMetadata', '{}'),
    checksum_algorithm = p_commit ->> 'checksumAlgorithm', checksum_value = p_commit ->> 'checksumValue',
    checksum_type = p_commit ->> 'checksumType', tags = coalesce(p_commit -> 'tags', '[]'),
    acl = p_commit -> 'acl', object_owner = p_commit ->> 'objectOwner',
    retention_mode = retention.mode, retain_until = retention.retain_until, legal_hold = (p_commit ->> 'legalHold')::boolean
  where v.id = p_row_id
  returning v.version_id, v.last_modified into version_id, last_modified;
  update parts p set
    state = 'complete', etag = p_commit ->> 'partEtag', committed_at = now(),
    -- An encrypted part stores more bytes than its plaintext (partSize); versions.size stays the plaintext's.
    size = coalesce((p_commit ->> 'partSize')::bigint, (p_commit ->> 'size')::bigint),
    checksum_algorithm = p_commit ->> 'checksumAlgorithm', checksum_value = p_commit ->> 'checksumValue'
  where p.version_row_id = p_row_id;
  update datafiles d set crc32c = c.crc32c, length = coalesce(c.length, d.length)
  from parts p, jsonb_to_recordset(coalesce(p_commit -> 'datafileCrcs', '[]')) as c(slot smallint, crc32c text, length bigint)
  where p.version_row_id = p_row_id and d.part_id = p.id and d.slot = c.slot;
  return next;
end
$$;

-- One item of an inline PUT batch, as the steps of weft_put_inline_versions pass it on.
create type weft_inline_put as (
  position integer,
  round integer,
  bucket_name text,
  bucket_id bigint,
  versioning text,
  key text,
  version_id text,
  storage_class text,
  commit jsonb,
  data_offset integer,
  data_length integer,
  default_retention jsonb
);

-- Whole objects kept inline (nothing is written elsewhere first, so each is inserted complete and current), several
-- in one statement with one statement per step for the whole batch: PostgreSQL pays for each statement's start
-- whatever its row count, and at concurrency 16 that start was most of a small PUT's cost (docs/performance.md).
--
-- Each item of p_items is {bucketName, owner, key, versionId (minted), storageClass (absent: the bucket's default class,
-- else defaultStorageClass), defaultStorageClass, commit, dataOffset, dataLength}
-- (commit as for weft_commit_version); its data is the slice of p_inline_data that dataOffset (from 0) and
-- dataLength name. Each item is stored exactly as if the items were PUT one by one in (bucket name, key, position)
-- order: under its key lock, its condition checked and what it replaces retired. An item that cannot be stored gets
-- an error code (WF404 no such bucket, WF403 not the owner, WF412 and its reason) instead of a version and does not
-- stop the others. Items that share a key are taken in rounds (the first of every key, then the second...), so that
-- a later one replaces, or is refused by the condition of, an earlier one. Any other error aborts the statement, and
-- the caller retries the items one by one.
create function weft_put_inline_versions(p_items jsonb, p_inline_data bytea)
returns table (item integer, version_id text, last_modified timestamptz, versioning text, error_code text, error_message text)
language plpgsql
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
      e.position, e.round, e.spec ->> 'bucketName', b.id, b.versioning, e.spec ->> 'key',
      weft_stored_version_id(b.versioning, e.spec ->> 'versionId'),
      coalesce(e.spec ->> 'storageClass', b.default_storage_class, e.spec ->> 'defaultStorageClass'), e.spec -> 'commit',
      (e.spec ->> 'dataOffset')::integer,
      (e.spec ->> 'dataLength')::integer,
      b.default_retention
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
  select i.position, null::text, null::timestamptz, null::text,
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
    select r.position, null::text, null::timestamptz, i.versioning, 'WF412', r.reason
    from unnest(refused_positions, refused_reasons) r(position, reason)
    join unnest(batch) i on i.position = r.position;

    -- What the new versions replace (weft_retire_current_version, for all keys at once). Each item's rows are looked
    -- up by its key in a lateral subquery, which OFFSET 0 keeps from being merged into a join: as a join, a plan made
    -- while versions was nearly empty read all of a bucket's current versions for every PUT.
    select coalesce(array_agg(r.id) filter (where r.doomed), '{}'), coalesce(array_agg(r.id) filter (where not r.doomed), '{}')
    into doomed, superseded
    from (
      select v.id, v.version_id = i.version_id or i.versioning = 'Unversioned' as doomed
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
        checksum_algorithm, checksum_value, checksum_type, tags, acl, object_owner, retention_mode, retain_until, legal_hold
      )
      select i.bucket_id, i.key, i.version_id, 'complete', true, i.storage_class, (i.commit ->> 'size')::bigint,
        i.commit ->> 'etag', now(),
        i.commit ->> 'contentType', i.commit ->> 'contentEncoding', i.commit ->> 'contentDisposition',
        i.commit ->> 'contentLanguage', i.commit ->> 'cacheControl', i.commit ->> 'expires',
        coalesce(i.commit -> 'userMetadata', '{}'),
        i.commit ->> 'checksumAlgorithm', i.commit ->> 'checksumValue', i.commit ->> 'checksumType',
        coalesce(i.commit -> 'tags', '[]'), i.commit -> 'acl', i.commit ->> 'objectOwner',
        r.mode, r.retain_until, (i.commit ->> 'legalHold')::boolean
      from unnest(live) i
      cross join lateral weft_new_retention(i.commit -> 'retention', i.default_retention) r
      returning v.id, v.bucket_id, v.key, v.version_id, v.last_modified
    ),
    matched as (
      select n.id, n.version_id as stored_version_id, n.last_modified as stored_at, i.position, i.versioning, i.commit,
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
    select m.position, m.stored_version_id, m.stored_at, m.versioning, null::text, null::text
    from matched m;
  end loop;
end
$$;

-- The bucket a request names, checked against its owner; raises WF404 / WF403. FOR KEY SHARE keeps it from being
-- deleted until the transaction ends.
create function weft_owned_bucket(p_bucket_name text, p_owner text)
returns table (id bigint, versioning text)
language plpgsql as $$
#variable_conflict use_column
declare
  bucket record;
begin
  select b.id, b.owner, b.versioning into bucket from buckets b where b.name = p_bucket_name for key share;
  if not found then
    raise exception using errcode = 'WF404', message = 'no such bucket';
  end if;
  if bucket.owner <> p_owner then
    raise exception using errcode = 'WF403', message = 'not the bucket owner';
  end if;
  id := bucket.id;
  versioning := bucket.versioning;
  return next;
end
$$;

-- DeleteObject without a version id, as the bucket's versioning state says: Unversioned removes the current version
-- (deleted says whether there was one); otherwise a delete marker becomes current, stored under the minted id
-- (Enabled) or as the null version (Suspended), and the versions before it are kept.
create function weft_delete_object(p_bucket_id bigint, p_key text, p_versioning text, p_minted_marker_id text)
returns table (deleted boolean, marker_version_id text)
language plpgsql
set enable_seqscan = off
as $$
#variable_conflict use_column
declare
  doomed bigint[];
begin
  perform weft_lock_object_key(p_bucket_id, p_key);
  if p_versioning = 'Unversioned' then
    select coalesce(array_agg(v.id), '{}') into doomed from (
      select id from versions where bucket_id = p_bucket_id and key = p_key and is_current for update
    ) v;
    deleted := weft_discard_versions(doomed) > 0;
    return next;
    return;
  end if;
  marker_version_id := weft_stored_version_id(p_versioning, p_minted_marker_id);
  perform weft_retire_current_version(p_bucket_id, p_key, marker_version_id, true);
  insert into versions (bucket_id, key, version_id, state, is_current, is_delete_marker, storage_class, last_modified)
  values (p_bucket_id, p_key, marker_version_id, 'complete', true, true, 'STANDARD', now());
  deleted := true;
  return next;
end
$$;

-- weft_delete_object for a bucket named by the request, whose owner it checks (one round trip for a DELETE).
create function weft_delete_current_object(p_bucket_name text, p_owner text, p_key text, p_minted_marker_id text)
returns table (deleted boolean, versioning text, marker_version_id text)
language plpgsql
set enable_seqscan = off
as $$
#variable_conflict use_column
declare
  bucket record;
begin
  select * into bucket from weft_owned_bucket(p_bucket_name, p_owner);
  versioning := bucket.versioning;
  select d.deleted, d.marker_version_id into deleted, marker_version_id
  from weft_delete_object(bucket.id, p_key, bucket.versioning, p_minted_marker_id) d;
  return next;
end
$$;

-- DeleteObject with a version id: that version (a delete marker too) is removed for good, its blobs queued; when it
-- was the current one, the newest version left becomes current. A version id that names nothing changes nothing
-- (deleted false). A version object lock protects is not removed: WFLCK (see weft_discard_versions). The bucket is
-- found by name and its owner checked, as for weft_delete_current_object.
create function weft_delete_object_version(p_bucket_name text, p_owner text, p_key text, p_version_id text, p_bypass_governance boolean)
returns table (deleted boolean, was_delete_marker boolean, versioning text)
language plpgsql
set enable_seqscan = off
as $$
#variable_conflict use_column
declare
  bucket record;
  doomed record;
begin
  select * into bucket from weft_owned_bucket(p_bucket_name, p_owner);
  versioning := bucket.versioning;
  perform weft_lock_object_key(bucket.id, p_key);
  select v.id, v.is_current, v.is_delete_marker into doomed from versions v
  where v.bucket_id = bucket.id and v.key = p_key and v.version_id = p_version_id and v.state = 'complete'
  for update;
  if not found then
    deleted := false;
    was_delete_marker := false;
    return next;
    return;
  end if;
  perform weft_discard_versions(array[doomed.id], p_bypass_governance);
  if doomed.is_current then
    perform weft_promote_newest_version(bucket.id, p_key);
  end if;
  deleted := true;
  was_delete_marker := doomed.is_delete_marker;
  return next;
end
$$;

-- PutObjectRetention: sets (or, with p_mode null, removes) the retention of the current version of a key, or of the
-- version named. While a retention date is ahead, a change that weakens it (an earlier date, COMPLIANCE to
-- GOVERNANCE, or removal) is refused with WFLCK, unless the retention is GOVERNANCE and p_bypass_governance.
-- Returns the outcome: 'set', 'missing' (no such version) or 'delete-marker'.
create function weft_put_retention(p_bucket_id bigint, p_key text, p_version_id text, p_mode text, p_retain_until timestamptz,
  p_bypass_governance boolean)
returns text
language plpgsql
set enable_seqscan = off
as $$
declare
  target record;
begin
  select v.id, v.is_delete_marker, v.retention_mode, v.retain_until into target from versions v
  where v.bucket_id = p_bucket_id and v.key = p_key and v.state = 'complete'
    and (v.version_id = p_version_id or (p_version_id is null and v.is_current))
  for update;
  if not found then
    return 'missing';
  end if;
  if target.is_delete_marker then
    return 'delete-marker';
  end if;
  if target.retain_until > now()
    and (p_mode is null or p_retain_until < target.retain_until or (target.retention_mode = 'COMPLIANCE' and p_mode <> 'COMPLIANCE'))
    and (target.retention_mode = 'COMPLIANCE' or not p_bypass_governance) then
    raise exception using errcode = 'WFLCK', message = 'the retention may not be shortened or removed';
  end if;
  update versions set retention_mode = p_mode, retain_until = p_retain_until where id = target.id;
  return 'set';
end
$$;

create function weft_prefix_successor(p_prefix text) returns text
language plpgsql immutable strict as $$
declare
  rest text := p_prefix;
  last_code integer;
begin
  while rest <> '' loop
    last_code := ascii(right(rest, 1));
    rest := left(rest, -1);
    if last_code < 1114111 then
      -- U+D800..U+DFFF are not characters: the successor of U+D7FF is U+E000.
      return rest || chr(case when last_code + 1 = 55296 then 57344 else last_code + 1 end);
    end if;
  end loop;
  return null;
end
$$;

-- A listing seek that jumps over common prefixes inside PostgreSQL (a loose index scan), so that a delimiter page
-- costs one round trip instead of one per common prefix. meta/src/listing.ts keeps the listing algorithm; this is
-- only a faster seek for it (see seekCurrentObjects).
--
-- Current objects (not delete markers) of a bucket from p_from (inclusive or not) up to p_below (exclusive; null for
-- no bound), in key order, at most p_limit: like the plain seek, except that after a key that rolls up into a common
-- prefix (p_prefix + text up to and including the first p_delimiter after it), the other keys of that common prefix
-- are left out.
create function weft_seek_current_rollup(
  p_bucket_id bigint, p_from text, p_inclusive boolean, p_below text, p_prefix text, p_delimiter text, p_limit integer
)
returns table (key text, size bigint, etag text, last_modified timestamptz, storage_class text)
language plpgsql stable as $$
#variable_conflict use_column
declare
  seek_from text := p_from;
  skip_equal boolean := not p_inclusive;
  rows_wanted integer := p_limit;
  batch refcursor;
  found_row record;
  delimiter_at integer;
  jumped boolean;
begin
  while rows_wanted > 0 loop
    -- One more row than wanted: the first may be the excluded p_from itself. Two statements rather than one with an
    -- optional bound, so that the upper bound is always an index bound.
    if p_below is null then
      open batch for
        select v.key, v.size, v.etag, v.last_modified, v.storage_class from versions v
        where v.bucket_id = p_bucket_id and v.is_current and not v.is_delete_marker and v.key >= seek_from
        order by v.key limit rows_wanted + 1;
    else
      open batch for
        select v.key, v.size, v.etag, v.last_modified, v.storage_class from versions v
        where v.bucket_id = p_bucket_id and v.is_current and not v.is_delete_marker and v.key >= seek_from
          and v.key < p_below
        order by v.key limit rows_wanted + 1;
    end if;
    jumped := false;
    loop
      fetch batch into found_row;
      exit when not found;
      continue when skip_equal and found_row.key = seek_from;
      key := found_row.key;
      size := found_row.size;
      etag := found_row.etag;
      last_modified := found_row.last_modified;
      storage_class := found_row.storage_class;
      return next;
      rows_wanted := rows_wanted - 1;
      exit when rows_wanted = 0;
      delimiter_at := strpos(substr(found_row.key, char_length(p_prefix) + 1), p_delimiter);
      if delimiter_at > 0 and starts_with(found_row.key, p_prefix) then
        seek_from := weft_prefix_successor(left(found_row.key, char_length(p_prefix) + delimiter_at + char_length(p_delimiter) - 1));
        skip_equal := false;
        jumped := true;
        exit;
      end if;
    end loop;
    close batch;
    -- A batch read to its end without a jump has exhausted the range (it held more rows than could be returned).
    exit when not jumped or seek_from is null;
  end loop;
end
$$;

-- The same jump over common prefixes for ListObjectVersions (meta/src/version-listing.ts): committed versions and
-- delete markers of a bucket from key p_from (all its versions) up to p_below (exclusive; null for no bound) in
-- listing order (key, then newest first), at most p_limit, except that after a version whose key rolls up into a
-- common prefix, the other versions under that common prefix are left out. A page of 1,000 common prefixes, each
-- holding many versions, is then one round trip instead of 1,000.
create function weft_seek_versions_rollup(
  p_bucket_id bigint, p_from text, p_below text, p_prefix text, p_delimiter text, p_limit integer
)
returns table (
  key text, seq bigint, version_id text, is_current boolean, is_delete_marker boolean, size bigint, etag text,
  last_modified timestamptz, storage_class text
)
language plpgsql stable
set enable_seqscan = off
as $$
#variable_conflict use_column
declare
  seek_from text := p_from;
  rows_wanted integer := p_limit;
  batch refcursor;
  found_row record;
  delimiter_at integer;
  jumped boolean;
begin
  while rows_wanted > 0 loop
    if p_below is null then
      open batch for
        select v.key, v.seq, v.version_id, v.is_current, v.is_delete_marker, v.size, v.etag, v.last_modified,
          v.storage_class
        from versions v
        where v.bucket_id = p_bucket_id and v.key >= seek_from and v.state = 'complete'
        order by v.key, v.seq desc limit rows_wanted;
    else
      open batch for
        select v.key, v.seq, v.version_id, v.is_current, v.is_delete_marker, v.size, v.etag, v.last_modified,
          v.storage_class
        from versions v
        where v.bucket_id = p_bucket_id and v.key >= seek_from and v.key < p_below and v.state = 'complete'
        order by v.key, v.seq desc limit rows_wanted;
    end if;
    jumped := false;
    loop
      fetch batch into found_row;
      exit when not found;
      key := found_row.key;
      seq := found_row.seq;
      version_id := found_row.version_id;
      is_current := found_row.is_current;
      is_delete_marker := found_row.is_delete_marker;
      size := found_row.size;
      etag := found_row.etag;
      last_modified := found_row.last_modified;
      storage_class := found_row.storage_class;
      return next;
      rows_wanted := rows_wanted - 1;
      exit when rows_wanted = 0;
      delimiter_at := strpos(substr(found_row.key, char_length(p_prefix) + 1), p_delimiter);
      if delimiter_at > 0 and starts_with(found_row.key, p_prefix) then
        seek_from := weft_prefix_successor(left(found_row.key, char_length(p_prefix) + delimiter_at + char_length(p_delimiter) - 1));
        jumped := true;
        exit;
      end if;
    end loop;
    close batch;
    exit when not jumped or seek_from is null;
  end loop;
end
$$;

-- A part's layout as json. Built by a function so that the work is done only when it is called, which the GET/HEAD
-- lookup does only for objects that are not inline: as nested subqueries in the lookup, PostgreSQL set their plan
-- nodes up on every execution, ~40 µs of a small GET's ~150.
create function weft_part_json(p parts) returns json
language sql stable as $$
  select json_build_object(
    'partNumber', p.part_number, 'size', p.size, 'etag', p.etag, 'unit', p.unit, 'k', p.k, 'm', p.m,
    'checksumAlgorithm', p.checksum_algorithm, 'checksumValue', p.checksum_value,
    'committedAt', p.committed_at, 'encryptionSalt', encode(p.encryption_salt, 'base64'),
    'datafiles', coalesce((
      select json_agg(json_build_object(
        'slot', d.slot, 'ioserverId', d.ioserver_id, 'blobId', d.blob_id, 'length', d.length, 'crc32c', d.crc32c
      ) order by d.slot)
      from datafiles d where d.part_id = p.id), '[]'::json))
$$;

-- The parts of a committed version, by part number, each as weft_part_json.
create function weft_version_parts_json(p_version_row_id bigint) returns json
language sql stable as $$
  select coalesce(json_agg(weft_part_json(p) order by p.part_number), '[]'::json)
  from parts p where p.version_row_id = p_version_row_id
$$;

-- Lifecycle (gateway/src/lifecycle/worker.ts): the actions of a bucket's rules on the rows the worker found due. Each
-- takes a bounded batch, locks each key as DeleteObject does and looks again under the lock, so a write that came in
-- between is left alone. A permanent deletion skips a version under object lock (a legal hold, or a retention date
-- still ahead); adding a delete marker is always allowed.

-- Expiration of current objects, as DeleteObject without a version id does it: an Unversioned bucket discards the
-- object, Enabled adds a delete marker, Suspended makes a null delete marker replace the null version. p_row_ids are
-- the rows found due; one that is no longer the current object of its key is skipped. Returns how many expired.
create function weft_lifecycle_expire_current(p_bucket_id bigint, p_row_ids bigint[])
returns integer
language plpgsql
set enable_seqscan = off
as $$
declare
  bucket_versioning text;
  target record;
  doomed bigint[];
  marker_id text;
  expired integer := 0;
begin
  select versioning into bucket_versioning from buckets where id = p_bucket_id for key share;
  if not found then
    return 0;
  end if;
  for target in select id, key from versions where id = any (p_row_ids) and bucket_id = p_bucket_id order by key loop
    perform weft_lock_object_key(p_bucket_id, target.key);
    perform 1 from versions where id = target.id and is_current and not is_delete_marker for update;
    continue when not found;
    if bucket_versioning = 'Unversioned' then
      select coalesce(array_agg(v.id), '{}') into doomed from (
        select id from versions
        where id = target.id and not weft_is_locked(retention_mode, retain_until, legal_hold, false)
      ) v;
      expired := expired + weft_discard_versions(doomed);
      continue;
    end if;
    marker_id := weft_stored_version_id(bucket_versioning, replace(gen_random_uuid()::text, '-', ''));
    -- A null marker replaces the null version for good, which a lock on that version forbids.
    perform 1 from versions
    where bucket_id = p_bucket_id and key = target.key and version_id = marker_id and state = 'complete'
      and weft_is_locked(retention_mode, retain_until, legal_hold, false);
    continue when found;
    perform weft_retire_current_version(p_bucket_id, target.key, marker_id, true);
    insert into versions (bucket_id, key, version_id, state, is_current, is_delete_marker, storage_class, last_modified)
    values (p_bucket_id, target.key, marker_id, 'complete', true, true, 'STANDARD', now());
    expired := expired + 1;
  end loop;
  return expired;
end
$$;

-- Removes expired object delete markers: current delete markers with no other version of their key behind them.
-- p_row_ids are the markers found due; one that is no longer current, or has versions behind it now, is skipped.
create function weft_lifecycle_remove_expired_markers(p_bucket_id bigint, p_row_ids bigint[])
returns integer
language plpgsql
set enable_seqscan = off
as $$
declare
  target record;
  doomed bigint[];
  removed integer := 0;
begin
  for target in select id, key from versions where id = any (p_row_ids) and bucket_id = p_bucket_id order by key loop
    perform weft_lock_object_key(p_bucket_id, target.key);
    select coalesce(array_agg(m.id), '{}') into doomed from (
      select id from versions
      where id = target.id and is_current and is_delete_marker
        and not exists (
          select 1 from versions other
          where other.bucket_id = p_bucket_id and other.key = target.key and other.state = 'complete' and other.id <> target.id
        )
      for update
    ) m;
    removed := removed + weft_discard_versions(doomed);
  end loop;
  return removed;
end
$$;

-- NoncurrentVersionExpiration for the keys p_keys: discards every noncurrent version (delete markers included) that
-- became noncurrent (its successor's last_modified) at or before p_noncurrent_before, is older than the p_keep newest
-- noncurrent versions of its key, carries every tag of p_tags, has a size within the bounds given (null: none) and is
-- not under object lock. Returns how many versions went.
create function weft_lifecycle_expire_noncurrent(
  p_bucket_id bigint, p_keys text[], p_noncurrent_before timestamptz, p_keep integer, p_tags jsonb,
  p_size_above bigint, p_size_below bigint
)
returns integer
language plpgsql
set enable_seqscan = off
as $$
declare
  target_key text;
  doomed bigint[];
  removed integer := 0;
begin
  for target_key in select k from unnest(p_keys) k order by k loop
    perform weft_lock_object_key(p_bucket_id, target_key);
    select coalesce(array_agg(h.id), '{}') into doomed from (
      select id, is_current, tags, size, retention_mode, retain_until, legal_hold,
        lag(last_modified) over (order by seq desc) as noncurrent_since,
        -- Versions newer than this one: the current one, then the noncurrent ones before it.
        row_number() over (order by seq desc) - 1 as newer
      from versions
      where bucket_id = p_bucket_id and key = target_key and state = 'complete'
    ) h
    where not h.is_current and h.newer > p_keep and h.noncurrent_since <= p_noncurrent_before
      and h.tags @> p_tags
      and (p_size_above is null or h.size > p_size_above) and (p_size_below is null or h.size < p_size_below)
      and not weft_is_locked(h.retention_mode, h.retain_until, h.legal_hold, false);
    removed := removed + weft_discard_versions(doomed);
  end loop;
  return removed;
end
$$;
