import assert from "node:assert/strict";
import pino from "pino";
import { createBucket, setBucketVersioning } from "../../../meta/src/pg/buckets.js";
import { expireCurrentObjects, putBucketLifecycle, withLifecycleLock } from "../../../meta/src/pg/lifecycle.js";
import { putTestObject, startTestDatabase, type TestDatabase } from "../../../meta/src/test-support.js";
import { LifecycleWorker } from "./worker.js";

const log = pino({ level: "silent" });

describe("lifecycle worker", function () {
  this.timeout(60_000);
  let db: TestDatabase;
  before(async () => {
    db = await startTestDatabase();
  });
  after(async () => db?.stop());

  async function bucketWithObjects(name: string, keys: string[]): Promise<number> {
    const created = await createBucket(db.sql, { name, owner: "alice", region: "us-east-1" });
    assert.ok(created.created);
    await putBucketLifecycle(db.sql, created.bucket.id, [{ id: "all", status: "Enabled", filter: {}, expiration: { days: 1 } }]);
    for (const key of keys) await putTestObject(db.sql, created.bucket.id, key);
    // Last modified a day and a bit ago: due now.
    await db.sql`update versions set last_modified = now() - interval '3 seconds' where bucket_id = ${created.bucket.id}`;
    return created.bucket.id;
  }

  const keysOf = async (bucketId: number) =>
    (await db.sql<{ key: string }[]>`select key from versions where bucket_id = ${bucketId} order by key`).map((row) => row.key);

  it("works through a bucket in batches within one round, queueing the datafiles for the collector", async () => {
    const keys = Array.from({ length: 7 }, (_, index) => `k${index}`);
    const bucketId = await bucketWithObjects("batched", keys);
    const [before] = await db.sql<{ count: number }[]>`select count(*)::int as count from gc_queue`;
    const worker = new LifecycleWorker(db.sql, log, { intervalMs: 1000, daySeconds: 1, batchSize: 3 });
    const report = await worker.runRound();
    assert.equal(report?.objectsExpired, 7);
    assert.deepEqual(await keysOf(bucketId), []);
    const [after] = await db.sql<{ count: number }[]>`select count(*)::int as count from gc_queue`;
    assert.equal(after!.count - before!.count, 7 * 3, "every datafile of every expired object queued");
  });

  it("skips the round while another gateway holds the cluster-wide lock, and runs the next one", async () => {
    const bucketId = await bucketWithObjects("contended", ["a", "b"]);
    const worker = new LifecycleWorker(db.sql, log, { intervalMs: 1000, daySeconds: 1 });
    let skipped: unknown = "not run";
    const held = await withLifecycleLock(db.sql, async () => {
      skipped = await worker.runRound();
    });
    assert.equal(held, true);
    assert.equal(skipped, undefined);
    assert.deepEqual(await keysOf(bucketId), ["a", "b"]);
    assert.equal((await worker.runRound())?.objectsExpired, 2);
    assert.deepEqual(await keysOf(bucketId), []);
  });

  it("leaves objects that are not due yet", async () => {
    const bucketId = await bucketWithObjects("fresh", ["old"]);
    await putTestObject(db.sql, bucketId, "new");
    const worker = new LifecycleWorker(db.sql, log, { intervalMs: 1000, daySeconds: 3600 });
    assert.equal((await worker.runRound())?.objectsExpired, 0, "a day of an hour: nothing is a day old");
    assert.deepEqual(await keysOf(bucketId), ["new", "old"]);
  });

  it("does not expire a version that stopped being current after it was found due", async () => {
    const bucketId = await bucketWithObjects("rewritten", []);
    await setBucketVersioning(db.sql, bucketId, "Enabled");
    const found = await putTestObject(db.sql, bucketId, "doc");
    await putTestObject(db.sql, bucketId, "doc");
    assert.equal(await expireCurrentObjects(db.sql, bucketId, [found.versionRowId]), 0);
    const rows = await db.sql<{ is_delete_marker: boolean }[]>`select is_delete_marker from versions where bucket_id = ${bucketId}`;
    assert.deepEqual(rows.map((row) => row.is_delete_marker), [false, false], "no delete marker added");
  });
});
