// Multipart uploads: CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload.
// Each part is striped with its own layout when it is uploaded; completing an upload moves no bytes.
import { createHash } from "node:crypto";
import {
  abortPart,
  abortUpload,
  commitPart,
  completeUpload,
  createUpload,
  findCompletedUpload,
  getUpload,
  insertPendingPart,
  listPartsPage,
  listUploadParts,
  seekUploads,
  type CompletedUpload,
  type UploadCursor,
} from "../../../meta/src/pg/uploads.js";
import { InvalidPartError, NoSuchUploadError } from "../../../meta/src/errors.js";
import { commonPrefixOf, compareKeys, prefixSuccessor } from "../../../meta/src/listing.js";
import type { Bucket, MultipartUpload } from "../../../meta/src/types.js";
import type { S3Context } from "../context.js";
import { CHECKSUM_ALGORITHMS, checksumHeaderName, type ChecksumAlgorithm } from "../s3/checksums.js";
import { S3Error } from "../s3/errors.js";
import { H, headerValue, objectHeadersFromRequest, quoteEtag } from "../s3/headers.js";
import { iso8601, parseXml, renderXml, type XmlObject } from "../s3/xml.js";
import { encoderOf } from "./list.js";
import { loadOwnBucket, newId, objectKey, readSmallBody, respondEmpty, setWrittenVersionId } from "./common.js";
import { storageClassOf, storePart } from "./store-part.js";
import { tagsFromHeader } from "./tagging.js";
import { writePreconditionFromRequest } from "./write-conditions.js";
import { completedChecksum, partChecksum, partChecksumsInXml, uploadChecksumOf, uploadChecksumType } from "./multipart-checksums.js";

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

export async function loadUpload(ctx: S3Context, bucket: Bucket, key: string): Promise<MultipartUpload> {
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
  const checksumType = uploadChecksumType(ctx.req.headers, checksumAlgorithm);
  const tags = tagsFromHeader(ctx.req.headers);
  const uploadId = newId();
  await createUpload(ctx.services.sql, {
    bucketId: bucket.id,
    key,
    uploadId,
    storageClass,
    headers,
    checksumAlgorithm,
    checksumType,
    tags,
    owner: ctx.state.auth.accessKeyId,
  });
  if (checksumAlgorithm) ctx.set(H.checksumAlgorithm, checksumAlgorithm);
  if (checksumType) ctx.set(H.checksumType, checksumType);
  ctx.type = "application/xml";
  ctx.body = renderXml("InitiateMultipartUploadResult", { Bucket: bucket.name, Key: key, UploadId: uploadId });
}

export function partNumberOf(ctx: S3Context): number {
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
  const body = ctx.state.auth.openBody({ computeChecksum: uploadChecksumOf(upload)?.algorithm });

  const stored = await storePart(ctx, body, {
    storageClass: upload.storageClass,
    placementSeed: `${upload.uploadId}/${partNumber}`,
    reserve: (part) => insertPendingPart(sql, { uploadId: upload.uploadId, partNumber, ...part }),
    abort: (rowId) => abortPart(sql, rowId),
  });
  let checksum: typeof stored.checksum;
  try {
    checksum = partChecksum(upload, body.digests());
  } catch (error) {
    await abortPart(sql, stored.rowId);
    throw error;
  }
  await commitPart(sql, stored.rowId, {
    etag: stored.md5Hex,
    datafileCrcs: stored.datafileCrcs,
    checksumAlgorithm: checksum?.algorithm,
    checksumValue: checksum?.base64,
  });
  ctx.set("etag", quoteEtag(stored.md5Hex));
  if (checksum) ctx.set(checksumHeaderName(checksum.algorithm), checksum.base64);
  respondEmpty(ctx, 200);
}

