// Multipart uploads: each part is striped with its own layout when it is uploaded; completing an upload moves no
// bytes. Here live the rules S3 sets on them: part ETags and sizes at completion, the completed object's ETag and
// checksum, a repeated Complete, and the ListMultipartUploads paging.
import { createHash } from "node:crypto";
import type { CompletedUpload, PartSummary, Tag, UploadCursor, WritePrecondition } from "../../../meta/src/store.js";
import { InvalidPartError, NoSuchUploadError } from "../../../meta/src/errors.js";
import { commonPrefixOf, compareKeys, prefixSuccessor } from "../../../meta/src/listing.js";
import type { Bucket, ChecksumType, MultipartUpload, ObjectAccess, ObjectHeaders, ObjectLockRequest } from "../../../meta/src/types.js";
import type { VerifiedBody } from "../auth/verify-request.js";
import type { ChecksumAlgorithm } from "../s3/checksums.js";
import { S3Error } from "../s3/errors.js";
import { newId } from "./ids.js";
import { completedChecksum, partChecksum, type WholeObjectChecksumClaim } from "./multipart-checksums.js";
import type { ObjectDeps } from "./object-store.js";
import { storageClassOf, storePart, uploadPartPlan } from "./write.js";
import { dataKeyOf, plainPartSize } from "./read.js";
import { customerEtag, type CustomerKey, type EncryptionRequest } from "../encryption/object-keys.js";
import { plainSize } from "../encryption/packages.js";

/** AWS: every part but the last must be at least 5 MiB; part numbers run from 1 to 10,000. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_NUMBER = 10_000;
/** The most parts or uploads one listing page holds. */
export const LIST_LIMIT = 1000;

/** The upload of this bucket and key; undefined when it is gone (completed or aborted) or never was. */
export function findUpload(deps: ObjectDeps, bucket: Bucket, key: string, uploadId: string): Promise<MultipartUpload | undefined> {
  return deps.meta.getUpload(bucket.id, key, uploadId);
}

/** findUpload, NoSuchUpload when there is none. */
export async function loadUpload(deps: ObjectDeps, bucket: Bucket, key: string, uploadId: string): Promise<MultipartUpload> {
  const upload = await findUpload(deps, bucket, key, uploadId);
  if (!upload) throw new S3Error("NoSuchUpload", undefined, { details: { UploadId: uploadId } });
  return upload;
}

export interface NewUpload {
  key: string;
  /** The class the request named; undefined: the bucket's default. */
  storageClass: string | undefined;
  headers: ObjectHeaders;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
  tags?: Tag[];
  /** Who initiates it. */
  owner: string;
  /** The completed object's ACL and owner, in a bucket with ACLs enabled. */
  access?: ObjectAccess;
  /** The completed object's lock; without a retention, the bucket's default at completion. */
  lock?: ObjectLockRequest;
  /** What the request, or the bucket's default, asks for: every part is then encrypted under one data key. */
  encryption?: EncryptionRequest;
}

/** Returns the new upload's id. */
export async function createUpload(deps: ObjectDeps, bucket: Bucket, upload: NewUpload): Promise<string> {
  const uploadId = newId();
  const { encryption, ...described } = upload;
  const keyed = encryption && deps.objectKeys.newDataKey(encryption);
  await deps.meta.createUpload({
    bucketId: bucket.id,
    uploadId,
    ...described,
    storageClass: storageClassOf(deps, upload.storageClass, bucket),
    encryption: keyed?.encryption,
  });
  return uploadId;
}

/**
 * Stripes one part and commits it, replacing an earlier part of the same number. Returns its ETag and checksum. A part
 * of an encrypted upload is sealed under its own key (packages.ts); an SSE-C upload's parts need the customer's key.
 */
export async function uploadPart(
  deps: ObjectDeps,
  request: { upload: MultipartUpload; partNumber: number; body: VerifiedBody; requestId: string; customerKey: CustomerKey | undefined },
): Promise<{ md5Hex: string; checksum?: { algorithm: ChecksumAlgorithm; base64: string } }> {
  const { meta } = deps;
  const { upload, partNumber, body } = request;
  const dataKey = dataKeyOf(deps, upload, request.customerKey);
  const stored = await storePart(deps, request.requestId, body, uploadPartPlan(meta, upload, partNumber, dataKey));
  if (dataKey && request.customerKey) stored.md5Hex = customerEtag(dataKey, stored.md5Hex);
  let checksum: typeof stored.checksum;
  try {
    checksum = partChecksum(upload, body.digests());
  } catch (error) {
    await meta.abortPart(stored.rowId);
    throw error;
  }
  await meta.commitPart(stored.rowId, {
    etag: stored.md5Hex,
    datafileCrcs: stored.datafileCrcs,
    checksumAlgorithm: checksum?.algorithm,
    checksumValue: checksum?.base64,
  });
  return { md5Hex: stored.md5Hex, checksum };
}

