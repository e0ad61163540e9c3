import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { patternMd5, patternStream } from "../support/bytes.js";

const GiB = 1024 ** 3;

/** Peak resident set size of a process, from the kernel (VmHWM), in MiB. */
async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

describe("a 1 GiB object streams through with bounded gateway memory", function () {
  this.timeout(600_000);
  let cluster: TestCluster;
  before(async () => {
    cluster = await startTestCluster();
  });
  after(async () => {
    await cluster?.destroy();
  });

  it("PUTs and GETs 1 GiB (aws-chunked stream upload) while the gateway's peak RSS stays under 300 MiB", async () => {
    const s3 = cluster.client();
    await s3.send(new CreateBucketCommand({ Bucket: "large" }));
    const expectedMd5 = await patternMd5(GiB, 42);
    const started = Date.now();
    const put = await s3.send(new PutObjectCommand({ Bucket: "large", Key: "one-gib", Body: patternStream(GiB, 42), ContentLength: GiB }));
    const putSeconds = (Date.now() - started) / 1000;
    assert.equal(put.ETag, `"${expectedMd5}"`);

    const getStarted = Date.now();
    const got = await s3.send(new GetObjectCommand({ Bucket: "large", Key: "one-gib" }));
    const hash = createHash("md5");
    let length = 0;
    for await (const chunk of got.Body as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      length += chunk.length;
    }
    const getSeconds = (Date.now() - getStarted) / 1000;
    assert.equal(length, GiB);
    assert.equal(hash.digest("hex"), expectedMd5);

    const peak = await peakRssMiB(cluster.gateway.pid);
    // Figures for the record (not assertions on speed: the machine is shared and noisy).
    console.log(`      1 GiB PUT ${(1024 / putSeconds).toFixed(0)} MiB/s, GET ${(1024 / getSeconds).toFixed(0)} MiB/s, gateway peak RSS ${peak.toFixed(0)} MiB`);
    assert.ok(peak < 300, `gateway peak RSS ${peak.toFixed(0)} MiB must stay under 300 MiB`);
  });
});
