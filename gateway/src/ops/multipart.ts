// Multipart uploads: CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload, ListParts,
// ListMultipartUploads. Parsing and rendering; the rules of uploads live in gateway/src/objects/multipart.ts.
import type { IncomingHttpHeaders } from "node:http";
import { compareKeys } from "../../../meta/src/listing.js";
import type { CompletedUpload } from "../../../meta/src/store.js";
import type { Bucket, ChecksumType, MultipartUpload } from "../../../meta/src/types.js";
import type { S3Context } from "../context.js";
import { uploadChecksumOf, type WholeObjectChecksumClaim } from "../objects/multipart-checksums.js";
import { LIST_LIMIT, MAX_PART_NUMBER, type RequestedPart } from "../objects/multipart.js";
import { CHECKSUM_ALGORITHMS, checksumHeaderName, isCrcAlgorithm, type ChecksumAlgorithm } from "../s3/checksums.js";
import { S3Error } from "../s3/errors.js";
import { H, headerValue, objectHeadersFromRequest, quoteEtag } from "../s3/headers.js";
import { iso8601, parseXml, renderXml, type XmlObject } from "../s3/xml.js";
import { encoderOf } from "./list.js";
import {
  customerKeyFromHeaders,
  encryptionModeOf,
  encryptionOfWrite,
  encryptionResponseHeaders,
  requestedEncryptionHeaders,
} from "../encryption/sse-headers.js";
import { loadAuthorizedBucket, objectKey, ownerElement, readSmallBody, requestedChecksumAlgorithm, respondEmpty, setWrittenVersionId } from "./common.js";
import { setExpirationHeader } from "./lifecycle.js";
import { tagsFromHeader } from "./tagging.js";
import { writePreconditionFromRequest } from "./write-conditions.js";
import { objectLockOfWrite, requireDigestOfLockedPart } from "./object-lock.js";

/** The upload the request's `?uploadId=` names, of this bucket and key; NoSuchUpload otherwise. */
export function loadUpload(ctx: S3Context, bucket: Bucket, key: string): Promise<MultipartUpload> {
  return ctx.services.objects.loadUpload(bucket, key, ctx.state.target.query.get("uploadId") ?? "");
}

/** x-amz-checksum-type given an algorithm, with AWS's defaults and restrictions. */
function uploadChecksumType(headers: IncomingHttpHeaders, algorithm: ChecksumAlgorithm | undefined): ChecksumType | undefined {
  const requested = headerValue(headers, H.checksumType)?.trim().toUpperCase();
  if (algorithm === undefined) {
    if (requested !== undefined) throw new S3Error("InvalidRequest", "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.");
    return undefined;
  }
  if (requested !== undefined && requested !== "COMPOSITE" && requested !== "FULL_OBJECT") {
    throw new S3Error("InvalidRequest", "Value for x-amz-checksum-type header is invalid.");
  }
  const type: ChecksumType = (requested as ChecksumType | undefined) ?? (algorithm === "CRC64NVME" ? "FULL_OBJECT" : "COMPOSITE");
  if (type === "FULL_OBJECT" && !isCrcAlgorithm(algorithm)) {
    throw new S3Error("InvalidRequest", `The FULL_OBJECT checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`);
  }
  if (type === "COMPOSITE" && algorithm === "CRC64NVME") {
    throw new S3Error("InvalidRequest", "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.");
  }
  return type;
}

/** The Checksum<ALGORITHM> elements of a <Part> in the CompleteMultipartUpload document. */
function partChecksumsInXml(element: XmlObject): Partial<Record<ChecksumAlgorithm, string>> {
  const found: Partial<Record<ChecksumAlgorithm, string>> = {};
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = element[`Checksum${algorithm}`];
    if (typeof value === "string") found[algorithm] = value;
  }
  return found;
}

export async function createMultipartUpload(ctx: S3Context): Promise<void> {
  const { objects } = ctx.services;
  const bucket = await loadAuthorizedBucket(ctx);
  const key = objectKey(ctx);
  const headers = objectHeadersFromRequest(ctx.req.headers);
  const storageClass = objects.requestedStorageClass(headerValue(ctx.req.headers, H.storageClass));
  const checksumAlgorithm = requestedChecksumAlgorithm(ctx.req.headers);
  const checksumType = uploadChecksumType(ctx.req.headers, checksumAlgorithm);
  const tags = tagsFromHeader(ctx.req.headers);
  const encryption = encryptionOfWrite(ctx.req.headers, ctx.state.bucketAccess?.defaultEncryption);
  const uploadId = await objects.createUpload(bucket, {
    key,
    storageClass,
    headers,
    checksumAlgorithm,
    checksumType,
    tags,
    owner: ctx.state.principal.canonicalId,
    access: ctx.state.newObjectAccess,
    lock: objectLockOfWrite(ctx, key),
    encryption,
  });
  ctx.set(requestedEncryptionHeaders(encryption));
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
  const bucket = await loadAuthorizedBucket(ctx);
  const key = objectKey(ctx);
  const partNumber = partNumberOf(ctx);
  const upload = await loadUpload(ctx, bucket, key);
  requireDigestOfLockedPart(ctx, upload);
  const body = ctx.state.auth.openBody({ computeChecksum: uploadChecksumOf(upload)?.algorithm });
  const customerKey = customerKeyFromHeaders(ctx.req.headers);
  const { md5Hex, checksum } = await ctx.services.objects.uploadPart({ upload, partNumber, body, requestId: ctx.state.requestId, customerKey });
  ctx.set(encryptionResponseHeaders(encryptionModeOf(upload), customerKey));
  ctx.set("etag", quoteEtag(md5Hex));
  if (checksum) ctx.set(checksumHeaderName(checksum.algorithm), checksum.base64);
  respondEmpty(ctx, 200);
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

/** What the request's headers claim of the completed object's checksum. */
function checksumClaimOf(headers: IncomingHttpHeaders): WholeObjectChecksumClaim {
  const values: WholeObjectChecksumClaim["values"] = {};
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = headerValue(headers, checksumHeaderName(algorithm))?.trim();
    if (value !== undefined) values[algorithm] = value;
  }
  return { type: headerValue(headers, H.checksumType)?.trim().toUpperCase(), values };
}

