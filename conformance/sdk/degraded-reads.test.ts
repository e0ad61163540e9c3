// Damaged blocks spread over a large object on a real cluster: every stripe that keeps k good slots is served, so
// GetObject returns exactly the stored bytes although three datafiles each have a bad block; a stripe that
// keeps fewer than k fails the GET loudly, never with wrong bytes.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { randomData, readAll } from "../support/bytes.js";
import { datafilesOf, flipByteAt } from "../support/datafiles.js";

const BUCKET = "damaged";
const KiB = 1024;
const MiB = 1024 * KiB;
const UNIT = 256 * KiB;
// 4+2 (the STANDARD class): a stripe is four data units.
const K = 4;
const STRIPE = K * UNIT;

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Every datafile an ioserver holds (under its blobs/ folder). */

/**
 * The datafile of each data slot of an object, found by content: a data datafile starts with its slot's first
 * unit (data sits at the file's start, block checksums and a trailer follow it: ioserver/src/store.ts).
 */
async function dataSlotFiles(cluster: TestCluster, data: Buffer): Promise<string[]> {
  const found: string[] = [];
  const head = Buffer.alloc(64);
  for (const ioserver of cluster.ioservers) {
    for (const path of await datafilesOf(ioserver.dir)) {
      const file = await open(path, "r");
      try {
        const { bytesRead } = await file.read(head, 0, head.length, 0);
        for (let slot = 0; slot < K; slot++) {
          if (bytesRead === head.length && head.equals(data.subarray(slot * UNIT, slot * UNIT + head.length))) found[slot] = path;
        }
      } finally {
        await file.close();
      }
    }
  }
  assert.equal(found.filter(Boolean).length, K, "a datafile for each data slot");
  return found;
}


describe("degraded reads: damaged blocks in many stripes (4+2 over six ioservers)", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let s3: S3Client;

  before(async () => {
    cluster = await startTestCluster({ gatewayEnv: { WEFT_STRIPE_UNIT: String(UNIT) } });
    s3 = cluster.client();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    await cluster?.destroy();
  });

  async function put(key: string, size: number): Promise<{ data: Buffer; slots: string[] }> {
    const data = randomData(size);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data }));
    return { data, slots: await dataSlotFiles(cluster, data) };
  }

  async function get(key: string, range?: [number, number]): Promise<Buffer> {
    const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: range && `bytes=${range[0]}-${range[1]}` }));
    return readAll(response.Body);
  }

  it("returns exactly the stored bytes of a 20 MiB object with a bad block in three stripes, each in another slot", async () => {
    const { data, slots } = await put("twenty", 20 * MiB);
    // Stripes 2, 8 and 14 of data slots 0, 1 and 2: the old reader gave up at the second one, around 8 MiB.
    await flipByteAt(slots[0], 2 * UNIT + 1000);
    await flipByteAt(slots[1], 8 * UNIT + 70 * KiB);
    await flipByteAt(slots[2], 14 * UNIT + 5);

    assert.equal(sha256(await get("twenty")), sha256(data), "whole object");
    // Again: nothing is repaired, each GET reads around the damage by itself.
    assert.equal(sha256(await get("twenty")), sha256(data), "whole object, second GET");
    for (const [start, end] of [
      [STRIPE + 12_345, 15 * STRIPE + 2 * UNIT + 77],
      [8 * STRIPE + UNIT + 70 * KiB - 3, 8 * STRIPE + UNIT + 70 * KiB + 3],
      [2 * STRIPE, 3 * STRIPE - 1],
      [14 * STRIPE + 2 * UNIT, data.length - 1],
    ]) {
      assert.equal(sha256(await get("twenty", [start, end])), sha256(data.subarray(start, end + 1)), `bytes ${start}-${end}`);
    }
  });

  it("fails the GET loudly, never with wrong bytes, when one stripe has three bad slots", async () => {
    const { data, slots } = await put("lost-stripe", 6 * MiB + 3);
    // Data slots 0, 1 and 3 of stripe 4: only three of its six units are left.
    for (const slot of [0, 1, 3]) await flipByteAt(slots[slot], 4 * UNIT + 100);
    let body: Buffer | undefined;
    try {
      body = await get("lost-stripe");
    } catch (error) {
      // A 503 before any header, or a cut connection after the good stripes: both are loud.
      const text = `${(error as Error).name} ${(error as Error).message}`;
      assert.match(text, /ServiceUnavailable|aborted|terminated|socket|premature|ECONNRESET/i);
      // The stripes before it still read.
      assert.equal(sha256(await get("lost-stripe", [0, 4 * STRIPE - 1])), sha256(data.subarray(0, 4 * STRIPE)));
      return;
    }
    assert.fail(`a read of a lost stripe returned ${body.length} bytes instead of failing`);
  });
});
