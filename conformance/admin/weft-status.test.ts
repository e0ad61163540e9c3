// `weft status` run as operators run it (`npx weft …` in the checkout, a real process) against a real cluster: what it
// reports of disks, PostgreSQL, gateways and durability, how that changes when a disk goes down, its exit statuses,
// and that the admin API takes only requests signed with an admin key.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type { ClusterStatus } from "../../gateway/src/admin/status.js";
import { randomData } from "../support/bytes.js";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { weftFor } from "../support/weft.js";

const MiB = 1024 * 1024;

describe("weft status and the admin API", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let s3: S3Client;

  before(async () => {
    // No background heal: what the report says of a degraded object must not change under the test.
    cluster = await startTestCluster({ gatewayEnv: { WEFT_HEAL_INTERVAL_MS: String(3_600_000) } });
    s3 = cluster.client();
    await s3.send(new CreateBucketCommand({ Bucket: "reports" }));
    await s3.send(new PutObjectCommand({ Bucket: "reports", Key: "striped", Body: randomData(2 * MiB) }));
    await s3.send(new PutObjectCommand({ Bucket: "reports", Key: "inline", Body: randomData(100) }));
  });
  after(async () => {
    await cluster?.destroy();
  });

  const weft = (args: string[], env: Record<string, string> = {}) => weftFor(cluster).run(args, env);

  async function status(): Promise<{ code: number; report: ClusterStatus }> {
    const result = await weft(["status", "--json"]);
    return { code: result.code, report: JSON.parse(result.stdout) as ClusterStatus };
  }

  it("reports six disks up, PostgreSQL, this gateway, and every object at full redundancy (exit 0)", async () => {
    const { code, report } = await status();
    assert.equal(code, 0);
    assert.equal(report.disks.length, 6);
    assert.ok(report.disks.every((disk) => disk.state === "up" && disk.freeBytes! > 0), JSON.stringify(report.disks));
    assert.deepEqual(report.disks.map((disk) => disk.id).sort(), cluster.ioservers.map((ioserver) => ioserver.diskId).sort());
    // 2 MiB striped 4+2 puts one datafile on each of the six disks; the inline object none.
    assert.ok(report.disks.every((disk) => disk.slots === 1), JSON.stringify(report.disks));
    assert.match(report.database.version, /^\d+/);
    assert.ok(report.database.databaseBytes > 0);
    assert.deepEqual(report.gateways.map((gateway) => gateway.url), [cluster.endpoint]);
    assert.equal(report.gateways[0]!.pid, cluster.gateway.pid);
    assert.deepEqual(report.durability.buckets, [{ bucket: "reports", health: "full", versions: 2, bytes: 2 * MiB + 100 }]);
    assert.deepEqual(report.durability.totals.degraded, { versions: 0, bytes: 0 });
  });

  it("prints a human report by default", async () => {
    const result = await weft(["status"]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^Disks: 6, 6 up$/m);
    assert.match(result.stdout, /^PostgreSQL \d+/m);
    assert.match(result.stdout, /^Durability: full 2 \(2\.0 MiB\), degraded 0 \(0 B\), unreadable 0 \(0 B\) object versions$/m);
    for (const ioserver of cluster.ioservers) assert.ok(result.stdout.includes(ioserver.diskId), `disk ${ioserver.diskId} listed`);
  });

  it("shows a stopped disk down and the objects it held, or that were written without it, as degraded (exit 1)", async () => {
    await cluster.ioservers[3].stop();
    await s3.send(new PutObjectCommand({ Bucket: "reports", Key: "written-degraded", Body: randomData(MiB) }));
    await new Promise((resolve) => setTimeout(resolve, 2500)); // the gateway's next disk round
    const { code, report } = await status();
    assert.equal(code, 1);
    assert.equal(report.disks.find((disk) => disk.id === cluster.ioservers[3].diskId)!.state, "down");
    // Every striped object now misses one slot: it survives one more lost disk.
    assert.deepEqual(
      report.durability.buckets.map(({ health, survives, versions }) => ({ health, survives, versions })),
      [
        { health: "degraded", survives: 1, versions: 2 },
        { health: "full", survives: undefined, versions: 1 },
      ],
    );
    await cluster.restartIoServer(3);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const after = await status();
    // Back up, the first object is whole again; the one written without the disk still misses its slot.
    assert.deepEqual(
      after.report.durability.buckets.map(({ health, survives, versions }) => ({ health, survives, versions })),
      [
        { health: "degraded", survives: 1, versions: 1 },
        { health: "full", survives: undefined, versions: 2 },
      ],
    );
    assert.equal(after.code, 1);
  });

  it("refuses a wrong secret, a key that is not an admin key, and unsigned requests (exit 3)", async () => {
    const wrong = await weft(["status"], { WEFT_SECRET_KEY: "not-the-secret" });
    assert.equal(wrong.code, 3);
    assert.match(wrong.stdout, /SignatureDoesNotMatch/);

    await cluster.admin().call("POST", "user/create", { name: "plainuser" });
    const plainKey = await cluster.createKey("plainuser"); // a valid S3 access key, stored in PostgreSQL only
    const stranger = await weft(["status", "--json"], { WEFT_ACCESS_KEY: plainKey.accessKeyId, WEFT_SECRET_KEY: plainKey.secretAccessKey });
    assert.equal(stranger.code, 3);
    assert.deepEqual(JSON.parse(stranger.stdout), { error: { code: "AccessDenied", message: "This access key is not an admin key.", status: 403 } });

    const unsigned = await fetch(`${cluster.endpoint}/_weft/admin/v1/status`);
    assert.equal(unsigned.status, 403);
    assert.equal(((await unsigned.json()) as { code: string }).code, "AccessDenied");

    // SigV2 is taken for S3 requests, never here: not even with the admin key and a good signature.
    const date = new Date().toUTCString();
    const v2Signature = createHmac("sha1", cluster.secretKey).update(`GET\n\n\n${date}\n/_weft/admin/v1/status`).digest("base64");
    const v2 = await fetch(`${cluster.endpoint}/_weft/admin/v1/status`, { headers: { Date: date, Authorization: `AWS ${cluster.accessKey}:${v2Signature}` } });
    assert.equal(v2.status, 403);
    assert.deepEqual(await v2.json(), { code: "AccessDenied", message: "The admin API takes SigV4 header-signed requests only." });
  });

  it("counts the multipart uploads in progress, with their parts, bytes and age", async () => {
    const before = (await status()).report.multipartUploads;
    assert.deepEqual([before.inProgress, before.parts, before.bytes], [0, 0, 0]);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "reports", Key: "abandoned" }));
    await s3.send(new UploadPartCommand({ Bucket: "reports", Key: "abandoned", UploadId, PartNumber: 1, Body: randomData(MiB) }));
    const during = (await status()).report.multipartUploads;
    assert.deepEqual([during.inProgress, during.parts, during.bytes], [1, 1, MiB]);
    assert.ok(during.oldestInitiated !== undefined && Date.now() - new Date(during.oldestInitiated).getTime() < 60_000);
    assert.match((await weft(["status"])).stdout, /^Multipart uploads in progress: 1 \(1 parts, 1\.0 MiB\), the oldest started \d+ s ago$/m);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: "reports", Key: "abandoned", UploadId }));
    assert.equal((await status()).report.multipartUploads.inProgress, 0);
  });

  it("answers usage errors with exit 2", async () => {
    const result = await weft(["no-such-command"]);
    assert.equal(result.code, 2);
    assert.match(result.stdout, /usage: weft/);
  });
});
