// An ioserver that stops answering without closing its connections (a host cut off the network, simulated here by
// SIGSTOP: the kernel keeps the sockets open, nothing reads or answers). Once the gateway finds it down, the slot
// streams under way to it are abandoned: a read rebuilds from parity and a write goes on without the slot, in seconds
// rather than after the ioserver client's two-minute timeouts.
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { randomData, readAll } from "../support/bytes.js";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { holderOfFirstDataSlot } from "../support/datafiles.js";
import { nextDiskRound } from "../support/weft.js";
import { pacedBody } from "../support/writes.js";

const MiB = 1024 * 1024;
/** Disk rounds every 2 s with a health timeout of their own: the gateway finds a silent disk down well within this. */
const FOUND_DOWN_WITHIN_MS = 15_000;

describe("an ioserver that falls silent with requests under way", function () {
  this.timeout(90_000);
  let cluster: TestCluster;
  let s3: S3Client;
  const bucket = "silent";
  const stopped = new Set<number>();

  const silence = (index: number) => {
    process.kill(cluster.ioservers[index]!.pid, "SIGSTOP");
    stopped.add(index);
  };
  const wake = (index: number) => {
    process.kill(cluster.ioservers[index]!.pid, "SIGCONT");
    stopped.delete(index);
  };

  before(async () => {
    cluster = await startTestCluster();
    s3 = cluster.client({ maxAttempts: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterEach(async () => {
    for (const index of stopped) wake(index);
    // The next test needs every disk up again: with one still down, losing another would leave too few for a write.
    await nextDiskRound();
  });
  after(async () => cluster?.destroy());

  it("finishes a read under way from parity", async () => {
    const data = randomData(48 * MiB);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "read", Body: data }));
    const { index } = await holderOfFirstDataSlot(cluster.ioservers, data);
    const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "read" }));
    const body = answer.Body as AsyncIterable<Uint8Array>;
    const chunks: Buffer[] = [];
    let silencedAt = 0;
    for await (const chunk of body) {
      chunks.push(Buffer.from(chunk));
      if (silencedAt === 0) {
        silence(index);
        silencedAt = Date.now();
      }
    }
    const tookMs = Date.now() - silencedAt;
    assert.ok(Buffer.concat(chunks).equals(data), "the read returned other bytes");
    assert.ok(tookMs < FOUND_DOWN_WITHIN_MS, `the read finished ${tookMs} ms after its ioserver fell silent`);
    wake(index);
    assert.ok((await readAll((await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "read" }))).Body)).equals(data));
  });

  it("finishes a write under way without the silent disk's slot", async () => {
    const data = randomData(24 * MiB);
    const upload = s3.send(new PutObjectCommand({ Bucket: bucket, Key: "write", Body: pacedBody(data, 3_000, 256 * 1024), ContentLength: data.length }));
    await new Promise((resolve) => setTimeout(resolve, 700));
    silence(0);
    const silencedAt = Date.now();
    await upload.catch((error: Error & { $metadata?: unknown }) => assert.fail(`the write failed: ${error.name}: ${error.message}`));
    const tookMs = Date.now() - silencedAt;
    assert.ok(tookMs < FOUND_DOWN_WITHIN_MS, `the write finished ${tookMs} ms after an ioserver fell silent`);
    assert.ok((await readAll((await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "write" }))).Body)).equals(data));
    wake(0);
  });
});
