// The ACL a write gives what it creates, by the bucket's object ownership (docs/architecture.md, Access control):
// - BucketOwnerEnforced (ACLs disabled, AWS's default for new buckets): the bucket owner owns every object and ACLs
//   grant nothing. As AWS, a write may still name the ACL that changes nothing (`bucket-owner-full-control`, or
//   `private` from the owner); any other canned ACL or grant header is refused, never accepted and ignored.
// - ObjectWriter / BucketOwnerPreferred (ACLs enabled): the object is its writer's (Preferred: the bucket owner's
//   when the writer sends bucket-owner-full-control) with the ACL the request names, private by default.
// BlockPublicAcls refuses a public ACL; a grant to a canonical id must name a Weft user.
import type { ObjectAccess } from "../../../meta/src/types.js";
import type { S3OperationName } from "../router/resolve.js";
import { S3Error } from "../s3/errors.js";
import { aclFromHeaders, CANNED_ACL_HEADER, GRANT_HEADERS, type RequestHeaders } from "./acl-headers.js";
import { isAclPublic, type Acl } from "./acl.js";
import type { BucketAccess, ObjectOwnership, PublicAccessBlock } from "./bucket-access.js";
import type { Requester } from "./requester.js";

/** The operations that take x-amz-acl and x-amz-grant-* (a POST form takes them as fields). */
const ACL_TAKING: ReadonlySet<S3OperationName> = new Set<S3OperationName>(["CreateBucket", "PutObject", "CopyObject", "CreateMultipartUpload", "PostObject"]);

const OBJECT_OWNERSHIP: readonly ObjectOwnership[] = ["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"];

/** Who created something, as it is recorded as an owner: a user's canonical id, or "anonymous". */
function ownerIdOf(requester: Requester): string {
  return requester.kind === "user" ? requester.canonicalId : "anonymous";
}

function cannedOf(headers: RequestHeaders): string | undefined {
  const value = headers[CANNED_ACL_HEADER];
  return Array.isArray(value) ? value.join(",") : value?.trim();
}

function hasGrants(headers: RequestHeaders): boolean {
  return GRANT_HEADERS.some(([name]) => headers[name] !== undefined);
}

export function aclsEnabled(bucket: Pick<BucketAccess, "objectOwnership">): boolean {
  return bucket.objectOwnership !== "BucketOwnerEnforced";
}

/** BlockPublicAcls: a request that would make something public through an ACL is refused. */
export function refusePublicAcl(acl: Acl | undefined, block: PublicAccessBlock | undefined): void {
  if (acl && block?.BlockPublicAcls && isAclPublic(acl)) throw new S3Error("AccessDenied");
}

/** The canonical ids an ACL grants to, for the caller to check they are users (AWS: InvalidArgument "Invalid id"). */
export function grantedIds(acl: Acl | undefined): string[] {
  return (acl?.grants ?? []).flatMap((grant) => (grant.grantee.type === "CanonicalUser" ? [grant.grantee.id] : []));
}

/**
 * What a new object in `bucket` gets: its ACL and owner (undefined: private, the bucket owner's). Throws for an ACL
 * the bucket cannot have. `headers`: lowercase names (request headers, or a POST form's fields with `acl` as x-amz-acl).
 */
export function newObjectAccess(operation: S3OperationName, headers: RequestHeaders, requester: Requester, bucket: BucketAccess): ObjectAccess | undefined {
  if (!ACL_TAKING.has(operation)) return undefined;
  const canned = cannedOf(headers);
  const writer = ownerIdOf(requester);
  if (!aclsEnabled(bucket)) {
    const ownersFullControl = canned === "bucket-owner-full-control" || (canned === "private" && writer === bucket.owner);
    if (hasGrants(headers) || (canned !== undefined && !ownersFullControl)) throw new S3Error("AccessControlListNotSupported");
    return undefined;
  }
  const bucketOwnerTakes = bucket.objectOwnership === "BucketOwnerPreferred" && canned === "bucket-owner-full-control";
  const objectOwner = bucketOwnerTakes ? bucket.owner : writer;
  const acl = aclFromHeaders(headers, { owner: { id: objectOwner }, bucketOwner: { id: bucket.owner } });
  refusePublicAcl(acl, bucket.publicAccessBlock);
  if (!acl && objectOwner === bucket.owner) return undefined;
  return { ...(acl ? { acl } : {}), ...(objectOwner !== bucket.owner ? { objectOwner } : {}) };
}

/** What CreateBucket asks for: the object ownership (BucketOwnerEnforced unless it says otherwise) and the bucket's ACL. */
export function newBucketAccess(headers: RequestHeaders, owner: string, block: PublicAccessBlock): { objectOwnership: ObjectOwnership; acl: Acl | undefined } {
  const requested = headers["x-amz-object-ownership"];
  if (requested !== undefined && !OBJECT_OWNERSHIP.includes(requested as ObjectOwnership)) {
    throw new S3Error("InvalidArgument", "Invalid x-amz-object-ownership header", { details: { ArgumentName: "x-amz-object-ownership", ArgumentValue: String(requested) } });
  }
  const objectOwnership = (requested as ObjectOwnership | undefined) ?? "BucketOwnerEnforced";
  const canned = cannedOf(headers);
  if (objectOwnership === "BucketOwnerEnforced") {
    if (hasGrants(headers) || (canned !== undefined && canned !== "private" && canned !== "bucket-owner-full-control")) {
      throw new S3Error("InvalidBucketAclWithObjectOwnership");
    }
    return { objectOwnership, acl: undefined };
  }
  const acl = aclFromHeaders(headers, { owner: { id: owner } });
  refusePublicAcl(acl, block);
  return { objectOwnership, acl };
}
