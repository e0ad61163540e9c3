import assert from "node:assert/strict";
import { InvalidPartError, NoSuchBucketError, NoSuchUploadError } from "./errors.js";
import { createBucket } from "./pg/buckets.js";
import {
  abortPart,
  abortUpload,
  commitPart,
  completeUpload,
  findCompletedUpload,
  createUpload,
  getUpload,
  insertPendingPart,
  listUploadParts,
} from "./pg/uploads.js";
import { getObjectVersion, listObjects } from "./pg/versions.js";
import { fakeDatafiles, putTestObject, startTestDatabase, type TestDatabase } from "./test-support.js";
import type { DatafileRef } from "./types.js";

describe("meta: multipart uploads", () => {
  let db: TestDatabase;
  let bucketId: number;

  before(async () => {
    db = await startTestDatabase({ max: 8 });
    const bucket = await createBucket(db.sql, { name: "multipart", owner: "alice", region: "r" });
    assert.ok(bucket.created);
    bucketId = bucket.bucket.id;
  });
  after(async () => {
    await db?.stop();
  });
  beforeEach(async () => {
    await db.sql`delete from gc_queue`;
  });

  const queuedBlobs = async () =>
    (await db.sql<{ blob_id: string }[]>`select blob_id from gc_queue`).map((row) => row.blob_id).sort();
  const blobIds = (datafiles: DatafileRef[]) => datafiles.map((datafile) => datafile.blobId).sort();

  async function startUpload(uploadId: string, key: string) {
    await createUpload(db.sql, {
      bucketId,
      key,
      uploadId,
      storageClass: "REDUCED_REDUNDANCY",
      headers: { contentType: "video/mp4", contentDisposition: "attachment", userMetadata: { camera: "front" } },
      checksumAlgorithm: "CRC32C",
      checksumType: "COMPOSITE",
      owner: "alice",
    });
  }

  async function uploadPart(uploadId: string, partNumber: number, etag: string, size = 5 * 1024 * 1024) {
    const datafiles = fakeDatafiles(2, 1, size / 2);
    const partRowId = await insertPendingPart(db.sql, { uploadId, partNumber, size, unit: 1 << 20, k: 2, m: 1, datafiles });
    await commitPart(db.sql, partRowId, {
      etag,
      datafileCrcs: datafiles.map((datafile) => ({ slot: datafile.slot, crc32c: `crc-${partNumber}-${datafile.slot}` })),
      checksumAlgorithm: "CRC32C",
      checksumValue: `part-${partNumber}`,
    });
    return { partRowId, datafiles };
  }

  it("creates an upload and reads it back by bucket, key and id", async () => {
    await startUpload("u-get", "movie.mp4");
    const upload = await getUpload(db.sql, bucketId, "movie.mp4", "u-get");
    assert.ok(upload);
    assert.equal(upload.uploadId, "u-get");
    assert.equal(upload.storageClass, "REDUCED_REDUNDANCY");
    assert.equal(upload.contentType, "video/mp4");
    assert.equal(upload.contentDisposition, "attachment");
    assert.deepEqual(upload.userMetadata, { camera: "front" });
    assert.equal(upload.checksumAlgorithm, "CRC32C");
    assert.equal(upload.checksumType, "COMPOSITE");
    assert.equal(upload.owner, "alice");
    assert.ok(upload.initiated instanceof Date);
    assert.equal(await getUpload(db.sql, bucketId, "other-key", "u-get"), undefined);
    assert.equal(await getUpload(db.sql, bucketId, "movie.mp4", "nope"), undefined);
    await assert.rejects(
      createUpload(db.sql, { bucketId: 999_999, key: "k", uploadId: "u-x", storageClass: "STANDARD", headers: { userMetadata: {} }, owner: "a" }),
      NoSuchBucketError,
    );
  });

  it("completes: chosen parts become the new current version without moving a byte; the rest is collected", async () => {
    await startUpload("u-complete", "assembled.bin");
    const one = await uploadPart("u-complete", 1, "etag-1");
    const twoOld = await uploadPart("u-complete", 2, "etag-2-old");
    const twoNew = await uploadPart("u-complete", 2, "etag-2");
    assert.deepEqual(await queuedBlobs(), blobIds(twoOld.datafiles), "re-uploading a part replaces it");
    const three = await uploadPart("u-complete", 3, "etag-3", 1024);
    const unchosen = await uploadPart("u-complete", 4, "etag-4");
    const inFlight = fakeDatafiles(2, 1, 10);
    const inFlightId = await insertPendingPart(db.sql, {
      uploadId: "u-complete", partNumber: 5, size: 20, unit: 10, k: 2, m: 1, datafiles: inFlight,
    });

    const parts = await listUploadParts(db.sql, "u-complete");
    assert.deepEqual(parts.map((part) => [part.partNumber, part.etag]), [
      [1, "etag-1"], [2, "etag-2"], [3, "etag-3"], [4, "etag-4"],
    ], "committed parts only, by number");
    assert.ok(parts.every((part) => part.lastModified instanceof Date));
    assert.equal(parts[0]!.checksumValue, "part-1");
    assert.deepEqual(parts[1]!.datafiles.map((datafile) => datafile.blobId).sort(), blobIds(twoNew.datafiles));
    assert.equal(parts[1]!.datafiles[0]!.crc32c, "crc-2-0");

    // A part written on an older (already replaced) copy of an existing object: the old object gets replaced too.
    const previous = await putTestObject(db.sql, bucketId, "assembled.bin");
    await db.sql`delete from gc_queue`;

    const { lastModified } = await completeUpload(db.sql, {
      uploadId: "u-complete",
      versionId: "null",
      parts: [{ partNumber: 1, etag: "etag-1" }, { partNumber: 2, etag: "etag-2" }, { partNumber: 3, etag: "etag-3" }],
      size: 10 * 1024 * 1024 + 1024,
      etag: "3858f62230ac3c915f300c664312c11f-3",
      checksumAlgorithm: "CRC32C",
      checksumValue: "composite==",
      checksumType: "COMPOSITE",
    });
    assert.ok(lastModified instanceof Date);

    const version = await getObjectVersion(db.sql, bucketId, "assembled.bin");
    assert.ok(version);
    assert.equal(version.etag, "3858f62230ac3c915f300c664312c11f-3");
    assert.equal(version.size, 10 * 1024 * 1024 + 1024);
    assert.equal(version.storageClass, "REDUCED_REDUNDANCY", "from the upload");
    assert.equal(version.contentType, "video/mp4");
    assert.deepEqual(version.userMetadata, { camera: "front" });
    assert.equal(version.checksumType, "COMPOSITE");
    assert.deepEqual(version.lastModified, lastModified);
    assert.deepEqual(version.parts.map((part) => [part.partNumber, part.etag, part.size]), [
      [1, "etag-1", 5 * 1024 * 1024], [2, "etag-2", 5 * 1024 * 1024], [3, "etag-3", 1024],
    ]);
    assert.deepEqual(blobIds(version.parts.flatMap((part) => part.datafiles)), blobIds([
      ...one.datafiles, ...twoNew.datafiles, ...three.datafiles,
    ]), "the very same datafiles: nothing moved");

    assert.deepEqual(
      await queuedBlobs(),
      blobIds([...unchosen.datafiles, ...inFlight, ...previous.datafiles]),
      "unchosen and in-flight parts and the replaced object are collected",
    );
    assert.equal(await getUpload(db.sql, bucketId, "assembled.bin", "u-complete"), undefined);
    assert.deepEqual(await listUploadParts(db.sql, "u-complete"), []);
    await assert.rejects(commitPart(db.sql, inFlightId, { etag: "late", datafileCrcs: [] }), NoSuchUploadError);
    await assert.rejects(
      insertPendingPart(db.sql, { uploadId: "u-complete", partNumber: 6, size: 1, unit: 1, k: 1, m: 0, datafiles: [] }),
      NoSuchUploadError,
    );
    await assert.rejects(
      completeUpload(db.sql, { uploadId: "u-complete", versionId: "null", parts: [{ partNumber: 1, etag: "etag-1" }], size: 1, etag: "x" }),
      NoSuchUploadError,
    );
    const repeated = await findCompletedUpload(db.sql, bucketId, "assembled.bin", "u-complete");
    assert.deepEqual(
      [repeated?.versionId, repeated?.etag, repeated?.checksumValue, repeated?.lastModified],
      ["null", "3858f62230ac3c915f300c664312c11f-3", "composite==", lastModified],
      "a repeated completion finds what the first made",
    );
    assert.equal(await findCompletedUpload(db.sql, bucketId, "other-key", "u-complete"), undefined, "only for its own key");
    const listed = await listObjects(db.sql, bucketId, { prefix: "assembled", maxKeys: 10 });
    assert.deepEqual(listed.contents.map((entry) => [entry.key, entry.size]), [["assembled.bin", 10 * 1024 * 1024 + 1024]]);
    await putTestObject(db.sql, bucketId, "assembled.bin");
    assert.equal(await findCompletedUpload(db.sql, bucketId, "assembled.bin", "u-complete"), undefined, "nor once its object is gone");
  });

  it("refuses a completion naming a missing part or a changed ETag, and changes nothing", async () => {
    await startUpload("u-invalid", "invalid.bin");
    await uploadPart("u-invalid", 1, "etag-1");
    await uploadPart("u-invalid", 2, "etag-2");
    const base = { uploadId: "u-invalid", versionId: "null", size: 1, etag: "x" };
    await assert.rejects(
      completeUpload(db.sql, { ...base, parts: [{ partNumber: 1, etag: "etag-1" }, { partNumber: 3, etag: "etag-3" }] }),
      (error: unknown) => error instanceof InvalidPartError && error.partNumber === 3,
    );
    await assert.rejects(
      completeUpload(db.sql, { ...base, parts: [{ partNumber: 1, etag: "etag-1" }, { partNumber: 2, etag: "stale" }] }),
      (error: unknown) => error instanceof InvalidPartError && error.partNumber === 2,
    );
    await assert.rejects(
      completeUpload(db.sql, { ...base, parts: [{ partNumber: 1, etag: "etag-1" }, { partNumber: 1, etag: "etag-1" }] }),
      InvalidPartError,
    );
    assert.ok(await getUpload(db.sql, bucketId, "invalid.bin", "u-invalid"));
    assert.equal((await listUploadParts(db.sql, "u-invalid")).length, 2);
    assert.equal(await getObjectVersion(db.sql, bucketId, "invalid.bin"), undefined);
    assert.deepEqual(await queuedBlobs(), []);
  });

  it("aborts an upload: every part, committed or pending, is collected", async () => {
    await startUpload("u-abort", "abandoned.bin");
    const committed = await uploadPart("u-abort", 1, "etag-1");
    const pending = fakeDatafiles(2, 1, 10);
    const pendingId = await insertPendingPart(db.sql, {
      uploadId: "u-abort", partNumber: 2, size: 20, unit: 10, k: 2, m: 1, datafiles: pending,
    });
    assert.equal(await abortUpload(db.sql, "u-abort"), true);
    assert.equal(await abortUpload(db.sql, "u-abort"), false);
    assert.deepEqual(await queuedBlobs(), blobIds([...committed.datafiles, ...pending]));
    assert.equal(await getUpload(db.sql, bucketId, "abandoned.bin", "u-abort"), undefined);
    await assert.rejects(commitPart(db.sql, pendingId, { etag: "late", datafileCrcs: [] }), NoSuchUploadError);
  });

  it("aborts a single pending part, idempotently, without touching committed ones", async () => {
    await startUpload("u-part-abort", "partly.bin");
    const committed = await uploadPart("u-part-abort", 1, "etag-1");
    const pending = fakeDatafiles(2, 1, 10);
    const pendingId = await insertPendingPart(db.sql, {
      uploadId: "u-part-abort", partNumber: 1, size: 20, unit: 10, k: 2, m: 1, datafiles: pending,
    });
    await abortPart(db.sql, pendingId);
    await abortPart(db.sql, pendingId);
    await abortPart(db.sql, committed.partRowId);
    assert.deepEqual(await queuedBlobs(), blobIds(pending));
    assert.deepEqual((await listUploadParts(db.sql, "u-part-abort")).map((part) => part.etag), ["etag-1"]);
    await assert.rejects(commitPart(db.sql, pendingId, { etag: "late", datafileCrcs: [] }), NoSuchUploadError);
  });

  it("racing commits of one part number leave exactly one committed part; the others are collected", async () => {
    await startUpload("u-race", "raced.bin");
    const contenders = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const datafiles = fakeDatafiles(2, 1, 10);
        const partRowId = await insertPendingPart(db.sql, {
          uploadId: "u-race", partNumber: 7, size: 20, unit: 10, k: 2, m: 1, datafiles,
        });
        return { partRowId, datafiles, etag: `etag-${i}` };
      }),
    );
    await Promise.all(
      contenders.map((contender) => commitPart(db.sql, contender.partRowId, { etag: contender.etag, datafileCrcs: [] })),
    );
    const parts = await listUploadParts(db.sql, "u-race");
    assert.equal(parts.length, 1);
    const winner = contenders.find((contender) => contender.etag === parts[0]!.etag)!;
    assert.deepEqual(
      await queuedBlobs(),
      blobIds(contenders.filter((contender) => contender !== winner).flatMap((contender) => contender.datafiles)),
    );
  });

  it("a completion racing a part commit: the part either makes it in or is collected, never lost", async () => {
    await startUpload("u-complete-race", "complete-race.bin");
    await uploadPart("u-complete-race", 1, "etag-1");
    const late = fakeDatafiles(2, 1, 10);
    const lateId = await insertPendingPart(db.sql, {
      uploadId: "u-complete-race", partNumber: 2, size: 20, unit: 10, k: 2, m: 1, datafiles: late,
    });
    const [completion, partCommit] = await Promise.allSettled([
      completeUpload(db.sql, {
        uploadId: "u-complete-race", versionId: "null", parts: [{ partNumber: 1, etag: "etag-1" }], size: 1, etag: "x-1",
      }),
      commitPart(db.sql, lateId, { etag: "etag-2", datafileCrcs: [] }),
    ]);
    assert.equal(completion.status, "fulfilled");
    if (partCommit.status === "rejected") assert.ok(partCommit.reason instanceof NoSuchUploadError);
    // Either way part 2 was not chosen, so its datafiles end up queued exactly once.
    assert.deepEqual(await queuedBlobs(), blobIds(late));
    assert.deepEqual((await getObjectVersion(db.sql, bucketId, "complete-race.bin"))?.parts.map((part) => part.partNumber), [1]);
  });
});
