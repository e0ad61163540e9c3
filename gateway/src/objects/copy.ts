// CopyObject and UploadPartCopy: read a stored object (or a byte range of it) back and write it as a new version or
// part through the same path as PutObject / UploadPart (write.ts).
//
// Bytes are moved rather than datafiles shared: the schema keeps (ioserver_id, blob_id) unique, so every datafile
// has exactly one owning part and the collector may delete a blob as soon as its owner goes, with no reference
// counting to get wrong. A copy also gets a fresh layout for its own size and storage class, which is what a
// storage class change needs anyway. The price is the copy's I/O; clients only copy objects up to 5 GiB in one
// request (bigger ones go part by part with UploadPartCopy), so a copy costs at most one 5 GiB read and write.
import { Readable } from "node:stream";
import type { Tag } from "../../../meta/src/store.js";
import type { Bucket, MultipartUpload, ObjectAccess, ObjectHeaders, ObjectLockRequest, ObjectVersion } from "../../../meta/src/types.js";
import type { ChecksumAlgorithm } from "../s3/checksums.js";
import { S3Error } from "../s3/errors.js";
import { quoteEtag, type ByteRange } from "../s3/headers.js";
import { checkOwner } from "./buckets.js";
import type { ObjectDeps } from "./object-store.js";
import { customerEtag, type CustomerKey, type EncryptionRequest } from "../encryption/object-keys.js";
import { encryptionModeOf } from "../encryption/sse-headers.js";
import { dataKeyOf, openVersionRead, type ReadOptions } from "./read.js";
import { MAX_PART_SIZE, copiedBody, storeObjectVersion, storePart, uploadPartPlan, type StoredObjectVersion, type StoredPart } from "./write.js";

/** The object a copy reads: `versionId` absent for the current version. */
export interface CopySource {
  bucket: string;
  key: string;
  versionId?: string;
}

/** The x-amz-copy-source-if-* conditions: ETag lists as sent, dates in milliseconds (absent when unparseable). */
export interface CopySourceConditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: number;
  ifUnmodifiedSince?: number;
}

interface LoadedSource {
  bucket: Bucket;
  version: ObjectVersion;
  /** Its data key, when it is encrypted. */
  dataKey: Buffer | undefined;
}

/** What a copy is told of its source by access control. */
interface SourceAccess {
  /** The owner the source bucket's access was decided against (ops/copy.ts). */
  sourceBucketOwner: string;
  source: CopySource;
  /** Throws AccessDenied when the version's own ACL does not let the requester read it (ACLs enabled). */
  checkSourceVersion: (version: ObjectVersion) => void;
  /** The SSE-C key of an SSE-C source (x-amz-copy-source-server-side-encryption-customer-*). */
  sourceCustomerKey?: CustomerKey;
}

/** The source version, in a bucket still owned by the owner its access was decided against, readable by the requester. */
async function loadSource(deps: ObjectDeps, { sourceBucketOwner, source, checkSourceVersion, sourceCustomerKey }: SourceAccess): Promise<LoadedSource> {
  const bucket = checkOwner(source.bucket, sourceBucketOwner, await deps.meta.getBucket(source.bucket));
  const { versionId } = source;
  const version = await deps.meta.getObjectVersion(bucket.id, source.key, versionId);
  if (!version) {
    if (versionId !== undefined) throw new S3Error("NoSuchVersion", undefined, { details: { Key: source.key, VersionId: versionId } });
    throw new S3Error("NoSuchKey", undefined, { details: { Key: source.key } });
  }
  if (version.isDeleteMarker) {
    if (versionId !== undefined) throw new S3Error("InvalidRequest", "The source of a copy request may not specifically refer to a delete marker by version id.");
    throw new S3Error("NoSuchKey", undefined, { details: { Key: source.key } });
  }
  checkSourceVersion(version);
  return { bucket, version, dataKey: dataKeyOf(deps, version, sourceCustomerKey) };
}

function etagListMatches(list: string, etag: string): boolean {
  return list.split(",").some((item) => {
    const candidate = item.trim();
    return candidate === "*" || candidate === quoteEtag(etag) || candidate === etag;
  });
}

