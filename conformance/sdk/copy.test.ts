import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { expectS3Error } from "../support/expect.js";
import { sharedCluster } from "../support/shared.js";
import type { TestCluster } from "../support/cluster.js";
import { md5Hex, patternMd5, patternStream, randomData, readAll } from "../support/bytes.js";

const BUCKET = "copies";
const OTHER = "copies-other";
const MiB = 1024 * 1024;

async function md5OfBody(body: unknown): Promise<string> {
  const hash = createHash("md5");
  for await (const chunk of body as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest("hex");
}

describe("CopyObject and UploadPartCopy (SDK)", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let s3: S3Client;
  before(async () => {
    cluster = await sharedCluster();
    s3 = cluster.client();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new CreateBucketCommand({ Bucket: OTHER }));
  });

  async function put(key: string, body: Buffer, extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {}) {
    return s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ...extra }));
  }

  it("copies an object to another bucket and key, keeping content headers and metadata (COPY)", async () => {
    const data = randomData(3 * MiB + 11);
    await put("source", data, { ContentType: "image/png", CacheControl: "max-age=60", Metadata: { colour: "blue" } });
    const copied = await s3.send(new CopyObjectCommand({ Bucket: OTHER, Key: "dir/copy", CopySource: `${BUCKET}/source`, Metadata: { ignored: "yes" } }));
    assert.equal(copied.CopyObjectResult?.ETag, `"${md5Hex(data)}"`);
    assert.ok(copied.CopyObjectResult?.LastModified instanceof Date);
    const got = await s3.send(new GetObjectCommand({ Bucket: OTHER, Key: "dir/copy" }));
    assert.equal(got.ContentType, "image/png");
    assert.equal(got.CacheControl, "max-age=60");
    assert.deepEqual(got.Metadata, { colour: "blue" });
    assert.ok((await readAll(got.Body)).equals(data));
  });

  it("copies tiny (inline) objects and empty objects", async () => {
    await put("tiny", Buffer.from("hello"));
    await put("empty", Buffer.alloc(0));
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "tiny-copy", CopySource: `/${BUCKET}/tiny` }));
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "empty-copy", CopySource: `${BUCKET}/empty` }));
    assert.equal((await readAll((await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "tiny-copy" }))).Body)).toString(), "hello");
    const empty = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "empty-copy" }));
    assert.equal(empty.ContentLength, 0);
    assert.equal(empty.ETag, `"${md5Hex(Buffer.alloc(0))}"`);
  });

  it("decodes URL-encoded source keys (spaces, '+', '?', unicode)", async () => {
    const key = "odd key+plus?&q=ü/é";
    const data = randomData(10_000);
    await put(key, data);
    const encoded = `${BUCKET}/${encodeURIComponent(key)}`;
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "odd-copy", CopySource: encoded }));
    assert.ok((await readAll((await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "odd-copy" }))).Body)).equals(data));
  });

  it("REPLACE takes content headers and metadata from the request", async () => {
    await put("replace-src", randomData(1000), { ContentType: "text/plain", Metadata: { a: "1" } });
    await s3.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: "replace-dst",
        CopySource: `${BUCKET}/replace-src`,
        MetadataDirective: "REPLACE",
        ContentType: "application/json",
        ContentDisposition: "attachment",
        Metadata: { b: "2" },
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "replace-dst" }));
    assert.equal(head.ContentType, "application/json");
    assert.equal(head.ContentDisposition, "attachment");
    assert.deepEqual(head.Metadata, { b: "2" });
  });

  it("copies a 100 MiB object onto itself with REPLACE: same bytes and ETag, new metadata and Last-Modified", async () => {
    const size = 100 * MiB;
    const expected = await patternMd5(size, 7);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "big", Body: patternStream(size, 7), ContentLength: size, Metadata: { mtime: "1" } }));
    const before = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "big" }));
    await new Promise((resolve) => setTimeout(resolve, 1100)); // Last-Modified has one-second resolution
    const copied = await s3.send(
      new CopyObjectCommand({ Bucket: BUCKET, Key: "big", CopySource: `${BUCKET}/big`, MetadataDirective: "REPLACE", Metadata: { mtime: "2" } }),
    );
    assert.equal(copied.CopyObjectResult?.ETag, `"${expected}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "big" }));
    assert.deepEqual(got.Metadata, { mtime: "2" });
    assert.equal(got.ContentLength, size);
    assert.ok(got.LastModified! > before.LastModified!);
    assert.equal(await md5OfBody(got.Body), expected);
  });

  it("copies the source's tags (tagging directive COPY) or takes x-amz-tagging (REPLACE)", async () => {
    await put("tagged", randomData(100), { Tagging: "colour=blue&size=small" });
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "tagged-copy", CopySource: `${BUCKET}/tagged` }));
    const copied = await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "tagged-copy" }));
    assert.deepEqual(copied.TagSet?.map(({ Key, Value }) => `${Key}=${Value}`).sort(), ["colour=blue", "size=small"]);
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "tagged-replaced", CopySource: `${BUCKET}/tagged`, TaggingDirective: "REPLACE", Tagging: "shape=round" }));
    const replaced = await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "tagged-replaced" }));
    assert.deepEqual(replaced.TagSet?.map(({ Key, Value }) => `${Key}=${Value}`), ["shape=round"]);
  });

  it("refuses a copy onto itself that changes nothing, with AWS's InvalidRequest", async () => {
    await put("self", randomData(100));
    const error = await expectS3Error(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "self", CopySource: `${BUCKET}/self` })), "InvalidRequest", 400);
    assert.match(error.message, /trying to copy an object to itself without changing the object's metadata/);
    // A storage class change is a change.
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "self", CopySource: `${BUCKET}/self`, StorageClass: "REDUCED_REDUNDANCY" }));
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "self" }))).StorageClass, "REDUCED_REDUNDANCY");
  });

  it("changes the storage class with x-amz-storage-class and keeps the bytes", async () => {
    const data = randomData(2 * MiB);
    await put("class-src", data);
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "class-dst", CopySource: `${BUCKET}/class-src`, StorageClass: "REDUCED_REDUNDANCY" }));
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "class-dst" }));
    assert.equal(got.StorageClass, "REDUCED_REDUNDANCY");
    assert.ok((await readAll(got.Body)).equals(data));
    await expectS3Error(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "class-x", CopySource: `${BUCKET}/class-src`, StorageClass: "GLACIER" })), "InvalidStorageClass", 400);
  });

  it("evaluates x-amz-copy-source-if-* as AWS: 412 PreconditionFailed, if-match beats if-unmodified-since", async () => {
    const data = randomData(500);
    const { ETag } = await put("cond", data);
    const past = new Date(Date.now() - 3600_000);
    const future = new Date(Date.now() + 3600_000);
    const copy = (extra: Partial<ConstructorParameters<typeof CopyObjectCommand>[0]>) =>
      s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "cond-dst", CopySource: `${BUCKET}/cond`, ...extra }));
    await copy({ CopySourceIfMatch: ETag });
    await expectS3Error(copy({ CopySourceIfMatch: '"0123"' }), "PreconditionFailed", 412);
    await copy({ CopySourceIfNoneMatch: '"0123"' });
    await expectS3Error(copy({ CopySourceIfNoneMatch: ETag }), "PreconditionFailed", 412);
    await copy({ CopySourceIfModifiedSince: past });
    await expectS3Error(copy({ CopySourceIfModifiedSince: future }), "PreconditionFailed", 412);
    await copy({ CopySourceIfUnmodifiedSince: future });
    await expectS3Error(copy({ CopySourceIfUnmodifiedSince: past }), "PreconditionFailed", 412);
    // AWS: if-match true and if-unmodified-since false → the copy happens.
    await copy({ CopySourceIfMatch: ETag, CopySourceIfUnmodifiedSince: past });
    // if-none-match false and if-modified-since true → 412.
    await expectS3Error(copy({ CopySourceIfNoneMatch: ETag, CopySourceIfModifiedSince: past }), "PreconditionFailed", 412);
  });

  it("answers missing sources and bad copy-source headers with AWS's errors", async () => {
    await expectS3Error(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "x", CopySource: `${BUCKET}/no-such-key` })), "NoSuchKey", 404);
    await expectS3Error(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "x", CopySource: "no-such-bucket-here/k" })), "NoSuchBucket", 404);
    await expectS3Error(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "x", CopySource: `${BUCKET}/source?versionId=${"0".repeat(32)}` })), "NoSuchVersion", 404);
    await expectS3Error(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "x", CopySource: `${BUCKET}/source?versionId=nope` })), "InvalidArgument", 400);
    await expectS3Error(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "x", CopySource: BUCKET })), "InvalidArgument", 400);
    await expectS3Error(
      s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "x", CopySource: `${BUCKET}/source`, MetadataDirective: "MERGE" as never })),
      "InvalidArgument",
      400,
    );
    // versionId=null names the only version of an object in a bucket that never kept versions.
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "null-version", CopySource: `${BUCKET}/source?versionId=null` }));
  });

  it("refuses a source in a bucket the caller does not own, and a destination likewise", async () => {
    const stranger = await cluster.strangerClient("copy-stranger");
    await stranger.send(new CreateBucketCommand({ Bucket: "copies-stranger" }));
    await expectS3Error(stranger.send(new CopyObjectCommand({ Bucket: "copies-stranger", Key: "stolen", CopySource: `${BUCKET}/source` })), "AccessDenied", 403);
    await stranger.send(new PutObjectCommand({ Bucket: "copies-stranger", Key: "own", Body: "mine" }));
    await expectS3Error(s3.send(new CopyObjectCommand({ Bucket: "copies-stranger", Key: "pushed", CopySource: `${BUCKET}/source` })), "AccessDenied", 403);
    await expectS3Error(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "pulled", CopySource: "copies-stranger/own" })), "AccessDenied", 403);
  });

  it("records a checksum on the copy when the source has one, and returns it in CopyObjectResult", async () => {
    const data = randomData(70_000);
    const put1 = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "summed", Body: data, ChecksumAlgorithm: "SHA256" }));
    assert.ok(put1.ChecksumSHA256);
    const copied = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "summed-copy", CopySource: `${BUCKET}/summed` }));
    assert.equal(copied.CopyObjectResult?.ChecksumSHA256, put1.ChecksumSHA256);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "summed-copy", ChecksumMode: "ENABLED" }));
    assert.equal(head.ChecksumSHA256, put1.ChecksumSHA256);
    // x-amz-checksum-algorithm on the copy asks for another algorithm.
    const reference = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "summed-reference", Body: data, ChecksumAlgorithm: "CRC32C" }));
    const recomputed = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "summed-crc32c", CopySource: `${BUCKET}/summed`, ChecksumAlgorithm: "CRC32C" }));
    assert.equal(recomputed.CopyObjectResult?.ChecksumCRC32C, reference.ChecksumCRC32C);
  });

  it("assembles an object from byte ranges of another with UploadPartCopy", async () => {
    const data = randomData(12 * MiB + 333);
    await put("parts-src", data);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: OTHER, Key: "assembled" }));
    // Out of order and not aligned to the source's stripes: [5 MiB, 10 MiB), then [0, 5 MiB), then the tail.
    const ranges = [
      [0, 5 * MiB - 1],
      [5 * MiB, 10 * MiB - 1],
      [10 * MiB, data.length - 1],
    ];
    const etags: string[] = [];
    for (const index of [1, 0, 2]) {
      const [first, last] = ranges[index];
      const result = await s3.send(
        new UploadPartCopyCommand({ Bucket: OTHER, Key: "assembled", UploadId, PartNumber: index + 1, CopySource: `${BUCKET}/parts-src`, CopySourceRange: `bytes=${first}-${last}` }),
      );
      assert.equal(result.CopyPartResult?.ETag, `"${md5Hex(data.subarray(first, last + 1))}"`);
      assert.ok(result.CopyPartResult?.LastModified instanceof Date);
      etags[index] = result.CopyPartResult!.ETag!;
    }
    await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: OTHER, Key: "assembled", UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: OTHER, Key: "assembled" }));
    assert.ok((await readAll(got.Body)).equals(data));
  });

  it("copies a whole object as a part without a range, mixing with uploaded parts", async () => {
    const first = randomData(5 * MiB);
    const second = randomData(1234);
    await put("whole-part", second);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "mixed" }));
    const one = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "mixed", UploadId, PartNumber: 1, Body: first }));
    const two = await s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: "mixed", UploadId, PartNumber: 2, CopySource: `${BUCKET}/whole-part` }));
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: "mixed",
        UploadId,
        MultipartUpload: { Parts: [{ ETag: one.ETag, PartNumber: 1 }, { ETag: two.CopyPartResult?.ETag, PartNumber: 2 }] },
      }),
    );
    assert.ok((await readAll((await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "mixed" }))).Body)).equals(Buffer.concat([first, second])));
  });

  it("answers bad x-amz-copy-source-range values as AWS: InvalidArgument when malformed, InvalidRange past the end", async () => {
    await put("range-src", randomData(100));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "ranges" }));
    const copyPart = (range: string) =>
      s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: "ranges", UploadId, PartNumber: 1, CopySource: `${BUCKET}/range-src`, CopySourceRange: range }));
    for (const bad of ["bytes=-", "bytes=-2", "bytes=2-", "bytes=2--3", "bytes=", "2-3", "bytes=3-2"]) {
      await expectS3Error(copyPart(bad), "InvalidArgument", 400);
    }
    await expectS3Error(copyPart("bytes=0-100"), "InvalidRange", 416);
    const ok = await copyPart("bytes=99-99");
    assert.ok(ok.CopyPartResult?.ETag);
    await put("range-empty", Buffer.alloc(0));
    const empty = await s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: "ranges", UploadId, PartNumber: 2, CopySource: `${BUCKET}/range-empty` }));
    assert.equal(empty.CopyPartResult?.ETag, `"${md5Hex(Buffer.alloc(0))}"`);
    await expectS3Error(
      s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: "ranges", UploadId, PartNumber: 3, CopySource: `${BUCKET}/range-empty`, CopySourceRange: "bytes=0-0" })),
      "InvalidRange",
      416,
    );
    await expectS3Error(
      s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: "ranges", UploadId: "nope", PartNumber: 1, CopySource: `${BUCKET}/range-src` })),
      "NoSuchUpload",
      404,
    );
  });
});
