// Multipart uploads: CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload.
// Each part is striped with its own layout when it is uploaded; completing an upload moves no bytes.
import { createHash } from "node:crypto";
import {
  abortPart,
  abortUpload,
  commitPart,
  completeUpload,
  createUpload,
  getUpload,
  insertPendingPart,
  listUploadParts,
} from "../../../meta/src/pg/uploads.js";
import type { Bucket, MultipartUpload } from "../../../meta/src/types.js";
import type { S3Context } from "../app.js";
import { CHECKSUM_ALGORITHMS, checksumHeaderName, type ChecksumAlgorithm } from "../s3/checksums.js";
import { S3Error } from "../s3/errors.js";
import { H, headerValue, objectHeadersFromRequest, quoteEtag } from "../s3/headers.js";
import { parseXml, renderXml, type XmlObject } from "../s3/xml.js";
import { loadOwnBucket, newId, objectKey, readSmallBody, respondEmpty } from "./common.js";
import { storageClassOf, storePart } from "./store-part.js";

/** AWS: every part but the last must be at least 5 MiB; part numbers run from 1 to 10,000. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_NUMBER = 10_000;

function requestedChecksumAlgorithm(ctx: S3Context): ChecksumAlgorithm | undefined {
  const value = headerValue(ctx.req.headers, H.checksumAlgorithm)?.toUpperCase();
  if (value === undefined) return undefined;
  if (!CHECKSUM_ALGORITHMS.includes(value as ChecksumAlgorithm)) {
    throw new S3Error("InvalidRequest", "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]");
  }
  return value as ChecksumAlgorithm;
}

async function loadUpload(ctx: S3Context, bucket: Bucket, key: string): Promise<MultipartUpload> {
  const uploadId = ctx.state.target.query.get("uploadId") ?? "";
  const upload = await getUpload(ctx.services.sql, bucket.id, key, uploadId);
  if (!upload) throw new S3Error("NoSuchUpload", undefined, { details: { UploadId: uploadId } });
  return upload;
}

export async function createMultipartUpload(ctx: S3Context): Promise<void> {
  const bucket = await loadOwnBucket(ctx);
  const key = objectKey(ctx);
  const headers = objectHeadersFromRequest(ctx.req.headers);
  const storageClass = storageClassOf(ctx, headerValue(ctx.req.headers, H.storageClass));
  const checksumAlgorithm = requestedChecksumAlgorithm(ctx);
  const uploadId = newId();
  await createUpload(ctx.services.sql, {
    bucketId: bucket.id,
    key,
    uploadId,
    storageClass,
    headers,
    checksumAlgorithm,
    owner: ctx.state.auth.accessKeyId,
  });
  if (checksumAlgorithm) ctx.set(H.checksumAlgorithm, checksumAlgorithm);
  ctx.type = "application/xml";
  ctx.body = renderXml("InitiateMultipartUploadResult", { Bucket: bucket.name, Key: key, UploadId: uploadId });
}

function partNumberOf(ctx: S3Context): number {
  const text = ctx.state.target.query.get("partNumber") ?? "";
  const number = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(number >= 1 && number <= MAX_PART_NUMBER)) {
    throw new S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive", {
      details: { ArgumentName: "partNumber", ArgumentValue: text },
    });
  }
  return number;
}

export async function uploadPart(ctx: S3Context): Promise<void> {
  const bucket = await loadOwnBucket(ctx);
  const key = objectKey(ctx);
  const partNumber = partNumberOf(ctx);
  const upload = await loadUpload(ctx, bucket, key);
  const { sql } = ctx.services;
  const body = ctx.state.auth.openBody();

  const stored = await storePart(ctx, body, {
    storageClass: upload.storageClass,
    placementSeed: `${upload.uploadId}/${partNumber}`,
    allowInline: false,
    reserve: (part) => insertPendingPart(sql, { uploadId: upload.uploadId, partNumber, ...part }),
    abort: (rowId) => abortPart(sql, rowId),
  });
  await commitPart(sql, stored.rowId, {
    etag: stored.md5Hex,
    datafileCrcs: stored.datafileCrcs,
    checksumAlgorithm: stored.checksum?.algorithm,
    checksumValue: stored.checksum?.base64,
  });
  ctx.set("etag", quoteEtag(stored.md5Hex));
  if (stored.checksum) ctx.set(checksumHeaderName(stored.checksum.algorithm), stored.checksum.base64);
  respondEmpty(ctx, 200);
}

interface RequestedPart {
  partNumber: number;
  etag: string;
}

function requestedParts(document: XmlObject): RequestedPart[] {
  const parts = document.Part;
  if (!Array.isArray(parts) || parts.length === 0) throw new S3Error("MalformedXML");
  return parts.map((part) => {
    const element = part as XmlObject;
    const number = Number(element.PartNumber);
    if (typeof element.PartNumber !== "string" || !Number.isInteger(number) || typeof element.ETag !== "string") throw new S3Error("MalformedXML");
    return { partNumber: number, etag: element.ETag.replace(/^"+|"+$/g, "") };
  });
}

export async function completeMultipartUpload(ctx: S3Context): Promise<void> {
  const bucket = await loadOwnBucket(ctx);
  const key = objectKey(ctx);
  const upload = await loadUpload(ctx, bucket, key);
  const requested = requestedParts(parseXml(await readSmallBody(ctx, { checksumHeadersDescribeBody: false }), "CompleteMultipartUpload"));

  for (let i = 1; i < requested.length; i++) {
    if (requested[i].partNumber <= requested[i - 1].partNumber) throw new S3Error("InvalidPartOrder");
  }
  const uploaded = new Map((await listUploadParts(ctx.services.sql, upload.uploadId)).map((part) => [part.partNumber, part]));
  const md5s: Buffer[] = [];
  let size = 0;
  requested.forEach(({ partNumber, etag }, index) => {
    const part = uploaded.get(partNumber);
    if (!part || part.etag !== etag) {
      throw new S3Error("InvalidPart", undefined, { details: { UploadId: upload.uploadId, PartNumber: String(partNumber), ETag: etag } });
    }
    if (index < requested.length - 1 && part.size < MIN_PART_SIZE) {
      throw new S3Error("EntityTooSmall", undefined, {
        details: { ProposedSize: String(part.size), MinSizeAllowed: String(MIN_PART_SIZE), PartNumber: String(partNumber), ETag: etag },
      });
    }
    md5s.push(Buffer.from(part.etag, "hex"));
    size += part.size;
  });
  const etag = `${createHash("md5").update(Buffer.concat(md5s)).digest("hex")}-${requested.length}`;
  const versionId = newId();
  const versioned = bucket.versioning === "Enabled";
  await completeUpload(ctx.services.sql, {
    uploadId: upload.uploadId,
    versionId,
    parts: requested.map(({ partNumber }) => ({ partNumber })),
    size,
    etag,
    versioned,
  });
  if (versioned) ctx.set(H.versionId, versionId);
  ctx.type = "application/xml";
  ctx.body = renderXml("CompleteMultipartUploadResult", {
    Location: `${ctx.protocol}://${ctx.host}/${bucket.name}/${encodeURIComponent(key).replace(/%2F/g, "/")}`,
    Bucket: bucket.name,
    Key: key,
    ETag: quoteEtag(etag),
  });
}

export async function abortMultipartUpload(ctx: S3Context): Promise<void> {
  const bucket = await loadOwnBucket(ctx);
  const key = objectKey(ctx);
  const upload = await loadUpload(ctx, bucket, key);
  if (!(await abortUpload(ctx.services.sql, upload.uploadId))) throw new S3Error("NoSuchUpload");
  respondEmpty(ctx, 204);
}
