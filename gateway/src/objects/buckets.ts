// Buckets as the object layer sees them: the ownership check every request on a bucket starts with, and the bucket's
// own settings (versioning, tags, CORS and lifecycle rules).
import type { CorsRule, LifecycleRule, Tag } from "../../../meta/src/store.js";
import type { Bucket, VersioningState } from "../../../meta/src/types.js";
import { NEW_BUCKET_PUBLIC_ACCESS_BLOCK } from "../access/bucket-access.js";
import { S3Error } from "../s3/errors.js";
import type { ObjectDeps } from "./object-store.js";

/** The checks of ownBucket, for a bucket loaded along with something else (GET and HEAD find both at once). */
export function checkOwner(bucketName: string, bucketOwner: string, bucket: Bucket | undefined): Bucket {
  if (!bucket) throw new S3Error("NoSuchBucket", undefined, { details: { BucketName: bucketName } });
  if (bucket.owner !== bucketOwner) throw new S3Error("AccessDenied");
  return bucket;
}

/** The bucket, if `bucketOwner` (the owner access control decided against) still owns it; NoSuchBucket or AccessDenied otherwise. */
export async function ownBucket(deps: ObjectDeps, bucketName: string, bucketOwner: string): Promise<Bucket> {
  return checkOwner(bucketName, bucketOwner, await deps.meta.getBucket(bucketName));
}

/**
 * A new bucket, with every public access blocked as AWS creates them (its owner may lift that), the object ownership
 * asked for (else BucketOwnerEnforced) and, with ACLs enabled, its ACL. With object lock, it keeps versions for good.
 */
export async function createBucket(deps: ObjectDeps, name: string, owner: string, settings: NewBucketSettings): Promise<void> {
  const result = await deps.meta.createBucket({ name, owner, region: deps.config.region, publicAccessBlock: { ...NEW_BUCKET_PUBLIC_ACCESS_BLOCK }, ...settings });
  if (!result.created) {
    throw new S3Error(result.existing.owner === owner ? "BucketAlreadyOwnedByYou" : "BucketAlreadyExists", undefined, {
      details: { BucketName: name },
    });
  }
}

export interface NewBucketSettings {
  objectOwnership: string;
  acl?: unknown;
  objectLockEnabled: boolean;
}

export async function deleteBucket(deps: ObjectDeps, bucket: Bucket): Promise<void> {
  if ((await deps.meta.deleteBucket(bucket.id)) === "not-empty") {
    throw new S3Error("BucketNotEmpty", undefined, { details: { BucketName: bucket.name } });
  }
}

/** A bucket never returns to Unversioned: only Enabled and Suspended are settable, and only Enabled with object lock. */
export async function setBucketVersioning(deps: ObjectDeps, bucket: Bucket, status: Exclude<VersioningState, "Unversioned">): Promise<void> {
  if (!(await deps.meta.setBucketVersioning(bucket.id, status))) {
    throw new S3Error("InvalidBucketState", "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.");
  }
}

export async function getBucketTags(deps: ObjectDeps, bucket: Bucket): Promise<Tag[]> {
  const tags = await deps.meta.getBucketTags(bucket.id);
  if (!tags) throw new S3Error("NoSuchTagSet", undefined, { details: { BucketName: bucket.name } });
  return tags;
}

export async function getBucketCors(deps: ObjectDeps, bucket: Bucket): Promise<CorsRule[]> {
  const rules = await deps.meta.getBucketCors(bucket.id);
  if (!rules) throw new S3Error("NoSuchCORSConfiguration", undefined, { details: { BucketName: bucket.name } });
  return rules;
}

export async function getBucketLifecycle(deps: ObjectDeps, bucket: Bucket): Promise<LifecycleRule[]> {
  const rules = await deps.meta.getBucketLifecycle(bucket.id);
  if (!rules) throw new S3Error("NoSuchLifecycleConfiguration", undefined, { details: { BucketName: bucket.name } });
  return rules;
}