/**
 * The copy source conditions, as AWS evaluates them: if-match wins over if-unmodified-since and if-none-match over
 * if-modified-since; unlike GET, every failure is 412 (there is no 304 for a copy).
 */
function checkCopySourceConditions(conditions: CopySourceConditions, version: ObjectVersion): void {
  const modified = Math.floor(version.lastModified.getTime() / 1000) * 1000;
  const failed = (condition: string) => new S3Error("PreconditionFailed", undefined, { details: { Condition: condition } });
  if (conditions.ifMatch !== undefined) {
    if (!etagListMatches(conditions.ifMatch, version.etag)) throw failed("x-amz-copy-source-if-match");
  } else if (conditions.ifUnmodifiedSince !== undefined && modified > conditions.ifUnmodifiedSince) {
    throw failed("x-amz-copy-source-if-unmodified-since");
  }
  if (conditions.ifNoneMatch !== undefined) {
    if (etagListMatches(conditions.ifNoneMatch, version.etag)) throw failed("x-amz-copy-source-if-none-match");
  } else if (conditions.ifModifiedSince !== undefined && modified <= conditions.ifModifiedSince) {
    throw failed("x-amz-copy-source-if-modified-since");
  }
}

function tooLargeToCopy(size: number): S3Error {
  return new S3Error("InvalidRequest", `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_PART_SIZE}`, {
    details: { ActualObjectSize: String(size) },
  });
}

function storedHeaders(version: ObjectVersion): ObjectHeaders {
  const { contentType, contentEncoding, contentDisposition, contentLanguage, cacheControl, expires, userMetadata } = version;
  return { contentType, contentEncoding, contentDisposition, contentLanguage, cacheControl, expires, userMetadata: { ...userMetadata } };
}

/**
 * The copied bytes must be the source's bytes: where the source's own digests describe exactly what was read,
 * compare them (the ioservers verify every block already; this also catches a wrong layout or read plan).
 */
function copiedBytesMatch(stored: StoredPart, { version, dataKey }: LoadedSource, wholeObject: boolean): boolean {
  if (!wholeObject) return true;
  // An SSE-C source's ETag is a keyed digest of its MD5 (customerEtag).
  const expected = encryptionModeOf(version) === "SSE-C" ? customerEtag(dataKey!, stored.md5Hex) : stored.md5Hex;
  if (!/-\d+$/.test(version.etag) && expected !== version.etag) return false;
  const sameChecksum = stored.checksum && version.checksumType === "FULL_OBJECT" && version.checksumAlgorithm === stored.checksum.algorithm;
  return !sameChecksum || stored.checksum!.base64 === version.checksumValue;
}

/** The source's version id, which the answer names when the source bucket keeps (or kept) versions. */
function sourceVersionIdOf(source: LoadedSource): string | undefined {
  return source.bucket.versioning !== "Unversioned" ? source.version.versionId : undefined;
}

export interface CopyObjectRequest extends ReadOptions, SourceAccess {
  /** The destination, which the requester may write. */
  bucket: Bucket;
  key: string;
  /** The new object's ACL and owner (ACLs enabled). */
  access?: ObjectAccess;
  /** The copy's object lock (never the source's); without a retention, the bucket's default. */
  lock?: ObjectLockRequest;
  conditions: CopySourceConditions;
  /** The storage class the request named, if any (else the bucket's default): naming the source's own changes nothing. */
  requestedStorageClass?: string;
  /** REPLACE's headers; absent copies the source's (COPY). */
  replacedHeaders?: ObjectHeaders;
  /** REPLACE's tags; absent copies the source's. */
  replacedTags?: Tag[];
  checksumAlgorithm?: ChecksumAlgorithm;
  /** The copy's encryption: its request's, else its bucket's default; undefined: stored in plain. */
  encryption?: EncryptionRequest;
  /** The request itself asked for an encryption (a copy onto itself may then change nothing else). */
  encryptionRequested: boolean;
}

