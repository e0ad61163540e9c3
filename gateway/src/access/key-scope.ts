// How far an access key is narrowed (`weft key create --read-only --bucket B`): checked before anything else about
// the request, so a narrowed key never reaches what its user could otherwise.
import type { Principal } from "../auth/key-store.js";
import type { S3Operation } from "../router/resolve.js";
import { S3Error } from "../s3/errors.js";
import { OPERATION_ACCESS } from "./operation-actions.js";

/** AccessDenied unless the key may do `operation` (for a copy, also call keyMayRead for the source bucket). */
export function requireKeyScope(principal: Principal, operation: S3Operation): void {
  if (principal.readOnly && OPERATION_ACCESS[operation.name].writes) throw new S3Error("AccessDenied", "This access key is read-only.");
  // ListBuckets names no bucket: its answer is narrowed instead (keyMaySee).
  if (operation.bucket !== undefined && !keyMaySee(principal, operation.bucket)) throw bucketOutOfScope();
}

/** Whether a bucket is among those the key is limited to (every bucket when it is not limited). */
export function keyMaySee(principal: Principal, bucket: string): boolean {
  return principal.buckets === undefined || principal.buckets.has(bucket);
}

/** AccessDenied unless the key may read `bucket` (a copy's source). */
export function requireKeyMayRead(principal: Principal, bucket: string): void {
  if (!keyMaySee(principal, bucket)) throw bucketOutOfScope();
}

function bucketOutOfScope(): S3Error {
  return new S3Error("AccessDenied", "This access key is limited to other buckets.");
}
