// CopyObject and UploadPartCopy: read a stored object (or a byte range of it) back and write it as a new version or
// part through the same path as PutObject / UploadPart (store-part.ts).
//
// Bytes are moved rather than datafiles shared: the schema keeps (ioserver_id, blob_id) unique, so every datafile
// has exactly one owning part and the collector may delete a blob as soon as its owner goes, with no reference
// counting to get wrong. A copy also gets a fresh layout for its own size and storage class, which is what a
// storage class change needs anyway. The price is the copy's I/O; clients only copy objects up to 5 GiB in one
// request (bigger ones go part by part with UploadPartCopy), so a copy costs at most one 5 GiB read and write.
import type { IncomingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import { getBucket } from "../../../meta/src/pg/buckets.js";
import { getObjectTags } from "../../../meta/src/pg/tags.js";
import { abortPart, commitPart, insertPendingPart } from "../../../meta/src/pg/uploads.js";
import { getObjectVersion } from "../../../meta/src/pg/versions.js";
import type { Bucket, ObjectHeaders, ObjectVersion } from "../../../meta/src/types.js";
import type { S3Context } from "../context.js";
import { CHECKSUM_ALGORITHMS, checksumHeaderName, type ChecksumAlgorithm } from "../s3/checksums.js";
import { S3Error } from "../s3/errors.js";
import { H, headerValue, objectHeadersFromRequest, quoteEtag, type ByteRange } from "../s3/headers.js";
import { iso8601, renderXml, type XmlObject } from "../s3/xml.js";
import { loadOwnBucket, objectKey, parseVersionId, setWrittenVersionId } from "./common.js";
import { openVersionRead } from "./get.js";
import { loadUpload, partNumberOf } from "./multipart.js";
import { tagsFromHeader } from "./tagging.js";
import { MAX_PART_SIZE, copiedBody, storageClassOf, storeObjectVersion, storePart, type StoredPart } from "./store-part.js";

const COPY = {
  source: "x-amz-copy-source",
  sourceRange: "x-amz-copy-source-range",
  sourceVersionId: "x-amz-copy-source-version-id",
  ifMatch: "x-amz-copy-source-if-match",
  ifNoneMatch: "x-amz-copy-source-if-none-match",
  ifModifiedSince: "x-amz-copy-source-if-modified-since",
  ifUnmodifiedSince: "x-amz-copy-source-if-unmodified-since",
  metadataDirective: "x-amz-metadata-directive",
  taggingDirective: "x-amz-tagging-directive",
} as const;

function directiveOf(headers: IncomingHttpHeaders, header: string, what: string): "COPY" | "REPLACE" {
  const value = (headerValue(headers, header) ?? "COPY").toUpperCase();
  if (value !== "COPY" && value !== "REPLACE") {
    throw new S3Error("InvalidArgument", `Unknown ${what} directive.`, { details: { ArgumentName: header, ArgumentValue: value } });
  }
  return value;
}

interface CopySource {
  bucket: string;
  key: string;
  versionId?: string;
}

/** `x-amz-copy-source`: `[/]bucket/key[?versionId=id]`, bucket and key URL-encoded ('?' in a key arrives as %3F). */
export function parseCopySource(header: string): CopySource {
  const invalid = (message: string) => new S3Error("InvalidArgument", message, { details: { ArgumentName: COPY.source, ArgumentValue: header } });
  const question = header.indexOf("?");
  const rawPath = question < 0 ? header : header.slice(0, question);
  let versionId: string | undefined;
  if (question >= 0) {
    const query = new URLSearchParams(header.slice(question + 1));
    const value = query.get("versionId");
    if (value === null || value === "" || [...query.keys()].some((name) => name !== "versionId")) throw invalid("Invalid copy source version id");
    versionId = parseVersionId(value, COPY.source);
  }
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw invalid("Invalid copy source encoding");
  }
  if (path.startsWith("/")) path = path.slice(1);
  const slash = path.indexOf("/");
  if (slash <= 0 || slash === path.length - 1) throw invalid("Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
  return { bucket: path.slice(0, slash), key: path.slice(slash + 1), ...(versionId !== undefined ? { versionId } : {}) };
}

interface LoadedSource {
  bucket: Bucket;
  version: ObjectVersion;
}

/** The source version, in a bucket the caller owns. */
async function loadSource(ctx: S3Context): Promise<LoadedSource> {
  const source = parseCopySource(headerValue(ctx.req.headers, COPY.source) ?? "");
  const bucket = await getBucket(ctx.services.sql, source.bucket);
  if (!bucket) throw new S3Error("NoSuchBucket", undefined, { details: { BucketName: source.bucket } });
  if (bucket.owner !== ctx.state.auth.accessKeyId) throw new S3Error("AccessDenied");
  const versionId = source.versionId;
  const version = await getObjectVersion(ctx.services.sql, bucket.id, source.key, versionId);
  if (!version) {
    if (versionId !== undefined) throw new S3Error("NoSuchVersion", undefined, { details: { Key: source.key, VersionId: versionId } });
    throw new S3Error("NoSuchKey", undefined, { details: { Key: source.key } });
  }
  if (version.isDeleteMarker) {
    if (versionId !== undefined) throw new S3Error("InvalidRequest", "The source of a copy request may not specifically refer to a delete marker by version id.");
    throw new S3Error("NoSuchKey", undefined, { details: { Key: source.key } });
  }
  return { bucket, version };
}

function etagListMatches(header: string, etag: string): boolean {
  return header.split(",").some((item) => {
    const candidate = item.trim();
    return candidate === "*" || candidate === quoteEtag(etag) || candidate === etag;
  });
}

function parseDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : time;
}

