-- ACLs of objects (and of multipart uploads, until they complete) and who owns an object, for buckets with ACLs
-- enabled (object ownership ObjectWriter or BucketOwnerPreferred). Null: private, and owned by the bucket's owner.
-- buckets.object_ownership null now means "no ownership controls" (AWS then behaves as ObjectWriter); every bucket
-- so far had ACLs disabled, so it keeps BucketOwnerEnforced explicitly. Forward-only: never edit this file once applied.
alter table versions add column acl jsonb, add column object_owner text;
alter table uploads add column acl jsonb, add column object_owner text;
update buckets set object_ownership = 'BucketOwnerEnforced' where object_ownership is null;
