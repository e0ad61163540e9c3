import assert from "node:assert/strict";
import { createBucket } from "./pg/buckets.js";
import { dropUnwrittenSlots } from "./pg/datafiles.js";
import { createUpload, insertPendingPart } from "./pg/uploads.js";
import { commitVersion, getObjectVersion, insertPendingVersion } from "./pg/versions.js";
import { fakeDatafiles, startTestDatabase, type TestDatabase } from "./test-support.js";

describe("meta: datafiles a degraded write did not store", () => {
  let db: TestDatabase;
  let bucketId: number;

  before(async () => {
    db = await startTestDatabase();
    const created = await createBucket(db.sql, { name: "degraded", owner: "alice", region: "r" });
    assert.ok(created.created);
    bucketId = created.bucket.id;
  });
  after(async () => {
    await db?.stop();
  });

  const queued = async () => (await db.sql<{ blob_id: string }[]>`select blob_id from gc_queue order by blob_id`).map((row) => row.blob_id);

  it("drops the slots of a pending version and queues their blobs; the commit keeps the rest", async () => {
    await db.sql`delete from gc_queue`;
    const datafiles = fakeDatafiles(4, 2, 256);
    const versionRowId = await insertPendingVersion(db.sql, {
      bucketId,
      key: "object",
      versionId: "null",
      storageClass: "STANDARD",
      part: { partNumber: 1, size: 1000, unit: 256, k: 4, m: 2, datafiles },
    });
    assert.equal(await dropUnwrittenSlots(db.sql, { versionRowId }, [2, 5]), 2);
    assert.deepEqual(await queued(), [datafiles[2]!.blobId, datafiles[5]!.blobId].sort());
    const written = datafiles.filter((datafile) => datafile.slot !== 2 && datafile.slot !== 5);
    await commitVersion(db.sql, versionRowId, {
      size: 1000,
      etag: "9e107d9d372bb6826bd81d3542a419d6",
      partEtag: "9e107d9d372bb6826bd81d3542a419d6",
      headers: { userMetadata: {} },
      datafileCrcs: written.map((datafile) => ({ slot: datafile.slot, crc32c: `crc-${datafile.slot}` })),
    });
    const version = await getObjectVersion(db.sql, bucketId, "object");
    assert.deepEqual(version!.parts[0]!.datafiles.map((datafile) => datafile.slot), [0, 1, 3, 4]);
    // A committed part is not a reservation any more: nothing is dropped from it.
    assert.equal(await dropUnwrittenSlots(db.sql, { versionRowId }, [0]), 0);
  });

  it("drops the slots of a pending upload part only", async () => {
    await db.sql`delete from gc_queue`;
    await createUpload(db.sql, { uploadId: "upload-1", bucketId, key: "big", storageClass: "STANDARD", headers: { userMetadata: {} }, owner: "alice" });
    const datafiles = fakeDatafiles(4, 2, 256);
    const partRowId = await insertPendingPart(db.sql, { uploadId: "upload-1", partNumber: 1, size: 1000, unit: 256, k: 4, m: 2, datafiles });
    assert.equal(await dropUnwrittenSlots(db.sql, { partRowId }, [1]), 1);
    assert.deepEqual(await queued(), [datafiles[1]!.blobId]);
    assert.equal(await dropUnwrittenSlots(db.sql, { partRowId }, []), 0);
  });
});
