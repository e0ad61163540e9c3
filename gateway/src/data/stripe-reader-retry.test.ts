// Reads that meet damaged blocks in many stripes, against real ioserver processes: a slot that failed in one
// stripe serves the next ones again, so a read succeeds whenever every stripe keeps k good slots, and fails
// loudly (never with a wrong byte) when one does not.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IoClient, type IoCallOptions } from "../../../ioserver/src/client.js";
import { CHECKSUM_BLOCK_SIZE } from "../../../ioserver/src/protocol.js";
import { chooseLayout, datafileLength, type StripeLayout } from "./layout.js";
import { DataUnavailableError, openStripedRead, type StoredPart } from "./stripe-reader.js";
import {
  assertReadsCorrectly,
  blobFile,
  flipByte,
  KiB,
  MiB,
  readPrefix,
  readRange,
  SECRET,
  startCluster,
  stopCluster,
  withClients,
  writeObject,
  type Cluster,
  type StoredObject,
} from "./stripe-test-support.js";

/** A real client that counts the datafile GETs it sends. */
class CountingClient extends IoClient {
  gets = 0;

  override getBlob(id: string, range?: { start: number; end: number }, options?: IoCallOptions) {
    this.gets++;
    return super.getBlob(id, range, options);
  }
}

describe("striped reads retry a slot in the stripes after one it failed in", function () {
  this.timeout(180_000);
  let root: string;
  let cluster: Cluster;
  let counting: CountingClient[];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "weft-stripe-retry-"));
    // Every damaged block makes an ioserver log an error; WEFT_LOG_LEVEL=error shows them.
    cluster = await startCluster(root, 6, process.env.WEFT_LOG_LEVEL ?? "fatal");
    counting = cluster.servers.map((server) => new CountingClient(server.url, SECRET));
  });

  after(async () => {
    await Promise.all((counting ?? []).map((client) => client.close()));
    if (cluster) await stopCluster(cluster);
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** 20 MiB in 20 stripes of 4 × 256 KiB, plus 2 parity units each. */
  async function twentyMiB(rotate: number, layout?: StripeLayout): Promise<StoredObject> {
    const size = 20 * MiB;
    return writeObject(cluster, randomBytes(size), layout ?? chooseLayout(size, 4, 2, 256 * KiB), rotate);
  }

  async function datafilePath(stored: StoredObject, slot: number): Promise<string> {
    const path = await blobFile(cluster.servers[stored.serverOf[slot]].dir, stored.part.datafiles[slot].blobId);
    assert.ok(path, `slot ${slot}'s datafile is on disk`);
    return path;
  }

  /** Flips one byte of `slot`'s unit in `stripe`, so the block holding it fails its checksum. */
  async function damage(stored: StoredObject, slot: number, stripe: number, offsetInUnit = 1000): Promise<void> {
    await flipByte(await datafilePath(stored, slot), stripe * stored.part.layout.unit + offsetInUnit);
  }

  function counted(stored: StoredObject): StoredPart {
    return withClients(stored.part, (slot) => counting[stored.serverOf[slot]]);
  }

  function getsSoFar(): number {
    return counting.reduce((sum, client) => sum + client.gets, 0);
  }

  async function readWhole(part: StoredPart, failed: number[] = []): Promise<Buffer> {
    return readRange([part], 0, part.layout.size - 1, { onSlotFailure: ({ slot }) => failed.push(slot) });
  }

  it("sends one GET per data slot, and no more, when nothing fails", async () => {
    const stored = await twentyMiB(0);
    const before = getsSoFar();
    assert.ok((await readWhole(counted(stored))).equals(stored.data));
    assert.equal(getsSoFar() - before, 4);
  });

  it("reads correct bytes with one damaged block in each of three stripes, each on another slot", async () => {
    const stored = await twentyMiB(1);
    await damage(stored, 0, 2);
    await damage(stored, 1, 8);
    await damage(stored, 2, 14);
    const failed: number[] = [];
    const before = getsSoFar();
    assert.ok((await readWhole(counted(stored), failed)).equals(stored.data), "whole object");
    assert.deepEqual([...new Set(failed)].sort(), [0, 1, 2]);
    // Each failure costs a failed GET, a rebuilt stripe or few and fresh GETs for the rest: a bounded few.
    const gets = getsSoFar() - before;
    assert.ok(gets <= 4 + failed.length * 10, `${gets} GETs for ${failed.length} failures`);
    await assertReadsCorrectly([stored.part], stored.data, 11, 12);
  });

  it("reads correct bytes when the damaged stripes are next to each other", async () => {
    // Stripes 4, 5 and 6 of slots 2, 0 and 3: an ioserver verifies a few blocks ahead of what it has sent, so a
    // failure seen in one stripe may come from the next; every stripe still has five good slots.
    const stored = await twentyMiB(2);
    await damage(stored, 2, 4, 5);
    await damage(stored, 0, 5, 200 * KiB);
    await damage(stored, 3, 6, 0);
    // And two parity units, in stripes that lost nothing else.
    await damage(stored, 4, 1);
    await damage(stored, 5, 19);
    assert.ok((await readWhole(stored.part)).equals(stored.data));
    await assertReadsCorrectly([stored.part], stored.data, 12, 12);
  });

  it("reads correct bytes with two damaged slots in one stripe and more damage elsewhere", async () => {
    const stored = await twentyMiB(3);
    await damage(stored, 1, 5);
    await damage(stored, 3, 5, 100 * KiB);
    await damage(stored, 0, 9);
    await damage(stored, 4, 9); // a data and a parity unit of one stripe: the other parity must serve
    await damage(stored, 2, 12);
    await damage(stored, 0, 13);
    await damage(stored, 5, 13);
    const failed: number[] = [];
    assert.ok((await readWhole(stored.part, failed)).equals(stored.data), "whole object");
    assert.ok(failed.length > 0);
    await assertReadsCorrectly([stored.part], stored.data, 13, 12);
  });

  it("reads correct bytes with a 64 KiB unit, where every damaged block is a whole unit", async () => {
    const size = 20 * MiB;
    const stored = await twentyMiB(4, { size, unit: 64 * KiB, k: 4, m: 2 });
    for (const [slot, stripe] of [
      [0, 3],
      [1, 3],
      [2, 4],
      [3, 5],
      [5, 5],
      [0, 40],
      [3, 41],
      [1, 79],
    ]) {
      await damage(stored, slot, stripe, 7);
    }
    assert.ok((await readWhole(stored.part)).equals(stored.data));
    await assertReadsCorrectly([stored.part], stored.data, 14, 10);
  });

  it("serves ranges that start, end or lie inside damaged units", async () => {
    const stored = await twentyMiB(5);
    const { unit } = stored.part.layout;
    const stripeSize = 4 * unit;
    await damage(stored, 1, 3, 300);
    await damage(stored, 2, 3, 9);
    await damage(stored, 3, 7, 70 * KiB);
    await damage(stored, 0, 10, 0);
    // The object offset of a damaged byte: stripe, slot, offset in the unit.
    const at = (stripe: number, slot: number, offset: number) => stripe * stripeSize + slot * unit + offset;
    const ranges: [number, number][] = [
      [at(3, 1, 300), at(3, 1, 300)],
      [at(3, 1, 0), at(3, 2, unit - 1)],
      [at(3, 0, 17), at(7, 3, 70 * KiB + 1)],
      [at(3, 2, 9) - 5, at(10, 0, 0) + 5],
      [at(7, 3, 70 * KiB), stored.data.length - 1],
      [0, at(10, 0, 10)],
      [at(2, 3, unit - 10), at(4, 0, 10)],
      [at(10, 0, 0), at(10, 0, 0)],
    ];
    for (const [start, end] of ranges) {
      const bytes = await readRange([stored.part], start, end);
      assert.ok(bytes.equals(stored.data.subarray(start, end + 1)), `bytes ${start}-${end}`);
    }
  });

  it("fails, never with a wrong byte, when three slots of one stripe are damaged", async () => {
    const stored = await twentyMiB(0);
    await damage(stored, 0, 6);
    await damage(stored, 2, 6, 50 * KiB);
    await damage(stored, 5, 6);
    await damage(stored, 1, 2); // recoverable damage before it
    const stripe6 = 6 * 4 * stored.part.layout.unit;
    for (const [start, end] of [
      [0, stored.data.length - 1],
      [stripe6 + 500, stripe6 + 600],
      [3 * MiB + 5, 15 * MiB],
    ]) {
      const result = await readPrefix([stored.part], stored.data, start, end);
      assert.ok(result.error instanceof DataUnavailableError, `${start}-${end}: ${String(result.error)}`);
      assert.ok(result.bytes < end - start + 1);
    }
    // The bytes around the lost stripe read as usual.
    assert.ok((await readRange([stored.part], 0, stripe6 - 1)).equals(stored.data.subarray(0, stripe6)));
    const after = stripe6 + 4 * stored.part.layout.unit;
    assert.ok((await readRange([stored.part], after, stored.data.length - 1)).equals(stored.data.subarray(after)));
  });

  it("spends a logarithmic number of failed GETs on a slot that fails in every stripe", async () => {
    const stored = await twentyMiB(1);
    const path = await datafilePath(stored, 1);
    const length = datafileLength(stored.part.layout, 1);
    for (let offset = 0; offset < length; offset += CHECKSUM_BLOCK_SIZE) await flipByte(path, offset + 3);
    const failed: number[] = [];
    assert.ok((await readWhole(stored.part, failed)).equals(stored.data));
    // 20 stripes: rests of 1, 2, 4, 8 and 16 stripes cover them after five failures.
    assert.ok(failed.length <= 6, `slot 1 failed ${failed.length} times`);
  });

  it("gives a slot up for the part at once when its datafile is missing or its server does not answer", async () => {
    const stored = await twentyMiB(2);
    await unlink(await datafilePath(stored, 3));
    const dead = new IoClient("http://127.0.0.1:1", SECRET); // nothing listens on port 1
    try {
      const part = withClients(stored.part, (slot) => (slot === 0 ? dead : cluster.clients[stored.serverOf[slot]]));
      const failed: number[] = [];
      assert.ok((await readWhole(part, failed)).equals(stored.data));
      assert.deepEqual(failed.sort(), [0, 3]);
    } finally {
      await dead.close();
    }
    // With both parity servers down as well, slot 3's units are lost: found while opening, before any byte.
    const unit = stored.part.layout.unit;
    const part = withClients(stored.part, (slot) => (slot >= 4 ? undefined : cluster.clients[stored.serverOf[slot]]));
    await assert.rejects(openStripedRead([part], 3 * unit, 3 * unit + 10), DataUnavailableError);
    assert.ok((await readRange([part], 0, 3 * unit - 1)).equals(stored.data.subarray(0, 3 * unit)));
  });
});
