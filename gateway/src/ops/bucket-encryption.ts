// Get/Put/DeleteBucketEncryption: the bucket's default encryption, applied to writes that ask for none
// (docs/architecture.md, Encryption at rest). AES256 (SSE-S3) only: SSE-KMS is 501, there being no key management
// service behind Weft. A bucket without a configuration stores in plain, where AWS now encrypts by default
// (conformance/COMPATIBILITY.md): an answer never claims an encryption that is not there.
import type { BucketAccess } from "../access/bucket-access.js";
import type { S3Context } from "../context.js";
import { S3Error } from "../s3/errors.js";
import { parseXml, renderXml, type XmlValue } from "../s3/xml.js";
import { loadAuthorizedBucket, readSmallBody, respondEmpty } from "./common.js";

const KMS = /^aws:kms(:dsse)?$/;

async function authorizedBucket(ctx: S3Context): Promise<BucketAccess> {
  await loadAuthorizedBucket(ctx);
  return ctx.state.bucketAccess!;
}

function element(value: XmlValue): Record<string, XmlValue> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined;
}

export async function getBucketEncryption(ctx: S3Context): Promise<void> {
  const bucket = await authorizedBucket(ctx);
  if (!bucket.defaultEncryption) throw new S3Error("ServerSideEncryptionConfigurationNotFoundError", undefined, { details: { BucketName: bucket.name } });
  ctx.type = "application/xml";
  ctx.body = renderXml("ServerSideEncryptionConfiguration", {
    Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: bucket.defaultEncryption }, BucketKeyEnabled: false },
  });
}

export async function putBucketEncryption(ctx: S3Context): Promise<void> {
  const bucket = await authorizedBucket(ctx);
  const document = parseXml(await readSmallBody(ctx, { limit: 64 * 1024 }), "ServerSideEncryptionConfiguration");
  const rules = Array.isArray(document.Rule) ? document.Rule : [document.Rule];
  if (rules.length !== 1) throw new S3Error("MalformedXML");
  const byDefault = element(element(rules[0])?.ApplyServerSideEncryptionByDefault);
  const algorithm = byDefault?.SSEAlgorithm;
  if (typeof algorithm === "string" && KMS.test(algorithm)) {
    throw new S3Error("NotImplemented", `Default encryption with ${algorithm} (a key management service) is not implemented by this server; AES256 is.`);
  }
  if (algorithm !== "AES256" || byDefault?.KMSMasterKeyID !== undefined) throw new S3Error("MalformedXML");
  await ctx.services.bucketAccess.setDefaultEncryption(bucket, "AES256");
  respondEmpty(ctx, 200);
}

export async function deleteBucketEncryption(ctx: S3Context): Promise<void> {
  const bucket = await authorizedBucket(ctx);
  if (bucket.defaultEncryption) await ctx.services.bucketAccess.setDefaultEncryption(bucket, undefined);
  respondEmpty(ctx, 204);
}
