// Heal on a real cluster: slots a degraded write left out, and every datafile of a wiped disk, are rebuilt by
// `weft heal --wait` (and by the background healer, with nobody typing), after which the cluster survives two more
// lost disks again. The durability report of `weft status` shows it before and after.
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { randomData } from "../support/bytes.js";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { expectObjects, nextDiskRound, weftFor } from "../support/weft.js";

const BUCKET = "healing";
const KiB = 1024;
const MiB = 1024 * KiB;

describe("heal", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let s3: S3Client;
  const objects = new Map<string, Buffer>();

  const weft = (args: string[]) => weftFor(cluster).run(args);
  const status = () => weftFor(cluster).status();

  async function put(key: string, size: number): Promise<void> {
    const data = randomData(size);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data }));
    objects.set(key, data);
  }

  const expectAllReadable = (label: string) => expectObjects(s3, BUCKET, objects, label);

  describe("weft heal --wait", () => {
    before(async () => {
      // The background healer is slowed down to nothing here, so that only the command heals.
      cluster = await startTestCluster({ gatewayEnv: { WEFT_STRIPE_UNIT: String(64 * KiB), WEFT_HEAL_INTERVAL_MS: String(3_600_000) } });
      s3 = cluster.client();
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    });
    after(async () => {
      await cluster?.destroy();
      objects.clear();
    });

    it("rebuilds the slots that writes left out while a disk was down", async () => {
      for (const [index, size] of [3 * MiB + 5, 700 * KiB, 40 * KiB, 9 * MiB].entries()) await put(`before-${index}`, size);
      await cluster.ioservers[1].stop();
      for (const [index, size] of [2 * MiB + 1, 300 * KiB, 20 * KiB].entries()) await put(`degraded-${index}`, size);
      await cluster.restartIoServer(1);
      await nextDiskRound();
      const before = await status();
      assert.ok(before.durability.totals.degraded.versions >= 2, JSON.stringify(before.durability));

      const healed = await weft(["heal", "--wait"]);
      assert.equal(healed.code, 0, healed.stdout + healed.stderr);
      assert.match(healed.stdout, /^healed \d+ parts \(\d+ slots, .+ written\); 0 parts still queued$/m);
      const after = await status();
      assert.deepEqual(after.durability.totals.degraded, { versions: 0, bytes: 0 });
      assert.equal(after.durability.totals.full.versions, objects.size);

      // Whole again: any two disks may go.
      await cluster.ioservers[0].stop();
      await cluster.ioservers[1].stop();
      await nextDiskRound();
      await expectAllReadable("two down after heal");
      await cluster.restartIoServer(0);
      await cluster.restartIoServer(1);
      await nextDiskRound();
    });

    it("rebuilds every datafile of a wiped disk, which comes back as the same disk, empty", async () => {
      const wiped = cluster.ioservers[4];
      const slotsBeforeWipe = (await status()).disks.reduce((sum, disk) => sum + disk.slots, 0);
      await wiped.stop();
      await rm(wiped.dir, { recursive: true, force: true });
      await cluster.restartIoServer(4);
      await nextDiskRound();
      const before = await status();
      // The same disk id, back as an empty replacement: its slots are missing, so every object that had one is degraded.
      const disk = before.disks.find((candidate) => candidate.id === wiped.diskId);
      assert.equal(disk?.state, "up");
      assert.equal(disk?.slots, 0);
      assert.ok(before.durability.totals.degraded.versions > 0, JSON.stringify(before.durability));

      const healed = await weft(["heal", "--wait", "--json"]);
      assert.equal(healed.code, 0, healed.stdout + healed.stderr);
      const report = JSON.parse(healed.stdout) as { queued: number; progress: { partsHealed: number; bytesWritten: number } };
      assert.equal(report.queued, 0);
      assert.ok(report.progress.partsHealed > 0 && report.progress.bytesWritten > 0);
      const after = await status();
      assert.deepEqual(after.durability.totals.degraded, { versions: 0, bytes: 0 });
      // Every lost slot is back, the 4+2 ones on the wiped disk itself (the only disk their part does not use).
      assert.equal(after.disks.reduce((sum, candidate) => sum + candidate.slots, 0), slotsBeforeWipe);
      assert.ok(after.disks.find((candidate) => candidate.id === wiped.diskId)!.slots > 0);

      await cluster.ioservers[2].stop();
      await cluster.ioservers[3].stop();
      await nextDiskRound();
      await expectAllReadable("wiped disk healed, two others down");
    });
  });

  describe("the background healer", () => {
    before(async () => {
      cluster = await startTestCluster({ gatewayEnv: { WEFT_HEAL_INTERVAL_MS: "500" } });
      s3 = cluster.client();
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    });
    after(async () => {
      await cluster?.destroy();
      objects.clear();
    });

    it("heals a degraded write once the disk is back, with nobody typing", async () => {
      await cluster.ioservers[5].stop();
      await put("left-out", 4 * MiB);
      assert.equal((await status()).durability.totals.degraded.versions, 1);
      await cluster.restartIoServer(5);
      const deadline = Date.now() + 30_000;
      let report = await status();
      while (report.durability.totals.degraded.versions > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        report = await status();
      }
      assert.deepEqual(report.durability.totals.degraded, { versions: 0, bytes: 0 });
      await cluster.ioservers[0].stop();
      await cluster.ioservers[1].stop();
      await nextDiskRound();
      await expectAllReadable("healed in the background, two down");
    });
  });
});
