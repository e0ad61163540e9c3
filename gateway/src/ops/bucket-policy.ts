// A bucket's policy and public access block: Put/Get/DeleteBucketPolicy, GetBucketPolicyStatus and
// Put/Get/DeletePublicAccessBlock. What they decide is applied by access/authorize.ts.
import { PUBLIC_ACCESS_BLOCK_SETTINGS, type BucketAccess, type PublicAccessBlock } from "../access/bucket-access.js";
import { parseBucketPolicy, policyPrincipals } from "../access/policy.js";
import { isPolicyPublic } from "../access/policy-public.js";
import type { S3Context } from "../context.js";
import { S3Error } from "../s3/errors.js";
import { parseXml, renderXml } from "../s3/xml.js";
import { readSmallBody, respondEmpty } from "./common.js";

/** The bucket the request was authorized on (app.ts); it existed then. */
function authorizedBucket(ctx: S3Context): BucketAccess {
  const bucket = ctx.state.bucketAccess;
  if (!bucket) throw new S3Error("NoSuchBucket", undefined, { details: { BucketName: ctx.state.operation.bucket! } });
  return bucket;
}

export async function putBucketPolicy(ctx: S3Context): Promise<void> {
  const bucket = authorizedBucket(ctx);
  // Larger than AWS's 20 KB limit, which parseBucketPolicy applies to the document without its white space.
  const text = await readSmallBody(ctx, { limit: 1024 * 1024 });
  const policy = parseBucketPolicy(text, bucket.name);
  const { names, canonicalIds } = policyPrincipals(policy);
  if ((await ctx.services.bucketAccess.unknownUsers(names, canonicalIds)).length > 0) throw new S3Error("MalformedPolicy", "Invalid principal in policy");
  if (bucket.publicAccessBlock?.BlockPublicPolicy && isPolicyPublic(policy)) throw new S3Error("AccessDenied");
  await ctx.services.bucketAccess.setPolicy(bucket, text);
  respondEmpty(ctx, 204);
}

export async function getBucketPolicy(ctx: S3Context): Promise<void> {
  const bucket = authorizedBucket(ctx);
  if (bucket.policyText === undefined) throw new S3Error("NoSuchBucketPolicy", undefined, { details: { BucketName: bucket.name } });
  ctx.type = "application/json";
  ctx.body = bucket.policyText;
}

export async function deleteBucketPolicy(ctx: S3Context): Promise<void> {
  const bucket = authorizedBucket(ctx);
  if (bucket.policyText !== undefined) await ctx.services.bucketAccess.setPolicy(bucket, undefined);
  respondEmpty(ctx, 204);
}

export async function getBucketPolicyStatus(ctx: S3Context): Promise<void> {
  const bucket = authorizedBucket(ctx);
  if (bucket.policyText === undefined) throw new S3Error("NoSuchBucketPolicy", undefined, { details: { BucketName: bucket.name } });
  ctx.type = "application/xml";
  ctx.body = renderXml("PolicyStatus", { IsPublic: bucket.policyIsPublic });
}

/** Each setting "true" or "false"; one left out is false, as in AWS. */
function publicAccessBlockFromXml(text: string): PublicAccessBlock {
  const document = parseXml(text, "PublicAccessBlockConfiguration");
  const block = {} as PublicAccessBlock;
  for (const setting of PUBLIC_ACCESS_BLOCK_SETTINGS) {
    const value = document[setting];
    if (value !== undefined && value !== "true" && value !== "false") throw new S3Error("MalformedXML");
    block[setting] = value === "true";
  }
  return block;
}

export async function putPublicAccessBlock(ctx: S3Context): Promise<void> {
  const bucket = authorizedBucket(ctx);
  const block = publicAccessBlockFromXml(await readSmallBody(ctx, { limit: 64 * 1024 }));
  await ctx.services.bucketAccess.setPublicAccessBlock(bucket, block);
  respondEmpty(ctx, 200);
}

export async function getPublicAccessBlock(ctx: S3Context): Promise<void> {
  const bucket = authorizedBucket(ctx);
  if (!bucket.publicAccessBlock) throw new S3Error("NoSuchPublicAccessBlockConfiguration", undefined, { details: { BucketName: bucket.name } });
  ctx.type = "application/xml";
  ctx.body = renderXml("PublicAccessBlockConfiguration", { ...bucket.publicAccessBlock });
}

export async function deletePublicAccessBlock(ctx: S3Context): Promise<void> {
  const bucket = authorizedBucket(ctx);
  if (bucket.publicAccessBlock) await ctx.services.bucketAccess.setPublicAccessBlock(bucket, undefined);
  respondEmpty(ctx, 204);
}
