// Small things every operation family needs: loading the bucket it acts on, and fresh ids.
import { randomUUID } from "node:crypto";
import type { Bucket } from "../../../meta/src/types.js";
import { getBucket } from "../../../meta/src/pg/buckets.js";
import type { S3Context } from "../app.js";
import { S3Error } from "../s3/errors.js";

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
