// Bucket lifecycle: Put/Get/DeleteBucketLifecycleConfiguration, and the x-amz-expiration header on answers about an
// object a current-version Expiration rule selects. The rules run in gateway/src/lifecycle/worker.ts.
import type { Tag } from "../../../meta/src/store.js";
import type { ObjectVersion } from "../../../meta/src/types.js";
import type { S3Context } from "../context.js";
import { lifecycleRulesFromXml, renderLifecycleConfiguration } from "../lifecycle/configuration.js";
import { expirationHeaderValue, objectExpiration, scopeOf } from "../lifecycle/rules.js";
import { S3Error } from "../s3/errors.js";
import { carriesBodyDigest, loadAuthorizedBucket, readSmallBody, respondEmpty } from "./common.js";

const EXPIRATION_HEADER = "x-amz-expiration";

/** AWS refuses a lifecycle configuration whose body carries no digest. */
function requireBodyDigest(ctx: S3Context): void {
  if (!carriesBodyDigest(ctx.req.headers)) throw new S3Error("InvalidRequest", "Missing required header for this request: Content-Md5.");
}

export async function getBucketLifecycleConfiguration(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  const rules = await ctx.services.objects.getBucketLifecycle(bucket);
  ctx.type = "application/xml";
  ctx.body = renderLifecycleConfiguration(rules);
}

export async function putBucketLifecycleConfiguration(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  requireBodyDigest(ctx);
  const rules = lifecycleRulesFromXml(await readSmallBody(ctx, { limit: 2 * 1024 * 1024 }));
  await ctx.services.objects.putBucketLifecycle(bucket, rules);
  // The rules ride in the bucket-access cache (x-amz-expiration): this gateway's next request sees them at once.
  ctx.services.bucketAccess.forget(bucket.name);
  respondEmpty(ctx, 200);
}

export async function deleteBucketLifecycle(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  await ctx.services.objects.putBucketLifecycle(bucket, undefined);
  ctx.services.bucketAccess.forget(bucket.name);
  respondEmpty(ctx, 204);
}

/**
 * x-amz-expiration for the current object the answer is about, when an enabled Expiration rule of the bucket selects
 * it. The rules come from the bucket-access cache the request was authorized with: no round trip. A fact left
 * undefined is not known where the header is set (a completed upload's size, a copy's tags): a rule that needs it is
 * not counted, so the header may be missing but is never wrong.
 */
export function setExpirationHeader(ctx: S3Context, object: { key: string; lastModified: Date; size?: number; tags?: Tag[] }): void {
  const rules = ctx.state.bucketAccess?.lifecycleRules;
  if (!rules) return;
  const decidable = rules.filter((rule) => {
    const scope = scopeOf(rule);
    const needsSize = scope.sizeAbove !== undefined || scope.sizeBelow !== undefined;
    return (object.tags !== undefined || scope.tags.length === 0) && (object.size !== undefined || !needsSize);
  });
  const facts = { key: object.key, lastModified: object.lastModified, size: object.size ?? 0, tags: object.tags ?? [] };
  const expiration = objectExpiration(decidable, facts, ctx.services.config.lifecycleDaySeconds);
  if (expiration) ctx.set(EXPIRATION_HEADER, expirationHeaderValue(expiration));
}

/**
 * setExpirationHeader for the version GET or HEAD read: only the current object expires, so a request naming a
 * version id gets no header.
 */
export function setExpirationHeaderOfVersion(ctx: S3Context, version: ObjectVersion, namedVersionId: string | undefined): void {
  if (namedVersionId !== undefined || version.isDeleteMarker) return;
  setExpirationHeader(ctx, version);
}
