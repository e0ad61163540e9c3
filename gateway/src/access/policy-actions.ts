// The S3 actions a bucket policy may name, each with the kind of resource it applies to (the Service
// Authorization Reference's "Resource types" column). A policy naming an action outside this list is refused, as S3
// refuses one with "Policy has invalid action".
import { compileGlob, matchPattern } from "./pattern.js";

export type ResourceKind = "bucket" | "object" | "account";

const OBJECT_ACTIONS = [
  "AbortMultipartUpload", "BypassGovernanceRetention", "DeleteObject", "DeleteObjectTagging", "DeleteObjectVersion",
  "DeleteObjectVersionTagging", "GetObject", "GetObjectAcl", "GetObjectAttributes", "GetObjectLegalHold",
  "GetObjectRetention", "GetObjectTagging", "GetObjectTorrent", "GetObjectVersion", "GetObjectVersionAcl",
  "GetObjectVersionAttributes", "GetObjectVersionForReplication", "GetObjectVersionTagging", "GetObjectVersionTorrent",
  "InitiateReplication", "ListMultipartUploadParts", "ObjectOwnerOverrideToBucketOwner", "PutObject", "PutObjectAcl",
  "PutObjectLegalHold", "PutObjectRetention", "PutObjectTagging", "PutObjectVersionAcl", "PutObjectVersionTagging",
  "ReplicateDelete", "ReplicateObject", "ReplicateTags", "RestoreObject",
];

const BUCKET_ACTIONS = [
  "CreateBucket", "DeleteBucket", "DeleteBucketOwnershipControls", "DeleteBucketPolicy", "DeleteBucketWebsite",
  "GetAccelerateConfiguration", "GetAnalyticsConfiguration", "GetBucketAcl", "GetBucketCORS", "GetBucketLocation",
  "GetBucketLogging", "GetBucketNotification", "GetBucketObjectLockConfiguration", "GetBucketOwnershipControls",
  "GetBucketPolicy", "GetBucketPolicyStatus", "GetBucketPublicAccessBlock", "GetBucketRequestPayment",
  "GetBucketTagging", "GetBucketVersioning", "GetBucketWebsite", "GetEncryptionConfiguration",
  "GetIntelligentTieringConfiguration", "GetInventoryConfiguration", "GetLifecycleConfiguration",
  "GetMetricsConfiguration", "GetReplicationConfiguration", "ListBucket", "ListBucketMultipartUploads",
  "ListBucketVersions", "PutAccelerateConfiguration", "PutAnalyticsConfiguration", "PutBucketAcl", "PutBucketCORS",
  "PutBucketLogging", "PutBucketNotification", "PutBucketObjectLockConfiguration", "PutBucketOwnershipControls",
  "PutBucketPolicy", "PutBucketPublicAccessBlock", "PutBucketRequestPayment", "PutBucketTagging",
  "PutBucketVersioning", "PutBucketWebsite", "PutEncryptionConfiguration", "PutIntelligentTieringConfiguration",
  "PutInventoryConfiguration", "PutLifecycleConfiguration", "PutMetricsConfiguration", "PutReplicationConfiguration",
];

/** Actions on no bucket or object: naming only these in a bucket policy applies to none of its resources. */
const ACCOUNT_ACTIONS = ["GetAccountPublicAccessBlock", "ListAllMyBuckets", "PutAccountPublicAccessBlock"];

const CATALOG: ReadonlyArray<{ name: string; kind: ResourceKind }> = [
  ...OBJECT_ACTIONS.map((name) => ({ name: `s3:${name.toLowerCase()}`, kind: "object" as const })),
  ...BUCKET_ACTIONS.map((name) => ({ name: `s3:${name.toLowerCase()}`, kind: "bucket" as const })),
  ...ACCOUNT_ACTIONS.map((name) => ({ name: `s3:${name.toLowerCase()}`, kind: "account" as const })),
];

/**
 * The kinds of resource the catalog actions a pattern names apply to; empty when it names none (an unknown action,
 * or another service's). Action names compare without regard to case, as IAM compares them.
 */
export function actionPatternKinds(pattern: string): Set<ResourceKind> {
  const lower = pattern.toLowerCase();
  const parts = compileGlob(lower === "*" ? "s3:*" : lower);
  return new Set(CATALOG.filter((action) => matchPattern(parts, action.name)).map((action) => action.kind));
}
