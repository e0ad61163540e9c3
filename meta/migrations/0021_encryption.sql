-- Encryption at rest (docs/architecture.md, Encryption at rest). A bucket may have a default encryption (AES256:
-- SSE-S3) for writes that ask for none. An encrypted version, and a multipart upload until it completes, records how
-- its data key is wrapped (JSON: the mode, the wrapped key, the master key's fingerprint or the SSE-C key's salt and
-- check); each of its parts records the salt its own key is derived with. Null: stored in plain. For an encrypted
-- part, parts.size is what is stored (the sealed packages), while versions.size stays the plaintext size S3 reports.
-- Forward-only: never edit this file once applied.
alter table buckets add column default_encryption text check (default_encryption in ('AES256'));
alter table versions add column encryption jsonb;
alter table uploads add column encryption jsonb;
alter table parts add column encryption_salt bytea;

-- The default encryption is among what gateways cache of a bucket (migration 0017): a change is told to them too.
drop trigger buckets_access_changed on buckets;
create trigger buckets_access_changed
  after insert or delete or update of owner, policy, public_access_block, acl, object_ownership, object_lock_enabled, default_retention,
    lifecycle, default_encryption
  on buckets for each row execute function bucket_access_changed();

-- After a master key rotation, gateways wrap the data keys of SSE-S3 objects and uploads again under the new key
-- (gateway/src/encryption/rewrap.ts), finding them by the fingerprint of the key that wrapped them.
create index versions_sse_s3_by_master_key on versions ((encryption ->> 'masterKey')) where encryption ->> 'mode' = 'SSE-S3';
