-- Users own buckets and hold access keys. A user's canonical id (64 hex digits, as AWS's) is the owner id S3 shows and
-- what buckets.owner and uploads.owner hold; its name is what operators and bucket policies use.
-- Forward-only: never edit this file once applied.
create table users (
  canonical_id  text primary key,
  name          text collate "C" not null unique,
  created_at    timestamptz not null default now()
);

-- Until now an owner was an access key id. Each such principal becomes a user of that name, whose canonical id is
-- derived from it; the gateway renames the one its configured admin key names to "admin" (meta/src/pg/users.ts).
insert into users (canonical_id, name)
select encode(sha256(convert_to('weft user ' || principal, 'UTF8')), 'hex'), principal
from (
  select access_key_id as principal from access_keys
  union select owner from buckets
  union select owner from uploads
) principals;
update buckets set owner = encode(sha256(convert_to('weft user ' || owner, 'UTF8')), 'hex');
update uploads set owner = encode(sha256(convert_to('weft user ' || owner, 'UTF8')), 'hex');

-- A key belongs to a user and may be narrowed: read-only, or to some buckets (null: all the user may reach). Its
-- secret is sealed under the cluster master key (gateway/src/auth/master-keys.ts); a secret still in plain text
-- (keys from before) is sealed by the first gateway that starts, then cleared.
alter table access_keys rename column secret to plaintext_secret;
alter table access_keys
  alter column plaintext_secret drop not null,
  add column user_id text references users (canonical_id),
  add column sealed_secret bytea,
  add column read_only boolean not null default false,
  add column buckets text[];
update access_keys set user_id = encode(sha256(convert_to('weft user ' || access_key_id, 'UTF8')), 'hex');
alter table access_keys
  alter column user_id set not null,
  add constraint access_keys_one_secret check ((plaintext_secret is null) <> (sealed_secret is null));
create index access_keys_by_user on access_keys (user_id);
