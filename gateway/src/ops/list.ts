// ListObjects (v1), ListObjectsV2 and ListObjectVersions. The paging algorithms live in meta/src/listing.ts and
// meta/src/version-listing.ts; this file only maps S3's parameters onto them and renders the result.
import type { Bucket, ListPage, ObjectSummary } from "../../../meta/src/types.js";
import type { S3Context } from "../context.js";
import { S3Error } from "../s3/errors.js";
import { quoteEtag } from "../s3/headers.js";
import { iso8601, renderXml, renderXmlInOrder, type XmlObject } from "../s3/xml.js";
import { loadAuthorizedBucket, ownerElement, parseVersionId } from "./common.js";

const MAX_KEYS_LIMIT = 1000;

function maxKeysOf(query: Map<string, string>): number {
  const text = query.get("max-keys");
  if (text === undefined || text === "") return MAX_KEYS_LIMIT;
  if (!/^\d+$/.test(text)) throw new S3Error("InvalidArgument", "Provided max-keys not an integer or within integer range", { details: { ArgumentName: "max-keys", ArgumentValue: text } });
  return Math.min(Number(text), MAX_KEYS_LIMIT);
}

/**
 * With `encoding-type=url`, names go out percent-encoded (and the response says so); without it, as they are. As
 * AWS, `/` stays as it is: clients split the decoded names on it, and AWS's own answers never encode it.
 */
