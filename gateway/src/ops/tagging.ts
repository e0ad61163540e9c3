// Object and bucket tagging: Put/Get/DeleteObjectTagging, Put/Get/DeleteBucketTagging, and the x-amz-tagging header
// (a URL-encoded query string) that PutObject and CreateMultipartUpload accept.
import type { IncomingHttpHeaders } from "node:http";
import type { Tag } from "../../../meta/src/store.js";
import type { S3Context } from "../context.js";
import { S3Error } from "../s3/errors.js";
import { H, headerValue } from "../s3/headers.js";
import { parseXml, renderXml, type XmlObject } from "../s3/xml.js";
import { loadAuthorizedBucket, objectKey, readSmallBody, requestedVersionId, respondEmpty } from "./common.js";

export const TAGGING_HEADER = "x-amz-tagging";
export const TAGGING_COUNT_HEADER = "x-amz-tagging-count";

/** AWS limits: 10 tags per object, 50 per bucket; keys up to 128 and values up to 256 Unicode characters. */
const MAX_OBJECT_TAGS = 10;
const MAX_BUCKET_TAGS = 50;
const MAX_KEY_CHARS = 128;
const MAX_VALUE_CHARS = 256;
// Letters, digits and spaces in any script, and + - = . _ : / @ (the characters AWS allows in tags).
const TAG_CHARACTERS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

function validateTags(tags: Tag[], max: number): Tag[] {
  if (tags.length > max) throw new S3Error("InvalidTag", `Object tags cannot be greater than ${max}`);
  const seen = new Set<string>();
  for (const { Key, Value } of tags) {
    if ([...Key].length < 1 || [...Key].length > MAX_KEY_CHARS || !TAG_CHARACTERS.test(Key)) {
      throw new S3Error("InvalidTag", "The TagKey you have provided is invalid", { details: { TagKey: Key } });
    }
    if ([...Value].length > MAX_VALUE_CHARS || !TAG_CHARACTERS.test(Value)) {
      throw new S3Error("InvalidTag", "The TagValue you have provided is invalid", { details: { TagKey: Key, TagValue: Value } });
    }
    if (Key.toLowerCase().startsWith("aws:")) throw new S3Error("InvalidTag", "Your TagKey cannot be prefixed with aws:", { details: { TagKey: Key } });
    if (seen.has(Key)) throw new S3Error("InvalidTag", "Cannot provide multiple Tags with the same key", { details: { TagKey: Key } });
    seen.add(Key);
  }
  return tags;
}

/** The x-amz-tagging header of PutObject / CreateMultipartUpload; undefined when absent. */
export function tagsFromHeader(headers: IncomingHttpHeaders): Tag[] | undefined {
  const header = headerValue(headers, TAGGING_HEADER);
  if (header === undefined) return undefined;
  const tags: Tag[] = [];
  for (const [Key, Value] of new URLSearchParams(header)) tags.push({ Key, Value });
  return validateTags(tags, MAX_OBJECT_TAGS);
}

function tagsFromXml(text: string, max: number): Tag[] {
  const document = parseXml(text, "Tagging");
  const tagSet = document.TagSet;
  if (tagSet === undefined) throw new S3Error("MalformedXML");
  const elements = tagSet === "" ? [] : (tagSet as XmlObject).Tag;
  const list = elements === undefined ? [] : Array.isArray(elements) ? elements : [elements];
  return validateTags(
    list.map((element) => {
      const { Key, Value } = (element ?? {}) as XmlObject;
      if (typeof Key !== "string" || (Value !== undefined && typeof Value !== "string")) throw new S3Error("MalformedXML");
      return { Key, Value: Value ?? "" };
    }),
    max,
  );
}

function renderTagging(tags: Tag[]): string {
  return renderXml("Tagging", { TagSet: tags.length ? { Tag: tags.map(({ Key, Value }) => ({ Key, Value })) } : {} });
}

export async function getObjectTagging(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  const key = objectKey(ctx);
  const found = await ctx.services.objects.getObjectTags(bucket, key, requestedVersionId(ctx));
  if (bucket.versioning !== "Unversioned") ctx.set(H.versionId, found.versionId);
  ctx.type = "application/xml";
  ctx.body = renderTagging(found.tags);
}

export async function putObjectTagging(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  const key = objectKey(ctx);
  const tags = tagsFromXml(await readSmallBody(ctx), MAX_OBJECT_TAGS);
  const done = await ctx.services.objects.putObjectTags(bucket, key, requestedVersionId(ctx), tags);
  if (bucket.versioning !== "Unversioned") ctx.set(H.versionId, done.versionId);
  respondEmpty(ctx, 200);
}

export async function deleteObjectTagging(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  const key = objectKey(ctx);
  const done = await ctx.services.objects.putObjectTags(bucket, key, requestedVersionId(ctx), []);
  if (bucket.versioning !== "Unversioned") ctx.set(H.versionId, done.versionId);
  respondEmpty(ctx, 204);
}

export async function getBucketTagging(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  const tags = await ctx.services.objects.getBucketTags(bucket);
  ctx.type = "application/xml";
  ctx.body = renderTagging(tags);
}

export async function putBucketTagging(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  const tags = tagsFromXml(await readSmallBody(ctx), MAX_BUCKET_TAGS);
  await ctx.services.objects.putBucketTags(bucket, tags);
  respondEmpty(ctx, 204);
}

export async function deleteBucketTagging(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  await ctx.services.objects.putBucketTags(bucket, undefined);
  respondEmpty(ctx, 204);
}
