// DeleteObject and DeleteObjects: parse the key, version id or <Delete> document, and render what the object layer
// did (gateway/src/objects/delete.ts holds the rules).
import { authorizedOwner, mayAccessObject } from "../access/request-access.js";
import type { S3Context } from "../context.js";
import { MAX_DELETE_KEYS, type DeleteEntry, type DeleteOutcome } from "../objects/delete.js";
import { S3Error } from "../s3/errors.js";
import { parseXml, renderXml, type XmlObject } from "../s3/xml.js";
import { H } from "../s3/headers.js";
import { bypassesGovernance } from "./object-lock.js";
import { loadAuthorizedBucket, objectKey, readSmallBody, requestedVersionId, respondEmpty } from "./common.js";

export async function deleteObject(ctx: S3Context): Promise<void> {
  const bucketName = ctx.state.operation.bucket!;
  const key = objectKey(ctx);
  const versionId = requestedVersionId(ctx);
  const bypassGovernance = versionId !== undefined && bypassesGovernance(ctx, key);
  const result = await ctx.services.objects.deleteObject({ bucketName, bucketOwner: authorizedOwner(ctx), key, versionId, bypassGovernance });
  if (result.deleteMarker) ctx.set(H.deleteMarker, "true");
  if (result.versionId !== undefined) ctx.set(H.versionId, result.versionId);
  respondEmpty(ctx, 204);
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

export async function deleteObjects(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  // Content-MD5 is not demanded: 2025 SDKs send an x-amz-checksum-* of the body instead, which auth verifies.
  const { quiet, entries } = requestedDeletes(parseXml(await readSmallBody(ctx), "Delete", { trimValues: false }));
  // The bucket's owner may delete any key (unless the policy denies it, which the per-key question also answers).
  const mayDelete = (entry: DeleteEntry) => mayAccessObject(ctx, "DeleteObject", entry.key, entry.versionId);
  const outcomes: DeleteOutcome[] = await ctx.services.objects.deleteObjects({
    bucket,
    bucketOwner: authorizedOwner(ctx),
    requestId: ctx.state.requestId,
    entries,
    mayDelete,
    bypassesGovernance: (entry) => entry.versionId !== undefined && bypassesGovernance(ctx, entry.key),
  });

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
