import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type BucketVersioningStatus,
} from "@aws-sdk/client-s3";
import { expectS3Error } from "../support/expect.js";
import { sharedClusterWithBucket } from "../support/shared.js";
import type { TestCluster } from "../support/cluster.js";
import { md5Hex, randomData, readAll } from "../support/bytes.js";
import { signedFetch } from "../support/raw.js";

const BUCKET = "versioning";

/** A version id of the form Weft mints (32 lowercase hex digits) that names no version. */
function unknownVersionId(): string {
  return randomBytes(16).toString("hex");
}

// Shaped like nothing Weft mints: words, a path, one digit too many.
const MALFORMED_VERSION_IDS = ["not-a-version", "../x", "f".repeat(33)];

/** A response header of a failed request, as the server sent it (the SDK keeps the raw response on the error). */
function errorHeader(error: unknown, name: string): string | undefined {
  return (error as { $response?: { headers?: Record<string, string> } }).$response?.headers?.[name];
}

/** Awaits a request that must fail with this HTTP status: for HEAD, whose error has no body to name its code. */
async function expectStatus(promise: Promise<unknown>, status: number): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof S3ServiceException, `expected HTTP ${status}, got ${error}`);
    assert.equal(error.$metadata.httpStatusCode, status);
    return error;
  }
  assert.fail(`expected HTTP ${status}, but the request succeeded`);
}