interface RequestedPart {
  partNumber: number;
  etag: string;
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

function requestedParts(document: XmlObject): RequestedPart[] {
  const parts = document.Part;
  if (!Array.isArray(parts) || parts.length === 0) throw new S3Error("MalformedXML");
  return parts.map((part) => {
    const element = part as XmlObject;
    const number = Number(element.PartNumber);
    if (typeof element.PartNumber !== "string" || !Number.isInteger(number) || typeof element.ETag !== "string") throw new S3Error("MalformedXML");
    return { partNumber: number, etag: element.ETag.replace(/^"+|"+$/g, ""), checksums: partChecksumsInXml(element) };
  });
}

export async function completeMultipartUpload(ctx: S3Context): Promise<void> {
  const bucket = await loadOwnBucket(ctx);
  const key = objectKey(ctx);
  const uploadId = ctx.state.target.query.get("uploadId") ?? "";
  const upload = await getUpload(ctx.services.sql, bucket.id, key, uploadId);
  const document = await readSmallBody(ctx, { checksumHeadersDescribeBody: false });
  if (!upload) {
    // SDKs retry a Complete that timed out: AWS answers it as the first one was, while that object is there.
    const completed = await findCompletedUpload(ctx.services.sql, bucket.id, key, uploadId);
    if (!completed) throw new S3Error("NoSuchUpload", undefined, { details: { UploadId: uploadId } });
    return respondCompleted(ctx, bucket, key, completed);
  }
  const precondition = writePreconditionFromRequest(ctx.req.headers);
  const requested = requestedParts(parseXml(document, "CompleteMultipartUpload"));

  for (let i = 1; i < requested.length; i++) {
    if (requested[i].partNumber <= requested[i - 1].partNumber) throw new S3Error("InvalidPartOrder");
  }
  const uploaded = new Map((await listUploadParts(ctx.services.sql, upload.uploadId)).map((part) => [part.partNumber, part]));
  const md5s: Buffer[] = [];
  const chosen: Parameters<typeof completedChecksum>[1] = [];
  let size = 0;
  requested.forEach(({ partNumber, etag }, index) => {
    const part = uploaded.get(partNumber);
    if (!part || part.etag !== etag) throw invalidPart(upload.uploadId, partNumber, etag);
    if (index < requested.length - 1 && part.size < MIN_PART_SIZE) {
      throw new S3Error("EntityTooSmall", undefined, {
        details: { ProposedSize: String(part.size), MinSizeAllowed: String(MIN_PART_SIZE), PartNumber: String(partNumber), ETag: etag },
      });
    }
    md5s.push(Buffer.from(part.etag, "hex"));
    chosen.push({ requested: requested[index]!, part });
    size += part.size;
  });
  const checksum = completedChecksum(upload, chosen, ctx.req.headers);
  const etag = `${createHash("md5").update(Buffer.concat(md5s)).digest("hex")}-${requested.length}`;
  let completed: CompletedUpload;
  try {
    completed = await completeUpload(ctx.services.sql, {
      uploadId: upload.uploadId,
      versionId: newId(),
      // The ETags are checked again under the upload's lock: a part re-uploaded since it was listed above fails.
      parts: requested.map(({ partNumber, etag: partEtag }) => ({ partNumber, etag: partEtag })),
      size,
      etag,
      checksumAlgorithm: checksum?.algorithm,
      checksumValue: checksum?.value,
      checksumType: checksum?.type,
      precondition,
    });
  } catch (error) {
    if (error instanceof InvalidPartError) {
      const request = requested.find((part) => part.partNumber === error.partNumber);
      throw invalidPart(upload.uploadId, error.partNumber, request?.etag ?? "");
    }
    // A concurrent Complete of the same upload won: the same list of parts makes the same object.
    const completedMeanwhile = error instanceof NoSuchUploadError ? await findCompletedUpload(ctx.services.sql, bucket.id, key, uploadId) : undefined;
    if (completedMeanwhile?.etag !== etag) throw error;
    completed = completedMeanwhile;
  }
  respondCompleted(ctx, bucket, key, completed);
}

function invalidPart(uploadId: string, partNumber: number, etag: string): S3Error {
  return new S3Error("InvalidPart", undefined, { details: { UploadId: uploadId, PartNumber: String(partNumber), ETag: etag } });
}

function respondCompleted(ctx: S3Context, bucket: Bucket, key: string, completed: CompletedUpload): void {
  setWrittenVersionId(ctx, completed);
  const checksum = completed.checksumAlgorithm && completed.checksumValue ? completed : undefined;
  ctx.type = "application/xml";
  ctx.body = renderXml("CompleteMultipartUploadResult", {
    Location: `${ctx.protocol}://${ctx.host}/${bucket.name}/${encodeURIComponent(key).replace(/%2F/g, "/")}`,
    Bucket: bucket.name,
    Key: key,
    ETag: quoteEtag(completed.etag),
    ...(checksum ? { [`Checksum${checksum.checksumAlgorithm}`]: checksum.checksumValue, ChecksumType: checksum.checksumType } : {}),
  });
}

export async function abortMultipartUpload(ctx: S3Context): Promise<void> {
  const bucket = await loadOwnBucket(ctx);
  const key = objectKey(ctx);
  const upload = await loadUpload(ctx, bucket, key);
  if (!(await abortUpload(ctx.services.sql, upload.uploadId))) throw new S3Error("NoSuchUpload");
  respondEmpty(ctx, 204);
}

/** A non-negative integer query parameter (max-parts, part-number-marker, max-uploads), with AWS's error otherwise. */
function countParameter(ctx: S3Context, name: string, fallback: number): number {
  const text = ctx.state.target.query.get(name);
  if (text === undefined || text === "") return fallback;
  if (!/^\d{1,10}$/.test(text) || Number(text) > 2 ** 31 - 1) {
    throw new S3Error("InvalidArgument", `Provided ${name} not an integer or within integer range`, { details: { ArgumentName: name, ArgumentValue: text } });
  }
  return Number(text);
}

const LIST_LIMIT = 1000;

export async function listParts(ctx: S3Context): Promise<void> {
  const bucket = await loadOwnBucket(ctx);
  const key = objectKey(ctx);
  const upload = await loadUpload(ctx, bucket, key);
  const maxParts = Math.min(countParameter(ctx, "max-parts", LIST_LIMIT), LIST_LIMIT);
  const marker = countParameter(ctx, "part-number-marker", 0);
  // One row more than asked says whether the listing is truncated.
  const rows = await listPartsPage(ctx.services.sql, upload.uploadId, marker, maxParts + 1);
  const parts = rows.slice(0, maxParts);
  const isTruncated = rows.length > maxParts;
  const initiator = { ID: upload.owner, DisplayName: upload.owner };
  ctx.type = "application/xml";
  ctx.body = renderXml("ListPartsResult", {
    Bucket: bucket.name,
    Key: key,
    UploadId: upload.uploadId,
    Initiator: initiator,
    Owner: initiator,
    StorageClass: upload.storageClass,
    PartNumberMarker: marker,
    NextPartNumberMarker: parts.length ? parts[parts.length - 1].partNumber : marker,
    MaxParts: maxParts,
    IsTruncated: isTruncated,
    ChecksumAlgorithm: upload.checksumAlgorithm,
    ChecksumType: upload.checksumType,
    Part: parts.map((part) => ({
      PartNumber: part.partNumber,
      LastModified: iso8601(part.lastModified),
      ETag: quoteEtag(part.etag),
      Size: part.size,
      ...(part.checksumAlgorithm && part.checksumValue
        ? { [`Checksum${part.checksumAlgorithm}`]: part.checksumValue }
        : {}),
    })),
  });
}

interface UploadsPage {
  uploads: MultipartUpload[];
  commonPrefixes: string[];
  isTruncated: boolean;
}

/**
 * A page of ListMultipartUploads: uploads in (key, initiation) order after the markers, with keys under a common
 * prefix rolled up into it (one entry each, like a key). Each common prefix is jumped over with a fresh seek at
 * its successor, so a page costs O(entries) rows however many uploads sit under a prefix.
 */
async function uploadsPage(
  ctx: S3Context,
  bucket: Bucket,
  request: { prefix: string; delimiter?: string; keyMarker?: string; uploadIdMarker?: string; maxUploads: number },
): Promise<UploadsPage> {
  const { prefix, delimiter, keyMarker, maxUploads } = request;
  const page: UploadsPage = { uploads: [], commonPrefixes: [], isTruncated: false };
  const below = prefix === "" ? undefined : prefixSuccessor(prefix);
  let cursor: UploadCursor | undefined = { kind: "atKey", key: prefix };
  if (keyMarker !== undefined && compareKeys(keyMarker, prefix) >= 0) {
    const folder = delimiter === undefined ? undefined : commonPrefixOf(keyMarker, prefix, delimiter);
    if (folder !== undefined) {
      const next = prefixSuccessor(folder);
      cursor = next === undefined || (below !== undefined && compareKeys(next, below) >= 0) ? undefined : { kind: "atKey", key: next };
    } else {
      // AWS: upload-id-marker only counts together with key-marker.
      cursor = request.uploadIdMarker ? { kind: "afterUpload", key: keyMarker, uploadId: request.uploadIdMarker } : { kind: "afterKey", key: keyMarker };
    }
  }
  let entries = 0;
  while (cursor !== undefined) {
    const batch = Math.min(maxUploads - entries + 1, LIST_LIMIT + 1);
    const rows = await seekUploads(ctx.services.sql, bucket.id, cursor, below, batch);
    let jumped = false;
    for (const row of rows) {
      if (entries === maxUploads) {
        page.isTruncated = true;
        return page;
      }
      entries++;
      const folder = delimiter === undefined ? undefined : commonPrefixOf(row.key, prefix, delimiter);
      if (folder === undefined) {
        page.uploads.push(row);
        cursor = { kind: "afterUpload", key: row.key, uploadId: row.uploadId };
        continue;
      }
      page.commonPrefixes.push(folder);
      const next = prefixSuccessor(folder);
      cursor = next === undefined || (below !== undefined && compareKeys(next, below) >= 0) ? undefined : { kind: "atKey", key: next };
      jumped = true;
      break;
    }
    if (!jumped && rows.length < batch) break; // the range is exhausted
  }
  return page;
}

export async function listMultipartUploads(ctx: S3Context): Promise<void> {
  const bucket = await loadOwnBucket(ctx);
  const { query } = ctx.state.target;
  const prefix = query.get("prefix") ?? "";
  const delimiter = query.get("delimiter") || undefined;
  const keyMarker = query.get("key-marker") || undefined;
  const uploadIdMarker = keyMarker !== undefined ? query.get("upload-id-marker") || undefined : undefined;
  const maxUploads = Math.min(countParameter(ctx, "max-uploads", LIST_LIMIT), LIST_LIMIT);
  const encoder = encoderOf(query);
  const encode = encoder ?? ((value: string) => value);
  const page = await uploadsPage(ctx, bucket, { prefix, delimiter, keyMarker, uploadIdMarker, maxUploads });

  // The next markers name the last entry of the page: an upload (key + id), or a common prefix (as the key).
  const lastUpload = page.uploads[page.uploads.length - 1];
  const lastPrefix = page.commonPrefixes[page.commonPrefixes.length - 1];
  const lastIsPrefix = lastPrefix !== undefined && (lastUpload === undefined || compareKeys(lastPrefix, lastUpload.key) > 0);
  const nextKeyMarker = lastIsPrefix ? lastPrefix : lastUpload?.key;
  const nextUploadIdMarker = lastIsPrefix ? undefined : lastUpload?.uploadId;
  ctx.type = "application/xml";
  ctx.body = renderXml("ListMultipartUploadsResult", {
    Bucket: bucket.name,
    KeyMarker: encode(keyMarker ?? ""),
    UploadIdMarker: uploadIdMarker ?? "",
    NextKeyMarker: page.isTruncated && nextKeyMarker !== undefined ? encode(nextKeyMarker) : undefined,
    NextUploadIdMarker: page.isTruncated && nextUploadIdMarker !== undefined ? nextUploadIdMarker : undefined,
    Delimiter: delimiter !== undefined ? encode(delimiter) : undefined,
    Prefix: encode(prefix),
    MaxUploads: maxUploads,
    IsTruncated: page.isTruncated,
    EncodingType: encoder ? "url" : undefined,
    Upload: page.uploads.map((upload) => ({
      Key: encode(upload.key),
      UploadId: upload.uploadId,
      Initiator: { ID: upload.owner, DisplayName: upload.owner },
      Owner: { ID: upload.owner, DisplayName: upload.owner },
      StorageClass: upload.storageClass,
      Initiated: iso8601(upload.initiated),
      ChecksumAlgorithm: upload.checksumAlgorithm,
      ChecksumType: upload.checksumType,
    })),
    CommonPrefixes: page.commonPrefixes.map((commonPrefix) => ({ Prefix: encode(commonPrefix) })),
  });
}