export function encoderOf(query: Map<string, string>): ((value: string) => string) | undefined {
  const encoding = query.get("encoding-type");
  if (encoding === undefined) return undefined;
  if (encoding.toLowerCase() !== "url") throw new S3Error("InvalidArgument", "Invalid Encoding Method specified in Request", { details: { ArgumentName: "encoding-type", ArgumentValue: encoding } });
  return (value) => encodeURIComponent(value).replace(/[!'()*]|%2F/g, (c) => (c === "%2F" ? "/" : `%${c.charCodeAt(0).toString(16).toUpperCase()}`));
}

interface Listing {
  bucket: Bucket;
  prefix: string;
  delimiter?: string;
  maxKeys: number;
  encode: (value: string) => string;
  encoded: boolean;
  page: ListPage;
}

async function list(ctx: S3Context, startAfter: string | undefined): Promise<Listing> {
  const bucket = await loadAuthorizedBucket(ctx);
  const { query } = ctx.state.target;
  const prefix = query.get("prefix") ?? "";
  const delimiter = query.get("delimiter") || undefined;
  const maxKeys = maxKeysOf(query);
  const encoder = encoderOf(query);
  const page = await ctx.services.objects.listObjects(bucket, { prefix, delimiter, startAfter, maxKeys });
  return { bucket, prefix, delimiter, maxKeys, encode: encoder ?? ((value) => value), encoded: encoder !== undefined, page };
}

function entries(listing: Listing, owner: XmlObject | undefined): XmlObject {
  const { page, encode } = listing;
  return {
    Contents: page.contents.map((object: ObjectSummary) => ({
      Key: encode(object.key),
      LastModified: iso8601(object.lastModified),
      ETag: quoteEtag(object.etag),
      Size: object.size,
      Owner: owner,
      StorageClass: object.storageClass,
    })),
    CommonPrefixes: page.commonPrefixes.map((prefix) => ({ Prefix: encode(prefix) })),
  };
}

export async function listObjects(ctx: S3Context): Promise<void> {
  const marker = ctx.state.target.query.get("marker") || undefined;
  const listing = await list(ctx, marker);
  const { page, encode } = listing;
  ctx.type = "application/xml";
  ctx.body = renderXml("ListBucketResult", {
    Name: listing.bucket.name,
    Prefix: encode(listing.prefix),
    Marker: encode(marker ?? ""),
    NextMarker: page.isTruncated && page.nextMarker !== undefined ? encode(page.nextMarker) : undefined,
    MaxKeys: listing.maxKeys,
    Delimiter: listing.delimiter !== undefined ? encode(listing.delimiter) : undefined,
    IsTruncated: page.isTruncated,
    EncodingType: listing.encoded ? "url" : undefined,
    ...entries(listing, await ownerElement(ctx, listing.bucket.owner)),
  });
}

function encodeToken(marker: string): string {
  return Buffer.from(marker, "utf8").toString("base64url");
}

function decodeToken(token: string): string {
  const marker = Buffer.from(token, "base64url").toString("utf8");
  if (token === "" || encodeToken(marker) !== token) throw new S3Error("InvalidArgument", "The continuation token provided is incorrect", { details: { ArgumentName: "continuation-token" } });
  return marker;
}

export async function listObjectsV2(ctx: S3Context): Promise<void> {
  const { query } = ctx.state.target;
  const token = query.get("continuation-token");
  const startAfter = query.get("start-after") || undefined;
  const fromToken = token !== undefined ? decodeToken(token) : undefined;
  // The token wins; start-after only matters when it is past the token's position.
  const position = fromToken !== undefined && (startAfter === undefined || Buffer.compare(Buffer.from(fromToken), Buffer.from(startAfter)) > 0) ? fromToken : startAfter;
  const listing = await list(ctx, position);
  const { page, encode } = listing;
  ctx.type = "application/xml";
  ctx.body = renderXml("ListBucketResult", {
    Name: listing.bucket.name,
    Prefix: encode(listing.prefix),
    Delimiter: listing.delimiter !== undefined ? encode(listing.delimiter) : undefined,
    MaxKeys: listing.maxKeys,
    KeyCount: page.contents.length + page.commonPrefixes.length,
    IsTruncated: page.isTruncated,
    EncodingType: listing.encoded ? "url" : undefined,
    ContinuationToken: token,
    NextContinuationToken: page.isTruncated && page.nextMarker !== undefined ? encodeToken(page.nextMarker) : undefined,
    StartAfter: startAfter !== undefined ? encode(startAfter) : undefined,
    ...entries(listing, query.get("fetch-owner") === "true" ? await ownerElement(ctx, listing.bucket.owner) : undefined),
  });
}

/**
 * Every version and delete marker, by key in byte order and newest first within a key; paged by key-marker and
 * version-id-marker.
 */
export async function listObjectVersions(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  const { query } = ctx.state.target;
  const prefix = query.get("prefix") ?? "";
  const delimiter = query.get("delimiter") || undefined;
  const keyMarker = query.get("key-marker") || undefined;
  const versionIdMarker = parseVersionId(query.get("version-id-marker") || undefined, "version-id-marker");
  if (versionIdMarker !== undefined && keyMarker === undefined) {
    throw new S3Error("InvalidArgument", "A version-id marker cannot be specified without a key marker.", {
      details: { ArgumentName: "version-id-marker", ArgumentValue: versionIdMarker },
    });
  }
  const maxKeys = maxKeysOf(query);
  const encoder = encoderOf(query);
  const encode = encoder ?? ((value: string) => value);
  const page = await ctx.services.objects.listObjectVersions(bucket, { prefix, delimiter, keyMarker, versionIdMarker, maxKeys });
  const owner = await ownerElement(ctx, bucket.owner);
  // Versions and delete markers alternate in listing order, as AWS sends them.
  const entries = page.entries.map((entry): [string, XmlObject] =>
    entry.isDeleteMarker
      ? ["DeleteMarker", { Key: encode(entry.key), VersionId: entry.versionId, IsLatest: entry.isLatest, LastModified: iso8601(entry.lastModified), Owner: owner }]
      : [
          "Version",
          {
            Key: encode(entry.key),
            VersionId: entry.versionId,
            IsLatest: entry.isLatest,
            LastModified: iso8601(entry.lastModified),
            ETag: quoteEtag(entry.etag),
            Size: entry.size,
            Owner: owner,
            StorageClass: entry.storageClass,
          },
        ],
  );
  ctx.type = "application/xml";
  ctx.body = renderXmlInOrder("ListVersionsResult", [
    ["Name", bucket.name],
    ["Prefix", encode(prefix)],
    ["KeyMarker", encode(keyMarker ?? "")],
    ["VersionIdMarker", versionIdMarker ?? ""],
    ["NextKeyMarker", page.isTruncated && page.nextKeyMarker !== undefined ? encode(page.nextKeyMarker) : undefined],
    ["NextVersionIdMarker", page.isTruncated ? page.nextVersionIdMarker : undefined],
    ["MaxKeys", maxKeys],
    ["Delimiter", delimiter !== undefined ? encode(delimiter) : undefined],
    ["IsTruncated", page.isTruncated],
    ["EncodingType", encoder ? "url" : undefined],
    ...entries,
    ["CommonPrefixes", page.commonPrefixes.map((commonPrefix) => ({ Prefix: encode(commonPrefix) }))],
  ]);
}
