// The one decision on whether a requester may do an operation on a bucket (and key): the bucket's owner may, unless
// the bucket policy denies it explicitly; anyone else when the policy allows it and the public access block does not
// set that allowance aside, or, in a bucket with ACLs enabled, when the bucket's ACL (or the object's, decided once
// the object is loaded) grants it. The bucket's own access settings (policy, public access block, ownership) are its
// owner's alone, whatever a policy says, so no policy can lock the owner out. docs/architecture.md, Access control.
import type { S3OperationName } from "../router/resolve.js";
import { aclsEnabled } from "./acl-enforcement.js";
import { aclAllows, isPublicGrant, type Acl, type Permission } from "./acl.js";
import type { BucketAccess } from "./bucket-access.js";
import { OPERATION_ACCESS } from "./operation-actions.js";
import { evaluatePolicy, S3_ARN_PREFIX, type ConditionContext } from "./policy.js";
import type { Requester } from "./requester.js";

/** Operations on a bucket's access settings (ACLs aside): the owner's only, and never subject to its policy. */
const OWNER_ONLY: ReadonlySet<S3OperationName> = new Set<S3OperationName>([
  "GetBucketPolicy",
  "PutBucketPolicy",
  "DeleteBucketPolicy",
  "GetBucketPolicyStatus",
  "GetPublicAccessBlock",
  "PutPublicAccessBlock",
  "DeletePublicAccessBlock",
  "GetBucketOwnershipControls",
  "PutBucketOwnershipControls",
  "DeleteBucketOwnershipControls",
]);

export interface AccessQuestion {
  requester: Requester;
  operation: S3OperationName;
  /** The IAM action asked about; the operation's own by default (a copy asks s3:GetObject of its source). */
  action?: string;
  bucket: BucketAccess;
  key?: string;
  context: ConditionContext;
}

export function isBucketOwner(requester: Requester, bucket: BucketAccess): boolean {
  return requester.kind === "user" && requester.canonicalId === bucket.owner;
}

/** "allow", "deny", or the permission the object's own ACL must grant (decided once the object is loaded). */
export type AccessDecision = "allow" | "deny" | { objectPermission: Permission };

/** What a bucket's ACL grants: a permission on the bucket, or on the object the operation reads or whose ACL it uses. */
const BUCKET_ACL_PERMISSION: Partial<Record<S3OperationName, Permission>> = {
  HeadBucket: "READ",
  ListObjects: "READ",
  ListObjectsV2: "READ",
  ListObjectVersions: "READ",
  ListMultipartUploads: "READ",
  PutObject: "WRITE",
  PostObject: "WRITE",
  CopyObject: "WRITE",
  DeleteObject: "WRITE",
  DeleteObjects: "WRITE",
  CreateMultipartUpload: "WRITE",
  UploadPart: "WRITE",
  UploadPartCopy: "WRITE",
  CompleteMultipartUpload: "WRITE",
  AbortMultipartUpload: "WRITE",
  ListParts: "WRITE",
  GetBucketAcl: "READ_ACP",
  PutBucketAcl: "WRITE_ACP",
};
const OBJECT_ACL_PERMISSION: Partial<Record<S3OperationName, Permission>> = {
  GetObject: "READ",
  HeadObject: "READ",
  GetObjectAttributes: "READ",
  GetObjectAcl: "READ_ACP",
  PutObjectAcl: "WRITE_ACP",
};

export function decideAccess(question: AccessQuestion): AccessDecision {
  const { requester, operation, bucket } = question;
  const owner = isBucketOwner(requester, bucket);
  if (OWNER_ONLY.has(operation)) return owner ? "allow" : "deny";
  const decision = bucket.policy
    ? evaluatePolicy(bucket.policy, {
        principal: requester,
        action: question.action ?? OPERATION_ACCESS[operation].action,
        resource: `${S3_ARN_PREFIX}${bucket.name}${question.key === undefined ? "" : `/${question.key}`}`,
        context: question.context,
      })
    : "implicit";
  if (decision === "deny") return "deny";
  // The owner may do anything to the bucket and everything in it, objects other users own included (docs/architecture.md).
  if (owner) return "allow";
  // RestrictPublicBuckets: a public policy lets in nobody from outside (AWS: only the owner's account).
  const restricted = bucket.policyIsPublic && bucket.publicAccessBlock?.RestrictPublicBuckets === true;
  if (decision === "allow" && !restricted) return "allow";
  if (!aclsEnabled(bucket)) return "deny";
  const bucketPermission = BUCKET_ACL_PERMISSION[operation];
  if (bucketPermission && aclGrants(bucket.acl, bucket.owner, bucket, requester, bucketPermission)) return "allow";
  const objectPermission = OBJECT_ACL_PERMISSION[operation];
  return objectPermission ? { objectPermission } : "deny";
}

export function mayAccess(question: AccessQuestion): boolean {
  return decideAccess(question) === "allow";
}

/**
 * Whether an ACL (undefined: private to `owner`) grants `permission`; with IgnorePublicAcls, grants to everyone and
 * to every signed-in user count for nothing.
 */
export function aclGrants(acl: Acl | undefined, owner: string, bucket: BucketAccess, requester: Requester, permission: Permission): boolean {
  const effective = acl ?? { owner: { id: owner }, grants: [{ grantee: { type: "CanonicalUser" as const, id: owner }, permission: "FULL_CONTROL" as const }] };
  const counted = bucket.publicAccessBlock?.IgnorePublicAcls ? { ...effective, grants: effective.grants.filter((grant) => !isPublicGrant(grant)) } : effective;
  return aclAllows(counted, requester, permission);
}