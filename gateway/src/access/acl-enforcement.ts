// Every bucket has ACLs disabled (object ownership BucketOwnerEnforced, AWS's default for new buckets): the owner
// owns every object and ACLs grant nothing. As AWS, a write may still name the ACL that changes nothing (the owner's
// full control: `bucket-owner-full-control`, or `private` from the owner); any other canned ACL or grant header is
// refused, never accepted and ignored. docs/architecture.md, Access control.
import type { S3OperationName } from "../router/resolve.js";
import { S3Error } from "../s3/errors.js";
import { GRANT_HEADERS } from "./acl-headers.js";

/** The operations that take x-amz-acl and x-amz-grant-* (a POST form takes them as fields). */
const ACL_TAKING: ReadonlySet<S3OperationName> = new Set<S3OperationName>(["CreateBucket", "PutObject", "CopyObject", "CreateMultipartUpload", "PostObject"]);


/**
 * Refuses an ACL the bucket cannot have. `headers`: lowercase names (request headers, or a form's fields);
 * `requesterOwnsBucket`: the bucket is (CreateBucket: will be) the requester's.
 */
export function refuseAcls(operation: S3OperationName, headers: Record<string, unknown>, requesterOwnsBucket: boolean): void {
  if (!ACL_TAKING.has(operation)) return;
  const canned = headers["x-amz-acl"] ?? (operation === "PostObject" ? headers.acl : undefined);
  const grants = GRANT_HEADERS.some(([name]) => headers[name] !== undefined);
  if (operation === "CreateBucket") {
    const ownership = headers["x-amz-object-ownership"];
    if (ownership !== undefined && ownership !== "BucketOwnerEnforced") {
      throw new S3Error("NotImplemented", "Object ownership other than BucketOwnerEnforced is not implemented by this server: buckets have ACLs disabled.", {
        details: { Header: "x-amz-object-ownership" },
      });
    }
    if (grants || (canned !== undefined && canned !== "private")) throw new S3Error("InvalidBucketAclWithObjectOwnership");
    return;
  }
  const ownersFullControl = canned === "bucket-owner-full-control" || (canned === "private" && requesterOwnsBucket);
  if (grants || (canned !== undefined && !ownersFullControl)) throw new S3Error("AccessControlListNotSupported");
}
