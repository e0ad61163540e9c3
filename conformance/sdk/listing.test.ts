import assert from "node:assert/strict";
import { CreateBucketCommand, ListObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { expectS3Error } from "../support/expect.js";
import { sharedCluster } from "../support/shared.js";

const BUCKET = "listing";

// UTF-8 byte order, which differs from JS string (UTF-16) order for astral characters vs U+E000–U+FFFF.
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

const KEYS = [
  "a/1", "a/2", "a/b/3", "a/b/c/4", "a+b", "a b", "a%b", "a/", "b", "c/x", "c/y", "d/ключ", "d/😀", "d/\uFFFD", "d/\uE000", "zz",
  ...Array.from({ length: 25 }, (_, i) => `many/${String(i).padStart(3, "0")}`),
];

describe("listing (SDK)", () => {
  let s3: S3Client;
  before(async () => {
    s3 = (await sharedCluster()).client();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    for (const key of KEYS) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
  });

  it("lists every key in UTF-8 byte order", async () => {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    assert.deepEqual(page.Contents?.map((object) => object.Key), [...KEYS].sort(byteOrder));
    assert.equal(page.KeyCount, KEYS.length);
    const first = page.Contents![0];
    assert.equal(first.Size, Buffer.byteLength(first.Key!));
    assert.match(first.ETag!, /^"[0-9a-f]{32}"$/);
  });

  it("groups by delimiter into CommonPrefixes", async () => {
    const root = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Delimiter: "/" }));
    assert.deepEqual(root.CommonPrefixes?.map((p) => p.Prefix), ["a/", "c/", "d/", "many/"]);
    assert.deepEqual(root.Contents?.map((o) => o.Key), ["a b", "a%b", "a+b", "b", "zz"]);
    const nested = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "a/", Delimiter: "/" }));
    assert.deepEqual(nested.Contents?.map((o) => o.Key), ["a/", "a/1", "a/2"]);
    assert.deepEqual(nested.CommonPrefixes?.map((p) => p.Prefix), ["a/b/"]);
  });

  it("supports multi-character delimiters", async () => {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "a", Delimiter: "/b" }));
    assert.deepEqual(page.CommonPrefixes?.map((p) => p.Prefix), ["a/b"]);
  });

  it("pages with continuation tokens and returns every key exactly once (v2)", async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, MaxKeys: 4, ContinuationToken: token }));
      pages++;
      assert.ok((page.KeyCount ?? 0) <= 4);
      seen.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated) assert.ok(token, "a truncated page has a NextContinuationToken");
    } while (token);
    assert.deepEqual(seen, [...KEYS].sort(byteOrder));
    assert.equal(pages, Math.ceil(KEYS.length / 4));
  });

  it("pages with a delimiter, continuing after a common prefix (v1, NextMarker always sent)", async () => {
    const prefixes: string[] = [];
    const keys: string[] = [];
    let marker: string | undefined;
    do {
      const page = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, Delimiter: "/", MaxKeys: 2, Marker: marker }));
      prefixes.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix!));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      marker = page.IsTruncated ? page.NextMarker : undefined;
      if (page.IsTruncated) assert.ok(marker, "NextMarker is sent on every truncated page");
    } while (marker);
    assert.deepEqual(prefixes, ["a/", "c/", "d/", "many/"]);
    assert.deepEqual(keys, ["a b", "a%b", "a+b", "b", "zz"]);
  });

  it("honours start-after, max-keys 0 and prefixes that match nothing", async () => {
    const after = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, StartAfter: "many/020" }));
    assert.deepEqual(after.Contents?.map((o) => o.Key), ["many/021", "many/022", "many/023", "many/024", "zz"]);
    const none = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, MaxKeys: 0 }));
    assert.equal(none.KeyCount, 0);
    assert.equal(none.IsTruncated, false);
    const nothing = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "nope/" }));
    assert.equal(nothing.KeyCount, 0);
    assert.equal(nothing.Contents, undefined);
  });

  it("caps max-keys at 1000 and returns owners only when asked (v2) or always (v1)", async () => {
    const capped = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, MaxKeys: 5000 }));
    assert.equal(capped.MaxKeys, 1000);
    assert.equal(capped.KeyCount, KEYS.length);
    assert.equal(capped.Contents?.[0].Owner, undefined);
    const owned = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, FetchOwner: true, MaxKeys: 1 }));
    assert.ok(owned.Contents?.[0].Owner?.ID, "fetch-owner=true adds the owner");
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, MaxKeys: 1 }));
    assert.ok(v1.Contents?.[0].Owner?.ID, "ListObjects v1 always names the owner");
    await expectS3Error(s3.send(new ListObjectsV2Command({ Bucket: BUCKET, MaxKeys: -1 })), "InvalidArgument", 400);
  });

  it("url-encodes names only when asked, and says so", async () => {
    const response = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "a", EncodingType: "url" }));
    assert.equal(response.EncodingType, "url");
    assert.ok(response.Contents?.some((o) => o.Key === "a%2Bb"), "+ is sent encoded");
    assert.ok(response.Contents?.some((o) => o.Key === "a%25b"), "% is sent encoded");
    await expectS3Error(s3.send(new ListObjectsV2Command({ Bucket: BUCKET, EncodingType: "base64" as "url" })), "InvalidArgument", 400);
  });
});