describe("bucket versioning (SDK)", () => {
  let cluster: TestCluster;
  let s3: S3Client;
  before(async () => {
    ({ cluster, s3 } = await sharedClusterWithBucket(BUCKET));
    await setVersioning(BUCKET, "Enabled");
  });

  async function setVersioning(bucket: string, Status: BucketVersioningStatus): Promise<void> {
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status } }));
  }

  /** A bucket of the test's own, created in the given versioning state (none: never versioned). */
  async function bucketOf(name: string, status?: BucketVersioningStatus): Promise<string> {
    const bucket = `versioning-${name}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    if (status) await setVersioning(bucket, status);
    return bucket;
  }

  async function put(bucket: string, key: string, body: string | Buffer) {
    return s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  }

  async function get(bucket: string, key: string, VersionId?: string): Promise<{ body: Buffer; versionId?: string; etag?: string }> {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId }));
    return { body: await readAll(response.Body), versionId: response.VersionId, etag: response.ETag };
  }

  /** The versions and delete markers of exactly `key`, as [VersionId, IsLatest] in each list. */
  async function versionsOf(bucket: string, key: string): Promise<{ versions: [string, boolean][]; markers: [string, boolean][] }> {
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
    const own = <T extends { Key?: string; VersionId?: string; IsLatest?: boolean }>(entries: T[] | undefined) =>
      (entries ?? []).filter((entry) => entry.Key === key).map((entry) => [entry.VersionId!, entry.IsLatest!] as [string, boolean]);
    return { versions: own(listed.Versions), markers: own(listed.DeleteMarkers) };
  }

  it("answers GetBucketVersioning without a Status for a bucket that never kept versions", async () => {
    const bucket = await bucketOf("never");
    const response = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    assert.equal(response.$metadata.httpStatusCode, 200);
    assert.equal(response.Status, undefined);
    assert.equal(response.MFADelete, undefined);
  });

  it("reads back Enabled and Suspended; a bucket that never kept versions can be suspended directly", async () => {
    const bucket = await bucketOf("states");
    await setVersioning(bucket, "Enabled");
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, "Enabled");
    await setVersioning(bucket, "Suspended");
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, "Suspended");
    await setVersioning(bucket, "Enabled");
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, "Enabled");

    const direct = await bucketOf("suspended-first");
    await setVersioning(direct, "Suspended");
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: direct }))).Status, "Suspended");
  });

  it("refuses a Status other than Enabled or Suspended, and a document that is not XML, with MalformedXML", async () => {
    const bucket = await bucketOf("bad-status", "Enabled");
    for (const Status of ["Bogus", "enabled", "Disabled"]) {
      await expectS3Error(
        s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: Status as BucketVersioningStatus } })),
        "MalformedXML",
        400,
      );
    }
    const truncated = await signedFetch(cluster, "PUT", `/${bucket}?versioning`, "<VersioningConfiguration><Status>Suspended</Status>");
    assert.equal(truncated.status, 400);
    assert.match(await truncated.text(), /<Code>MalformedXML<\/Code>/);
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, "Enabled", "a refused request changes nothing");
  });

  it("answers NotImplemented for MFA delete, changing nothing", async () => {
    const bucket = await bucketOf("mfa");
    await expectS3Error(
      s3.send(new PutBucketVersioningCommand({ Bucket: bucket, MFA: "arn:aws:iam::000000000000:mfa/user 123456", VersioningConfiguration: { Status: "Enabled", MFADelete: "Enabled" } })),
      "NotImplemented",
      501,
    );
    const response = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    assert.equal(response.Status, undefined);
    assert.equal(response.MFADelete, undefined);
  });

  it("refuses versioning of a missing bucket (NoSuchBucket) and of another owner's (AccessDenied)", async () => {
    await expectS3Error(s3.send(new GetBucketVersioningCommand({ Bucket: "versioning-no-such-bucket" })), "NoSuchBucket", 404);
    await expectS3Error(
      s3.send(new PutBucketVersioningCommand({ Bucket: "versioning-no-such-bucket", VersioningConfiguration: { Status: "Enabled" } })),
      "NoSuchBucket",
      404,
    );
    const stranger = await cluster.strangerClient("versioning-stranger");
    await expectS3Error(stranger.send(new GetBucketVersioningCommand({ Bucket: BUCKET })), "AccessDenied", 403);
    await expectS3Error(stranger.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: "Suspended" } })), "AccessDenied", 403);
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: BUCKET }))).Status, "Enabled");
  });

  it("makes every PUT a new version with an opaque, URL-safe VersionId, each readable by GET and HEAD", async () => {
    // Tiny bodies live inline in PostgreSQL and larger ones are striped: versions of both kinds side by side.
    const bodies = [randomData(10), randomData(100_000), randomData(3000), Buffer.alloc(0)];
    const ids: string[] = [];
    for (const body of bodies) {
      const response = await put(BUCKET, "many-versions", body);
      assert.ok(response.VersionId, "PUT answers x-amz-version-id");
      assert.equal(encodeURIComponent(response.VersionId), response.VersionId, "URL-safe");
      assert.notEqual(response.VersionId, "null");
      assert.equal(response.ETag, `"${md5Hex(body)}"`);
      ids.push(response.VersionId);
    }
    assert.equal(new Set(ids).size, bodies.length, "every version id is new");

    const current = await get(BUCKET, "many-versions");
    assert.equal(current.versionId, ids.at(-1));
    assert.equal(current.body.length, 0);
    for (const [index, body] of bodies.entries()) {
      const got = await get(BUCKET, "many-versions", ids[index]);
      assert.ok(got.body.equals(body), `bytes of version ${index}`);
      assert.equal(got.versionId, ids[index]);
      assert.equal(got.etag, `"${md5Hex(body)}"`);
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "many-versions", VersionId: ids[index] }));
      assert.equal(head.ContentLength, body.length);
      assert.equal(head.VersionId, ids[index]);
    }
    const { versions, markers } = await versionsOf(BUCKET, "many-versions");
    assert.deepEqual(versions, [...ids].reverse().map((id, index) => [id, index === 0]), "newest first, only it latest");
    assert.deepEqual(markers, []);
  });

  it("keeps an object written before versioning was enabled as the version \"null\"", async () => {
    const bucket = await bucketOf("null-version");
    const before = await put(bucket, "old", "written unversioned");
    assert.equal(before.VersionId, undefined, "an unversioned bucket answers no version id");
    await setVersioning(bucket, "Enabled");
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "old" }));
    assert.equal(head.VersionId, "null");

    const after = await put(bucket, "old", "written versioned");
    assert.ok(after.VersionId && after.VersionId !== "null");
    const nullVersion = await get(bucket, "old", "null");
    assert.equal(nullVersion.body.toString(), "written unversioned");
    assert.equal(nullVersion.versionId, "null");
    assert.equal((await get(bucket, "old")).body.toString(), "written versioned");
    assert.deepEqual((await versionsOf(bucket, "old")).versions, [[after.VersionId, true], ["null", false]]);

    // In an Enabled bucket a DELETE only adds a marker: the null version stays (only a Suspended one replaces it).
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "old" }));
    assert.notEqual(marker.VersionId, "null");
    assert.equal((await get(bucket, "old", "null")).body.toString(), "written unversioned");
  });

  it("adds a delete marker for a DELETE without a version id: GET and HEAD answer 404 with x-amz-delete-marker", async () => {
    const first = await put(BUCKET, "marked", "first");
    const second = await put(BUCKET, "marked", randomData(100_000));
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "marked" }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    assert.equal(deleted.DeleteMarker, true);
    assert.ok(deleted.VersionId, "the marker's version id is answered");
    assert.ok(![first.VersionId, second.VersionId, "null"].includes(deleted.VersionId));

    const missing = await expectS3Error(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "marked" })), "NoSuchKey", 404);
    assert.equal(errorHeader(missing, "x-amz-delete-marker"), "true");
    const headMissing = await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "marked" })), "NotFound", 404);
    assert.equal(errorHeader(headMissing, "x-amz-delete-marker"), "true");
    assert.equal((await get(BUCKET, "marked", first.VersionId)).body.toString(), "first", "the versions stay");

    // Every DELETE without a version id adds a marker, also when the current version is one already.
    const again = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "marked" }));
    assert.equal(again.DeleteMarker, true);
    assert.notEqual(again.VersionId, deleted.VersionId);
    const { versions, markers } = await versionsOf(BUCKET, "marked");
    assert.deepEqual(markers, [[again.VersionId, true], [deleted.VersionId, false]]);
    assert.deepEqual(versions, [[second.VersionId, false], [first.VersionId, false]]);
  });

  it("answers 405 MethodNotAllowed with x-amz-delete-marker to GET and HEAD of a delete marker's version id", async () => {
    await put(BUCKET, "marker-by-id", "data");
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "marker-by-id" }));
    const got = await expectS3Error(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "marker-by-id", VersionId: marker.VersionId })), "MethodNotAllowed", 405);
    assert.equal(errorHeader(got, "x-amz-delete-marker"), "true");
    const head = await expectStatus(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "marker-by-id", VersionId: marker.VersionId })), 405);
    assert.equal(errorHeader(head, "x-amz-delete-marker"), "true");
  });

  it("makes the previous version current again when the latest delete marker is deleted by its version id", async () => {
    const kept = await put(BUCKET, "undeleted", "come back");
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "undeleted" }));
    const removed = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "undeleted", VersionId: marker.VersionId }));
    assert.equal(removed.$metadata.httpStatusCode, 204);
    assert.equal(removed.VersionId, marker.VersionId);
    assert.equal(removed.DeleteMarker, true, "what was deleted was a delete marker");
    const current = await get(BUCKET, "undeleted");
    assert.equal(current.body.toString(), "come back");
    assert.equal(current.versionId, kept.VersionId);
    assert.deepEqual(await versionsOf(BUCKET, "undeleted"), { versions: [[kept.VersionId, true]], markers: [] });
  });

  it("deletes exactly the version named by id; deleting the current one makes the next newest current", async () => {
    const v1 = await put(BUCKET, "by-id", "one");
    const v2 = await put(BUCKET, "by-id", randomData(100_000));
    const v3 = await put(BUCKET, "by-id", "three");
    const middle = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "by-id", VersionId: v2.VersionId }));
    assert.equal(middle.$metadata.httpStatusCode, 204);
    assert.equal(middle.VersionId, v2.VersionId);
    assert.equal(middle.DeleteMarker, undefined);
    assert.equal((await get(BUCKET, "by-id")).body.toString(), "three", "deleting a noncurrent version leaves the current one");
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "by-id", VersionId: v2.VersionId })), "NoSuchVersion", 404);

    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "by-id", VersionId: v3.VersionId }));
    const current = await get(BUCKET, "by-id");
    assert.equal(current.body.toString(), "one");
    assert.equal(current.versionId, v1.VersionId);
    assert.deepEqual(await versionsOf(BUCKET, "by-id"), { versions: [[v1.VersionId, true]], markers: [] });

    // The last version gone, the key is gone, with no delete marker left behind.
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "by-id", VersionId: v1.VersionId }));
    const missing = await expectS3Error(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "by-id" })), "NoSuchKey", 404);
    assert.equal(errorHeader(missing, "x-amz-delete-marker"), undefined);
    assert.deepEqual(await versionsOf(BUCKET, "by-id"), { versions: [], markers: [] });
  });

  it("deletes the null version by the id \"null\" in an Enabled bucket", async () => {
    const bucket = await bucketOf("delete-null");
    await put(bucket, "k", "unversioned");
    await setVersioning(bucket, "Enabled");
    const versioned = await put(bucket, "k", "versioned");
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "k", VersionId: "null" }));
    assert.equal(deleted.VersionId, "null");
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "k", VersionId: "null" })), "NoSuchVersion", 404);
    assert.deepEqual(await versionsOf(bucket, "k"), { versions: [[versioned.VersionId, true]], markers: [] });
  });

  it("Suspended: a PUT writes the null version, without x-amz-version-id, replacing the null version and keeping the others", async () => {
    const bucket = await bucketOf("suspend-put", "Enabled");
    const kept = await put(bucket, "k", "enabled write");
    await setVersioning(bucket, "Suspended");
    const first = await put(bucket, "k", "suspended write 1");
    assert.equal(first.VersionId, undefined, "a suspended bucket's PUT answers no version id");
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "k" }));
    assert.equal(head.VersionId, "null");
    const current = await get(bucket, "k");
    assert.equal(current.body.toString(), "suspended write 1");
    assert.equal(current.versionId, "null");

    await put(bucket, "k", randomData(100_000));
    const replacing = await put(bucket, "k", "suspended write 3");
    assert.equal(replacing.VersionId, undefined);
    assert.equal((await get(bucket, "k", "null")).body.toString(), "suspended write 3");
    assert.deepEqual(await versionsOf(bucket, "k"), { versions: [["null", true], [kept.VersionId!, false]], markers: [] }, "one null version");
    assert.equal((await get(bucket, "k", kept.VersionId)).body.toString(), "enabled write");

    // Enabled again: new versions stack on top, the null version stays one of them.
    await setVersioning(bucket, "Enabled");
    const later = await put(bucket, "k", "enabled again");
    assert.ok(later.VersionId && later.VersionId !== "null");
    assert.deepEqual((await versionsOf(bucket, "k")).versions, [[later.VersionId, true], ["null", false], [kept.VersionId, false]]);
    assert.equal((await get(bucket, "k", "null")).body.toString(), "suspended write 3");
  });

  it("Suspended: CopyObject and CompleteMultipartUpload write the null version too, without x-amz-version-id", async () => {
    const bucket = await bucketOf("suspend-writes", "Enabled");
    const kept = await put(bucket, "k", "enabled write");
    await put(bucket, "source", "copied bytes");
    await setVersioning(bucket, "Suspended");
    await put(bucket, "k", "suspended put");

    const copied = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "k", CopySource: `${bucket}/source` }));
    assert.equal(copied.VersionId, undefined);
    assert.equal((await get(bucket, "k", "null")).body.toString(), "copied bytes");
    assert.deepEqual(await versionsOf(bucket, "k"), { versions: [["null", true], [kept.VersionId!, false]], markers: [] });

    const part = randomData(1000);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "k" }));
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: "k", UploadId, PartNumber: 1, Body: part }));
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: "k", UploadId, MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] } }));
    assert.equal(done.VersionId, undefined);
    const current = await get(bucket, "k");
    assert.ok(current.body.equals(part));
    assert.equal(current.versionId, "null");
    assert.deepEqual(await versionsOf(bucket, "k"), { versions: [["null", true], [kept.VersionId!, false]], markers: [] });
  });

  it("Suspended: a DELETE adds a null delete marker that replaces the null version", async () => {
    const bucket = await bucketOf("suspend-delete", "Enabled");
    const kept = await put(bucket, "k", "enabled write");
    await setVersioning(bucket, "Suspended");
    await put(bucket, "k", "suspended write");
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "k" }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    assert.equal(deleted.DeleteMarker, true);
    const missing = await expectS3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "k" })), "NoSuchKey", 404);
    assert.equal(errorHeader(missing, "x-amz-delete-marker"), "true");
    // The null version is now the marker: its bytes are gone.
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "k", VersionId: "null" })), "MethodNotAllowed", 405);
    assert.deepEqual(await versionsOf(bucket, "k"), { versions: [[kept.VersionId!, false]], markers: [["null", true]] });

    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "k" }));
    assert.deepEqual(await versionsOf(bucket, "k"), { versions: [[kept.VersionId!, false]], markers: [["null", true]] }, "still one null marker");
    assert.equal((await get(bucket, "k", kept.VersionId)).body.toString(), "enabled write");
  });

  it("answers 204 with the version id, changing nothing, to a DELETE naming a version that does not exist", async () => {
    const plain = await bucketOf("plain");
    for (const bucket of [BUCKET, plain]) {
      const written = await put(bucket, "survivor", "still here");
      const missingId = unknownVersionId();
      const deleted = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "survivor", VersionId: missingId }));
      assert.equal(deleted.$metadata.httpStatusCode, 204, bucket);
      assert.equal(deleted.VersionId, missingId, bucket);
      assert.equal(deleted.DeleteMarker, undefined, bucket);
      const current = await get(bucket, "survivor");
      assert.equal(current.body.toString(), "still here", `${bucket}: the current object stays`);
      assert.equal(current.versionId, written.VersionId);
      const onMissingKey = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "never-written", VersionId: missingId }));
      assert.equal(onMissingKey.$metadata.httpStatusCode, 204, bucket);
      assert.deepEqual(await versionsOf(bucket, "survivor"), { versions: [[written.VersionId ?? "null", true]], markers: [] }, `${bucket}: no marker added`);
    }
  });

  it("answers InvalidArgument to GET, HEAD and DELETE with a malformed version id, changing nothing", async () => {
    const plain = await bucketOf("malformed");
    for (const bucket of [BUCKET, plain]) {
      await put(bucket, "guarded", "intact");
      for (const VersionId of MALFORMED_VERSION_IDS) {
        await expectS3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "guarded", VersionId })), "InvalidArgument", 400);
        await expectStatus(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "guarded", VersionId })), 400);
        await expectS3Error(s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "guarded", VersionId })), "InvalidArgument", 400);
      }
      assert.equal((await get(bucket, "guarded")).body.toString(), "intact", bucket);
    }
    const { versions, markers } = await versionsOf(BUCKET, "guarded");
    assert.equal(versions.length, 1);
    assert.deepEqual(markers, []);
  });

  it("answers 404 NoSuchVersion to GET and HEAD of a well-formed version id that does not exist", async () => {
    await put(BUCKET, "exists", "x");
    for (const key of ["exists", "never-existed"]) {
      const error = await expectS3Error(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, VersionId: unknownVersionId() })), "NoSuchVersion", 404);
      assert.equal(errorHeader(error, "x-amz-delete-marker"), undefined);
      await expectStatus(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, VersionId: unknownVersionId() })), 404);
    }
  });

  it("reads and deletes an object by the version id \"null\" in a bucket that never kept versions", async () => {
    const bucket = await bucketOf("null-unversioned");
    await put(bucket, "k", "plain object");
    assert.equal((await get(bucket, "k", "null")).body.toString(), "plain object");
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "k", VersionId: "null" }))).ContentLength, 12);
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "k", VersionId: "null" }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "k" })), "NoSuchKey", 404);
  });

  it("refuses to delete a bucket while any version or delete marker remains (BucketNotEmpty)", async () => {
    const bucket = await bucketOf("not-empty", "Enabled");
    const version = await put(bucket, "k", "v");
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "k" }));
    await expectS3Error(s3.send(new DeleteBucketCommand({ Bucket: bucket })), "BucketNotEmpty", 409);
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "k", VersionId: version.VersionId }));
    await expectS3Error(s3.send(new DeleteBucketCommand({ Bucket: bucket })), "BucketNotEmpty", 409);
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "k", VersionId: marker.VersionId }));
    const removed = await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    assert.equal(removed.$metadata.httpStatusCode, 204);
  });
});
