import { readdir } from "node:fs/promises";
import assert from "node:assert/strict";
import { connect, migrate } from "./db.js";
import { MigrationChangedError, NoSuchBucketError, SchemaNewerError, VersionNotPendingError } from "./errors.js";
import { createBucket, deleteBucket, getBucket, listBuckets } from "./pg/buckets.js";
import { listIoServers, upsertIoServer } from "./pg/ioservers.js";
import { createUpload } from "./pg/uploads.js";
import { deleteObject } from "./pg/deletes.js";
import { commitVersion, insertPendingVersion } from "./pg/versions.js";
import { fakeDatafiles, putTestObject, startTestDatabase, type TestDatabase } from "./test-support.js";

describe("meta: buckets, ioservers, migrations", () => {
  let db: TestDatabase;
  before(async () => {
    db = await startTestDatabase();
  });
  after(async () => {
    await db?.stop();
  });

  it("creates a bucket once; a second create returns the existing one", async () => {
    const first = await createBucket(db.sql, { name: "photos", owner: "alice", region: "us-east-1" });
    assert.equal(first.created, true);
    assert.ok(first.created && first.bucket.id > 0);
    assert.ok(first.created && first.bucket.createdAt instanceof Date);
    assert.ok(first.created && first.bucket.versioning === "Unversioned");
    const second = await createBucket(db.sql, { name: "photos", owner: "bob", region: "eu-west-1" });
    assert.equal(second.created, false);
    assert.ok(!second.created && second.existing.owner === "alice" && second.existing.region === "us-east-1");
    assert.deepEqual(await getBucket(db.sql, "photos"), first.created ? first.bucket : undefined);
    assert.equal(await getBucket(db.sql, "nope"), undefined);
  });

  it("serializes racing creates of one name: exactly one wins", async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => createBucket(db.sql, { name: "contested", owner: `owner-${i}`, region: "r" })),
    );
    assert.equal(results.filter((result) => result.created).length, 1);
  });

  it("lists an owner's buckets by name", async () => {
    for (const name of ["zeta", "alpha", "mid"]) await createBucket(db.sql, { name, owner: "carol", region: "r" });
    assert.deepEqual(
      (await listBuckets(db.sql, "carol")).map((bucket) => bucket.name),
      ["alpha", "mid", "zeta"],
    );
    assert.deepEqual(await listBuckets(db.sql, "nobody"), []);
  });

  it("refuses to delete a bucket with an object, a delete marker or an upload; pending PUTs do not block", async () => {
    const bucketNamed = async (name: string) => {
      const created = await createBucket(db.sql, { name, owner: "alice", region: "r" });
      assert.ok(created.created);
      return created.bucket.id;
    };
    const withObject = await bucketNamed("with-object");
    await putTestObject(db.sql, withObject, "file");
    assert.equal(await deleteBucket(db.sql, withObject), "not-empty");

    const withMarker = await bucketNamed("with-delete-marker");
    await deleteObject(db.sql, { id: withMarker, versioning: "Enabled" }, "never-existed");
    assert.equal(await deleteBucket(db.sql, withMarker), "not-empty");

    const withUpload = await bucketNamed("with-upload");
    await createUpload(db.sql, {
      bucketId: withUpload, key: "big", uploadId: "upload-1", storageClass: "STANDARD", headers: { userMetadata: {} }, owner: "alice",
    });
    assert.equal(await deleteBucket(db.sql, withUpload), "not-empty");

    const withPending = await bucketNamed("with-pending");
    const datafiles = fakeDatafiles(2, 1, 100);
    const pendingRowId = await insertPendingVersion(db.sql, {
      bucketId: withPending, key: "in-flight", versionId: "null", storageClass: "STANDARD",
      part: { partNumber: 1, size: 200, unit: 1 << 20, k: 2, m: 1, datafiles },
    });
    await db.sql`delete from gc_queue`;
    assert.equal(await deleteBucket(db.sql, withPending), "deleted");
    assert.equal(await getBucket(db.sql, "with-pending"), undefined);
    const queued = await db.sql<{ blob_id: string }[]>`select blob_id from gc_queue order by blob_id`;
    assert.deepEqual(queued.map((row) => row.blob_id), datafiles.map((datafile) => datafile.blobId).sort());
    await assert.rejects(
      commitVersion(db.sql, pendingRowId, {
        size: 200, etag: "e", headers: { userMetadata: {} }, partEtag: "e", datafileCrcs: [],
      }),
      VersionNotPendingError,
    );
    await assert.rejects(
      insertPendingVersion(db.sql, {
        bucketId: withPending, key: "late", versionId: "null", storageClass: "STANDARD",
        part: { partNumber: 1, size: 1, unit: 1 << 20, k: 1, m: 0, datafiles: fakeDatafiles(1, 0, 1) },
      }),
      NoSuchBucketError,
    );
    assert.equal(await deleteBucket(db.sql, withPending), "deleted", "deleting a deleted bucket is not an error");
    assert.ok(await getBucket(db.sql, "with-object"));
  });

  it("registers ioservers and updates their URLs", async () => {
    await upsertIoServer(db.sql, { id: "disk-b", url: "http://127.0.0.1:9002" });
    await upsertIoServer(db.sql, { id: "disk-a", url: "http://127.0.0.1:9001" });
    await upsertIoServer(db.sql, { id: "disk-b", url: "http://127.0.0.1:9102" });
    assert.deepEqual(await listIoServers(db.sql), [
      { id: "disk-a", url: "http://127.0.0.1:9001" },
      { id: "disk-b", url: "http://127.0.0.1:9102" },
    ]);
  });

  it("applies migrations once when several gateways start at the same time, and is idempotent", async () => {
    await db.sql.unsafe("create database concurrent_start");
    const url = new URL(db.url);
    url.pathname = "/concurrent_start";
    const gateways = Array.from({ length: 4 }, () => connect(url.toString(), { max: 2 }));
    try {
      await Promise.all(gateways.map((sql) => migrate(sql)));
      const migrations = (await readdir(new URL("../migrations/", import.meta.url))).filter((name) => name.endsWith(".sql")).sort();
      assert.ok(migrations.length >= 2);
      const applied = await gateways[0]!<{ name: string }[]>`select name from schema_migrations order by name`;
      assert.deepEqual(applied.map((row) => row.name), migrations, "each migration applied exactly once, in order");
      await migrate(gateways[1]!);
      const [{ count }] = await gateways[0]!<{ count: number }[]>`select count(*)::int as count from schema_migrations`;
      assert.equal(count, migrations.length);
      const [collation] = await gateways[0]!<{ collation: string }[]>`
        select collation_name as collation from information_schema.columns
        where table_name = 'versions' and column_name = 'key'`;
      assert.equal(collation?.collation, "C");

      await gateways[0]!`update schema_migrations set checksum = 'edited' where name = '0001_init.sql'`;
      await assert.rejects(migrate(gateways[2]!), MigrationChangedError);
      await gateways[0]!`insert into schema_migrations (name, checksum) values ('9999_from_a_newer_weft.sql', 'x')`;
      await assert.rejects(migrate(gateways[3]!), SchemaNewerError);
    } finally {
      await Promise.all(gateways.map((sql) => sql.end()));
    }
  });
});
