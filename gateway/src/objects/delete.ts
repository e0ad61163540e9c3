// DeleteObject and DeleteObjects: whether or not the key or version existed, as AWS answers. Without a version id the
// bucket's versioning state decides, inside the statement, between removing the object and stacking a delete marker
// on it; with one, exactly that version goes.
import type { Bucket } from "../../../meta/src/types.js";
import { S3Error, isS3Error } from "../s3/errors.js";
import { checkObjectKey } from "../s3/object-key.js";
import { isVersionId } from "./ids.js";
import { lockRefusal, type ObjectDeps } from "./object-store.js";

export interface DeleteTarget {
  bucketName: string;
  bucketOwner: string;
  key: string;
  versionId?: string;
  /** A GOVERNANCE retention gives way (the requester asked to bypass it, and may). */
  bypassGovernance: boolean;
}

/** `versionId` names the version removed, or the delete marker made; `deleteMarker` says it is (or was) one. */
export interface DeleteResult {
  versionId?: string;
  deleteMarker: boolean;
}

/**
 * One statement in all: it finds the bucket by name and checks its owner itself. A version object lock protects is
 * not removed (AccessDenied); a delete without a version id only stacks a delete marker on it, which lock allows.
 */
export async function deleteObject(deps: ObjectDeps, target: DeleteTarget): Promise<DeleteResult> {
  const { versionId } = target;
  const statementTarget = { bucketName: target.bucketName, owner: target.bucketOwner, key: target.key };
  if (versionId !== undefined) {
    const removed = await deps.meta.deleteObjectVersion({ ...statementTarget, versionId, bypassGovernance: target.bypassGovernance }).catch(lockRefusal);
    return { versionId, deleteMarker: removed.wasDeleteMarker };
  }
  const { markerVersionId } = await deps.meta.deleteCurrentObject(statementTarget);
  return markerVersionId !== undefined ? { versionId: markerVersionId, deleteMarker: true } : { deleteMarker: false };
}

/** AWS: at most 1000 keys per DeleteObjects request. */
export const MAX_DELETE_KEYS = 1000;
/** Keys deleted at once: each delete is its own short transaction, so a few overlap without hogging the pool. */
const DELETE_CONCURRENCY = 8;

export interface DeleteEntry {
  key: string;
  versionId?: string;
}

/** A <Deleted> entry's delete marker: the one a delete made, or the one a delete by version id removed. */
export type DeleteOutcome = { deleted: true; deleteMarkerVersionId?: string } | { deleted: false; code: string; message: string };

async function deleteOne(deps: ObjectDeps, request: DeleteObjectsRequest, entry: DeleteEntry): Promise<DeleteOutcome> {
  const { bucket, bucketOwner, requestId } = request;
  try {
    checkObjectKey(entry.key);
    if (!request.mayDelete(entry)) throw new S3Error("AccessDenied");
    // A version id Weft cannot have minted is this key's NoSuchVersion, as AWS reports it in a DeleteObjects result
    // (a lone DeleteObject answers it with 400 InvalidArgument instead).
    const versionId = entry.versionId === undefined || isVersionId(entry.versionId) ? entry.versionId : undefined;
    if (entry.versionId !== undefined && versionId === undefined) throw new S3Error("NoSuchVersion");
    // By name, as DeleteObject: the bucket's versioning state is read when each key changes, not once per request.
    const bypassGovernance = request.bypassesGovernance(entry);
    const result = await deleteObject(deps, { bucketName: bucket.name, bucketOwner, key: entry.key, versionId, bypassGovernance });
    return result.deleteMarker ? { deleted: true, deleteMarkerVersionId: result.versionId } : { deleted: true };
  } catch (error) {
    if (!isS3Error(error)) {
      deps.log.error({ err: error, requestId, key: entry.key }, "DeleteObjects: one key failed");
      const internal = new S3Error("InternalError");
      return { deleted: false, code: internal.code, message: internal.message };
    }
    return { deleted: false, code: error.code, message: error.message };
  }
}

export interface DeleteObjectsRequest {
  bucket: Bucket;
  /** The owner the bucket's access was decided against. */
  bucketOwner: string;
  requestId: string;
  entries: DeleteEntry[];
  /** Whether the requester may delete this entry (access control asks per key); refused entries get AccessDenied. */
  mayDelete(entry: DeleteEntry): boolean;
  /** Whether the request may set this entry's GOVERNANCE retention aside. */
  bypassesGovernance(entry: DeleteEntry): boolean;
}

/** Each entry's outcome, in the entries' order; one key's failure is its own outcome, never the request's. */
export async function deleteObjects(deps: ObjectDeps, request: DeleteObjectsRequest): Promise<DeleteOutcome[]> {
  const { entries } = request;
  const outcomes: DeleteOutcome[] = new Array(entries.length);
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const index = next++;
      outcomes[index] = await deleteOne(deps, request, entries[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, entries.length) }, worker));
  return outcomes;
}
