-- Versioning as S3 has it. Forward-only: never edit this file once applied.
-- Objects written while a bucket kept no versions are its "null" version (S3 addresses them by versionId=null, and a
-- later null version replaces them). Until now they were stored under a minted id; every bucket so far is Unversioned.
update versions v set version_id = 'null'
from buckets b
where b.id = v.bucket_id and b.versioning = 'Unversioned' and v.state = 'complete';

-- The multipart upload a version was completed from: a repeated CompleteMultipartUpload (SDKs retry one that timed
-- out) is answered from the version it produced, as long as that version exists.
alter table versions add column completed_upload_id text;
create index versions_by_completed_upload on versions (completed_upload_id) where completed_upload_id is not null;
