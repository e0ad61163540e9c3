-- Bucket lifecycle configurations (gateway/src/lifecycle/): the rules as the gateway validated them, null when the
-- bucket has none (GetBucketLifecycleConfiguration → NoSuchLifecycleConfiguration). Forward-only: never edit this
-- file once applied.
alter table buckets add column lifecycle jsonb;

-- Requests read the rules from the gateways' bucket-access cache (for x-amz-expiration), so a change to them is told
-- to the gateways like a change to the other cached settings.
drop trigger buckets_access_changed on buckets;
create trigger buckets_access_changed
  after insert or delete or update of owner, policy, public_access_block, acl, object_ownership, object_lock_enabled, default_retention,
    lifecycle
  on buckets for each row execute function bucket_access_changed();

-- The lifecycle worker's scans, by key within a bucket: keys that have noncurrent versions, and current delete
-- markers (versions_listing leaves them out).
create index versions_noncurrent on versions (bucket_id, key) where state = 'complete' and not is_current;
create index versions_current_markers on versions (bucket_id, key) where is_current and is_delete_marker;
