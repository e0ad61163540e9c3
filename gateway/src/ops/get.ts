// GetObject and HeadObject: look the version up, check the customer key of an SSE-C object, apply preconditions and the
// range, stream the bytes.
import type { ObjectVersion, PartRecord } from "../../../meta/src/types.js";
import type { S3Context } from "../context.js";
import { MAX_PART_NUMBER } from "../objects/multipart.js";
import { inlineBytes, plainPartSize } from "../objects/read.js";
import { customerKeyFromHeaders, encryptionModeOf, encryptionResponseHeaders } from "../encryption/sse-headers.js";
import { checksumHeaderName, type ChecksumAlgorithm } from "../s3/checksums.js";
import { S3Error } from "../s3/errors.js";
import {
  H,
  checkReadPreconditions,
  headerValue,
  httpDate,
  objectHeadersToResponse,
  parseRange,
  quoteEtag,
  type ByteRange,
} from "../s3/headers.js";
import { TAGGING_COUNT_HEADER } from "./tagging.js";
import { clientGoneSignal, findAuthorizedVersion, requestedVersionId } from "./common.js";
import { setExpirationHeaderOfVersion } from "./lifecycle.js";
import { objectLockHeaders } from "./object-lock.js";

/** Query parameters that override response headers on GET/HEAD (signed requests only, as in AWS). */
const RESPONSE_OVERRIDES: ReadonlyArray<readonly [parameter: string, header: string]> = [
  ["response-content-type", "content-type"],
  ["response-content-language", "content-language"],
  ["response-expires", "expires"],
  ["response-cache-control", "cache-control"],
  ["response-content-disposition", "content-disposition"],
  ["response-content-encoding", "content-encoding"],
];

export async function getObject(ctx: S3Context): Promise<void> {
  await serveObject(ctx, true);
}

export async function headObject(ctx: S3Context): Promise<void> {
  await serveObject(ctx, false);
}

const MP_PARTS_COUNT = "x-amz-mp-parts-count";

/** `?partNumber=N`: the N-th part of the object (a non-multipart object is one part), or undefined without it. */
function requestedPart(ctx: S3Context, version: ObjectVersion): { number: number; part: PartRecord; start: number } | undefined {
  const text = ctx.state.target.query.get("partNumber");
  if (text === undefined) return undefined;
  const number = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(number >= 1 && number <= MAX_PART_NUMBER)) {
    throw new S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive", {
      details: { ArgumentName: "partNumber", ArgumentValue: text },
    });
  }
  if (headerValue(ctx.req.headers, "range") !== undefined) {
    throw new S3Error("InvalidRequest", "Cannot specify both Range header and partNumber query parameter");
  }
  // Parts are numbered by position: a completed upload keeps only the parts it was completed with, and clients
  // that download by part (transfer managers) ask for 1..x-amz-mp-parts-count.
  if (number > version.parts.length) {
    throw new S3Error("InvalidPartNumber", undefined, {
      details: { PartNumberRequested: String(number), ActualPartCount: String(version.parts.length) },
    });
  }
  let start = 0;
  for (let i = 0; i < number - 1; i++) start += plainPartSize(version.parts[i]);
  return { number, part: version.parts[number - 1], start };
}

function isMultipart(version: ObjectVersion): boolean {
  return /-\d+$/.test(version.etag);
}

async function serveObject(ctx: S3Context, withBody: boolean): Promise<void> {
  const { query } = ctx.state.target;
  const { bucket, version } = await findAuthorizedVersion(ctx, withBody);
  const customerKey = customerKeyFromHeaders(ctx.req.headers);
  const dataKey = ctx.services.objects.dataKeyOf(version, customerKey);

  checkReadPreconditions(ctx.req.headers, version.etag, version.lastModified);
  const part = requestedPart(ctx, version);
  const range: ByteRange | undefined = part
    ? { start: part.start, end: part.start + plainPartSize(part.part) - 1 }
    : parseRange(headerValue(ctx.req.headers, "range"), version.size);

  const headers = objectHeadersToResponse(version);
  headers.etag = quoteEtag(version.etag);
  headers["last-modified"] = httpDate(version.lastModified);
  headers["accept-ranges"] = "bytes";
  if (version.storageClass !== "STANDARD") headers[H.storageClass] = version.storageClass;
  if (bucket.versioning !== "Unversioned") headers[H.versionId] = version.versionId;
  if (version.tagCount > 0) headers[TAGGING_COUNT_HEADER] = String(version.tagCount);
  if (version.retention || version.legalHold !== undefined) Object.assign(headers, objectLockHeaders(ctx, version));
  Object.assign(headers, encryptionResponseHeaders(encryptionModeOf(version), customerKey));
  const checksumMode = headerValue(ctx.req.headers, H.checksumMode)?.toUpperCase() === "ENABLED";
  // A whole-object checksum describes the whole object only: never send it with a range (SDKs would fail). A part
  // request gets that part's own checksum, when it has one.
  if (part) {
    if (isMultipart(version)) headers[MP_PARTS_COUNT] = String(version.parts.length);
    const own = isMultipart(version) ? part.part : version;
    if (checksumMode && own.checksumAlgorithm && own.checksumValue && !own.checksumValue.includes("-")) {
      headers[checksumHeaderName(own.checksumAlgorithm as ChecksumAlgorithm)] = own.checksumValue;
    }
  } else if (!range && version.checksumAlgorithm && version.checksumValue && checksumMode) {
    headers[checksumHeaderName(version.checksumAlgorithm as ChecksumAlgorithm)] = version.checksumValue;
    if (version.checksumType) headers[H.checksumType] = version.checksumType;
  }
  for (const [parameter, header] of RESPONSE_OVERRIDES) {
    const value = query.get(parameter);
    if (value !== undefined) headers[header] = value;
  }

  const served: ByteRange = range ?? { start: 0, end: version.size - 1 };
  const length = Math.max(0, served.end - served.start + 1);
  const inline = inlineBytes(version, served);
  const body =
    withBody && length > 0
      ? (inline ?? (await ctx.services.objects.openRead(version, served, { requestId: ctx.state.requestId, signal: clientGoneSignal(ctx), dataKey })))
      : undefined;

  // A part of an empty object is the empty object: there is no byte range to name.
  const partial = range !== undefined && length > 0;
  ctx.status = partial ? 206 : 200;
  ctx.set(headers);
  setExpirationHeaderOfVersion(ctx, version, requestedVersionId(ctx));
  if (partial) ctx.set("content-range", `bytes ${served.start}-${served.end}/${version.size}`);
  if (body) ctx.body = body;
  else if (withBody) ctx.body = Buffer.alloc(0);
  ctx.length = length;
}
