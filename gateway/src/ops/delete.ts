// DeleteObject and DeleteObjects: 204 (or a <Deleted> entry) whether or not the key existed, as AWS answers.
import { deleteCurrentObject, deleteObject as removeObject } from "../../../meta/src/pg/versions.js";
import type { Bucket } from "../../../meta/src/types.js";
import type { S3Context } from "../app.js";
import { S3Error, isS3Error } from "../s3/errors.js";
import { parseXml, renderXml, type XmlObject } from "../s3/xml.js";
import { loadOwnBucket, objectKey, readSmallBody, respondEmpty } from "./common.js";

export async function deleteObject(ctx: S3Context): Promise<void> {
  // One statement in all: it finds the bucket itself.
  const target = { bucketName: ctx.state.operation.bucket!, owner: ctx.state.auth.accessKeyId, key: objectKey(ctx) };
  await deleteCurrentObject(ctx.services.sql, target);
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

type DeleteOutcome = { deleted: true } | { deleted: false; code: string; message: string };

async function deleteOne(ctx: S3Context, bucket: Bucket, entry: DeleteEntry): Promise<DeleteOutcome> {
  try {
    if (Buffer.byteLength(entry.key) > 1024) throw new S3Error("KeyTooLongError");
    // No bucket here ever keeps versions (PutBucketVersioning is not served), so the only version id that can
    // name something is "null": the current object. Any other names nothing, as AWS says of an unknown id.
    if (entry.versionId !== undefined && entry.versionId !== "null") throw new S3Error("NoSuchVersion");
    await removeObject(ctx.services.sql, bucket.id, entry.key, { versioned: bucket.versioning === "Enabled" });
    return { deleted: true };
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
      if (!quiet) deleted.push({ Key: entry.key, VersionId: entry.versionId });
    } else {
      errors.push({ Key: entry.key, VersionId: entry.versionId, Code: outcome.code, Message: outcome.message });
    }
  });
  ctx.type = "application/xml";
  ctx.body = renderXml("DeleteResult", { Deleted: deleted, Error: errors });
}
