// Bucket operations: CreateBucket, DeleteBucket, HeadBucket, ListBuckets, GetBucketLocation, Get/PutBucketVersioning.
import { newBucketAccess } from "../access/acl-enforcement.js";
import type { RequestHeaders } from "../access/acl-headers.js";
import { NEW_BUCKET_PUBLIC_ACCESS_BLOCK } from "../access/bucket-access.js";
import { keyMaySee } from "../access/key-scope.js";
import { requireKnownGrantees } from "../access/request-access.js";
import type { S3Context } from "../context.js";
import { S3Error } from "../s3/errors.js";
import { H, headerValue } from "../s3/headers.js";
import { iso8601, parseXml, renderXml } from "../s3/xml.js";
import { loadAuthorizedBucket, readSmallBody, respondEmpty } from "./common.js";
import { bucketLockRequested } from "./object-lock.js";

/** S3's general-purpose bucket naming rules. */
export function isValidBucketName(name: string): boolean {
  return (
    name.length >= 3 &&
    name.length <= 63 &&
    /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name) &&
    !name.includes("..") &&
    !/^\d{1,3}(\.\d{1,3}){3}$/.test(name) &&
    !name.startsWith("xn--") &&
    !name.startsWith("sthree-") &&
    !name.endsWith("-s3alias") &&
    !name.endsWith("--ol-s3")
  );
}

export async function createBucket(ctx: S3Context): Promise<void> {
  const name = ctx.state.operation.bucket!;
  if (!isValidBucketName(name)) throw new S3Error("InvalidBucketName", undefined, { details: { BucketName: name } });
  const text = await readSmallBody(ctx, { limit: 64 * 1024 });
  // Any LocationConstraint is accepted (s3cmd sends "US", the aws cli its configured region): this cluster has one
  // location, and the bucket answers with the gateway's region.
  if (text.trim() !== "") parseXml(text, "CreateBucketConfiguration");
  const owner = ctx.state.principal.canonicalId;
  const { objectOwnership, acl } = newBucketAccess(ctx.req.headers as RequestHeaders, owner, NEW_BUCKET_PUBLIC_ACCESS_BLOCK);
  if (acl) await requireKnownGrantees(ctx, acl);
  const objectLockEnabled = bucketLockRequested(ctx.req.headers);
  await ctx.services.objects.createBucket(name, owner, { objectOwnership, objectLockEnabled, ...(acl ? { acl } : {}) });
  ctx.set("location", `/${name}`);
  respondEmpty(ctx, 200);
}

export async function deleteBucket(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  await ctx.services.objects.deleteBucket(bucket);
  respondEmpty(ctx, 204);
}

export async function headBucket(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  ctx.set(H.bucketRegion, bucket.region);
  respondEmpty(ctx, 200);
}

export async function getBucketLocation(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  // AWS answers an empty LocationConstraint for us-east-1.
  ctx.type = "application/xml";
  ctx.body = renderXml("LocationConstraint", { "#text": bucket.region === "us-east-1" ? "" : bucket.region });
}

export async function listBuckets(ctx: S3Context): Promise<void> {
  const { principal } = ctx.state;
  const prefix = ctx.state.target.query.get("prefix") ?? "";
  const buckets = (await ctx.services.objects.listBuckets(principal.canonicalId)).filter(
    (bucket) => bucket.name.startsWith(prefix) && keyMaySee(principal, bucket.name),
  );
  ctx.type = "application/xml";
  ctx.body = renderXml("ListAllMyBucketsResult", {
    Owner: { ID: principal.canonicalId, DisplayName: principal.userName },
    Buckets: { Bucket: buckets.map((bucket) => ({ Name: bucket.name, CreationDate: iso8601(bucket.createdAt), BucketRegion: bucket.region })) },
    Prefix: ctx.state.target.query.has("prefix") ? prefix : undefined,
  });
}

/** A bucket that never kept versions answers an empty configuration; one that did says Enabled or Suspended. */
export async function getBucketVersioning(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  ctx.type = "application/xml";
  ctx.body = renderXml("VersioningConfiguration", { Status: bucket.versioning === "Unversioned" ? undefined : bucket.versioning });
}

/**
 * Enabled or Suspended; a bucket never returns to Unversioned. MFA delete is not offered: asking for it is
 * NotImplemented, never a silent yes (MfaDelete Disabled is what every bucket has, so it is accepted).
 */
export async function putBucketVersioning(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  const configuration = parseXml(await readSmallBody(ctx, { limit: 64 * 1024 }), "VersioningConfiguration");
  const { Status: status, MfaDelete: mfaDelete } = configuration;
  if (headerValue(ctx.req.headers, "x-amz-mfa") !== undefined || (mfaDelete !== undefined && mfaDelete !== "Disabled")) {
    throw new S3Error("NotImplemented", "MFA delete is not implemented by this server.");
  }
  // AWS answers any other Status, or none, as a document that does not validate against its schema.
  if (status !== "Enabled" && status !== "Suspended") throw new S3Error("MalformedXML");
  await ctx.services.objects.setBucketVersioning(bucket, status);
  respondEmpty(ctx, 200);
}
