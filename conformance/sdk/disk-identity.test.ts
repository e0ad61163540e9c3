// Disks as the running cluster sees them: a wiped disk comes back as itself, empty; no part ever has two slots on
// one disk; a gateway that starts while a disk is down does not write to it; refused, draining and retired disks
// get no new slots. Objects of 200 kB are striped 4+2 (above the replication threshold): six slots each.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { randomBytes, randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { IoClient } from "../../ioserver/src/client.js";
import { spawnIoServer } from "../../ioserver/src/spawn.js";
import { connect, type Sql } from "../../meta/src/db.js";
import { listDisks, setDiskState, type DiskRecord } from "../../meta/src/pg/ioservers.js";
import { MetaStore } from "../../meta/src/store.js";
import { randomData, readAll } from "../support/bytes.js";
import { startTestCluster, type TestCluster } from "../support/cluster.js";

const BUCKET = "disks";
const OBJECT_SIZE = 200_000;
// Two health rounds of the gateway (every 2 s) and some slack.
const SETTLE_MS = 10_000;

describe("disks: identity, replacement and placement (seven ioservers, 4+2)", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let s3: S3Client;
  let sql: Sql;
  let meta: MetaStore;
  const objects = new Map<string, Buffer>();
  let written = 0;

  before(async () => {
    cluster = await startTestCluster({ ioservers: 7 });
    s3 = cluster.client();
    sql = connect(cluster.databaseUrl, { max: 2 });
    meta = new MetaStore(sql);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  after(async () => {
    await sql?.end();
    await cluster?.destroy();
  });

  async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) assert.fail(`not within ${SETTLE_MS} ms: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Writes `count` new objects and returns the disk ids of each one's slots. */
  async function putObjects(count: number): Promise<string[][]> {
    const placements: string[][] = [];
    const bucket = (await meta.getBucket(BUCKET))!;
    for (let index = 0; index < count; index++) {
      const key = `object-${written++}`;
      const data = randomData(OBJECT_SIZE);
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data }));
      objects.set(key, data);
      const version = (await meta.getObjectVersion(bucket.id, key))!;
      placements.push(version.parts[0]!.datafiles.map((datafile) => datafile.ioserverId));
    }
    return placements;
  }

  async function expectAllReadable(): Promise<void> {
    for (const [key, data] of objects) {
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      assert.ok((await readAll(got.Body)).equals(data), key);
    }
  }

  function registryRow(rows: DiskRecord[], id: string): DiskRecord {
    const row = rows.find((candidate) => candidate.id === id);
    assert.ok(row, `disk ${id} is registered`);
    return row;
  }

  it("takes a wiped disk back at its URL as the same disk, marked replaced empty", async () => {
    await putObjects(10);
    const { url, diskId } = cluster.ioservers[0]!;
    await cluster.ioservers[0]!.stop();
    await rm(cluster.ioservers[0]!.dir, { recursive: true, force: true });
    await mkdir(cluster.ioservers[0]!.dir);
    const wiped = await cluster.restartIoServer(0);
    assert.notEqual(wiped.diskId, diskId, "the empty folder starts with an id of its own");

    const row = await until("the replacement is recorded", async () => {
      const atUrl = (await listDisks(sql)).filter((disk) => disk.url === url);
      return atUrl.length === 1 && atUrl[0]!.emptiedAt ? atUrl[0] : undefined;
    });
    assert.equal(row.id, diskId, "one disk at the URL, with the old id");
    assert.equal(row.state, "active");
    const probe = new IoClient(url, cluster.clusterSecret);
    try {
      await until("the folder has taken the old id", async () => ((await probe.health()).diskId === diskId ? true : undefined));
    } finally {
      await probe.close();
    }
    await expectAllReadable();
  });

  it("never puts two slots of a part on one disk, also after a gateway restart", async () => {
    await cluster.gateway.stop();
    await cluster.restartGateway();
    s3 = cluster.client();
    const urlOf = new Map((await listDisks(sql)).map((disk) => [disk.id, disk.url]));
    for (const slots of await putObjects(40)) {
      assert.equal(slots.length, 6);
      assert.equal(new Set(slots.map((id) => urlOf.get(id))).size, 6, `slots on ${slots.map((id) => urlOf.get(id)).join(", ")}`);
    }
    await expectAllReadable();
  });

  it("does not place a PUT on a registered disk that is down when the gateway starts", async () => {
    const down = cluster.ioservers[6]!;
    await down.stop();
    await cluster.gateway.stop();
    await cluster.restartGateway();
    s3 = cluster.client();
    for (const slots of await putObjects(20)) {
      assert.equal(slots.length, 6, "all six slots written");
      assert.ok(!slots.includes(down.diskId), "nothing placed on the stopped disk");
    }
    const back = await cluster.restartIoServer(6);
    await until("the restarted disk takes new slots again", async () => ((await putObjects(3)).some((slots) => slots.includes(back.diskId)) ? true : undefined));
  });

  it("refuses a folder holding another disk's data at a registered URL", async () => {
    const victim = cluster.ioservers[5]!;
    const foreignDir = await mkdtemp(join(tmpdir(), "weft-foreign-"));
    try {
      // A folder with a datafile under an id of its own, never registered: a disk of another cluster, say.
      const foreign = await spawnIoServer({ dir: foreignDir, secret: cluster.clusterSecret, logLevel: "fatal" });
      const writer = new IoClient(foreign.url, cluster.clusterSecret);
      const bytes = randomBytes(1000);
      await writer.putBlob(randomUUID(), Readable.from([bytes]), bytes.length);
      await writer.close();
      await foreign.stop();
      await victim.stop();
      const intruder = await spawnIoServer({ dir: foreignDir, secret: cluster.clusterSecret, port: Number(new URL(victim.url).port), logLevel: "fatal" });
      try {
        await new Promise((resolve) => setTimeout(resolve, 4500));
        for (const slots of await putObjects(20)) {
          assert.equal(slots.length, 6);
          assert.ok(!slots.includes(victim.diskId) && !slots.includes(intruder.diskId), "nothing placed on the refused folder");
        }
        const rows = await listDisks(sql);
        assert.deepEqual(rows.filter((disk) => disk.url === victim.url).map((disk) => disk.id), [victim.diskId]);
        assert.equal(registryRow(rows, victim.diskId).emptiedAt, undefined, "not taken for an empty replacement");
        assert.equal(rows.find((disk) => disk.id === intruder.diskId), undefined, "never registered");
      } finally {
        await intruder.stop();
      }
      await cluster.restartIoServer(5);
      await until("the disk takes new slots again", async () => ((await putObjects(3)).some((slots) => slots.includes(victim.diskId)) ? true : undefined));
    } finally {
      await rm(foreignDir, { recursive: true, force: true });
    }
  });

  it("gives draining and retired disks no new slots, and still reads what they hold", async () => {
    const { diskId } = cluster.ioservers[3]!;
    for (const state of ["draining", "retired"] as const) {
      assert.ok(await setDiskState(sql, diskId, state));
      await new Promise((resolve) => setTimeout(resolve, 4500));
      for (const slots of await putObjects(20)) assert.ok(!slots.includes(diskId), `a slot on a ${state} disk`);
    }
    await expectAllReadable();
    await setDiskState(sql, diskId, "active");
    await until("the disk takes new slots again", async () => ((await putObjects(3)).some((slots) => slots.includes(diskId)) ? true : undefined));
  });
});
