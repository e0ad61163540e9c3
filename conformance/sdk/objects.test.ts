import assert from "node:assert/strict";
import { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTorrentCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type ChecksumAlgorithm,
} from "@aws-sdk/client-s3";
import { expectS3Error } from "../support/expect.js";
import { sharedClusterWithBucket } from "../support/shared.js";
import type { TestCluster } from "../support/cluster.js";
import { md5Hex, randomData, readAll } from "../support/bytes.js";

const BUCKET = "objects";

describe("objects (SDK)", () => {
  let cluster: TestCluster;
  let s3: S3Client;
  before(async () => ({ cluster, s3 } = await sharedClusterWithBucket(BUCKET)));

  async function getBytes(key: string, range?: string): Promise<{ data: Buffer; status?: number; contentRange?: string; etag?: string }> {
    const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: range }));
    return { data: await readAll(response.Body), status: response.$metadata.httpStatusCode, contentRange: response.ContentRange, etag: response.ETag };
  }

  for (const size of [0, 1, 4096, 4097, 100_000, 1024 * 1024, 5 * 1024 * 1024 + 3]) {
    it(`round-trips ${size} bytes from a Buffer body, ETag = MD5`, async () => {
      const data = randomData(size);
      const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `buffer-${size}`, Body: data }));
      assert.equal(put.ETag, `"${md5Hex(data)}"`);
      const got = await getBytes(`buffer-${size}`);
      assert.equal(got.data.length, size);
      assert.ok(got.data.equals(data), "same bytes back");
      assert.equal(got.etag, `"${md5Hex(data)}"`);
    });
  }

  it("round-trips a stream body sent as aws-chunked with a CRC32 trailer (the SDK default)", async () => {
    const data = randomData(3 * 1024 * 1024 + 17);
    const put = await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "streamed", Body: Readable.from([data.subarray(0, 1000), data.subarray(1000)]), ContentLength: data.length }),
    );
    assert.equal(put.ETag, `"${md5Hex(data)}"`);
    assert.ok(put.ChecksumCRC32, "the trailer checksum is echoed");
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "streamed", ChecksumMode: "ENABLED" }));
    assert.equal(got.ChecksumCRC32, put.ChecksumCRC32);
    assert.ok((await readAll(got.Body)).equals(data));
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "streamed" }));
    assert.equal(head.ContentEncoding, undefined, "aws-chunked is never stored as a content encoding");
  });

  for (const algorithm of ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"] as ChecksumAlgorithm[]) {
    it(`verifies, stores and returns a ${algorithm} checksum; a wrong one is BadDigest and stores nothing`, async () => {
      const data = randomData(200_000);
      const key = `checksum-${algorithm}`;
      const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data, ChecksumAlgorithm: algorithm }));
      const field = `Checksum${algorithm}` as "ChecksumCRC32";
      assert.ok(put[field], `${algorithm} echoed on PUT`);
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: "ENABLED" }));
      assert.equal(head[field], put[field]);

      const wrong = Buffer.from(put[field]!, "base64");
      wrong[0] ^= 0xff;
      await expectS3Error(
        s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${key}-wrong`, Body: data, [field]: wrong.toString("base64") })),
        "BadDigest",
        400,
      );
      await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${key}-wrong` })), "NotFound", 404);
    });
  }

  // 3,000 bytes live inline in their part's PostgreSQL row, 200,000 are striped: their lookups read different columns.
  for (const size of [3000, 200_000]) {
    it(`serves ${size} bytes as part 1 with its checksum, by range, and by HEAD`, async () => {
      const data = randomData(size);
      const key = `as-part-${size}`;
      const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data, ChecksumAlgorithm: "SHA256" }));
      const part = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, PartNumber: 1, ChecksumMode: "ENABLED" }));
      assert.equal(part.ContentLength, size);
      assert.equal(part.ChecksumSHA256, put.ChecksumSHA256);
      assert.equal(part.ETag, `"${md5Hex(data)}"`);
      assert.ok((await readAll(part.Body)).equals(data));
      const range = await getBytes(key, "bytes=1000-1999");
      assert.equal(range.status, 206);
      assert.ok(range.data.equals(data.subarray(1000, 2000)));
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: "ENABLED" }));
      assert.equal(head.ContentLength, size);
      assert.equal(head.ChecksumSHA256, put.ChecksumSHA256);
      await expectS3Error(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, PartNumber: 2 })), "InvalidPartNumber", 416);
    });
  }

  it("rejects a wrong Content-MD5 with BadDigest and keeps the old object", async () => {
    const original = randomData(50_000);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "md5-guarded", Body: original }));
    const replacement = randomData(50_000);
    await expectS3Error(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "md5-guarded", Body: replacement, ContentMD5: Buffer.from(md5Hex(original), "hex").toString("base64") })),
      "BadDigest",
      400,
    );
    await expectS3Error(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "md5-guarded", Body: replacement, ContentMD5: "not-base64-md5" })),
      "InvalidDigest",
      400,
    );
    assert.ok((await getBytes("md5-guarded")).data.equals(original), "the old bytes are intact");
  });

  it("stores and returns metadata and content headers", async () => {
    const expires = new Date("2030-01-01T00:00:00Z");
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "with-headers",
        Body: "hello",
        ContentType: "text/plain; charset=utf-8",
        ContentEncoding: "identity",
        ContentDisposition: 'attachment; filename="x.txt"',
        CacheControl: "max-age=60",
        ContentLanguage: "en",
        Expires: expires,
        Metadata: { mtime: "1714060800.123456789", "Mixed-Case": "Value with spaces" },
        StorageClass: "REDUCED_REDUNDANCY",
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "with-headers" }));
    assert.equal(head.ContentType, "text/plain; charset=utf-8");
    assert.equal(head.ContentEncoding, "identity");
    assert.equal(head.ContentDisposition, 'attachment; filename="x.txt"');
    assert.equal(head.CacheControl, "max-age=60");
    assert.equal(head.ContentLanguage, "en");
    assert.equal(head.Expires?.getTime(), expires.getTime());
    assert.deepEqual(head.Metadata, { mtime: "1714060800.123456789", "mixed-case": "Value with spaces" });
    assert.equal(head.StorageClass, "REDUCED_REDUNDANCY");
    assert.equal(head.ContentLength, 5);
    assert.ok(head.LastModified instanceof Date && Math.abs(head.LastModified.getTime() - Date.now()) < 60_000);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "with-headers" }));
    assert.equal(listed.Contents?.[0].StorageClass, "REDUCED_REDUNDANCY");
  });

  it("rejects an unknown storage class", async () => {
    await expectS3Error(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "cold", Body: "x", StorageClass: "DEEP_ARCHIVE" })), "InvalidStorageClass", 400);
  });

  it("serves byte ranges as AWS does (206, Content-Range, 416)", async () => {
    const data = randomData(3 * 1024 * 1024 + 1000);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "ranged", Body: data }));
    const cases: [string, number, number][] = [
      ["bytes=0-9", 0, 9],
      ["bytes=1048570-1048580", 1048570, 1048580],
      ["bytes=-5", data.length - 5, data.length - 1],
      ["bytes=3000000-", 3000000, data.length - 1],
      [`bytes=100-${data.length + 100}`, 100, data.length - 1],
    ];
    for (const [range, start, end] of cases) {
      const got = await getBytes("ranged", range);
      assert.equal(got.status, 206, range);
      assert.equal(got.contentRange, `bytes ${start}-${end}/${data.length}`, range);
      assert.ok(got.data.equals(data.subarray(start, end + 1)), `bytes of ${range}`);
    }
    const error = await expectS3Error(getBytes("ranged", `bytes=${data.length}-`), "InvalidRange", 416);
    assert.equal((error as unknown as { ActualObjectSize?: string }).ActualObjectSize ?? String(data.length), String(data.length));
    const small = await getBytes("buffer-4096", "bytes=-10");
    assert.equal(small.data.length, 10);
  });

  it("honours If-Match and If-None-Match on GET", async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "conditional", Body: "abc" }));
    const ok = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "conditional", IfMatch: put.ETag }));
    assert.equal((await readAll(ok.Body)).toString(), "abc");
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "conditional", IfMatch: '"0000"' })), "PreconditionFailed", 412);
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "conditional", IfNoneMatch: put.ETag })), (error: { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(error.$metadata?.httpStatusCode, 304);
      return true;
    });
  });

  it("overrides response headers with response-* query parameters", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "overridden", Body: "abc", ContentType: "text/plain" }));
    const got = await s3.send(
      new GetObjectCommand({
        Bucket: BUCKET,
        Key: "overridden",
        ResponseContentType: "application/json",
        ResponseContentDisposition: 'attachment; filename="a.json"',
        ResponseContentLanguage: "fr",
        ResponseCacheControl: "no-cache",
        ResponseContentEncoding: "identity",
        ResponseExpires: new Date("2031-01-01T00:00:00Z"),
      }),
    );
    assert.equal(got.ContentType, "application/json");
    assert.equal(got.ContentDisposition, 'attachment; filename="a.json"');
    assert.equal(got.ContentLanguage, "fr");
    assert.equal(got.CacheControl, "no-cache");
    assert.equal(got.ContentEncoding, "identity");
    assert.equal(got.Expires?.getTime(), new Date("2031-01-01T00:00:00Z").getTime());
    assert.equal((await readAll(got.Body)).toString(), "abc");
  });

  it("deletes objects, and answers 204 for a missing key too", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "doomed", Body: randomData(100_000) }));
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "doomed" }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "doomed" })), "NoSuchKey", 404);
    const again = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "doomed" }));
    assert.equal(again.$metadata.httpStatusCode, 204);
  });

  it("refuses a delete in a missing bucket (NoSuchBucket) and in another owner's bucket (AccessDenied)", async () => {
    await expectS3Error(s3.send(new DeleteObjectCommand({ Bucket: "no-such-bucket-delete", Key: "k" })), "NoSuchBucket", 404);
    const stranger = await cluster.strangerClient("delete-stranger");
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "not-yours", Body: "mine" }));
    await expectS3Error(stranger.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "not-yours" })), "AccessDenied", 403);
    assert.equal((await readAll((await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "not-yours" }))).Body)).toString(), "mine");
  });

  it("overwrites an object: the new bytes are served", async () => {
    const first = randomData(2 * 1024 * 1024);
    const second = randomData(10);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "overwritten", Body: first }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "overwritten", Body: second }));
    assert.ok((await getBytes("overwritten")).data.equals(second));
  });

  it("keeps keys with odd characters distinct and exact", async () => {
    const keys = ["dir/file", "dir/file/", "dir//double", "space key", "plus+key", "percent%25key", "percent%key", "ünïcødé/ключ/🎉", "tab\tkey", "q?x=1&y", "#hash"];
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `odd/${key}`, Body: key }));
    for (const key of keys) assert.equal((await getBytes(`odd/${key}`)).data.toString(), key, key);
  });

  it("answers NotImplemented for an object sub-resource, never treating it as GetObject", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "torrent-target", Body: "x" }));
    await expectS3Error(s3.send(new GetObjectTorrentCommand({ Bucket: BUCKET, Key: "torrent-target" })), "NotImplemented", 501);
  });

  it("answers NoSuchKey with the XML error body", async () => {
    const response = await fetch(`${cluster.endpoint}/${BUCKET}/missing-key`);
    // An unsigned request is refused first: anonymous access is not supported.
    assert.equal(response.status, 403);
    const body = await response.text();
    assert.match(body, /<Code>AccessDenied<\/Code>/);
    assert.match(body, /<RequestId>[0-9A-F]+<\/RequestId>/);
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "missing-key" })), "NoSuchKey", 404);
  });
});
