// CopyObject and UploadPartCopy: parse the copy source, its conditions and directives, and render the result. The
// copy itself (why bytes are moved rather than datafiles shared, the checks of the copied bytes) is in
// gateway/src/objects/copy.ts.
import type { IncomingHttpHeaders } from "node:http";
import { requireSourceAccess } from "../access/request-access.js";
import type { ObjectVersion } from "../../../meta/src/types.js";
import type { CustomerKey } from "../encryption/object-keys.js";
import {
  COPY_SOURCE_SSE_PREFIX,
  customerKeyFromHeaders,
  encryptionModeOf,
  encryptionOfWrite,
  encryptionResponseHeaders,
  requestedEncryption,
  requestedEncryptionHeaders,
} from "../encryption/sse-headers.js";
import type { S3Context } from "../context.js";
import type { CopySource, CopySourceConditions } from "../objects/copy.js";
import type { StoredPart } from "../objects/write.js";
import { checksumHeaderName } from "../s3/checksums.js";
import { S3Error } from "../s3/errors.js";
import { H, headerValue, objectHeadersFromRequest, quoteEtag, type ByteRange } from "../s3/headers.js";
import { iso8601, renderXml, type XmlObject } from "../s3/xml.js";
import { clientGoneSignal, loadAuthorizedBucket, objectKey, parseVersionId, requestedChecksumAlgorithm, setWrittenVersionId } from "./common.js";
import { loadUpload, partNumberOf } from "./multipart.js";
import { setExpirationHeader } from "./lifecycle.js";
import { tagsFromHeader } from "./tagging.js";
import { objectLockOfWrite } from "./object-lock.js";

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
  if (path.includes("\u0000")) throw invalid("Invalid copy source encoding");
  if (path.startsWith("/")) path = path.slice(1);
  const slash = path.indexOf("/");
  if (slash <= 0 || slash === path.length - 1) throw invalid("Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
  return { bucket: path.slice(0, slash), key: path.slice(slash + 1), ...(versionId !== undefined ? { versionId } : {}) };
}

function parseDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : time;
}

/** The x-amz-copy-source-if-* headers; the object layer evaluates them against the source. */
function copySourceConditions(headers: IncomingHttpHeaders): CopySourceConditions {
  return {
    ifMatch: headerValue(headers, COPY.ifMatch),
    ifNoneMatch: headerValue(headers, COPY.ifNoneMatch),
    ifModifiedSince: parseDate(headerValue(headers, COPY.ifModifiedSince)),
    ifUnmodifiedSince: parseDate(headerValue(headers, COPY.ifUnmodifiedSince)),
  };
}

function checksumElements(checksum: StoredPart["checksum"]): XmlObject {
  return checksum ? { [`Checksum${checksum.algorithm}`]: checksum.base64 } : {};
}

/** The copy's source, which the requester must be allowed to read, the owner of its bucket and its version's check. */
async function copySourceOf(
  ctx: S3Context,
): Promise<{ source: CopySource; sourceBucketOwner: string; checkSourceVersion: (version: ObjectVersion) => void; sourceCustomerKey?: CustomerKey }> {
  const source = parseCopySource(headerValue(ctx.req.headers, COPY.source) ?? "");
  const { owner, checkVersion } = await requireSourceAccess(ctx, source);
  const sourceCustomerKey = customerKeyFromHeaders(ctx.req.headers, COPY_SOURCE_SSE_PREFIX);
  return { source, sourceBucketOwner: owner ?? "", checkSourceVersion: checkVersion, sourceCustomerKey };
}

export async function copyObject(ctx: S3Context): Promise<void> {
  const { objects } = ctx.services;
  const bucket = await loadAuthorizedBucket(ctx);
  const key = objectKey(ctx);
  const { headers } = ctx.req;
  const directive = directiveOf(headers, COPY.metadataDirective, "metadata");
  const replacedTags = directiveOf(headers, COPY.taggingDirective, "tagging") === "REPLACE" ? (tagsFromHeader(headers) ?? []) : undefined;
  const requestedStorageClass = objects.requestedStorageClass(headerValue(headers, H.storageClass));
  const replacedHeaders = directive === "REPLACE" ? objectHeadersFromRequest(headers) : undefined;
  const checksumAlgorithm = requestedChecksumAlgorithm(headers);
  const encryptionRequested = requestedEncryption(headers);
  const encryption = encryptionOfWrite(headers, ctx.state.bucketAccess?.defaultEncryption);
  const { copy, sourceVersionId } = await objects.copyObject({
    bucket,
    key,
    ...(await copySourceOf(ctx)),
    conditions: copySourceConditions(headers),
    requestedStorageClass,
    replacedHeaders,
    replacedTags,
    checksumAlgorithm,
    encryption,
    encryptionRequested: encryptionRequested !== undefined,
    access: ctx.state.newObjectAccess,
    lock: objectLockOfWrite(ctx, key),
    requestId: ctx.state.requestId,
    signal: clientGoneSignal(ctx),
  });

  if (sourceVersionId !== undefined) ctx.set(COPY.sourceVersionId, sourceVersionId);
  ctx.set(requestedEncryptionHeaders(encryption));
  setWrittenVersionId(ctx, copy);
  setExpirationHeader(ctx, { key, lastModified: copy.lastModified, size: copy.stored.size, ...(replacedTags ? { tags: replacedTags } : {}) });
  ctx.type = "application/xml";
  ctx.body = renderXml("CopyObjectResult", {
    ETag: quoteEtag(copy.stored.md5Hex),
    LastModified: iso8601(copy.lastModified),
    ...(copy.stored.checksum ? { ChecksumType: "FULL_OBJECT" } : {}),
    ...checksumElements(copy.stored.checksum),
  });
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
  const { objects } = ctx.services;
  const bucket = await loadAuthorizedBucket(ctx);
  const key = objectKey(ctx);
  const partNumber = partNumberOf(ctx);
  const upload = await loadUpload(ctx, bucket, key);
  const rangeHeader = headerValue(ctx.req.headers, COPY.sourceRange);
  const customerKey = customerKeyFromHeaders(ctx.req.headers);
  const { stored, sourceVersionId } = await objects.uploadPartCopy({
    upload,
    partNumber,
    customerKey,
    ...(await copySourceOf(ctx)),
    conditions: copySourceConditions(ctx.req.headers),
    rangeOf: (size) => parseCopySourceRange(rangeHeader, size),
    requestId: ctx.state.requestId,
    signal: clientGoneSignal(ctx),
  });

  if (sourceVersionId !== undefined) ctx.set(COPY.sourceVersionId, sourceVersionId);
  ctx.set(encryptionResponseHeaders(encryptionModeOf(upload), customerKey));
  if (stored.checksum) ctx.set(checksumHeaderName(stored.checksum.algorithm), stored.checksum.base64);
  ctx.type = "application/xml";
  ctx.body = renderXml("CopyPartResult", {
    ETag: quoteEtag(stored.md5Hex),
    LastModified: iso8601(new Date()),
    ...checksumElements(stored.checksum),
  });
}