export async function copyObject(deps: ObjectDeps, request: CopyObjectRequest): Promise<{ copy: StoredObjectVersion; sourceVersionId?: string }> {
  const { bucket, key } = request;
  const source = await loadSource(deps, request);
  const { version } = source;

  // Only a copy that changes something may target its own source (rclone and s3fs update mtime this way).
  const ontoItself = source.bucket.id === bucket.id && version.key === key && version.id === (await deps.meta.getObjectVersion(bucket.id, key))?.id;
  const changesClass = request.requestedStorageClass !== undefined && request.requestedStorageClass !== version.storageClass;
  if (ontoItself && request.replacedHeaders === undefined && !changesClass && !request.encryptionRequested) {
    throw new S3Error(
      "InvalidRequest",
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  checkCopySourceConditions(request.conditions, version);
  if (version.size > MAX_PART_SIZE) throw tooLargeToCopy(version.size);

  const algorithm = request.checksumAlgorithm ?? (version.checksumAlgorithm as ChecksumAlgorithm | undefined);
  const tags = request.replacedTags ?? (await deps.meta.getObjectTags(source.bucket.id, version.key, version.versionId))?.tags ?? [];
  const read = version.size > 0 ? await openVersionRead(deps, version, { start: 0, end: version.size - 1 }, { ...request, dataKey: source.dataKey }) : undefined;
  const body = copiedBody(read ?? Readable.from([]), version.size, algorithm);
  const copy = await storeObjectVersion(deps, request.requestId, body, {
    bucket,
    key,
    storageClass: request.requestedStorageClass,
    headers: request.replacedHeaders ?? storedHeaders(version),
    tags,
    access: request.access,
    lock: request.lock,
    encryption: request.encryption,
    beforeCommit: (written) => {
      if (!copiedBytesMatch(written, source, true)) throw new Error(`copy of ${version.key} read bytes that do not match the source's digests`);
    },
  });
  return { copy, sourceVersionId: sourceVersionIdOf(source) };
}

export interface UploadPartCopyRequest extends ReadOptions, SourceAccess {
  upload: MultipartUpload;
  partNumber: number;
  conditions: CopySourceConditions;
  /** The SSE-C key of an SSE-C upload (the destination's). */
  customerKey?: CustomerKey;
  /** The bytes to copy, from the source's size (known only once it is found); undefined for all of them. */
  rangeOf: (size: number) => ByteRange | undefined;
}

export async function uploadPartCopy(deps: ObjectDeps, request: UploadPartCopyRequest): Promise<{ stored: StoredPart; sourceVersionId?: string }> {
  const { meta } = deps;
  const { upload, partNumber } = request;
  const dataKey = dataKeyOf(deps, upload, request.customerKey);
  const source = await loadSource(deps, request);
  const { version } = source;
  checkCopySourceConditions(request.conditions, version);
  const range = request.rangeOf(version.size);
  const size = range ? range.end - range.start + 1 : version.size;
  if (size > MAX_PART_SIZE) throw tooLargeToCopy(size);

  const read = size > 0 ? await openVersionRead(deps, version, range ?? { start: 0, end: version.size - 1 }, { ...request, dataKey: source.dataKey }) : undefined;
  const body = copiedBody(read ?? Readable.from([]), size, upload.checksumAlgorithm as ChecksumAlgorithm | undefined);
  const stored = await storePart(deps, request.requestId, body, uploadPartPlan(meta, upload, partNumber, dataKey));
  try {
    if (!copiedBytesMatch(stored, source, range === undefined)) throw new Error(`part copy of ${version.key} read bytes that do not match the source's digests`);
  } catch (error) {
    await meta.abortPart(stored.rowId).catch(() => undefined);
    throw error;
  }
  if (dataKey && request.customerKey) stored.md5Hex = customerEtag(dataKey, stored.md5Hex);
  await meta.commitPart(stored.rowId, {
    etag: stored.md5Hex,
    datafileCrcs: stored.datafileCrcs,
    checksumAlgorithm: stored.checksum?.algorithm,
    checksumValue: stored.checksum?.base64,
  });
  return { stored, sourceVersionId: sourceVersionIdOf(source) };
}
