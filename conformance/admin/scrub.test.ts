// `weft scrub` on a real cluster: the ioservers check every datafile they hold, without sending the bytes; a corrupt,
// missing or foreign datafile loses its row and its part is healed by `weft heal`; a blob nothing references is
// collected after the grace period; a disk that is down is reported as skipped (exit 1).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { copyFile, readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { CreateBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { ScrubProgress } from "../../gateway/src/heal/scrubber.js";
import { IoClient } from "../../ioserver/src/client.js";
import { connect, type Sql } from "../../meta/src/db.js";
import { randomData } from "../support/bytes.js";
import { flipByteAt } from "../support/datafiles.js";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { expectObjects, weftFor } from "../support/weft.js";

const BUCKET = "scrubbed";
const MiB = 1024 * 1024;

describe("weft scrub", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let s3: S3Client;
  let sql: Sql;
  const objects = new Map<string, Buffer>();

  before(async () => {
    cluster = await startTestCluster({
      gatewayEnv: { WEFT_HEAL_INTERVAL_MS: String(3_600_000), WEFT_SCRUB_BYTES_PER_SECOND: "0", WEFT_PENDING_GRACE_MS: "3000" },
    });
    s3 = cluster.client();
    sql = connect(cluster.databaseUrl, { max: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    for (const [index, size] of [3 * MiB + 7, 2 * MiB, 30_000].entries()) {
      const data = randomData(size);
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `object-${index}`, Body: data }));
      objects.set(`object-${index}`, data);
    }
  });
  after(async () => {
    await sql?.end();
    await cluster?.destroy();
  });

  const weft = (args: string[]) => weftFor(cluster).run(args);

  async function scrub(): Promise<{ code: number; report: ScrubProgress }> {
    const result = await weft(["scrub", "--wait", "--json"]);
    return { code: result.code, report: JSON.parse(result.stdout) as ScrubProgress };
  }

  const totals = (report: ScrubProgress) =>
    report.disks.reduce((sum, disk) => ({ missing: sum.missing + disk.missing, corrupt: sum.corrupt + disk.corrupt, orphans: sum.orphans + disk.orphans }), { missing: 0, corrupt: 0, orphans: 0 });

  /** A datafile of `key` on a disk of the local cluster: its row and its file. */
  async function datafileOf(key: string, slot: number): Promise<{ blobId: string; diskIndex: number; path: string }> {
    const [row] = await sql<{ blob_id: string; ioserver_id: string }[]>`
      select d.blob_id, d.ioserver_id from versions v join parts p on p.version_row_id = v.id join datafiles d on d.part_id = p.id
      where v.key = ${key} and v.is_current and d.slot = ${slot}`;
    const diskIndex = cluster.ioservers.findIndex((ioserver) => ioserver.diskId === row!.ioserver_id);
    const blobsDir = join(cluster.ioservers[diskIndex]!.dir, "blobs");
    for (const fanout of await readdir(blobsDir)) {
      if ((await readdir(join(blobsDir, fanout))).includes(row!.blob_id)) return { blobId: row!.blob_id, diskIndex, path: join(blobsDir, fanout, row!.blob_id) };
    }
    throw new Error(`datafile ${row!.blob_id} not found`);
  }

  const expectAllReadable = (label: string) => expectObjects(s3, BUCKET, objects, label);

  it("goes through every datafile of every disk and finds nothing wrong in a healthy cluster", async () => {
    const { code, report } = await scrub();
    assert.equal(code, 0, JSON.stringify(report));
    assert.equal(report.disks.length, 6);
    assert.ok(report.disks.every((disk) => disk.state === "done"));
    const [{ rows }] = await sql<{ rows: number }[]>`select count(*)::int as rows from datafiles`;
    assert.equal(report.disks.reduce((sum, disk) => sum + disk.datafiles, 0), rows);
    assert.ok(report.disks.reduce((sum, disk) => sum + disk.bytesVerified, 0) >= report.totalBytes - 1);
    assert.deepEqual(totals(report), { missing: 0, corrupt: 0, orphans: 0 });
    const status = await weftFor(cluster).status();
    assert.ok(status.disks.every((disk) => disk.scrubbedAt !== undefined), "every disk has a last scrub time");
  });

  it("drops a flipped, a missing and a foreign datafile for heal, and heal makes the objects whole again", async () => {
    const flipped = await datafileOf("object-0", 1);
    await flipByteAt(flipped.path, 1000);
    const missing = await datafileOf("object-1", 4);
    await unlink(missing.path);
    // The replicated object's first copy replaced by its second (same length, valid blocks, another blob's id).
    const copy = await datafileOf("object-2", 0);
    await copyFile((await datafileOf("object-2", 1)).path, copy.path);

    const { code, report } = await scrub();
    assert.equal(code, 0);
    assert.deepEqual(totals(report), { missing: 1, corrupt: 2, orphans: 0 });
    const status = await weftFor(cluster).status();
    assert.equal(status.durability.totals.degraded.versions, 3);

    const healed = await weft(["heal", "--wait"]);
    assert.equal(healed.code, 0, healed.stdout);
    const after = await weftFor(cluster).status();
    assert.equal(after.durability.totals.degraded.versions, 0);
    assert.deepEqual(totals((await scrub()).report), { missing: 0, corrupt: 0, orphans: 0 });
    await expectAllReadable("healed after scrub");
  });

  it("queues a blob nothing references, and the collector deletes it after the grace period", async () => {
    const disk = cluster.ioservers[3]!;
    const client = new IoClient(disk.url, cluster.clusterSecret);
    try {
      const orphan = randomUUID().replaceAll("-", "");
      await client.putBlob(orphan, Readable.from([randomData(10_000)]), 10_000);
      const { report } = await scrub();
      assert.deepEqual(totals(report), { missing: 0, corrupt: 0, orphans: 1 });
      assert.equal(report.disks.find((candidate) => candidate.diskId === disk.diskId)!.orphans, 1);
      const deadline = Date.now() + 30_000;
      while ((await client.headBlob(orphan)) !== undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(await client.headBlob(orphan), undefined, "the orphan was collected");
      await expectAllReadable("after collecting an orphan");
    } finally {
      await client.close();
    }
  });

  it("reports a disk that is down as skipped (exit 1)", async () => {
    await cluster.ioservers[5]!.stop();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const { code, report } = await scrub();
    assert.equal(code, 1);
    const skipped = report.disks.find((disk) => disk.diskId === cluster.ioservers[5]!.diskId)!;
    assert.deepEqual([skipped.state, skipped.reason], ["skipped", "down"]);
    assert.equal(report.disks.filter((disk) => disk.state === "done").length, 5);
  });
});
