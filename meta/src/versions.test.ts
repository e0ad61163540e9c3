import assert from "node:assert/strict";
import { connect, type Sql } from "./db.js";
import { NoSuchBucketError, NoSuchUploadError, NotBucketOwnerError, VersionNotPendingError, WriteConditionFailedError } from "./errors.js";
import { createBucket, setBucketVersioning } from "./pg/buckets.js";
import { forgetGarbage, queueUnreferencedBlobs, reapStalePending, takeGarbage } from "./pg/gc.js";
import { createUpload, commitPart, insertPendingPart } from "./pg/uploads.js";
import { deleteCurrentObject, deleteObject } from "./pg/deletes.js";
import {
  abortVersion,
  commitVersion,
  getBucketAndObjectVersion,
  getObjectVersion,
  insertPendingVersion,
  putInlineVersion,
  listObjects,
  type CommitVersion,
} from "./pg/versions.js";
import { fakeDatafiles, putTestObject, startTestDatabase, type TestDatabase } from "./test-support.js";
import type { DatafileRef } from "./types.js";

describe("meta: versions and the commit protocol", () => {
  let db: TestDatabase;
  let bucketId: number;
  let versionedBucketId: number;

  before(async () => {
    db = await startTestDatabase({ max: 12 });
    const bucket = await createBucket(db.sql, { name: "objects", owner: "alice", region: "r" });
    const versioned = await createBucket(db.sql, { name: "history", owner: "alice", region: "r" });
    assert.ok(bucket.created && versioned.created);
    bucketId = bucket.bucket.id;
    versionedBucketId = versioned.bucket.id;
    await setBucketVersioning(db.sql, versionedBucketId, "Enabled");
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

  async function reserve(key: string, options: { bucket?: number; versionId?: string; size?: number } = {}) {
    const datafiles = fakeDatafiles(4, 2, 256);
    const versionRowId = await insertPendingVersion(db.sql, {
      bucketId: options.bucket ?? bucketId,
      key,
      versionId: options.versionId ?? "null",
      storageClass: "STANDARD",
      part: { partNumber: 1, size: options.size ?? 1000, unit: 256, k: 4, m: 2, datafiles },
    });
    return { versionRowId, datafiles };
  }

  function commitFor(datafiles: DatafileRef[], overrides: Partial<CommitVersion> = {}): CommitVersion {
    return {
      size: 1000,
      etag: "9e107d9d372bb6826bd81d3542a419d6",
      headers: {
        contentType: "text/plain",
        cacheControl: "no-cache",
        userMetadata: { colour: "blue", "with space": "ünïcode ✓" },
      },
      checksumAlgorithm: "CRC32",
      checksumValue: "AAAAAA==",
      checksumType: "FULL_OBJECT",
      partEtag: "9e107d9d372bb6826bd81d3542a419d6",
      datafileCrcs: datafiles.map((datafile) => ({ slot: datafile.slot, crc32c: `crc-${datafile.slot}` })),
      ...overrides,
    };
  }

  it("keeps a pending version invisible to get and list, and commit makes it current with its whole layout", async () => {
    const { versionRowId, datafiles } = await reserve("doc.txt");
    assert.equal(await getObjectVersion(db.sql, bucketId, "doc.txt"), undefined);
    assert.equal(await getObjectVersion(db.sql, bucketId, "doc.txt", "null"), undefined);
    assert.deepEqual((await listObjects(db.sql, bucketId, { maxKeys: 100 })).contents, []);

    const committed = await commitVersion(db.sql, versionRowId, commitFor(datafiles));
    assert.equal(committed.versionId, "null");
    assert.ok(committed.lastModified instanceof Date);

    const version = await getObjectVersion(db.sql, bucketId, "doc.txt");
    assert.ok(version);
    assert.equal(version.id, versionRowId);
    assert.equal(version.size, 1000);
    assert.equal(version.etag, "9e107d9d372bb6826bd81d3542a419d6");
    assert.equal(version.isDeleteMarker, false);
    assert.equal(version.contentType, "text/plain");
    assert.equal(version.cacheControl, "no-cache");
    assert.equal("contentEncoding" in version, false, "absent headers stay absent");
    assert.deepEqual(version.userMetadata, { colour: "blue", "with space": "ünïcode ✓" });
    assert.equal(version.checksumType, "FULL_OBJECT");
    assert.deepEqual(version.lastModified, committed.lastModified);
    assert.equal(version.parts.length, 1);
    const [part] = version.parts;
    assert.equal(part!.partNumber, 1);
    assert.equal(part!.size, 1000);
    assert.deepEqual([part!.unit, part!.k, part!.m], [256, 4, 2]);
    assert.deepEqual(
      part!.datafiles,
      datafiles.map((datafile) => ({ ...datafile, crc32c: `crc-${datafile.slot}` })),
    );
    assert.equal(part!.inlineData, undefined);

    const listed = await listObjects(db.sql, bucketId, { maxKeys: 100 });
    assert.deepEqual(listed.contents, [
      { key: "doc.txt", size: 1000, etag: version.etag, lastModified: version.lastModified, storageClass: "STANDARD" },
    ]);
    assert.deepEqual(await queuedBlobs(), []);
  });

  it("overwriting in an unversioned bucket queues every datafile of the old version", async () => {
    const first = await putTestObject(db.sql, bucketId, "overwritten");
    const second = await putTestObject(db.sql, bucketId, "overwritten", { size: 77 });
    assert.deepEqual(await queuedBlobs(), blobIds(first.datafiles));
    const current = await getObjectVersion(db.sql, bucketId, "overwritten");
    assert.equal(current?.id, second.versionRowId);
    assert.equal(current?.size, 77);
    const [{ count }] = await db.sql<{ count: number }[]>`
      select count(*)::int as count from versions where bucket_id = ${bucketId} and key = 'overwritten'`;
    assert.equal(count, 1, "the replaced row is gone");
  });

  it("keeps the replaced version in a versioned bucket, addressable by its version id", async () => {
    const first = await putTestObject(db.sql, versionedBucketId, "kept", { size: 1 });
    const second = await putTestObject(db.sql, versionedBucketId, "kept", { size: 2 });
    assert.deepEqual(await queuedBlobs(), []);
    assert.equal((await getObjectVersion(db.sql, versionedBucketId, "kept"))?.versionId, second.versionId);
    const old = await getObjectVersion(db.sql, versionedBucketId, "kept", first.versionId);
    assert.equal(old?.size, 1);
    assert.deepEqual(blobIds(old!.parts[0]!.datafiles), blobIds(first.datafiles));

    const marker = await deleteObject(db.sql, { id: versionedBucketId, versioning: "Enabled" }, "kept");
    assert.equal(marker.deleted, true);
    assert.match(marker.markerVersionId ?? "", /^[0-9a-f]{32}$/);
    const current = await getObjectVersion(db.sql, versionedBucketId, "kept");
    assert.equal(current?.isDeleteMarker, true, "the caller sees the marker and decides");
    assert.equal(current?.versionId, marker.markerVersionId);
    assert.deepEqual(current?.parts, []);
    assert.deepEqual((await listObjects(db.sql, versionedBucketId, { prefix: "kept", maxKeys: 10 })).contents, []);
    assert.equal((await getObjectVersion(db.sql, versionedBucketId, "kept", second.versionId))?.size, 2);
    assert.deepEqual(await queuedBlobs(), []);
  });

  it("deletes in an unversioned bucket: the current version goes, its datafiles are queued", async () => {
    const put = await putTestObject(db.sql, bucketId, "to-delete");
    const unversioned = { id: bucketId, versioning: "Unversioned" } as const;
    assert.deepEqual(await deleteObject(db.sql, unversioned, "to-delete"), { deleted: true, versioning: "Unversioned" });
    assert.equal(await getObjectVersion(db.sql, bucketId, "to-delete"), undefined);
    assert.deepEqual(await queuedBlobs(), blobIds(put.datafiles));
    assert.deepEqual(await deleteObject(db.sql, unversioned, "to-delete"), { deleted: false, versioning: "Unversioned" });
  });

  it("deletes by bucket name in one statement, as the bucket's versioning state says, and checks the owner", async () => {
    const put = await putTestObject(db.sql, bucketId, "by-name");
    const target = { bucketName: "objects", owner: "alice", key: "by-name" };
    await assert.rejects(deleteCurrentObject(db.sql, { ...target, owner: "mallory" }), NotBucketOwnerError);
    await assert.rejects(deleteCurrentObject(db.sql, { ...target, bucketName: "no-such-bucket" }), NoSuchBucketError);
    assert.equal((await getObjectVersion(db.sql, bucketId, "by-name"))?.id, put.versionRowId, "a refused delete changed nothing");
    assert.deepEqual(await deleteCurrentObject(db.sql, target), { deleted: true, versioning: "Unversioned" });
    assert.equal(await getObjectVersion(db.sql, bucketId, "by-name"), undefined);
    assert.deepEqual(await queuedBlobs(), blobIds(put.datafiles));
    assert.deepEqual(await deleteCurrentObject(db.sql, target), { deleted: false, versioning: "Unversioned" });

    const kept = await putTestObject(db.sql, versionedBucketId, "by-name", { versionId: "kept-by-name" });
    const marker = await deleteCurrentObject(db.sql, { ...target, bucketName: "history" });
    assert.equal(marker.deleted, true);
    assert.equal(marker.versioning, "Enabled");
    assert.match(marker.markerVersionId ?? "", /^[0-9a-f]{32}$/);
    assert.equal((await getObjectVersion(db.sql, versionedBucketId, "by-name", "kept-by-name"))?.id, kept.versionRowId);
    assert.equal((await getObjectVersion(db.sql, versionedBucketId, "by-name"))?.isDeleteMarker, true);
  });

  it("abort queues the datafiles, is idempotent, and a later commit fails with VersionNotPendingError", async () => {
    const { versionRowId, datafiles } = await reserve("aborted");
    await abortVersion(db.sql, versionRowId);
    await abortVersion(db.sql, versionRowId);
    assert.deepEqual(await queuedBlobs(), blobIds(datafiles));
    await assert.rejects(commitVersion(db.sql, versionRowId, commitFor(datafiles)), VersionNotPendingError);
    assert.equal(await getObjectVersion(db.sql, bucketId, "aborted"), undefined);
  });

  it("abort never touches a committed version", async () => {
    const put = await putTestObject(db.sql, bucketId, "committed-then-aborted");
    await abortVersion(db.sql, put.versionRowId);
    assert.equal((await getObjectVersion(db.sql, bucketId, "committed-then-aborted"))?.id, put.versionRowId);
    assert.deepEqual(await queuedBlobs(), []);
  });

  it("stores tiny objects inline in one statement that replaces the current version and honours write conditions", async () => {
    const previous = await putTestObject(db.sql, bucketId, "tiny");
    const inline = (versionId: string, text: string, precondition?: CommitVersion["precondition"]) =>
      putInlineVersion(
        db.sql,
        { bucketName: "objects", owner: "alice", key: "tiny", versionId, storageClass: "STANDARD" },
        commitFor([], { size: text.length, etag: `etag-${text}`, precondition }),
        Buffer.from(text),
      );
    await inline("null", "hello");
    assert.deepEqual(await queuedBlobs(), blobIds(previous.datafiles), "the replaced version's datafiles are queued");

    await assert.rejects(inline("null", "other", { ifNoneMatch: true }), (error: unknown) => error instanceof WriteConditionFailedError && error.reason === "exists");
    await assert.rejects(inline("null", "other", { ifMatch: "etag-nope" }), (error: unknown) => error instanceof WriteConditionFailedError && error.reason === "etag");
    await assert.rejects(
      putInlineVersion(db.sql, { bucketName: "no-such-bucket", owner: "alice", key: "tiny", versionId: "null", storageClass: "STANDARD" }, commitFor([]), Buffer.from("x")),
      (error: unknown) => error instanceof NoSuchBucketError && error.bucket === "no-such-bucket",
    );
    await assert.rejects(
      putInlineVersion(db.sql, { bucketName: "objects", owner: "mallory", key: "tiny", versionId: "null", storageClass: "STANDARD" }, commitFor([]), Buffer.from("x")),
      NotBucketOwnerError,
    );

    const found = await getBucketAndObjectVersion(db.sql, "objects", "tiny", undefined, true);
    assert.equal(found?.bucket.id, bucketId);
    assert.equal(found?.bucket.name, "objects");
    assert.ok(found?.bucket.createdAt instanceof Date && !Number.isNaN(found.bucket.createdAt.getTime()));
    assert.deepEqual(found?.version?.parts[0]?.inlineData, Buffer.from("hello"), "a failed condition changed nothing");
    assert.equal(found?.version?.etag, "etag-hello");
    assert.deepEqual(found?.version?.parts[0]?.datafiles, []);
    const withoutBytes = await getBucketAndObjectVersion(db.sql, "objects", "tiny", undefined, false);
    const { inlineData: _bytes, ...partWithoutBytes } = found!.version!.parts[0]!;
    assert.deepEqual(withoutBytes?.version, { ...found!.version!, parts: [partWithoutBytes] }, "all but the bytes");
    assert.deepEqual(await getBucketAndObjectVersion(db.sql, "objects", "no-such-key", undefined, true), { bucket: found!.bucket });

    // The bucket's own versioning state decides whether the replaced version is kept.
    const inHistory = (versionId: string) =>
      putInlineVersion(db.sql, { bucketName: "history", owner: "alice", key: "tiny", versionId, storageClass: "STANDARD" }, commitFor([]), Buffer.from(versionId));
    assert.equal((await inHistory("first")).versioning, "Enabled");
    await inHistory("second");
    assert.deepEqual((await getObjectVersion(db.sql, versionedBucketId, "tiny", "first"))?.parts[0]?.inlineData, Buffer.from("first"));
    assert.equal((await getObjectVersion(db.sql, versionedBucketId, "tiny"))?.versionId, "second");
    assert.equal(await getBucketAndObjectVersion(db.sql, "no-such-bucket", "tiny", undefined, true), undefined);
  });

  it("returns every inline object byte for byte, whatever its length (base64 padding and line breaks)", async () => {
    // Sizes around base64's 3-byte groups and its 57-byte lines (76 characters), up to the inline threshold.
    const sizes = [0, 1, 2, 3, 56, 57, 58, 114, 4095, 4096];
    for (const size of sizes) {
      const bytes = Buffer.alloc(size, (size * 7) & 0xff);
      for (let index = 0; index < size; index++) bytes[index] = (index * 31 + size) & 0xff; // every byte value
      await putInlineVersion(
        db.sql,
        { bucketName: "objects", owner: "alice", key: `bytes-${size}`, versionId: "null", storageClass: "STANDARD" },
        commitFor([], { size, etag: `etag-${size}` }),
        bytes,
      );
      const found = await getBucketAndObjectVersion(db.sql, "objects", `bytes-${size}`, undefined, true);
      assert.ok(found?.version?.parts[0]?.inlineData?.equals(bytes), `${size} bytes come back as stored`);
      assert.ok((await getObjectVersion(db.sql, bucketId, `bytes-${size}`))?.parts[0]?.inlineData?.equals(bytes));
    }
  });

  describe("inline PUTs arriving together", () => {
    let counted: Sql;
    let batches: unknown[][];
    before(() => {
      counted = connect(db.url, {
        onQuery: (query, parameters) => {
          const items = parameters[0];
          if (query.includes("weft_put_inline_versions")) batches.push((typeof items === "string" ? JSON.parse(items) : items) as unknown[]);
        },
      });
    });
    beforeEach(() => {
      batches = [];
    });
    after(async () => {
      await counted?.end();
    });
    const put = (key: string, text: string, options: { bucketName?: string; owner?: string; precondition?: CommitVersion["precondition"] } = {}) =>
      putInlineVersion(
        counted,
        { bucketName: options.bucketName ?? "objects", owner: options.owner ?? "alice", key, versionId: "null", storageClass: "STANDARD" },
        commitFor([], { size: text.length, etag: `etag-${text}`, precondition: options.precondition }),
        Buffer.from(text),
      );
    const stored = async (key: string) => (await getObjectVersion(db.sql, bucketId, key))?.parts[0]?.inlineData?.toString();

    it("are committed in shared statements, each with its own outcome", async () => {
      await put("batch-existing", "old");
      batches = [];
      const keys = Array.from({ length: 16 }, (_, index) => `batch-${index}`);
      const outcomes = await Promise.allSettled([
        ...keys.map((key) => put(key, `data of ${key}`)),
        put("batch-same", "first"),
        put("batch-same", "second"),
        put("batch-existing", "refused", { precondition: { ifNoneMatch: true } }),
        put("batch-x", "x", { bucketName: "no-such-bucket" }),
        put("batch-x", "x", { owner: "mallory" }),
      ]);

      assert.ok(batches.length < outcomes.length, `${outcomes.length} PUTs took ${batches.length} statements`);
      assert.ok(batches.some((items) => items.length > 1), "at least one statement carried several PUTs");
      assert.deepEqual(outcomes.slice(0, 18).map((outcome) => outcome.status), Array(18).fill("fulfilled"));
      for (const key of keys) assert.equal(await stored(key), `data of ${key}`);
      assert.ok(["first", "second"].includes((await stored("batch-same"))!), "one of the two PUTs of a key is current");
      assert.equal((await db.sql`select 1 from versions where bucket_id = ${bucketId} and key = 'batch-same'`).length, 1);

      const [refused, noBucket, notOwner] = outcomes.slice(18);
      assert.ok(refused?.status === "rejected" && refused.reason instanceof WriteConditionFailedError && refused.reason.reason === "exists");
      assert.ok(noBucket?.status === "rejected" && noBucket.reason instanceof NoSuchBucketError);
      assert.ok(notOwner?.status === "rejected" && notOwner.reason instanceof NotBucketOwnerError);
      assert.equal(await stored("batch-existing"), "old", "a refused PUT changed nothing");
      assert.equal(await stored("batch-x"), undefined);
    });

    it("that one of them breaks are retried one by one: only the breaking one fails", async () => {
      // PostgreSQL refuses a NUL character in text: the whole statement fails, as any unexpected error would.
      const keys = ["retry-a", "retry-b", "retry-c", "retry-\u0000", "retry-d", "retry-e", "retry-f"];
      const outcomes = await Promise.allSettled(keys.map((key) => put(key, `data of ${key}`)));

      assert.ok(
        batches.some((items) => items.length > 1 && JSON.stringify(items).includes("\\u0000")),
        "the breaking PUT shared a statement with others",
      );
      assert.deepEqual(outcomes.map((outcome) => outcome.status), ["fulfilled", "fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled", "fulfilled"]);
      for (const key of keys.filter((key) => !key.includes("\u0000"))) assert.equal(await stored(key), `data of ${key}`);
    });
  });

  it("stores the items of one inline batch as if they came one after another, keys shared or not", async () => {
    // The statement itself, with a batch that the Batcher's timing could not promise.
    const texts: string[] = [];
    const item = (bucketName: string, key: string, versionId: string, text: string, precondition?: { ifNoneMatch?: boolean; ifMatch?: string }) => {
      const dataOffset = texts.join("").length;
      texts.push(text);
      const commit = { size: text.length, etag: `etag-${text}`, partEtag: `etag-${text}`, precondition: precondition ?? null };
      return { bucketName, owner: "alice", key, versionId, storageClass: "STANDARD", commit, dataOffset, dataLength: text.length };
    };
    const items = [
      item("objects", "seq-b", "null", "b1"),
      item("objects", "seq-a", "null", "a1"),
      item("history", "seq-v", "v1", "v1"),
      item("objects", "seq-a", "null", "a2"),
      item("objects", "seq-c", "null", "c1", { ifMatch: "etag-c0" }),
      item("objects", "seq-a", "null", "a3", { ifMatch: "etag-a2" }),
      item("history", "seq-v", "v2", "v2"),
      item("objects", "seq-b", "null", "b2", { ifNoneMatch: true }),
    ];
    const rows = await db.sql<{ item: number; version_id: string | null; versioning: string | null; error_code: string | null; error_message: string | null }[]>`
      select * from weft_put_inline_versions(${db.sql.json(items)}, ${Buffer.from(texts.join(""))}::bytea)`;
    const outcome = (position: number) => {
      const row = rows.find((candidate) => candidate.item === position)!;
      return row.error_code ? `${row.error_code} ${row.error_message}` : `stored ${row.version_id}`;
    };
    assert.equal(rows.length, items.length, "one outcome per item");
    assert.deepEqual(items.map((_, index) => outcome(index + 1)), [
      "stored null", // b1
      "stored null", // a1
      "stored v1",
      "stored null", // a2
      "WF412 missing", // c1: nothing to match
      "stored null", // a3: a2 is current by then
      "stored v2",
      "WF412 exists", // b2: b1 is current by then
    ]);

    const current = async (bucket: number, key: string) => (await getObjectVersion(db.sql, bucket, key))?.parts[0]?.inlineData?.toString();
    assert.equal(await current(bucketId, "seq-a"), "a3");
    assert.equal(await current(bucketId, "seq-b"), "b1");
    assert.equal(await current(bucketId, "seq-c"), undefined);
    assert.equal((await db.sql`select 1 from versions where bucket_id = ${bucketId} and key = 'seq-a'`).length, 1, "unversioned: one version left");
    const history = await db.sql<{ version_id: string; is_current: boolean }[]>`
      select version_id, is_current from versions where bucket_id = ${versionedBucketId} and key = 'seq-v' order by seq`;
    assert.deepEqual(history.map((row) => [row.version_id, row.is_current]), [["v1", false], ["v2", true]]);
    assert.equal((await getObjectVersion(db.sql, versionedBucketId, "seq-v", "v1"))?.parts[0]?.inlineData?.toString(), "v1");
  });

  for (const scenario of ["no current version yet", "an existing current version"] as const) {
    it(`racing commits to one key leave exactly one current version (${scenario})`, async () => {
      const key = `raced-${scenario.length}`;
      const previous = scenario === "an existing current version" ? await putTestObject(db.sql, bucketId, key) : undefined;
      const contenders = await Promise.all(Array.from({ length: 8 }, () => reserve(key)));
      await db.sql`delete from gc_queue`;
      const results = await Promise.allSettled(
        contenders.map(({ versionRowId, datafiles }) => commitVersion(db.sql, versionRowId, commitFor(datafiles))),
      );
      assert.deepEqual(results.filter((result) => result.status === "rejected"), []);

      const rows = await db.sql<{ id: number; is_current: boolean; state: string }[]>`
        select id, is_current, state from versions where bucket_id = ${bucketId} and key = ${key}`;
      assert.equal(rows.length, 1, "unversioned: only the winner survives");
      assert.equal(rows[0]!.is_current, true);
      const winner = contenders.find((contender) => contender.versionRowId === rows[0]!.id)!;
      const losers = contenders.filter((contender) => contender !== winner);
      const expectedGarbage = [...(previous?.datafiles ?? []), ...losers.flatMap((loser) => loser.datafiles)];
      assert.deepEqual(await queuedBlobs(), blobIds(expectedGarbage), "every replaced datafile is queued, once");
      assert.equal((await getObjectVersion(db.sql, bucketId, key))?.id, winner.versionRowId);
    });
  }

  it("racing versioned commits keep every version, one current, ordered by commit (seq)", async () => {
    const contenders = await Promise.all(
      Array.from({ length: 6 }, (_, i) => reserve("raced-versioned", { bucket: versionedBucketId, versionId: `v${i}` })),
    );
    const committedOrder: number[] = [];
    await Promise.all(
      contenders.map(async ({ versionRowId, datafiles }) => {
        await commitVersion(db.sql, versionRowId, commitFor(datafiles));
        committedOrder.push(versionRowId);
      }),
    );
    const rows = await db.sql<{ id: number; is_current: boolean }[]>`
      select id, is_current from versions where bucket_id = ${versionedBucketId} and key = 'raced-versioned'
      order by seq desc`;
    assert.equal(rows.length, 6);
    assert.equal(rows.filter((row) => row.is_current).length, 1);
    assert.equal(rows[0]!.is_current, true, "the newest (highest seq) is current");
    assert.deepEqual(await queuedBlobs(), []);
  });

  it("reapStalePending discards old pending versions and parts only", async () => {
    const stale = await reserve("stale");
    const fresh = await reserve("fresh");
    const committed = await putTestObject(db.sql, bucketId, "committed-old");
    await createUpload(db.sql, {
      bucketId, key: "multi", uploadId: "reap-upload", storageClass: "STANDARD", headers: { userMetadata: {} }, owner: "alice",
    });
    const staleParts = fakeDatafiles(2, 1, 10);
    const stalePartId = await insertPendingPart(db.sql, {
      uploadId: "reap-upload", partNumber: 1, size: 20, unit: 10, k: 2, m: 1, datafiles: staleParts,
    });
    const freshPartId = await insertPendingPart(db.sql, {
      uploadId: "reap-upload", partNumber: 2, size: 20, unit: 10, k: 2, m: 1, datafiles: fakeDatafiles(2, 1, 10),
    });
    await db.sql`update versions set created_at = now() - interval '2 hours'
                 where id in (${stale.versionRowId}, ${committed.versionRowId})`;
    await db.sql`update parts set created_at = now() - interval '2 hours' where id = ${stalePartId}`;

    assert.equal(await reapStalePending(db.sql, 60 * 60_000), 2);
    assert.deepEqual(await queuedBlobs(), blobIds([...stale.datafiles, ...staleParts]));
    await assert.rejects(commitVersion(db.sql, stale.versionRowId, commitFor(stale.datafiles)), VersionNotPendingError);
    await assert.rejects(
      commitPart(db.sql, stalePartId, { etag: "e", datafileCrcs: [] }),
      NoSuchUploadError,
    );
    await commitVersion(db.sql, fresh.versionRowId, commitFor(fresh.datafiles));
    await commitPart(db.sql, freshPartId, { etag: "e", datafileCrcs: [] });
    assert.equal((await getObjectVersion(db.sql, bucketId, "committed-old"))?.id, committed.versionRowId);
    assert.equal(await reapStalePending(db.sql, 60 * 60_000), 0);
  });

  it("leases garbage to one collector at a time and forgets what was deleted", async () => {
    const put = await putTestObject(db.sql, bucketId, "garbage-source");
    await deleteObject(db.sql, { id: bucketId, versioning: "Unversioned" }, "garbage-source");
    assert.equal((await queuedBlobs()).length, 3);

    const [first, second] = await Promise.all([takeGarbage(db.sql, 2), takeGarbage(db.sql, 2)]);
    const taken = [...first!, ...second!];
    assert.equal(taken.length, 3);
    assert.equal(new Set(taken.map((item) => item.id)).size, 3, "no item handed out twice");
    assert.deepEqual(taken.map((item) => item.blobId).sort(), blobIds(put.datafiles));
    assert.deepEqual(await takeGarbage(db.sql, 10), [], "leased items are not handed out again");

    await forgetGarbage(db.sql, first!.map((item) => item.id));
    assert.equal((await queuedBlobs()).length, 3 - first!.length);

    // A collector that died: its lease lapses and the items come back.
    await db.sql`update gc_queue set not_before = now() - interval '1 second'`;
    const retaken = await takeGarbage(db.sql, 10, 1000);
    assert.deepEqual(retaken.map((item) => item.id), second!.map((item) => item.id));
    await forgetGarbage(db.sql, retaken.map((item) => item.id));
    assert.deepEqual(await queuedBlobs(), []);
  });

  it("queues the blobs on a disk that nothing references, after a grace period", async () => {
    const put = await putTestObject(db.sql, bucketId, "referenced");
    const onDisk = put.datafiles.find((datafile) => datafile.ioserverId === "disk-0")!;
    const replaced = await putTestObject(db.sql, bucketId, "queued");
    await putTestObject(db.sql, bucketId, "queued");
    const queued = replaced.datafiles.find((datafile) => datafile.ioserverId === "disk-0")!;
    const orphans = await queueUnreferencedBlobs(db.sql, "disk-0", [onDisk.blobId, queued.blobId, "orphan-1", "orphan-2"], 60_000);
    assert.deepEqual(orphans.sort(), ["orphan-1", "orphan-2"]);
    // Queued once: a second scrub finds them queued already.
    assert.deepEqual(await queueUnreferencedBlobs(db.sql, "disk-0", ["orphan-1"], 60_000), []);
    // Not due before the grace period ends.
    assert.ok((await takeGarbage(db.sql, 100)).every((item) => !item.blobId.startsWith("orphan-")));
    assert.deepEqual(await queueUnreferencedBlobs(db.sql, "disk-1", [onDisk.blobId], 60_000), [onDisk.blobId], "per disk");
  });

  it("returns a committed version by version id, and nothing for unknown ids", async () => {
    await putTestObject(db.sql, versionedBucketId, "by-id", { versionId: "abc" });
    assert.equal((await getObjectVersion(db.sql, versionedBucketId, "by-id", "abc"))?.versionId, "abc");
    assert.equal(await getObjectVersion(db.sql, versionedBucketId, "by-id", "zzz"), undefined);
    assert.equal(await getObjectVersion(db.sql, versionedBucketId, "missing"), undefined);
  });

  it("reads int8 columns as JS numbers, sizes above 2^32 included", async () => {
    const big = 5 * 1024 ** 4; // 5 TiB
    const { versionRowId, datafiles } = await reserve("huge", { size: big });
    await commitVersion(db.sql, versionRowId, commitFor(datafiles, { size: big }));
    const version = await getObjectVersion(db.sql, bucketId, "huge");
    assert.equal(version?.size, big);
    assert.equal(typeof version?.id, "number");
    assert.equal(version?.parts[0]?.size, big);
    const sql: Sql = connect(db.url, { max: 1 });
    try {
      await assert.rejects(sql`select 9007199254740993::bigint as tooBig`, RangeError);
      assert.deepEqual([...(await sql`select 1 as ok`)], [{ ok: 1 }], "the connection survives");
    } finally {
      await sql.end();
    }
  });
});

describe("meta: the write paths and statistics that say a table is empty", () => {
  let db: TestDatabase;

  before(async () => {
    // One connection: the statements and the statistics read below run on the same backend (counters are per backend
    // until flushed). Autovacuum off: only this test's ANALYZE decides what the planner believes.
    db = await startTestDatabase({ max: 1 });
    await db.sql`alter table versions set (autovacuum_enabled = off)`;
    await db.sql`alter table parts set (autovacuum_enabled = off)`;
    await createBucket(db.sql, { name: "refilled", owner: "alice", region: "r" });
  });
  after(async () => {
    await db?.stop();
  });

  const put = (key: string) =>
    putInlineVersion(
      db.sql,
      { bucketName: "refilled", owner: "alice", key, versionId: "null", storageClass: "STANDARD" },
      { size: 1, etag: "0cc175b9c0f1b6a831c399e269772661", headers: { userMetadata: {} }, partEtag: "0cc175b9c0f1b6a831c399e269772661", datafileCrcs: [] },
      Buffer.from("a"),
    );
  /** Rows of versions and parts read so far, and how many of those reads were sequential scans. */
  const reads = async () => {
    await db.sql`select pg_stat_force_next_flush()`;
    const [row] = await db.sql<{ scans: string; rows: string }[]>`
      select sum(seq_scan)::text as scans,
        (sum(seq_tup_read) + (select sum(idx_tup_read) from pg_stat_user_indexes where relname in ('versions', 'parts')))::text as rows
      from pg_stat_user_tables where relname in ('versions', 'parts')`;
    return { scans: Number(row!.scans), rows: Number(row!.rows) };
  };

  it("PUTs and DELETEs into a bucket refilled after an ANALYZE of the empty tables read a few rows by index each", async () => {
    await db.sql`analyze versions, parts`; // the planner now believes both tables empty
    for (let batch = 0; batch < 20; batch++) await Promise.all(Array.from({ length: 100 }, (_, index) => put(`k${batch}-${index}`)));
    const before = await reads();
    for (let index = 0; index < 20; index++) await put(`k0-${index}`); // overwrites: each retires a current version
    assert.equal((await deleteCurrentObject(db.sql, { bucketName: "refilled", owner: "alice", key: "k1-1" })).deleted, true);
    const after = await reads();
    assert.equal(after.scans, before.scans, "a write path scanned versions or parts sequentially");
    // A lookup by key reads a handful of index entries; a whole index read through is 2,000 here.
    const perWrite = (after.rows - before.rows) / 21;
    assert.ok(perWrite < 50, `a write read ${perWrite.toFixed(0)} rows of versions and parts: a whole table or index, not its keys`);
  });

  it("GETs and HEADs of a bucket refilled after an ANALYZE of the empty tables read a few rows by index each", async () => {
    await db.sql`delete from parts`;
    await db.sql`delete from versions`;
    await db.sql`analyze versions, parts`;
    // Lookups while the bucket is empty: enough for the statements' plans to be cached as generic ones.
    for (let index = 0; index < 10; index++) {
      assert.equal((await getBucketAndObjectVersion(db.sql, "refilled", `g3-${index}`, undefined, true))?.version, undefined);
      assert.equal((await getBucketAndObjectVersion(db.sql, "refilled", `g4-${index}`, undefined, false))?.version, undefined);
    }
    for (let batch = 0; batch < 20; batch++) await Promise.all(Array.from({ length: 100 }, (_, index) => put(`g${batch}-${index}`)));
    const before = await reads();
    for (let index = 0; index < 20; index++) {
      assert.ok((await getBucketAndObjectVersion(db.sql, "refilled", `g3-${index}`, undefined, true))?.version);
      assert.ok((await getBucketAndObjectVersion(db.sql, "refilled", `g4-${index}`, undefined, false))?.version);
    }
    const after = await reads();
    assert.equal(after.scans, before.scans, "a read path scanned versions or parts sequentially");
    const perRead = (after.rows - before.rows) / 40;
    assert.ok(perRead < 20, `a read read ${perRead.toFixed(0)} rows of versions and parts: a whole table or index, not its keys`);
  });
});
