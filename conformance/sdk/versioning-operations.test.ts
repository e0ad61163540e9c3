import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  DeleteObjectTaggingCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { expectS3Error } from "../support/expect.js";
import { sharedClusterWithBucket } from "../support/shared.js";
import { md5Hex, randomData, readAll } from "../support/bytes.js";

const BUCKET = "versioning-ops";
const PLAIN = "versioning-ops-plain";

function unknownVersionId(): string {
  return randomBytes(16).toString("hex");
}

function multipartEtag(parts: Buffer[]): string {
  const joined = Buffer.concat(parts.map((part) => Buffer.from(md5Hex(part), "hex")));
  return `"${createHash("md5").update(joined).digest("hex")}-${parts.length}"`;
}

describe("versioned object operations (SDK)", () => {
  let s3: S3Client;
  before(async () => {
    ({ s3 } = await sharedClusterWithBucket(BUCKET));
    await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: "Enabled" } }));
    await s3.send(new CreateBucketCommand({ Bucket: PLAIN }));
  });

  async function put(key: string, body: string | Buffer, extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {}): Promise<string> {
    const { VersionId } = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ...extra }));
    assert.ok(VersionId, "a PUT in an Enabled bucket answers a version id");
    return VersionId;
  }

  async function text(bucket: string, key: string, VersionId?: string): Promise<string> {
    return (await readAll((await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId }))).Body)).toString();
  }

  async function versionIds(key: string): Promise<{ versions: string[]; markers: string[]; latest: string[] }> {
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: key }));
    const own = [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].filter((entry) => entry.Key === key);
    return {
      versions: (listed.Versions ?? []).filter((entry) => entry.Key === key).map((entry) => entry.VersionId!),
      markers: (listed.DeleteMarkers ?? []).filter((entry) => entry.Key === key).map((entry) => entry.VersionId!),
      latest: own.filter((entry) => entry.IsLatest).map((entry) => entry.VersionId!),
    };
  }

  it("CopyObject copies the version named by ?versionId=, answering CopySourceVersionId and the copy's own VersionId", async () => {
    const one = randomData(100_000);
    const v1 = await put("copy/src", one, { Metadata: { generation: "1" } });
    const v2 = await put("copy/src", "two", { Metadata: { generation: "2" } });

    const old = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "copy/dst", CopySource: `${BUCKET}/copy/src?versionId=${v1}` }));
    assert.equal(old.CopySourceVersionId, v1);
    assert.ok(old.VersionId && ![v1, v2, "null"].includes(old.VersionId), "the copy is a new version of its own");
    assert.equal(old.CopyObjectResult?.ETag, `"${md5Hex(one)}"`);
    const copied = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "copy/dst" }));
    assert.deepEqual(copied.Metadata, { generation: "1" }, "the metadata of that version, too");
    assert.equal(copied.VersionId, old.VersionId);
    assert.ok((await readAll(copied.Body)).equals(one));

    const current = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "copy/dst", CopySource: `${BUCKET}/copy/src` }));
    assert.equal(current.CopySourceVersionId, v2, "without ?versionId= the current version is copied, and named");
    assert.equal(await text(BUCKET, "copy/dst"), "two");
    assert.deepEqual((await versionIds("copy/dst")).versions, [current.VersionId, old.VersionId]);

    // Into a bucket that keeps no versions: the source version is still named, the copy has none.
    const plain = await s3.send(new CopyObjectCommand({ Bucket: PLAIN, Key: "from-versioned", CopySource: `${BUCKET}/copy/src?versionId=${v1}` }));
    assert.equal(plain.CopySourceVersionId, v1);
    assert.equal(plain.VersionId, undefined);
    assert.ok((await readAll((await s3.send(new GetObjectCommand({ Bucket: PLAIN, Key: "from-versioned" }))).Body)).equals(one));
  });

  it("CopyObject of an older version onto its own key restores it as the new current version", async () => {
    const v1 = await put("restore", "original");
    const v2 = await put("restore", "mistake");
    const restored = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "restore", CopySource: `${BUCKET}/restore?versionId=${v1}` }));
    assert.equal(restored.CopySourceVersionId, v1);
    assert.equal(await text(BUCKET, "restore"), "original");
    const { versions, latest } = await versionIds("restore");
    assert.deepEqual(versions, [restored.VersionId, v2, v1]);
    assert.deepEqual(latest, [restored.VersionId]);
  });

  it("CopyObject refuses a delete marker (InvalidRequest by id, NoSuchKey as current), a missing version (NoSuchVersion), a malformed one (InvalidArgument)", async () => {
    await put("copy/gone", "x");
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "copy/gone" }));
    const copy = (CopySource: string) => s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "copy/never", CopySource }));
    await expectS3Error(copy(`${BUCKET}/copy/gone?versionId=${marker.VersionId}`), "InvalidRequest", 400);
    await expectS3Error(copy(`${BUCKET}/copy/gone`), "NoSuchKey", 404);
    await expectS3Error(copy(`${BUCKET}/copy/src?versionId=${unknownVersionId()}`), "NoSuchVersion", 404);
    await expectS3Error(copy(`${BUCKET}/copy/src?versionId=not-a-version`), "InvalidArgument", 400);
    assert.deepEqual(await versionIds("copy/never"), { versions: [], markers: [], latest: [] });
  });

  it("UploadPartCopy copies the version named by ?versionId=, answering CopySourceVersionId", async () => {
    const old = randomData(50_000);
    const v1 = await put("part-copy/src", old);
    await put("part-copy/src", "newer");
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "part-copy/dst" }));
    const whole = await s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: "part-copy/dst", UploadId, PartNumber: 1, CopySource: `${BUCKET}/part-copy/src?versionId=${v1}` }));
    assert.equal(whole.CopySourceVersionId, v1);
    assert.equal(whole.CopyPartResult?.ETag, `"${md5Hex(old)}"`);
    const ranged = await s3.send(
      new UploadPartCopyCommand({ Bucket: BUCKET, Key: "part-copy/dst", UploadId, PartNumber: 1, CopySource: `${BUCKET}/part-copy/src?versionId=${v1}`, CopySourceRange: "bytes=100-4099" }),
    );
    assert.equal(ranged.CopySourceVersionId, v1);
    await expectS3Error(
      s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: "part-copy/dst", UploadId, PartNumber: 2, CopySource: `${BUCKET}/part-copy/src?versionId=${unknownVersionId()}` })),
      "NoSuchVersion",
      404,
    );
    const done = await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "part-copy/dst", UploadId, MultipartUpload: { Parts: [{ ETag: ranged.CopyPartResult?.ETag, PartNumber: 1 }] } }),
    );
    assert.ok(done.VersionId);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "part-copy/dst" }));
    assert.ok((await readAll(got.Body)).equals(old.subarray(100, 4100)));
  });

  it("Put/Get/DeleteObjectTagging with VersionId act on that version only", async () => {
    const v1 = await put("tags", "first", { Tagging: "generation=1" });
    const v2 = await put("tags", "second", { Tagging: "generation=2" });
    const tagsOf = async (VersionId?: string) => {
      const response = await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "tags", VersionId }));
      return { versionId: response.VersionId, tags: response.TagSet?.map(({ Key, Value }) => `${Key}=${Value}`) };
    };
    assert.deepEqual(await tagsOf(v1), { versionId: v1, tags: ["generation=1"] });
    assert.deepEqual(await tagsOf(), { versionId: v2, tags: ["generation=2"] });

    const tagged = await s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: "tags", VersionId: v1, Tagging: { TagSet: [{ Key: "state", Value: "old" }, { Key: "keep", Value: "no" }] } }));
    assert.equal(tagged.VersionId, v1);
    assert.deepEqual(await tagsOf(v1), { versionId: v1, tags: ["state=old", "keep=no"] });
    assert.deepEqual(await tagsOf(), { versionId: v2, tags: ["generation=2"] }, "the current version keeps its tags");
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "tags", VersionId: v1 }))).TagCount, 2);

    const untagged = await s3.send(new DeleteObjectTaggingCommand({ Bucket: BUCKET, Key: "tags", VersionId: v1 }));
    assert.equal(untagged.VersionId, v1);
    assert.deepEqual(await tagsOf(v1), { versionId: v1, tags: [] });
    assert.deepEqual(await tagsOf(), { versionId: v2, tags: ["generation=2"] });

    await expectS3Error(s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "tags", VersionId: unknownVersionId() })), "NoSuchVersion", 404);
    await expectS3Error(
      s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: "tags", VersionId: unknownVersionId(), Tagging: { TagSet: [] } })),
      "NoSuchVersion",
      404,
    );
    await expectS3Error(s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "tags", VersionId: "not-a-version" })), "InvalidArgument", 400);
  });

  it("GetObjectAttributes with VersionId answers that version's attributes", async () => {
    const v1 = await put("attributes", "short");
    const v2 = await put("attributes", randomData(100_000));
    const old = await s3.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: "attributes", VersionId: v1, ObjectAttributes: ["ETag", "ObjectSize"] }));
    assert.equal(old.VersionId, v1);
    assert.equal(old.ETag, md5Hex(Buffer.from("short")), "unquoted, as AWS");
    assert.equal(old.ObjectSize, 5);
    const current = await s3.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: "attributes", ObjectAttributes: ["ObjectSize"] }));
    assert.equal(current.VersionId, v2);
    assert.equal(current.ObjectSize, 100_000);
    await expectS3Error(
      s3.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: "attributes", VersionId: unknownVersionId(), ObjectAttributes: ["ObjectSize"] })),
      "NoSuchVersion",
      404,
    );
  });

  it("DeleteObjects deletes the version an entry names, and adds a delete marker for an entry without one", async () => {
    const a1 = await put("batch/a", "a1");
    const a2 = await put("batch/a", "a2");
    await put("batch/b", "b1");
    const c1 = await put("batch/c", "c1");
    const missingId = unknownVersionId();
    const result = await s3.send(
      new DeleteObjectsCommand({
        Bucket: BUCKET,
        Delete: { Objects: [{ Key: "batch/a", VersionId: a1 }, { Key: "batch/b" }, { Key: "batch/c", VersionId: missingId }, { Key: "batch/never" }] },
      }),
    );
    assert.equal(result.Errors, undefined);
    const [a, b, c, never] = result.Deleted ?? [];
    assert.deepEqual(result.Deleted?.map((entry) => entry.Key), ["batch/a", "batch/b", "batch/c", "batch/never"]);
    assert.equal(a.VersionId, a1);
    assert.ok(!a.DeleteMarker, "a version that is not a marker");
    assert.equal(b.DeleteMarker, true);
    assert.ok(b.DeleteMarkerVersionId, "the new marker's version id");
    assert.equal(b.VersionId, undefined, "no version was named");
    assert.equal(c.VersionId, missingId, "a version that does not exist is reported deleted, as DeleteObject answers 204");
    assert.equal(never.DeleteMarker, true, "a key that never existed gets a marker too");
    assert.ok(never.DeleteMarkerVersionId);

    assert.equal(await text(BUCKET, "batch/a"), "a2");
    assert.deepEqual(await versionIds("batch/a"), { versions: [a2], markers: [], latest: [a2] });
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "batch/b" })), "NoSuchKey", 404);
    assert.deepEqual((await versionIds("batch/b")).markers, [b.DeleteMarkerVersionId]);
    assert.deepEqual(await versionIds("batch/c"), { versions: [c1], markers: [], latest: [c1] });
    assert.deepEqual(await versionIds("batch/never"), { versions: [], markers: [never.DeleteMarkerVersionId], latest: [never.DeleteMarkerVersionId] });

    // Deleting the marker by its id: reported as a marker, and the version under it is current again.
    const unmarked = await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: "batch/b", VersionId: b.DeleteMarkerVersionId }] } }));
    assert.deepEqual(unmarked.Deleted, [{ Key: "batch/b", VersionId: b.DeleteMarkerVersionId, DeleteMarker: true, DeleteMarkerVersionId: b.DeleteMarkerVersionId }]);
    assert.equal(await text(BUCKET, "batch/b"), "b1");
  });

  it("DeleteObjects reports a malformed version id as a per-key NoSuchVersion error and deletes nothing for it", async () => {
    const kept = await put("batch/guarded", "kept");
    const result = await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: "batch/guarded", VersionId: "not-a-version" }] } }));
    assert.equal(result.Deleted, undefined);
    assert.deepEqual(result.Errors?.map(({ Key, VersionId, Code }) => ({ Key, VersionId, Code })), [{ Key: "batch/guarded", VersionId: "not-a-version", Code: "NoSuchVersion" }]);
    assert.deepEqual(await versionIds("batch/guarded"), { versions: [kept], markers: [], latest: [kept] });
  });

  it("CompleteMultipartUpload answers a VersionId; repeating it answers 200 with the same ETag and VersionId and adds no version", async () => {
    const body = randomData(1000);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "mpu/repeated" }));
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "mpu/repeated", UploadId, PartNumber: 1, Body: body }));
    const complete = () => s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "mpu/repeated", UploadId, MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] } }));
    const first = await complete();
    assert.equal(first.ETag, multipartEtag([body]));
    assert.ok(first.VersionId);
    // A client whose first completion timed out retries it; the retry must succeed as the first did.
    const again = await complete();
    assert.equal(again.$metadata.httpStatusCode, 200);
    assert.equal(again.ETag, first.ETag);
    assert.equal(again.VersionId, first.VersionId);
    assert.deepEqual(await versionIds("mpu/repeated"), { versions: [first.VersionId], markers: [], latest: [first.VersionId] });
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "mpu/repeated" }));
    assert.equal(got.VersionId, first.VersionId);
    assert.ok((await readAll(got.Body)).equals(body));
  });

  it("repeating CompleteMultipartUpload in a bucket without versioning answers 200 with the same ETag", async () => {
    const body = randomData(200_000);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: PLAIN, Key: "mpu/repeated" }));
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: PLAIN, Key: "mpu/repeated", UploadId, PartNumber: 1, Body: body }));
    const complete = () => s3.send(new CompleteMultipartUploadCommand({ Bucket: PLAIN, Key: "mpu/repeated", UploadId, MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] } }));
    const first = await complete();
    const again = await complete();
    assert.equal(again.$metadata.httpStatusCode, 200);
    assert.equal(again.ETag, first.ETag);
    assert.equal(again.VersionId, undefined);
    assert.ok((await readAll((await s3.send(new GetObjectCommand({ Bucket: PLAIN, Key: "mpu/repeated" }))).Body)).equals(body));
  });

  it("answers InvalidPart (400) to a completion naming a part by a wrong ETag of any shape, and completes with the right one", async () => {
    for (const bucket of [BUCKET, PLAIN]) {
      const body = randomData(1000);
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "mpu/wrong-etag" }));
      const { ETag } = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: "mpu/wrong-etag", UploadId, PartNumber: 1, Body: body }));
      const complete = (partEtag: string) =>
        s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: "mpu/wrong-etag", UploadId, MultipartUpload: { Parts: [{ ETag: partEtag, PartNumber: 1 }] } }));
      for (const wrong of [`"${md5Hex(randomData(1000))}"`, md5Hex(randomData(10)), "not-an-etag", `"${"g".repeat(32)}"`, `"${md5Hex(body)}-1"`]) {
        await expectS3Error(complete(wrong), "InvalidPart", 400);
      }
      const done = await complete(ETag!);
      assert.equal(done.ETag, multipartEtag([body]), bucket);
    }
  });
});