export async function completeMultipartUpload(ctx: S3Context): Promise<void> {
  const { objects } = ctx.services;
  const bucket = await loadAuthorizedBucket(ctx);
  const key = objectKey(ctx);
  const uploadId = ctx.state.target.query.get("uploadId") ?? "";
  const upload = await objects.findUpload(bucket, key, uploadId);
  const document = await readSmallBody(ctx, { checksumHeadersDescribeBody: false });
  // A Complete whose upload is gone is answered from the object it made, whatever its document says.
  if (!upload) return respondCompleted(ctx, bucket, key, await objects.repeatedCompletion(bucket, key, uploadId));
  const precondition = writePreconditionFromRequest(ctx.req.headers);
  const parts = requestedParts(parseXml(document, "CompleteMultipartUpload"));
  const completed = await objects.completeUpload({ bucket, key, uploadId, upload, parts, precondition, checksumClaim: checksumClaimOf(ctx.req.headers) });
  // An SSE-C upload's Complete carries no key: AWS's answer then says nothing of the encryption.
  ctx.set(encryptionResponseHeaders(encryptionModeOf(upload)));
  respondCompleted(ctx, bucket, key, completed);
}

function respondCompleted(ctx: S3Context, bucket: Bucket, key: string, completed: CompletedUpload): void {
  setWrittenVersionId(ctx, completed);
  setExpirationHeader(ctx, { key, lastModified: completed.lastModified });
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
  const bucket = await loadAuthorizedBucket(ctx);
  const key = objectKey(ctx);
  const upload = await loadUpload(ctx, bucket, key);
  await ctx.services.objects.abortUpload(upload);
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

export async function listParts(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  const key = objectKey(ctx);
  const upload = await loadUpload(ctx, bucket, key);
  const maxParts = Math.min(countParameter(ctx, "max-parts", LIST_LIMIT), LIST_LIMIT);
  const marker = countParameter(ctx, "part-number-marker", 0);
  const { parts, isTruncated } = await ctx.services.objects.listParts(upload, marker, maxParts);
  const initiator = await ownerElement(ctx, upload.owner);
  ctx.type = "application/xml";
  ctx.body = renderXml("ListPartsResult", {
    Bucket: bucket.name,
    Key: key,
    UploadId: upload.uploadId,
    Initiator: initiator,
    // Every object is its bucket owner's (object ownership BucketOwnerEnforced).
    Owner: await ownerElement(ctx, bucket.owner),
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

export async function listMultipartUploads(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  const { query } = ctx.state.target;
  const prefix = query.get("prefix") ?? "";
  const delimiter = query.get("delimiter") || undefined;
  const keyMarker = query.get("key-marker") || undefined;
  const uploadIdMarker = keyMarker !== undefined ? query.get("upload-id-marker") || undefined : undefined;
  const maxUploads = Math.min(countParameter(ctx, "max-uploads", LIST_LIMIT), LIST_LIMIT);
  const encoder = encoderOf(query);
  const encode = encoder ?? ((value: string) => value);
  const page = await ctx.services.objects.listUploads(bucket, { prefix, delimiter, keyMarker, uploadIdMarker, maxUploads });

  // The next markers name the last entry of the page: an upload (key + id), or a common prefix (as the key).
  const lastUpload = page.uploads[page.uploads.length - 1];
  const lastPrefix = page.commonPrefixes[page.commonPrefixes.length - 1];
  const lastIsPrefix = lastPrefix !== undefined && (lastUpload === undefined || compareKeys(lastPrefix, lastUpload.key) > 0);
  const nextKeyMarker = lastIsPrefix ? lastPrefix : lastUpload?.key;
  const nextUploadIdMarker = lastIsPrefix ? undefined : lastUpload?.uploadId;
  const initiators = new Map<string, XmlObject>();
  for (const upload of page.uploads) if (!initiators.has(upload.owner)) initiators.set(upload.owner, await ownerElement(ctx, upload.owner));
  const owner = await ownerElement(ctx, bucket.owner);
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
      Initiator: initiators.get(upload.owner),
      Owner: owner,
      StorageClass: upload.storageClass,
      Initiated: iso8601(upload.initiated),
      ChecksumAlgorithm: upload.checksumAlgorithm,
      ChecksumType: upload.checksumType,
    })),
    CommonPrefixes: page.commonPrefixes.map((commonPrefix) => ({ Prefix: encode(commonPrefix) })),
  });
}
