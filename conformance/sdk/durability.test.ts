import assert from "node:assert/strict";
import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { expectS3Error } from "../support/expect.js";
import { randomData, readAll } from "../support/bytes.js";
import { postForm } from "../support/writes.js";
import { datafilesOf, flipByteAt } from "../support/datafiles.js";

const BUCKET = "durable";
const MiB = 1024 * 1024;


/** Flips one data byte of a datafile in place, as a failing disk might (data sits at the file's start;
 *  block checksums, the blob id and a 24-byte trailer follow it: ioserver/src/store.ts). */
async function flipByte(path: string, preferredOffset: number): Promise<void> {
  // The collector may delete a replaced version's datafile between the listing and here: it is garbage, skip it.
  const size = await stat(path).then(
    (found) => found.size,
    (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    },
  );
  // An empty datafile (a short object's unused slot) is its 33-byte id and 24-byte trailer: no data byte to flip.
  if (size === undefined || size <= 57) return;
  await flipByteAt(path, Math.min(preferredOffset, Math.floor((size - 57 - 4) / 2))).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
  });
}

describe("durability: degraded reads with parity (4+2 over six ioservers)", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let s3: S3Client;
  const objects = new Map<string, Buffer>();

  before(async () => {
    // A small stripe unit so that even modest objects span many stripes and every slot.
    cluster = await startTestCluster({ gatewayEnv: { WEFT_STRIPE_UNIT: String(64 * 1024) } });
    s3 = cluster.client();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    for (const size of [5000, 64 * 1024 * 4, 3 * MiB + 11, 9 * MiB + 5]) {
      const data = randomData(size);
      objects.set(`object-${size}`, data);
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `object-${size}`, Body: data }));
    }
    // Browser form uploads have no declared length: their parity is computed for a size learned at the end.
    for (const size of [5000, 3 * MiB + 11]) {
      const data = randomData(size);
      const key = `posted-${size}`;
      await postForm(s3, BUCKET, key, data);
      objects.set(key, data);
    }
  });
  after(async () => {
    await cluster?.destroy();
  });

  async function expectAllReadable(label: string): Promise<void> {
    for (const [key, data] of objects) {
      const whole = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      assert.ok((await readAll(whole.Body)).equals(data), `${label}: ${key} whole`);
      const start = Math.floor(data.length / 3);
      const end = Math.min(data.length - 1, start + 200_000);
      const ranged = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: `bytes=${start}-${end}` }));
      assert.ok((await readAll(ranged.Body)).equals(data.subarray(start, end + 1)), `${label}: ${key} range`);
    }
  }

  it("reads every object with all six ioservers up", async () => {
    await expectAllReadable("healthy");
  });

  it("stores a small object as three whole copies, a larger one as six shards", async () => {
    const allDatafiles = async () => (await Promise.all(cluster.ioservers.map((ioserver) => datafilesOf(ioserver.dir)))).flat();
    const before = new Set(await allDatafiles());
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "layout-small", Body: randomData(20_000) }));
    const small = (await allDatafiles()).filter((path) => !before.has(path));
    // A datafile is its bytes, one CRC32C per 64 KiB block, its 32-character blob id with a length byte and a
    // 24-byte trailer (ioserver/src/store.ts).
    const copy = 20_000 + 4 + 32 + 1 + 24;
    assert.deepEqual(await Promise.all(small.map(async (path) => (await stat(path)).size)), [copy, copy, copy]);

    for (const path of small) before.add(path);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "layout-large", Body: randomData(200_000) }));
    const large = (await allDatafiles()).filter((path) => !before.has(path));
    assert.equal(large.length, 6);
  });

  it("reads every object correctly with two ioservers stopped", async () => {
    await cluster.ioservers[1].stop();
    await cluster.ioservers[4].kill();
    await expectAllReadable("two down");
  });

  it("refuses a PUT while it cannot write k+1 slots, and keeps the old object", async () => {
    const key = `object-${64 * 1024 * 4}`;
    // 256 KiB is above the replication threshold, so the object is striped 4+2 and needs five of its six slots.
    await expectS3Error(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: randomData(300_000) })), "ServiceUnavailable", 503);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    assert.ok((await readAll(got.Body)).equals(objects.get(key)!));
  });

  it("still stores a small object whole, as three copies, while four ioservers are up", async () => {
    // 6000 bytes is replicated (1+2): three healthy servers suffice, and it survives two more losses.
    const data = randomData(6000);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "object-5000", Body: data }));
    objects.set("object-5000", data);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "object-5000" }));
    assert.ok((await readAll(got.Body)).equals(data));
  });

  it("fails loudly, never with wrong bytes, when three ioservers are down", async () => {
    await cluster.ioservers[2].stop();
    const key = `object-${9 * MiB + 5}`;
    let body: Buffer | undefined;
    try {
      const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      body = await readAll(response.Body);
    } catch (error) {
      // Either a 503 before any header, or a cut connection: both are loud.
      const name = (error as Error).name;
      assert.ok(name === "ServiceUnavailable" || /aborted|terminated|socket|premature|ECONNRESET/i.test(String((error as Error).message) + name), `unexpected ${name}: ${(error as Error).message}`);
      return;
    }
    assert.fail(`a read with three slots lost returned ${body?.length} bytes instead of failing`);
  });

  it("reads every object again once the servers are back", async () => {
    await cluster.restartIoServer(1);
    await cluster.restartIoServer(2);
    await cluster.restartIoServer(4);
    await new Promise((resolve) => setTimeout(resolve, 2500)); // the gateway's health check notices them
    await expectAllReadable("restarted");
  });

  it("reads every object correctly after two ioservers' folders are wiped", async () => {
    for (const index of [0, 3]) await rm(join(cluster.ioservers[index].dir, "blobs"), { recursive: true, force: true });
    await expectAllReadable("two wiped");
  });

  it("detects a flipped byte in a datafile and serves the object from the other slots", async () => {
    // Servers 0 and 3 lost their files above; corrupt every datafile of server 5 as well would exceed m=2,
    // so first restore redundancy by rewriting the objects, then corrupt one server's datafiles.
    for (const [key, data] of objects) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data }));
    const files = await datafilesOf(cluster.ioservers[5].dir);
    assert.ok(files.length > 0, "server 5 holds datafiles");
    for (const file of files) await flipByte(file, 100);
    await expectAllReadable("one corrupted");
    // And with a second slot lost on top of the corruption, still correct.
    await cluster.ioservers[0].stop();
    await expectAllReadable("one corrupted, one down");
  });
});
