-- Object and bucket tagging, bucket CORS. Forward-only: never edit this file once applied.
-- Tags are an ordered array of {"Key": …, "Value": …} objects, as S3 returns them. Object tags belong to a version;
-- an upload carries the tags of its x-amz-tagging header to the version its completion creates.
alter table versions add column tags jsonb not null default '[]';
alter table uploads add column tags jsonb not null default '[]';
-- Bucket tags and the CORS rules: null when the bucket has none (GetBucketTagging → NoSuchTagSet,
-- GetBucketCors → NoSuchCORSConfiguration), which is not the same as an empty set.
alter table buckets add column tags jsonb;
alter table buckets add column cors jsonb;
