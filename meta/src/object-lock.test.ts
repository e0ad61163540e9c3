import assert from "node:assert/strict";
import { ObjectLockedError } from "./errors.js";
import { createBucket, setBucketVersioning } from "./pg/buckets.js";
import { deleteObjectVersion } from "./pg/deletes.js";
import { putRetention, setBucketObjectLock } from "./pg/object-lock.js";
import { getObjectVersion, putInlineVersion } from "./pg/versions.js";
import { putTestObject, startTestDatabase, type TestDatabase } from "./test-support.js";
import type { ObjectLockRequest, Retention } from "./types.js";

describe("meta: object lock", () => {
  let db: TestDatabase;
  let bucketId: number;
  const DAY_MS = 86_400_000;
  const inDays = (days: number) => new Date(Date.now() + days * DAY_MS);

  before(async () => {
    db = await startTestDatabase();
    const created = await createBucket(db.sql, { name: "vault", owner: "alice", region: "r", objectLockEnabled: true });
    assert.ok(created.created);
    bucketId = created.bucket.id;
    assert.equal(created.bucket.versioning, "Enabled");
  });
  after(async () => {
    await db?.stop();
  });

  const discard = (versionRowId: number) => db.sql`select weft_discard_versions(array[${versionRowId}::bigint])`;
  const removeVersion = (key: string, versionId: string, bypassGovernance = false) =>
    deleteObjectVersion(db.sql, { bucketName: "vault", owner: "alice", key, versionId, bypassGovernance });

  it("never discards a locked version, whatever path asks: legal hold, COMPLIANCE, GOVERNANCE unless bypassed", async () => {
    const cases: { key: string; lock: ObjectLockRequest; yieldsToBypass: boolean }[] = [
      { key: "held", lock: { legalHold: true }, yieldsToBypass: false },
      { key: "compliance", lock: { retention: { mode: "COMPLIANCE", retainUntil: inDays(1) } }, yieldsToBypass: false },
      { key: "governance", lock: { retention: { mode: "GOVERNANCE", retainUntil: inDays(1) } }, yieldsToBypass: true },
    ];
    for (const { key, lock, yieldsToBypass } of cases) {
      const { versionRowId, versionId } = await putTestObject(db.sql, bucketId, key, { lock });
      await assert.rejects(discard(versionRowId), (error: { code?: string }) => error.code === "WFLCK", key);
      await assert.rejects(removeVersion(key, versionId), ObjectLockedError, key);
      if (yieldsToBypass) {
        assert.equal((await removeVersion(key, versionId, true)).deleted, true, key);
      } else {
        await assert.rejects(removeVersion(key, versionId, true), ObjectLockedError, key);
        assert.ok(await getObjectVersion(db.sql, bucketId, key, versionId), `${key} is still there`);
      }
    }
  });

  it("lets a version go once its retention date has passed", async () => {
    const { versionRowId } = await putTestObject(db.sql, bucketId, "lapsed", { lock: { retention: { mode: "COMPLIANCE", retainUntil: new Date(Date.now() + 300) } } });
    await new Promise((resolve) => setTimeout(resolve, 400));
    await discard(versionRowId);
  });

  it("extends a retention always, and weakens a running one only when GOVERNANCE and bypassed", async () => {
    const until = inDays(2);
    const { versionId } = await putTestObject(db.sql, bucketId, "retained", { lock: { retention: { mode: "GOVERNANCE", retainUntil: until } } });
    const target = { bucketId, key: "retained", versionId };
    const set = (retention: Retention | undefined, bypass = false) => putRetention(db.sql, target, retention, bypass);
    await assert.rejects(set({ mode: "GOVERNANCE", retainUntil: inDays(1) }), ObjectLockedError);
    await assert.rejects(set(undefined), ObjectLockedError);
    assert.equal(await set({ mode: "GOVERNANCE", retainUntil: inDays(1) }, true), "set");
    assert.equal(await set({ mode: "COMPLIANCE", retainUntil: inDays(3) }), "set");
    await assert.rejects(set({ mode: "COMPLIANCE", retainUntil: inDays(2) }, true), ObjectLockedError);
    await assert.rejects(set({ mode: "GOVERNANCE", retainUntil: inDays(4) }, true), ObjectLockedError);
    await assert.rejects(set(undefined, true), ObjectLockedError);
    assert.equal(await set({ mode: "COMPLIANCE", retainUntil: inDays(4) }), "set");
    assert.equal((await getObjectVersion(db.sql, bucketId, "retained"))?.retention?.mode, "COMPLIANCE");
    assert.equal(await putRetention(db.sql, { ...target, versionId: "f".repeat(32) }, undefined, false), "missing");
  });

  it("gives new versions the bucket's default retention, inline ones too, and keeps versioning Enabled", async () => {
    assert.equal(await setBucketObjectLock(db.sql, bucketId, { mode: "COMPLIANCE", years: 1 }), true);
    await putTestObject(db.sql, bucketId, "striped");
    await putInlineVersion(
      db.sql,
      { bucketName: "vault", owner: "alice", key: "inline", versionId: "a".repeat(32), storageClass: "STANDARD" },
      { size: 1, etag: "e", partEtag: "e", headers: { userMetadata: {} }, datafileCrcs: [] },
      Buffer.from("x"),
    );
    for (const key of ["striped", "inline"]) {
      const retention = (await getObjectVersion(db.sql, bucketId, key))?.retention;
      assert.equal(retention?.mode, "COMPLIANCE", key);
      const yearAhead = new Date();
      yearAhead.setUTCFullYear(yearAhead.getUTCFullYear() + 1);
      assert.ok(Math.abs(retention!.retainUntil.getTime() - yearAhead.getTime()) < 60_000, `${key}: ${retention!.retainUntil.toISOString()}`);
    }
    assert.equal(await setBucketObjectLock(db.sql, bucketId, null), true);
    await putTestObject(db.sql, bucketId, "after");
    assert.equal((await getObjectVersion(db.sql, bucketId, "after"))?.retention, undefined);
    assert.equal(await setBucketVersioning(db.sql, bucketId, "Suspended"), false);
  });

  it("turns lock on for an existing bucket only while it keeps versions", async () => {
    const created = await createBucket(db.sql, { name: "later", owner: "alice", region: "r" });
    assert.ok(created.created);
    assert.equal(await setBucketObjectLock(db.sql, created.bucket.id, null), false);
    assert.equal(await setBucketVersioning(db.sql, created.bucket.id, "Enabled"), true);
    assert.equal(await setBucketObjectLock(db.sql, created.bucket.id, { mode: "GOVERNANCE", days: 1 }), true);
  });
});
