-- Who may do what to a bucket beyond its owner: its policy (the JSON as given), its public access block, its ACL and
-- its object ownership setting (gateway/src/access/). Null: none of each, or for object_ownership the default,
-- BucketOwnerEnforced (ACLs disabled, as AWS creates buckets). Forward-only: never edit this file once applied.
alter table buckets
  add column policy text,
  add column public_access_block jsonb,
  add column acl jsonb,
  add column object_ownership text check (object_ownership in ('BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter'));

-- Gateways cache what access control needs of a bucket; every change to it (and a bucket made or deleted) is told
-- to them on this channel, with the bucket's name, however it is made.
create function bucket_access_changed() returns trigger language plpgsql as $$
begin
  perform pg_notify('weft_bucket_access_changes', coalesce(new.name, old.name));
  return null;
end $$;
create trigger buckets_access_changed after insert or delete or update of owner, policy, public_access_block, acl, object_ownership
  on buckets for each row execute function bucket_access_changed();
