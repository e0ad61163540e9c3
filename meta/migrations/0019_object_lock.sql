-- Object lock as S3 has it (docs/architecture.md, Object lock). A bucket created with object lock keeps versioning
-- Enabled for good and may carry a default retention applied to new versions; each version may carry a retention
-- (mode and retain-until date) and a legal hold, and while either holds it the version cannot be deleted. A
-- multipart upload carries the lock settings its CreateMultipartUpload asked for until it completes.
-- Forward-only: never edit this file once applied.
alter table buckets
  add column object_lock_enabled boolean not null default false,
  add column default_retention jsonb;
alter table versions
  add column retention_mode text check (retention_mode in ('GOVERNANCE', 'COMPLIANCE')),
  add column retain_until timestamptz,
  add column legal_hold boolean not null default false,
  add check ((retention_mode is null) = (retain_until is null));
alter table uploads
  add column retention_mode text check (retention_mode in ('GOVERNANCE', 'COMPLIANCE')),
  add column retain_until timestamptz,
  add column legal_hold boolean not null default false;
