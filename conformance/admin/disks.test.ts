// The life cycle of a disk through `weft disk`, on a real cluster: a new ioserver added at run time takes data, a
// drained disk hands every slot to the others (and can then be stopped with nothing lost), a drained disk is retired,
// and retiring a disk whose slots the others cannot replace is refused until heal has rebuilt them elsewhere.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { spawnIoServer, type IoServerProcess } from "../../ioserver/src/spawn.js";
import { randomData } from "../support/bytes.js";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { expectObjects, nextDiskRound, weftFor } from "../support/weft.js";

const BUCKET = "disks";
const MiB = 1024 * 1024;

describe("weft disk add, drain and retire", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let s3: S3Client;
  let extraDir: string;
  let extra: IoServerProcess | undefined;
  const objects = new Map<string, Buffer>();

  before(async () => {
    // Heal runs only when a command asks for it, so that what a retirement leaves behind can be seen.
    cluster = await startTestCluster({ gatewayEnv: { WEFT_HEAL_INTERVAL_MS: String(3_600_000), WEFT_HEAL_BYTES_PER_SECOND: "0" } });
    s3 = cluster.client();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    extraDir = await mkdtemp(join(tmpdir(), "weft-extra-disk-"));
  });
  after(async () => {
    await extra?.stop();
    await cluster?.destroy();
    await rm(extraDir, { recursive: true, force: true });
  });

  const weft = (args: string[]) => weftFor(cluster).run(args);
  const status = () => weftFor(cluster).status();

  async function put(key: string, size: number, storageClass?: "REDUCED_REDUNDANCY"): Promise<void> {
    const data = randomData(size);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data, StorageClass: storageClass }));
    objects.set(key, data);
  }

  const expectAllReadable = (label: string) => expectObjects(s3, BUCKET, objects, label);

  it("adds a new ioserver at run time, and new objects use it", async () => {
    extra = await spawnIoServer({ dir: extraDir, secret: cluster.clusterSecret });
    const added = await weft(["disk", "add", extra.url, "--json"]);
    assert.equal(added.code, 0, added.stdout);
    const disk = JSON.parse(added.stdout) as { id: string; state: string; up: boolean };
    assert.deepEqual([disk.id, disk.state, disk.up], [extra.diskId, "active", true]);
    assert.equal((await weft(["disk", "add", "http://127.0.0.1:1", "--json"])).code, 1, "nothing answers there");

    for (let index = 0; index < 8; index++) await put(`object-${index}`, MiB + index);
    await put("small", 20_000);
    const report = await status();
    assert.equal(report.disks.length, 7);
    assert.ok(report.disks.find((candidate) => candidate.id === extra!.diskId)!.slots > 0, "the new disk holds slots");
  });

  it("drains a disk: every slot moves to the others, and the disk can then be lost with one more", async () => {
    const drained = cluster.ioservers[0]!;
    const result = await weft(["disk", "drain", drained.diskId, "--wait"]);
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /holds no slots: it can be retired/);
    const report = await status();
    const disk = report.disks.find((candidate) => candidate.id === drained.diskId)!;
    assert.deepEqual([disk.state, disk.slots], ["draining", 0]);
    assert.deepEqual(report.durability.totals.degraded, { versions: 0, bytes: 0 });
    // New writes avoid it.
    await put("after-drain", 2 * MiB);
    assert.equal((await status()).disks.find((candidate) => candidate.id === drained.diskId)!.slots, 0);

    await drained.stop();
    await cluster.ioservers[1]!.stop();
    await cluster.ioservers[2]!.stop();
    await nextDiskRound();
    await expectAllReadable("drained disk and two others down");
    await cluster.restartIoServer(1);
    await cluster.restartIoServer(2);
    await nextDiskRound();
  });

  it("retires the drained disk", async () => {
    const retired = await weft(["disk", "retire", cluster.ioservers[0]!.diskId]);
    assert.equal(retired.code, 0, retired.stdout);
    const disk = (await status()).disks.find((candidate) => candidate.id === cluster.ioservers[0]!.diskId)!;
    assert.equal(disk.state, "retired");
    assert.equal((await weft(["disk", "retire", cluster.ioservers[0]!.diskId])).code, 1, "a disk is retired once");
  });

  it("refuses to retire a disk whose slots the others cannot replace, and retires it once heal has rebuilt them", async () => {
    // 4+1 objects: retiring two of their disks leaves 3 slots, fewer than k = 4. Each lands on 5 of the 6 active disks,
    // so ten of them leave the two disks below without a shared part with odds of 3^-10.
    for (let index = 0; index < 10; index++) await put(`reduced-${index}`, MiB, "REDUCED_REDUNDANCY");
    const first = await weft(["disk", "retire", cluster.ioservers[3]!.diskId]);
    assert.equal(first.code, 0, first.stdout);
    const second = await weft(["disk", "retire", cluster.ioservers[4]!.diskId]);
    assert.equal(second.code, 1, second.stdout);
    assert.match(second.stdout, /DiskStillNeeded: Retiring disk \S+ would leave \d+ parts with fewer than k slots/);
    assert.notEqual((await status()).disks.find((candidate) => candidate.id === cluster.ioservers[4]!.diskId)!.state, "retired");

    // Heal rebuilds what the first retirement took where it can. Five active disks are left: the 4+1 objects are whole
    // again, the 4+2 ones cannot be (six slots want six disks) and wait for a disk, so heal does not report success.
    const healed = await weft(["heal", "--wait", "--json"]);
    const report = JSON.parse(healed.stdout) as { queued: number; progress: { partsHealed: number } };
    assert.equal(healed.code, 1, healed.stdout);
    assert.ok(report.progress.partsHealed > 0 && report.queued > 0, healed.stdout);
    // Now no part depends on the second disk for its k slots.
    const again = await weft(["disk", "retire", cluster.ioservers[4]!.diskId]);
    assert.equal(again.code, 0, again.stdout);
    await weft(["heal", "--wait"]);
    assert.deepEqual((await status()).durability.totals.unreadable, { versions: 0, bytes: 0 });
    await expectAllReadable("two disks retired and healed");
  });
});
