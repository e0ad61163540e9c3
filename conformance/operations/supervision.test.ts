// `npm start` supervises its cluster (cluster/supervise.ts): whatever crashes is started again on its port and folder.
import { GetObjectCommand, PutObjectCommand, CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { superviseCluster, type Supervisor } from "../../cluster/supervise.js";
import { startTestCluster, type TestCluster } from "../support/cluster.js";

async function eventually(what: string, attempt: () => Promise<void>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: still failing after ${ms} ms`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

describe("npm start's supervisor", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let supervisor: Supervisor;
  let s3: S3Client;
  const reports: string[] = [];
  const bucket = "supervised";
  const body = randomBytes(600 * 1024);

  before(async () => {
    cluster = await startTestCluster();
    supervisor = superviseCluster(cluster, (line) => reports.push(line));
    s3 = cluster.client({ maxAttempts: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "object", Body: body }));
  });
  after(async () => {
    supervisor?.stop();
    await cluster?.destroy();
  });

  const readsBack = async () => {
    const got = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "object" }))).Body!.transformToByteArray();
    assert.ok(Buffer.from(got).equals(body));
  };

  it("restarts a crashed gateway on its port", async () => {
    const pid = cluster.gateway.pid;
    await cluster.gateway.kill();
    await eventually("the gateway serves again", readsBack);
    assert.notEqual(cluster.gateway.pid, pid);
    assert.ok(reports.includes("gateway exited unexpectedly; restarting it in 0.5 s"), reports.join("\n"));
    assert.ok(reports.includes("gateway restarted"), reports.join("\n"));
  });

  it("restarts a crashed ioserver on its folder and port", async () => {
    const { url, pid } = cluster.ioservers[2]!;
    cluster.ioservers[2]!.kill();
    await eventually("the ioserver is back", async () => assert.notEqual(cluster.ioservers[2]!.pid, pid));
    assert.equal(cluster.ioservers[2]!.url, url);
    assert.ok(reports.includes("ioserver 3 restarted"), reports.join("\n"));
    await readsBack();
  });

  it("restarts a crashed embedded PostgreSQL, and the gateway finds it again", async () => {
    await cluster.killPostgres();
    await eventually("PostgreSQL is back", async () => {
      assert.ok(reports.includes("PostgreSQL restarted"), reports.join("\n"));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "after", Body: body }));
    });
    await readsBack();
  });

  it("restarts nothing once stopped", async () => {
    supervisor.stop();
    const before = reports.length;
    await cluster.gateway.kill();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(reports.length, before, reports.slice(before).join("\n"));
  });
});