/**
 * The x-amz-copy-source-if-* conditions, as AWS evaluates them: if-match wins over if-unmodified-since and
 * if-none-match over if-modified-since; unlike GET, every failure is 412 (there is no 304 for a copy).
 */
function checkCopySourcePreconditions(headers: IncomingHttpHeaders, version: ObjectVersion): void {
  const modified = Math.floor(version.lastModified.getTime() / 1000) * 1000;
  const failed = (condition: string) => new S3Error("PreconditionFailed", undefined, { details: { Condition: condition } });
  const ifMatch = headerValue(headers, COPY.ifMatch);
  const ifNoneMatch = headerValue(headers, COPY.ifNoneMatch);
  if (ifMatch !== undefined) {
    if (!etagListMatches(ifMatch, version.etag)) throw failed(COPY.ifMatch);
  } else {
    const since = parseDate(headerValue(headers, COPY.ifUnmodifiedSince));
    if (since !== undefined && modified > since) throw failed(COPY.ifUnmodifiedSince);
  }
  if (ifNoneMatch !== undefined) {
    if (etagListMatches(ifNoneMatch, version.etag)) throw failed(COPY.ifNoneMatch);
  } else {
    const since = parseDate(headerValue(headers, COPY.ifModifiedSince));
    if (since !== undefined && modified <= since) throw failed(COPY.ifModifiedSince);
  }
}

function tooLargeToCopy(size: number): S3Error {
  return new S3Error("InvalidRequest", `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_PART_SIZE}`, {
    details: { ActualObjectSize: String(size) },
  });
}

function requestedChecksumAlgorithm(headers: IncomingHttpHeaders): ChecksumAlgorithm | undefined {
  const value = headerValue(headers, H.checksumAlgorithm)?.toUpperCase();
  if (value === undefined) return undefined;
  if (!CHECKSUM_ALGORITHMS.includes(value as ChecksumAlgorithm)) {
    throw new S3Error("InvalidRequest", "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]");
  }
  return value as ChecksumAlgorithm;
}

function storedHeaders(version: ObjectVersion): ObjectHeaders {
  const { contentType, contentEncoding, contentDisposition, contentLanguage, cacheControl, expires, userMetadata } = version;
  return { contentType, contentEncoding, contentDisposition, contentLanguage, cacheControl, expires, userMetadata: { ...userMetadata } };
}

/**
 * The copied bytes must be the source's bytes: where the source's own digests describe exactly what was read,
 * compare them (the ioservers verify every block already; this also catches a wrong layout or read plan).
 */
function copiedBytesMatch(stored: StoredPart, version: ObjectVersion, wholeObject: boolean): boolean {
  if (!wholeObject) return true;
  if (!/-\d+$/.test(version.etag) && stored.md5Hex !== version.etag) return false;
  const sameChecksum = stored.checksum && version.checksumType === "FULL_OBJECT" && version.checksumAlgorithm === stored.checksum.algorithm;
  return !sameChecksum || stored.checksum!.base64 === version.checksumValue;
}

function checksumElements(checksum: StoredPart["checksum"]): XmlObject {
  return checksum ? { [`Checksum${checksum.algorithm}`]: checksum.base64 } : {};
}

