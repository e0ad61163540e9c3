// Deleting objects: DeleteObject with and without a version id (meta/functions.sql, weft_delete_*). Object lock
// refuses to remove a version it protects (ObjectLockedError), whichever way the removal is asked for.
import { randomUUID } from "node:crypto";
import { isPostgresError, PG_FOREIGN_KEY_VIOLATION, WEFT_NOT_BUCKET_OWNER, WEFT_OBJECT_LOCKED, WEFT_VERSION_NOT_PENDING, type Sql } from "../db.js";
import { NoSuchBucketError, NotBucketOwnerError, ObjectLockedError } from "../errors.js";
import type { VersioningState } from "../types.js";
import { optional } from "./common.js";

/** What DeleteObject without a version id did: `markerVersionId` names the delete marker it made, if it made one. */
export interface DeletedObject {
  deleted: boolean;
  versioning: VersioningState;
  markerVersionId?: string;
}

/**
 * DeleteObject without a version id, as the bucket's versioning state says (weft_delete_object): Unversioned removes
 * the current version (blobs queued); Enabled makes a delete marker under a minted id the current version, keeping
 * every version; Suspended does the same with a null delete marker, which replaces the null version.
 */
export async function deleteObject(
  sql: Sql,
  bucket: { id: number; versioning: VersioningState },
  key: string,
): Promise<DeletedObject> {
  try {
    const [row] = await sql<{ deleted: boolean; marker_version_id: string | null }[]>`
      select * from weft_delete_object(${bucket.id}, ${key}, ${bucket.versioning}, ${randomUUID().replaceAll("-", "")})`;
    return { deleted: row!.deleted, versioning: bucket.versioning, ...optional("markerVersionId", row!.marker_version_id) };
  } catch (error) {
    if (isPostgresError(error, PG_FOREIGN_KEY_VIOLATION)) throw new NoSuchBucketError(bucket.id);
    throw error;
  }
}

/** The typed errors of weft_owned_bucket (the bucket named by a request, and its owner checked) and of object lock. */
function deleteError(error: unknown, bucketName: string, key: string): unknown {
  if (isPostgresError(error, WEFT_OBJECT_LOCKED)) return new ObjectLockedError(key);
  if (isPostgresError(error, WEFT_VERSION_NOT_PENDING)) return new NoSuchBucketError(bucketName);
  if (isPostgresError(error, WEFT_NOT_BUCKET_OWNER)) return new NotBucketOwnerError(bucketName);
  return error;
}

/**
 * deleteObject for a bucket known by name, in one statement that also finds the bucket and checks its owner.
 * NoSuchBucketError, NotBucketOwnerError.
 */
export async function deleteCurrentObject(sql: Sql, target: { bucketName: string; owner: string; key: string }): Promise<DeletedObject> {
  try {
    const [row] = await sql<{ deleted: boolean; versioning: VersioningState; marker_version_id: string | null }[]>`
      select * from weft_delete_current_object(${target.bucketName}, ${target.owner}, ${target.key}, ${randomUUID().replaceAll("-", "")})`;
    return { deleted: row!.deleted, versioning: row!.versioning, ...optional("markerVersionId", row!.marker_version_id) };
  } catch (error) {
    throw deleteError(error, target.bucketName, target.key);
  }
}

/**
 * DeleteObject with a version id (weft_delete_object_version): that version, or delete marker, is removed for good
 * (blobs queued) and, if it was current, the newest version left becomes current. An id that names no version of the
 * key changes nothing (`deleted` false). A version object lock protects stays: ObjectLockedError, unless its retention
 * is GOVERNANCE, it has no legal hold and `bypassGovernance` (the caller checked the requester may bypass it).
 * NoSuchBucketError, NotBucketOwnerError.
 */
export async function deleteObjectVersion(
  sql: Sql,
  target: { bucketName: string; owner: string; key: string; versionId: string; bypassGovernance: boolean },
): Promise<{ deleted: boolean; wasDeleteMarker: boolean; versioning: VersioningState }> {
  try {
    const [row] = await sql<{ deleted: boolean; was_delete_marker: boolean; versioning: VersioningState }[]>`
      select * from weft_delete_object_version(${target.bucketName}, ${target.owner}, ${target.key}, ${target.versionId}, ${target.bypassGovernance})`;
    return { deleted: row!.deleted, wasDeleteMarker: row!.was_delete_marker, versioning: row!.versioning };
  } catch (error) {
    throw deleteError(error, target.bucketName, target.key);
  }
}
