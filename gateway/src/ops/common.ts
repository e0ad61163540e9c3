// Small things every operation family needs: loading the bucket it acts on, and fresh ids.
import { randomUUID } from "node:crypto";
import type { Bucket, VersioningState } from "../../../meta/src/types.js";
import { getBucket } from "../../../meta/src/pg/buckets.js";
import type { S3Context } from "../context.js";
import { S3Error } from "../s3/errors.js";
import { H } from "../s3/headers.js";

/** The bucket named by the request, owned by the caller; NoSuchBucket or AccessDenied otherwise. */
export async function loadOwnBucket(ctx: S3Context): Promise<Bucket> {
  return ownBucket(ctx, await getBucket(ctx.services.sql, ctx.state.operation.bucket!));
}

/** The checks of loadOwnBucket, for a bucket loaded along with something else. */
export function ownBucket(ctx: S3Context, bucket: Bucket | undefined): Bucket {
  if (!bucket) throw new S3Error("NoSuchBucket", undefined, { details: { BucketName: ctx.state.operation.bucket! } });
  if (bucket.owner !== ctx.state.auth.accessKeyId) throw new S3Error("AccessDenied");
  return bucket;
}

/**
 * Opaque ids (version ids, upload ids, datafile ids): 32 lowercase hex digits, 122 of their bits random (a v4 UUID
 * without dashes). randomUUID draws from a cached entropy pool; randomBytes costs a system call per id.
 */
export function newId(): string {
  return randomUUID().replaceAll("-", "");
}

/** The version ids Weft mints (32 lowercase hex digits), and "null": the version of objects written unversioned. */
const VERSION_ID = /^(?:null|[0-9a-f]{32})$/;

export function isVersionId(value: string): boolean {
  return VERSION_ID.test(value);
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
  const key = ctx.state.operation.key!;
  if (Buffer.byteLength(key) > 1024) throw new S3Error("KeyTooLongError");
  return key;
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

/** An empty response with this status. (Koa would otherwise answer a body-less 200 with the text "OK".) */
export function respondEmpty(ctx: S3Context, status: 200 | 204): void {
  ctx.body = null;
  ctx.status = status;
}
