// The one decision on whether a requester may do an operation on a bucket (and key): the bucket's owner may, unless
// the bucket policy denies it explicitly; anyone else only when the policy allows it and the public access block
// does not set that allowance aside. The bucket's own access settings (policy, public access block) are its owner's
// alone, whatever a policy says, so no policy can lock the owner out. docs/architecture.md, Access control.
import type { S3OperationName } from "../router/resolve.js";
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

export function mayAccess(question: AccessQuestion): boolean {
  const { requester, operation, bucket } = question;
  const owner = isBucketOwner(requester, bucket);
  if (OWNER_ONLY.has(operation)) return owner;
  const decision = bucket.policy
    ? evaluatePolicy(bucket.policy, {
        principal: requester,
        action: question.action ?? OPERATION_ACCESS[operation].action,
        resource: `${S3_ARN_PREFIX}${bucket.name}${question.key === undefined ? "" : `/${question.key}`}`,
        context: question.context,
      })
    : "implicit";
  if (decision === "deny") return false;
  if (owner) return true;
  // RestrictPublicBuckets: a public policy lets in nobody from outside (AWS: only the owner's account).
  if (bucket.policyIsPublic && bucket.publicAccessBlock?.RestrictPublicBuckets) return false;
  return decision === "allow";
}
