// DeleteObject and DeleteObjects: 204 (or a <Deleted> entry) whether or not the key or version existed, as AWS
// answers. Without a version id the bucket's versioning state decides between removing the object and stacking a
// delete marker on it; with one, exactly that version goes.
import { deleteCurrentObject, deleteObjectVersion } from "../../../meta/src/pg/versions.js";
import type { Bucket } from "../../../meta/src/types.js";
import type { S3Context } from "../context.js";
import { S3Error, isS3Error } from "../s3/errors.js";
import { parseXml, renderXml, type XmlObject } from "../s3/xml.js";
import { H } from "../s3/headers.js";
import { isVersionId, loadOwnBucket, objectKey, readSmallBody, requestedVersionId, respondEmpty } from "./common.js";

export async function deleteObject(ctx: S3Context): Promise<void> {
  // One statement in all: it finds the bucket itself.
  const target = { bucketName: ctx.state.operation.bucket!, owner: ctx.state.auth.accessKeyId, key: objectKey(ctx) };
  const versionId = requestedVersionId(ctx);
  if (versionId !== undefined) {
    const removed = await deleteObjectVersion(ctx.services.sql, { ...target, versionId });
    ctx.set(H.versionId, versionId);
    if (removed.wasDeleteMarker) ctx.set(H.deleteMarker, "true");
  } else {
    const { markerVersionId } = await deleteCurrentObject(ctx.services.sql, target);
    if (markerVersionId !== undefined) {
      ctx.set(H.deleteMarker, "true");
      ctx.set(H.versionId, markerVersionId);
    }
  }
  respondEmpty(ctx, 204);
}

/** AWS: at most 1000 keys per DeleteObjects request. */
const MAX_DELETE_KEYS = 1000;
/** Keys deleted at once: each delete is its own short transaction, so a few overlap without hogging the pool. */
const DELETE_CONCURRENCY = 8;

interface DeleteEntry {
  key: string;
  versionId?: string;
}

function requestedDeletes(document: XmlObject): { quiet: boolean; entries: DeleteEntry[] } {
  const objects = document.Object;
  if (!Array.isArray(objects) || objects.length === 0 || objects.length > MAX_DELETE_KEYS) throw new S3Error("MalformedXML");
  const entries = objects.map((object): DeleteEntry => {
    const element = object as XmlObject;
    if (typeof element.Key !== "string") throw new S3Error("MalformedXML");
    if (element.VersionId !== undefined && typeof element.VersionId !== "string") throw new S3Error("MalformedXML");
    // Keys are taken exactly as sent (a key may begin or end with spaces); other values are trimmed.
    const versionId = element.VersionId?.trim();
    return { key: element.Key, ...(versionId ? { versionId } : {}) };
  });
  const quiet = document.Quiet;
  if (quiet !== undefined && typeof quiet !== "string") throw new S3Error("MalformedXML");
  return { quiet: quiet?.trim().toLowerCase() === "true", entries };
}

/** A <Deleted> entry's delete marker: the one a delete made, or the one a delete by version id removed. */
type DeleteOutcome = { deleted: true; deleteMarkerVersionId?: string } | { deleted: false; code: string; message: string };

async function deleteOne(ctx: S3Context, bucket: Bucket, entry: DeleteEntry): Promise<DeleteOutcome> {
  try {
    if (Buffer.byteLength(entry.key) > 1024) throw new S3Error("KeyTooLongError");
    // A version id Weft cannot have minted is this key's NoSuchVersion, as AWS reports it in a DeleteObjects result
    // (a lone DeleteObject answers it with 400 InvalidArgument instead).
    const versionId = entry.versionId === undefined || isVersionId(entry.versionId) ? entry.versionId : undefined;
    if (entry.versionId !== undefined && versionId === undefined) throw new S3Error("NoSuchVersion");
    // By name, as DeleteObject: the bucket's versioning state is read when each key changes, not once per request.
    const target = { bucketName: bucket.name, owner: ctx.state.auth.accessKeyId, key: entry.key };
    if (versionId !== undefined) {
      const removed = await deleteObjectVersion(ctx.services.sql, { ...target, versionId });
      return removed.wasDeleteMarker ? { deleted: true, deleteMarkerVersionId: versionId } : { deleted: true };
    }
    const { markerVersionId } = await deleteCurrentObject(ctx.services.sql, target);
    return markerVersionId !== undefined ? { deleted: true, deleteMarkerVersionId: markerVersionId } : { deleted: true };
  } catch (error) {
    if (!isS3Error(error)) {
      ctx.services.log.error({ err: error, requestId: ctx.state.requestId, key: entry.key }, "DeleteObjects: one key failed");
      const internal = new S3Error("InternalError");
      return { deleted: false, code: internal.code, message: internal.message };
    }
    return { deleted: false, code: error.code, message: error.message };
  }
}

export async function deleteObjects(ctx: S3Context): Promise<void> {
  const bucket = await loadOwnBucket(ctx);
  // Content-MD5 is not demanded: 2025 SDKs send an x-amz-checksum-* of the body instead, which auth verifies.
  const { quiet, entries } = requestedDeletes(parseXml(await readSmallBody(ctx), "Delete", { trimValues: false }));
  const outcomes: DeleteOutcome[] = new Array(entries.length);
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const index = next++;
      outcomes[index] = await deleteOne(ctx, bucket, entries[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, entries.length) }, worker));

  const deleted: XmlObject[] = [];
  const errors: XmlObject[] = [];
  entries.forEach((entry, index) => {
    const outcome = outcomes[index];
    if (outcome.deleted) {
      if (!quiet) {
        const marker = outcome.deleteMarkerVersionId;
        deleted.push({ Key: entry.key, VersionId: entry.versionId, DeleteMarker: marker !== undefined ? true : undefined, DeleteMarkerVersionId: marker });
      }
    } else {
      errors.push({ Key: entry.key, VersionId: entry.versionId, Code: outcome.code, Message: outcome.message });
    }
  });
  ctx.type = "application/xml";
  ctx.body = renderXml("DeleteResult", { Deleted: deleted, Error: errors });
}
