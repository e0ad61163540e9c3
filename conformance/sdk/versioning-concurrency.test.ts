import assert from "node:assert/strict";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { expectS3Error } from "../support/expect.js";
import { sharedClusterWithBucket } from "../support/shared.js";
import { md5Hex, randomData, readAll } from "../support/bytes.js";

const BUCKET = "versioning-race";

// Bodies up to 4 KiB are stored inline in PostgreSQL, larger ones striped over the ioservers: racing writes of both
// kinds go through different commit paths that must agree on which version is the latest.
function body(index: number): Buffer {
  return index % 2 === 0 ? randomData(1 + index * 80) : randomData(100_000 + index);
}

describe("versioning under concurrent writes (SDK)", function () {
  this.timeout(300_000);
  let s3: S3Client;
  before(async () => {
    ({ s3 } = await sharedClusterWithBucket(BUCKET));
    await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: "Enabled" } }));
  });

  async function history(key: string) {
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: key }));
    assert.equal(listed.IsTruncated, false);
    const versions = (listed.Versions ?? []).filter((entry) => entry.Key === key);
    const markers = (listed.DeleteMarkers ?? []).filter((entry) => entry.Key === key);
    const latest = [
      ...versions.filter((entry) => entry.IsLatest).map((entry) => ({ kind: "version", id: entry.VersionId! })),
      ...markers.filter((entry) => entry.IsLatest).map((entry) => ({ kind: "marker", id: entry.VersionId! })),
    ];
    return { versions, markers, latest };
  }

  it("keeps all 50 versions of 50 concurrent PUTs of one key, exactly one latest, and GET serves that one", async () => {
    const bodies = Array.from({ length: 50 }, (_, index) => body(index));
    const puts = await Promise.all(bodies.map((Body) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "contended", Body }))));
    const byId = new Map(puts.map((put, index) => [put.VersionId!, bodies[index]]));
    assert.equal(byId.size, 50, "50 distinct version ids");

    const { versions, markers, latest } = await history("contended");
    assert.equal(versions.length, 50);
    assert.deepEqual(new Set(versions.map((version) => version.VersionId)), new Set(byId.keys()));
    assert.equal(markers.length, 0);
    assert.equal(latest.length, 1, "exactly one IsLatest");
    assert.equal(versions[0].IsLatest, true, "the latest is listed first");

    const current = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "contended" }));
    assert.equal(current.VersionId, latest[0].id, "GET serves the version the listing calls latest");
    assert.ok((await readAll(current.Body)).equals(byId.get(latest[0].id)!));
    for (const [VersionId, expected] of byId) {
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "contended", VersionId }));
      assert.equal(got.ETag, `"${md5Hex(expected)}"`);
      assert.ok((await readAll(got.Body)).equals(expected), `bytes of ${VersionId}`);
    }
  });

  for (const round of [1, 2, 3]) {
    it(`never leaves two latest versions when PUTs, DELETEs and deletes of versions race on one key (round ${round})`, async () => {
      const key = `mixed-${round}`;
      const before: string[] = [];
      const bodies = new Map<string, Buffer>();
      for (let index = 0; index < 10; index++) {
        const data = body(index);
        const { VersionId } = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data }));
        before.push(VersionId!);
        bodies.set(VersionId!, data);
      }
      // The newest five are deleted by id while new versions and delete markers pile on top.
      const doomed = before.slice(5);
      const racing = await Promise.all([
        ...Array.from({ length: 10 }, (_, index) => {
          const data = body(index + 10);
          return s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data })).then((put) => ({ put: put.VersionId!, data }));
        }),
        ...Array.from({ length: 10 }, () => s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key })).then((marker) => ({ marker: marker.VersionId! }))),
        ...doomed.map((VersionId) => s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key, VersionId })).then(() => ({ removed: VersionId }))),
      ]);
      for (const outcome of racing) if ("put" in outcome) bodies.set(outcome.put, outcome.data);
      const markerIds = racing.flatMap((outcome) => ("marker" in outcome ? [outcome.marker] : []));

      const { versions, markers, latest } = await history(key);
      assert.equal(latest.length, 1, `exactly one IsLatest among ${versions.length} versions and ${markers.length} markers`);
      assert.equal(versions.length, 15, "5 survivors and 10 new versions");
      assert.ok(versions.every((version) => !doomed.includes(version.VersionId!)), "the versions deleted by id are gone");
      assert.deepEqual(new Set(markers.map((marker) => marker.VersionId)), new Set(markerIds));

      const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key }));
      if (latest[0].kind === "marker") {
        await expectS3Error(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })), "NoSuchKey", 404);
        assert.equal(listed.KeyCount, 0, "a key whose latest is a delete marker is not listed");
      } else {
        const current = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
        assert.equal(current.VersionId, latest[0].id);
        assert.ok((await readAll(current.Body)).equals(bodies.get(latest[0].id)!));
        assert.deepEqual(listed.Contents?.map((object) => [object.Key, object.Size]), [[key, bodies.get(latest[0].id)!.length]]);
      }
    });
  }
});
