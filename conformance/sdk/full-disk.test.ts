// A full disk on a real cluster: one ioserver's folder is a small tmpfs. Writes whose slot on it runs out of space
// succeed without that slot (degraded writes), and once the disk's free space is below the reserve no new slot is
// placed on it, while it stays readable. Mounting needs root (CAP_SYS_ADMIN): without it the suite says so and skips.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { promisify } from "node:util";
import { CreateBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { connect, type Sql } from "../../meta/src/db.js";
import { randomData } from "../support/bytes.js";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { expectObjects, nextDiskRound, weftFor } from "../support/weft.js";

const run = promisify(execFile);
const BUCKET = "fills";
const MiB = 1024 * 1024;

describe("a full disk", function () {
  this.timeout(300_000);
  let cluster: TestCluster | undefined;
  let s3: S3Client;
  let sql: Sql;
  let mounted: string | undefined;
  /** The small disk's id: a restarted ioserver reports its fresh folder's own id until it has taken this one over. */
  let smallDiskId: string;
  const objects = new Map<string, Buffer>();

  before(async function () {
    cluster = await startTestCluster({ gatewayEnv: { WEFT_DISK_RESERVE_BYTES: String(3 * MiB), WEFT_HEAL_INTERVAL_MS: String(3_600_000) } });
    const small = cluster.ioservers[3]!;
    smallDiskId = small.diskId;
    await small.stop();
    await rm(small.dir, { recursive: true, force: true });
    try {
      await run("mkdir", ["-p", small.dir]);
      await run("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", small.dir]);
      mounted = small.dir;
    } catch (error) {
      // Skipped, and said so: a per-disk full filesystem needs a mount, and mounting needs CAP_SYS_ADMIN (root).
      console.log(`      skipped: mounting a tmpfs needs root (${(error as Error).message.split("\n")[0]})`);
      this.skip();
    }
    // The empty tmpfs comes back as an empty replacement of the same disk.
    await cluster.restartIoServer(3);
    await nextDiskRound();
    s3 = cluster.client();
    sql = connect(cluster.databaseUrl, { max: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    await sql?.end();
    await cluster?.stopKeepingData();
    if (mounted) await run("umount", [mounted]).catch(() => undefined);
    await cluster?.destroy();
  });

  async function slotsOnSmallDisk(key: string): Promise<number> {
    const [row] = await sql<{ slots: number }[]>`
      select count(*)::int as slots from versions v join parts p on p.version_row_id = v.id join datafiles d on d.part_id = p.id
      where v.key = ${key} and v.is_current and d.ioserver_id = ${smallDiskId}`;
    return row!.slots;
  }

  it("keeps writing when the disk runs out of space mid-write, then stops placing slots on it", async () => {
    // Each 8 MiB object puts 2 MiB on each of its six disks: the 8 MiB tmpfs is full after three or four.
    for (let index = 0; index < 8; index++) {
      const data = randomData(8 * MiB);
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `object-${index}`, Body: data }));
      objects.set(`object-${index}`, data);
    }
    await nextDiskRound();
    const report = await weftFor(cluster!).status();
    const small = report.disks.find((disk) => disk.id === smallDiskId)!;
    assert.equal(small.state, "up");
    assert.ok(small.freeBytes! < 3 * MiB, `free ${small.freeBytes}`);
    // Some objects could not put their slot there: they are degraded, not refused.
    assert.ok(report.durability.totals.degraded.versions > 0, JSON.stringify(report.durability.totals));

    const data = randomData(8 * MiB);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "after-full", Body: data }));
    objects.set("after-full", data);
    assert.equal(await slotsOnSmallDisk("after-full"), 0, "a slot was placed on the full disk");
    await expectObjects(s3, BUCKET, objects, "with one disk full");
  });
});
