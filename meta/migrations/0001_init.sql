-- Weft metadata, first schema. Forward-only: never edit this file once applied; add 0002_… instead.
-- Object keys and bucket names are COLLATE "C": comparison by bytes, which for UTF-8 is code point order, which is
-- S3's listing order.
-- Foreign keys deliberately have no ON DELETE CASCADE: a datafile row may only disappear together with a gc_queue
-- entry for its blob, so every delete goes through code that queues the blobs first (and a forgotten path fails loudly).

create table buckets (
  id          bigint generated always as identity primary key,
  name        text collate "C" not null unique,
  owner       text not null,
  region      text not null,
  versioning  text not null default 'Unversioned' check (versioning in ('Unversioned', 'Enabled', 'Suspended')),
  created_at  timestamptz not null default now()
);
create index buckets_by_owner on buckets (owner, name);

create table access_keys (
  access_key_id  text primary key,
  secret         text not null,
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now()
);

-- The ioserver registry: one row per disk (the id is the disk id the ioserver keeps in its marker file).
create table ioservers (
  id             text primary key,
  url            text not null,
  registered_at  timestamptz not null default now(),
  updated_at     timestamptz not null default now()
);

-- One row per object version, delete marker, or reserved-but-not-yet-committed PUT ('pending').
create table versions (
  id                   bigint generated always as identity primary key,
  bucket_id            bigint not null references buckets (id),
  key                  text collate "C" not null,
  -- Orders the versions of one key, newest highest; reassigned at commit so that it follows commit order.
  seq                  bigserial not null,
  version_id           text not null,
  state                text not null check (state in ('pending', 'complete')),
  is_current           boolean not null default false,
  is_delete_marker     boolean not null default false,
  size                 bigint not null default 0 check (size >= 0),
  etag                 text,
  storage_class        text not null,
  content_type         text,
  content_encoding     text,
  content_disposition  text,
  content_language     text,
  cache_control        text,
  expires              text,
  user_metadata        jsonb not null default '{}',
  checksum_algorithm   text,
  checksum_value       text,
  checksum_type        text check (checksum_type in ('FULL_OBJECT', 'COMPOSITE')),
  created_at           timestamptz not null default now(),
  last_modified        timestamptz,
  check (not is_current or state = 'complete'),
  check (state = 'pending' or last_modified is not null),
  check (state = 'pending' or is_delete_marker or etag is not null)
);
-- Exactly one current version per key; serves GET/HEAD without a version id.
create unique index versions_current on versions (bucket_id, key) where is_current;
-- ListObjects: current objects in key order, delete markers left out of the index so they cost nothing to skip.
create index versions_listing on versions (bucket_id, key) where is_current and not is_delete_marker;
-- ListObjectVersions and per-key history, newest first.
create index versions_by_key on versions (bucket_id, key, seq desc);
-- A version id names one committed version of a key ("null" included: a new null version replaces the old one).
create unique index versions_by_version_id on versions (bucket_id, key, version_id) where state = 'complete';
-- The reaper's view of abandoned PUTs.
create index versions_pending on versions (created_at) where state = 'pending';

create table uploads (
  upload_id            text primary key,
  bucket_id            bigint not null references buckets (id),
  key                  text collate "C" not null,
  owner                text not null,
  storage_class        text not null,
  content_type         text,
  content_encoding     text,
  content_disposition  text,
  content_language     text,
  cache_control        text,
  expires              text,
  user_metadata        jsonb not null default '{}',
  checksum_algorithm   text,
  checksum_type        text,
  initiated            timestamptz not null default now()
);
-- ListMultipartUploads order: key, then initiation time.
create index uploads_by_key on uploads (bucket_id, key, initiated);

-- A striped segment of an object: belongs to a version (one for a plain PUT, one per part for multipart), or to a
-- multipart upload until completion re-parents it to the new version without moving a byte.
create table parts (
  id                  bigint generated always as identity primary key,
  version_row_id      bigint references versions (id),
  upload_id           text references uploads (upload_id),
  part_number         integer not null check (part_number between 1 and 10000),
  state               text not null check (state in ('pending', 'complete')),
  size                bigint not null check (size >= 0),
  etag                text,
  unit                integer not null check (unit >= 0),
  k                   smallint not null check (k >= 0),
  m                   smallint not null check (m >= 0),
  inline_data         bytea,
  checksum_algorithm  text,
  checksum_value      text,
  created_at          timestamptz not null default now(),
  committed_at        timestamptz,
  check ((version_row_id is null) <> (upload_id is null)),
  check (state = 'pending' or (etag is not null and committed_at is not null))
);
create index parts_of_version on parts (version_row_id, part_number) where version_row_id is not null;
create index parts_of_upload on parts (upload_id, part_number) where upload_id is not null;
-- At most one committed part per number: a re-uploaded part replaces the old one.
create unique index parts_of_upload_committed on parts (upload_id, part_number)
  where upload_id is not null and state = 'complete';
create index parts_pending_upload on parts (created_at) where upload_id is not null and state = 'pending';

-- One stripe slot of a part: a whole file on one ioserver.
create table datafiles (
  part_id      bigint not null references parts (id),
  slot         smallint not null check (slot >= 0),
  ioserver_id  text not null,
  blob_id      text not null,
  length       bigint not null check (length >= 0),
  crc32c       text,
  primary key (part_id, slot)
);
-- A blob belongs to at most one datafile row (deleting it must never hurt another object); also answers the
-- sweeper's "is this blob on disk referenced?" question.
create unique index datafiles_by_blob on datafiles (ioserver_id, blob_id);

-- Blobs no metadata references any more, to be deleted from their ioservers. not_before leases an item to one
-- collector at a time; a collector that dies lets the lease lapse and another one retries.
create table gc_queue (
  id           bigint generated always as identity primary key,
  ioserver_id  text not null,
  blob_id      text not null,
  queued_at    timestamptz not null default now(),
  not_before   timestamptz not null default now()
);
create index gc_queue_ready on gc_queue (not_before, id);
create index gc_queue_by_blob on gc_queue (ioserver_id, blob_id);