export async function copyObject(ctx: S3Context): Promise<void> {
  const bucket = await loadOwnBucket(ctx);
  const key = objectKey(ctx);
  const { headers } = ctx.req;
  const directive = directiveOf(headers, COPY.metadataDirective, "metadata");
  const replacedTags = directiveOf(headers, COPY.taggingDirective, "tagging") === "REPLACE" ? (tagsFromHeader(headers) ?? []) : undefined;
  const requestedClass = headerValue(headers, H.storageClass);
  const storageClass = storageClassOf(ctx, requestedClass);
  const newHeaders = directive === "REPLACE" ? objectHeadersFromRequest(headers) : undefined;
  const requestedAlgorithm = requestedChecksumAlgorithm(headers);
  const source = await loadSource(ctx);
  const { version } = source;

  // Only a copy that changes something may target its own source (rclone and s3fs update mtime this way).
  const ontoItself = source.bucket.id === bucket.id && version.key === key && version.id === (await currentVersionRowId(ctx, bucket, key));
  if (ontoItself && directive === "COPY" && (requestedClass === undefined || requestedClass === version.storageClass)) {
    throw new S3Error(
      "InvalidRequest",
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  checkCopySourcePreconditions(headers, version);
  if (version.size > MAX_PART_SIZE) throw tooLargeToCopy(version.size);

  const algorithm = requestedAlgorithm ?? (version.checksumAlgorithm as ChecksumAlgorithm | undefined);
  const tags = replacedTags ?? (await getObjectTags(ctx.services.sql, source.bucket.id, version.key, version.versionId))?.tags ?? [];
  const read = version.size > 0 ? await openVersionRead(ctx, version, { start: 0, end: version.size - 1 }) : undefined;
  const body = copiedBody(read ?? Readable.from([]), version.size, algorithm);
  const copy = await storeObjectVersion(ctx, body, {
    bucket,
    key,
    storageClass,
    headers: newHeaders ?? storedHeaders(version),
    tags,
    beforeCommit: (written) => {
      if (!copiedBytesMatch(written, version, true)) throw new Error(`copy of ${version.key} read bytes that do not match the source's digests`);
    },
  });

  if (source.bucket.versioning !== "Unversioned") ctx.set(COPY.sourceVersionId, version.versionId);
  setWrittenVersionId(ctx, copy);
  ctx.type = "application/xml";
  ctx.body = renderXml("CopyObjectResult", {
    ETag: quoteEtag(copy.stored.md5Hex),
    LastModified: iso8601(copy.lastModified),
    ...(copy.stored.checksum ? { ChecksumType: "FULL_OBJECT" } : {}),
    ...checksumElements(copy.stored.checksum),
  });
}

/** The row id of the key's current version, to tell whether a copy's source is the object it replaces. */
async function currentVersionRowId(ctx: S3Context, bucket: Bucket, key: string): Promise<number | undefined> {
  const current = await getObjectVersion(ctx.services.sql, bucket.id, key);
  return current?.id;
}

/**
 * `x-amz-copy-source-range: bytes=first-last`, both offsets given, first ≤ last; undefined without the header.
 * A malformed value is InvalidArgument; one reaching past the source's end is InvalidRange, as AWS answers.
 */
export function parseCopySourceRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d{1,16})-(\d{1,16})$/.exec(header.trim());
  if (!match || Number(match[1]) > Number(match[2])) {
    throw new S3Error(
      "InvalidArgument",
      "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
      { details: { ArgumentName: COPY.sourceRange, ArgumentValue: header } },
    );
  }
  const range = { start: Number(match[1]), end: Number(match[2]) };
  if (range.end >= size) {
    throw new S3Error("InvalidRange", undefined, { details: { RangeRequested: header, ActualObjectSize: String(size) } });
  }
  return range;
}

export async function uploadPartCopy(ctx: S3Context): Promise<void> {
  const bucket = await loadOwnBucket(ctx);
  const key = objectKey(ctx);
  const partNumber = partNumberOf(ctx);
  const upload = await loadUpload(ctx, bucket, key);
  const source = await loadSource(ctx);
  const { version } = source;
  checkCopySourcePreconditions(ctx.req.headers, version);
  const range = parseCopySourceRange(headerValue(ctx.req.headers, COPY.sourceRange), version.size);
  const size = range ? range.end - range.start + 1 : version.size;
  if (size > MAX_PART_SIZE) throw tooLargeToCopy(size);

  const { sql } = ctx.services;
  const read = size > 0 ? await openVersionRead(ctx, version, range ?? { start: 0, end: version.size - 1 }) : undefined;
  const body = copiedBody(read ?? Readable.from([]), size, upload.checksumAlgorithm as ChecksumAlgorithm | undefined);
  const stored = await storePart(ctx, body, {
    storageClass: upload.storageClass,
    placementSeed: `${upload.uploadId}/${partNumber}`,
    reserve: (part) => insertPendingPart(sql, { uploadId: upload.uploadId, partNumber, ...part }),
    abort: (rowId) => abortPart(sql, rowId),
  });
  try {
    if (!copiedBytesMatch(stored, version, range === undefined)) throw new Error(`part copy of ${version.key} read bytes that do not match the source's digests`);
  } catch (error) {
    await abortPart(sql, stored.rowId).catch(() => undefined);
    throw error;
  }
  await commitPart(sql, stored.rowId, {
    etag: stored.md5Hex,
    datafileCrcs: stored.datafileCrcs,
    checksumAlgorithm: stored.checksum?.algorithm,
    checksumValue: stored.checksum?.base64,
  });

  if (source.bucket.versioning !== "Unversioned") ctx.set(COPY.sourceVersionId, version.versionId);
  if (stored.checksum) ctx.set(checksumHeaderName(stored.checksum.algorithm), stored.checksum.base64);
  ctx.type = "application/xml";
  ctx.body = renderXml("CopyPartResult", {
    ETag: quoteEtag(stored.md5Hex),
    LastModified: iso8601(new Date()),
    ...checksumElements(stored.checksum),
  });
}
