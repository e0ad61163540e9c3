-- Object lock as S3 has it (docs/architecture.md, Object lock). A bucket with object lock keeps versioning Enabled
-- for good and may carry a default retention ({mode, days | years}) that new versions get; a version may carry a
-- retention (mode and retain-until date) and a legal hold (null: never set), and while either holds it the version
-- cannot be deleted. A multipart upload carries the lock its CreateMultipartUpload asked for until it completes.
-- Forward-only: never edit this file once applied.
alter table buckets
  add column object_lock_enabled boolean not null default false,
  add column default_retention jsonb;
alter table versions
  add column retention_mode text check (retention_mode in ('GOVERNANCE', 'COMPLIANCE')),
  add column retain_until timestamptz,
  add column legal_hold boolean,
  add check ((retention_mode is null) = (retain_until is null));
alter table uploads
  add column retention_mode text check (retention_mode in ('GOVERNANCE', 'COMPLIANCE')),
  add column retain_until timestamptz,
  add column legal_hold boolean;

-- Gateways cache a bucket's lock settings with its access settings (gateway/src/access/bucket-access.ts): a change
-- to them is told on the same channel.
drop trigger buckets_access_changed on buckets;
create trigger buckets_access_changed
  after insert or delete or update of owner, policy, public_access_block, acl, object_ownership, object_lock_enabled, default_retention
  on buckets for each row execute function bucket_access_changed();