/** A part as the CompleteMultipartUpload document names it. */
export interface RequestedPart {
  partNumber: number;
  etag: string;
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

function invalidPart(uploadId: string, partNumber: number, etag: string): S3Error {
  return new S3Error("InvalidPart", undefined, { details: { UploadId: uploadId, PartNumber: String(partNumber), ETag: etag } });
}

/** SDKs retry a Complete that timed out: AWS answers it as the first one was, while that object is there. */
export async function repeatedCompletion(deps: ObjectDeps, bucket: Bucket, key: string, uploadId: string): Promise<CompletedUpload> {
  const completed = await deps.meta.findCompletedUpload(bucket.id, key, uploadId);
  if (!completed) throw new S3Error("NoSuchUpload", undefined, { details: { UploadId: uploadId } });
  return completed;
}

export interface Completion {
  bucket: Bucket;
  key: string;
  /** As the request named it (a Complete that lost a race is answered from the version the winner made). */
  uploadId: string;
  upload: MultipartUpload;
  parts: RequestedPart[];
  precondition?: WritePrecondition;
  checksumClaim: WholeObjectChecksumClaim;
}

export async function completeUpload(deps: ObjectDeps, completion: Completion): Promise<CompletedUpload> {
  const { meta } = deps;
  const { bucket, key, uploadId, upload, parts: requested } = completion;
  for (let i = 1; i < requested.length; i++) {
    if (requested[i].partNumber <= requested[i - 1].partNumber) throw new S3Error("InvalidPartOrder");
  }
  const uploaded = new Map((await meta.listUploadParts(upload.uploadId)).map((part) => [part.partNumber, part]));
  const md5s: Buffer[] = [];
  const chosen: Parameters<typeof completedChecksum>[1] = [];
  let size = 0;
  requested.forEach(({ partNumber, etag }, index) => {
    const part = uploaded.get(partNumber);
    if (!part || part.etag !== etag) throw invalidPart(upload.uploadId, partNumber, etag);
    const partSize = plainPartSize(part);
    if (index < requested.length - 1 && partSize < MIN_PART_SIZE) {
      throw new S3Error("EntityTooSmall", undefined, {
        details: { ProposedSize: String(partSize), MinSizeAllowed: String(MIN_PART_SIZE), PartNumber: String(partNumber), ETag: etag },
      });
    }
    md5s.push(Buffer.from(part.etag, "hex"));
    chosen.push({ requested: requested[index]!, part });
    size += partSize;
  });
  const checksum = completedChecksum(upload, chosen, completion.checksumClaim);
  const etag = `${createHash("md5").update(Buffer.concat(md5s)).digest("hex")}-${requested.length}`;
  try {
    return await meta.completeUpload({
      uploadId: upload.uploadId,
      versionId: newId(),
      // The ETags are checked again under the upload's lock: a part re-uploaded since it was listed above fails.
      parts: requested.map(({ partNumber, etag: partEtag }) => ({ partNumber, etag: partEtag })),
      size,
      etag,
      checksumAlgorithm: checksum?.algorithm,
      checksumValue: checksum?.value,
      checksumType: checksum?.type,
      precondition: completion.precondition,
    });
  } catch (error) {
    if (error instanceof InvalidPartError) {
      const request = requested.find((part) => part.partNumber === error.partNumber);
      throw invalidPart(upload.uploadId, error.partNumber, request?.etag ?? "");
    }
    // A concurrent Complete of the same upload won: the same list of parts makes the same object.
    const completedMeanwhile = error instanceof NoSuchUploadError ? await meta.findCompletedUpload(bucket.id, key, uploadId) : undefined;
    if (completedMeanwhile?.etag !== etag) throw error;
    return completedMeanwhile;
  }
}

export async function abortUpload(deps: ObjectDeps, upload: MultipartUpload): Promise<void> {
  if (!(await deps.meta.abortUpload(upload.uploadId))) throw new S3Error("NoSuchUpload");
}

/** Up to `maxParts` committed parts numbered above `marker`. */
export async function listParts(deps: ObjectDeps, upload: MultipartUpload, marker: number, maxParts: number): Promise<{ parts: PartSummary[]; isTruncated: boolean }> {
  // One row more than asked says whether the listing is truncated.
  const rows = await deps.meta.listPartsPage(upload.uploadId, marker, maxParts + 1);
  const parts = rows.slice(0, maxParts).map((part) => (part.encrypted ? { ...part, size: plainSize(part.size) } : part));
  return { parts, isTruncated: rows.length > maxParts };
}

export interface UploadsRequest {
  prefix: string;
  delimiter?: string;
  keyMarker?: string;
  uploadIdMarker?: string;
  maxUploads: number;
}

export interface UploadsPage {
  uploads: MultipartUpload[];
  commonPrefixes: string[];
  isTruncated: boolean;
}

/**
 * A page of ListMultipartUploads: uploads in (key, initiation) order after the markers, with keys under a common
 * prefix rolled up into it (one entry each, like a key). Each common prefix is jumped over with a fresh seek at
 * its successor, so a page costs O(entries) rows however many uploads sit under a prefix.
 */
export async function listUploads(deps: ObjectDeps, bucket: Bucket, request: UploadsRequest): Promise<UploadsPage> {
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
    const rows = await deps.meta.seekUploads(bucket.id, cursor, below, batch);
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
