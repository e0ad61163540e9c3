// Small things every operation family needs: the bucket the request acts on, the key and version id it names,
// small XML bodies, and the bare answers.
import type { IncomingHttpHeaders } from "node:http";
import type { Bucket, ObjectVersion, VersioningState } from "../../../meta/src/types.js";
import { authorizedOwner, hideMissingKeyFromNonListers, requireObjectPermission } from "../access/request-access.js";
import type { S3Context } from "../context.js";
import { isVersionId } from "../objects/ids.js";
import { S3Error } from "../s3/errors.js";
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm } from "../s3/checksums.js";
import { H, headerValue } from "../s3/headers.js";
import { checkObjectKey } from "../s3/object-key.js";

/**
 * The bucket named by the request, still owned by the owner access control decided against (the object layer answers
 * NoSuchBucket, or AccessDenied if it changed hands meanwhile).
 */
export function loadAuthorizedBucket(ctx: S3Context): Promise<Bucket> {
  return ctx.services.objects.ownBucket(ctx.state.operation.bucket!, authorizedOwner(ctx));
}

/**
 * The object version the request names (GET, HEAD, attributes, ACL), with its bucket: a missing key is hidden from
 * whoever may not list, and where the object's own ACL decides access, it is checked now that the version is loaded.
 */
export async function findAuthorizedVersion(ctx: S3Context, withBody: boolean): Promise<{ bucket: Bucket; version: ObjectVersion }> {
  const lookup = { bucketName: ctx.state.operation.bucket!, bucketOwner: authorizedOwner(ctx), key: objectKey(ctx), versionId: requestedVersionId(ctx), withBody };
  const found = await ctx.services.objects.findVersion(lookup).catch((error: unknown) => {
    throw hideMissingKeyFromNonListers(ctx, error);
  });
  requireObjectPermission(ctx, found.version);
  return found;
}

/** Aborted when the client goes away before the answer is out: reads from the ioservers stop with it. */
export function clientGoneSignal(ctx: S3Context): AbortSignal {
  const abort = new AbortController();
  ctx.res.once("close", () => {
    if (!ctx.res.writableFinished) abort.abort();
  });
  return abort.signal;
}

/**
 * A version id from the request (undefined when absent). One that Weft cannot have minted is a 400, as AWS answers a
 * malformed id, rather than a lookup that finds nothing.
 */
export function parseVersionId(value: string | undefined, argumentName = "versionId"): string | undefined {
  if (value === undefined) return undefined;
  if (value === "") throw new S3Error("InvalidArgument", "Version id cannot be the empty string", { details: { ArgumentName: argumentName, ArgumentValue: value } });
  if (!isVersionId(value)) throw new S3Error("InvalidArgument", "Invalid version id specified", { details: { ArgumentName: argumentName, ArgumentValue: value } });
  return value;
}

/** The request's `?versionId=`, checked (parseVersionId). */
export function requestedVersionId(ctx: S3Context): string | undefined {
  return parseVersionId(ctx.state.target.query.get("versionId"));
}

/**
 * `x-amz-version-id` on the answer to a write: only a bucket that keeps versions gives one (a Suspended bucket stores
 * the null version and, as AWS, does not say so).
 */
export function setWrittenVersionId(ctx: S3Context, written: { versionId: string; versioning: VersioningState }): void {
  if (written.versioning === "Enabled") ctx.set(H.versionId, written.versionId);
}

export function objectKey(ctx: S3Context): string {
  return checkObjectKey(ctx.state.operation.key!);
}

/**
 * Reads a small request body (XML documents) with a hard cap; bodies are otherwise always streamed.
 * `checksumHeadersDescribeBody: false` where an x-amz-checksum-* header describes something else (the whole
 * object, on CompleteMultipartUpload).
 */
export async function readSmallBody(ctx: S3Context, options: { limit?: number; checksumHeadersDescribeBody?: boolean } = {}): Promise<string> {
  const limit = options.limit ?? 2 * 1024 * 1024;
  const body = ctx.state.auth.openBody({ checksumHeadersDescribeBody: options.checksumHeadersDescribeBody ?? true });
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body.stream as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limit) throw new S3Error("MaxMessageLengthExceeded");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Whether the request carries a digest of its body that authentication checks as the body is read: Content-MD5, or
 * an x-amz-checksum-* header or trailer (what 2025 SDKs send instead). AWS requires one on some operations.
 */
export function carriesBodyDigest(headers: IncomingHttpHeaders): boolean {
  if (headers["content-md5"] !== undefined || headers["x-amz-sdk-checksum-algorithm"] !== undefined) return true;
  if (/x-amz-checksum-/i.test(headerValue(headers, "x-amz-trailer") ?? "")) return true;
  return Object.keys(headers).some((name) => name.startsWith("x-amz-checksum-") && name !== "x-amz-checksum-type" && name !== "x-amz-checksum-algorithm");
}

/** An empty response with this status. (Koa would otherwise answer a body-less 200 with the text "OK".) */
export function respondEmpty(ctx: S3Context, status: 200 | 204): void {
  ctx.body = null;
  ctx.status = status;
}

/** `x-amz-checksum-algorithm` of a copy or a new upload: one of the five S3 knows, upper-cased; InvalidRequest otherwise. */
export function requestedChecksumAlgorithm(headers: IncomingHttpHeaders): ChecksumAlgorithm | undefined {
  const value = headerValue(headers, H.checksumAlgorithm)?.toUpperCase();
  if (value === undefined) return undefined;
  if (!CHECKSUM_ALGORITHMS.includes(value as ChecksumAlgorithm)) {
    throw new S3Error("InvalidRequest", "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]");
  }
  return value as ChecksumAlgorithm;
}

/** An Owner (or Initiator) element: the user's canonical id and name. */
export async function ownerElement(ctx: S3Context, canonicalId: string): Promise<{ ID: string; DisplayName: string }> {
  return { ID: canonicalId, DisplayName: await ctx.services.credentials.userNameOf(canonicalId) };
}
