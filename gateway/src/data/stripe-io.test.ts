// The stripe engine against real ioserver processes: write objects with writeStriped, read them back with
// openStripedRead, and break things (missing servers, deleted and corrupted datafiles, failing sources).
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pool } from "undici";
import { IoClient } from "../../../ioserver/src/client.js";
import { spawnIoServer } from "../../../ioserver/src/spawn.js";
import { chooseLayout, type StripeLayout } from "./layout.js";
import { DataUnavailableError, openStripedRead, type StoredPart } from "./stripe-reader.js";
import { LongBodyError, ShortBodyError, StripeWriteError, writeStriped, type SlotTarget } from "./striper.js";
import {
  assertReadsCorrectly,
  blobFile,
  flipByte,
  KiB,
  MiB,
  pieces,
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

describe("stripe engine with real ioservers", function () {
  this.timeout(180_000);
  let root: string;
  let cluster: Cluster;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "weft-stripe-"));
    cluster = await startCluster(root, 6);
  });

  after(async () => {
    if (cluster) await stopCluster(cluster);
    if (root) await rm(root, { recursive: true, force: true });
  });

  for (const unit of [MiB, 64 * KiB]) {
    const k = 4;
    const sizes = [0, 1, unit - 1, unit, k * unit + 3, 20 * MiB + 5];
    it(`round-trips 4+2 objects with unit ${unit / KiB} KiB: sizes ${sizes.join(", ")}`, async () => {
      for (const [index, size] of sizes.entries()) {
        const data = randomBytes(size);
        const stored = await writeObject(cluster, data, { size, unit, k, m: 2 }, index);
        await assertReadsCorrectly([stored.part], data, size);
      }
    });
  }

  it("round-trips other shapes: chosen layouts, replication, 2+1, no parity", async () => {
    const shapes: [number, number, number][] = [
      [1, 2, 64 * KiB],
      [2, 1, 64 * KiB],
      [3, 3, 64 * KiB],
      [5, 0, 64 * KiB],
      [4, 2, MiB],
    ];
    for (const [index, [k, m, defaultUnit]] of shapes.entries()) {
      for (const size of [5, 4096 * k + 1, 3 * MiB + 77]) {
        const data = randomBytes(size);
        const stored = await writeObject(cluster, data, chooseLayout(size, k, m, defaultUnit), index);
        await assertReadsCorrectly([stored.part], data, size + index, 4);
        // And with m slots lost, data slots first.
        const lost = Array.from({ length: m }, (_, lostIndex) => lostIndex);
        const degraded = withClients(stored.part, (slot) => (lost.includes(slot) ? undefined : cluster.clients[stored.serverOf[slot]]));
        await assertReadsCorrectly([degraded], data, size + index + 1, 3);
      }
    }
  });

  it("reads ranges across the parts of a multipart object", async () => {
    const sizes = [5 * MiB + 3, 1, 2 * MiB, 777 * KiB];
    const shapes: [number, number][] = [
      [4, 2],
      [1, 2],
      [2, 1],
      [4, 2],
    ];
    const data = randomBytes(sizes.reduce((sum, size) => sum + size, 0));
    const parts: StoredPart[] = [];
    let offset = 0;
    for (const [index, size] of sizes.entries()) {
      const [k, m] = shapes[index];
      const stored = await writeObject(cluster, data.subarray(offset, offset + size), chooseLayout(size, k, m, 256 * KiB), index);
      parts.push(stored.part);
      offset += size;
    }
    await assertReadsCorrectly(parts, data, 99, 12);
    const boundary = sizes[0];
    assert.ok((await readRange(parts, boundary - 2, boundary + 2)).equals(data.subarray(boundary - 2, boundary + 3)));
    // The last part lost three of its six slots: a read that reaches it fails up front, before any byte
    // (so the gateway can still answer 503); a read of the earlier parts is unaffected.
    const broken = [...parts.slice(0, 3), withClients(parts[3], (slot) => ([0, 1, 4].includes(slot) ? undefined : parts[3].datafiles[slot].client))];
    await assert.rejects(openStripedRead(broken, 0, data.length - 1), DataUnavailableError);
    assert.ok((await readRange(broken, 0, boundary + 10)).equals(data.subarray(0, boundary + 11)));
  });

  it("keeps a large write's memory to a few stripes", async () => {
    const size = 128 * MiB;
    const layout = chooseLayout(size, 4, 2, MiB);
    const pattern = randomBytes(4 * MiB);
    async function* repeated(): AsyncGenerator<Buffer> {
      for (let offset = 0; offset < size; offset += 256 * KiB) yield pattern.subarray(offset % pattern.length, (offset % pattern.length) + 256 * KiB);
    }
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 2);
    try {
      const targets = cluster.clients.map((client, slot) => ({ slot, client, blobId: randomUUID() }));
      await writeStriped(repeated(), layout, targets);
      await Promise.all(targets.map(({ client, blobId }) => client.deleteBlob(blobId)));
    } finally {
      clearInterval(sampler);
    }
    // Three stripe buffers of (4+2) × 1 MiB, plus what sockets and the HTTP client hold.
    assert.ok(peak - baseline < 32 * MiB, `peak external memory grew by ${((peak - baseline) / MiB).toFixed(1)} MiB`);
  });

  it("rejects ranges outside the object", async () => {
    const stored = await writeObject(cluster, randomBytes(100), chooseLayout(100, 4, 2, MiB));
    await assert.rejects(openStripedRead([stored.part], 0, 100), RangeError);
    await assert.rejects(openStripedRead([stored.part], -1, 5), RangeError);
    await assert.rejects(openStripedRead([stored.part], 50, 10), RangeError);
  });

  describe("with slots missing", () => {
    let stored64: StoredObject;
    let stored1m: StoredObject;
    before(async () => {
      stored64 = await writeObject(cluster, randomBytes(20 * MiB + 5), { size: 20 * MiB + 5, unit: 64 * KiB, k: 4, m: 2 });
      stored1m = await writeObject(cluster, randomBytes(20 * MiB + 5), chooseLayout(20 * MiB + 5, 4, 2, MiB), 3);
    });

    for (const missing of [
      [0, 1],
      [1, 3],
      [2, 5],
      [0, 4],
      [4, 5],
      [3],
    ]) {
      it(`reads every range with slots ${missing.join(" and ")} unknown`, async () => {
        for (const stored of [stored64, stored1m]) {
          const part = withClients(stored.part, (slot) => (missing.includes(slot) ? undefined : cluster.clients[stored.serverOf[slot]]));
          await assertReadsCorrectly([part], stored.data, missing[0] * 10 + (missing[1] ?? 0), 6);
        }
      });
    }

    it("reads every range when two data slots' datafiles are deleted on disk", async () => {
      const data = randomBytes(9 * MiB + 123);
      const stored = await writeObject(cluster, data, { size: data.length, unit: 256 * KiB, k: 4, m: 2 }, 1);
      for (const slot of [1, 2]) {
        const path = await blobFile(cluster.servers[stored.serverOf[slot]].dir, stored.part.datafiles[slot].blobId);
        assert.ok(path, "datafile on disk");
        await unlink(path);
      }
      const failures: number[] = [];
      const whole = await readRange([stored.part], 0, data.length - 1, { onSlotFailure: ({ slot }) => failures.push(slot) });
      assert.ok(whole.equals(data));
      assert.deepEqual([...new Set(failures)].sort(), [1, 2]);
      await assertReadsCorrectly([stored.part], data, 5);
    });

    it("reads correctly when a datafile has a corrupted byte (the ioserver cuts the stream)", async () => {
      const data = randomBytes(6 * MiB + 9);
      const layout: StripeLayout = { size: data.length, unit: 256 * KiB, k: 4, m: 2 };
      const stored = await writeObject(cluster, data, layout, 2);
      // Corrupt data slot 1 in its third unit and parity slot 4 somewhere else.
      const slotPath = await blobFile(cluster.servers[stored.serverOf[1]].dir, stored.part.datafiles[1].blobId);
      const parityPath = await blobFile(cluster.servers[stored.serverOf[4]].dir, stored.part.datafiles[4].blobId);
      await flipByte(slotPath!, 2 * layout.unit + 1000);
      await flipByte(parityPath!, 100);
      const failures: number[] = [];
      const whole = await readRange([stored.part], 0, data.length - 1, { onSlotFailure: ({ slot }) => failures.push(slot) });
      assert.ok(whole.equals(data), "whole object");
      assert.ok(failures.includes(1), "the corrupted slot was reported");
      await assertReadsCorrectly([stored.part], data, 17);
      // The corrupted unit itself, read on its own.
      const corruptedObjectOffset = 2 * 4 * layout.unit + layout.unit + 1000;
      assert.ok((await readRange([stored.part], corruptedObjectOffset - 10, corruptedObjectOffset + 10)).equals(data.subarray(corruptedObjectOffset - 10, corruptedObjectOffset + 11)));
    });

    it("fails with DataUnavailableError, never wrong bytes, when three slots are gone", async () => {
      for (const stored of [stored64, stored1m]) {
        const part = withClients(stored.part, (slot) => ([0, 2, 5].includes(slot) ? undefined : cluster.clients[stored.serverOf[slot]]));
        await assert.rejects(openStripedRead([part], 0, stored.data.length - 1), DataUnavailableError);
        await assert.rejects(openStripedRead([part], 5, 5), DataUnavailableError);
        // A range inside the surviving slot 1 needs no reconstruction and still reads.
        const unit = stored.part.layout.unit;
        assert.ok((await readRange([part], unit + 10, unit + 20)).equals(stored.data.subarray(unit + 10, unit + 21)));
      }
    });

    it("stops cleanly when the consumer destroys the stream mid-read", async () => {
      const running = () => cluster.clients.reduce((sum, client) => sum + (client as unknown as { pool: Pool }).pool.stats.running, 0);
      const stream = await openStripedRead([stored1m.part], 0, stored1m.data.length - 1, { readAhead: 256 * KiB });
      let seen = 0;
      let runningWhileReading = 0;
      for await (const chunk of stream) {
        seen += chunk.length;
        if (seen > 3 * MiB) {
          runningWhileReading = running();
          break; // destroys the stream
        }
      }
      assert.ok(stream.destroyed);
      assert.equal(runningWhileReading, 4, "one GET per data slot while reading");
      // Every upstream GET was aborted: no request is still running on any client's connection pool.
      for (let wait = 0; running() > 0 && wait < 50; wait++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(running(), 0);
      // The servers are still fine for the next request.
      await assertReadsCorrectly([stored1m.part], stored1m.data, 3, 2);
    });

    it("errors the stream when the caller's signal aborts mid-read", async () => {
      const controller = new AbortController();
      const stream = await openStripedRead([stored64.part], 0, stored64.data.length - 1, { signal: controller.signal });
      const result = (async () => {
        let offset = 0;
        for await (const chunk of stream) {
          assert.ok((chunk as Buffer).equals(stored64.data.subarray(offset, offset + chunk.length)));
          offset += chunk.length;
          if (offset > MiB) controller.abort(new Error("client went away"));
        }
        return offset;
      })();
      await assert.rejects(result, /client went away/);
    });
  });

  describe("writes that fail", () => {
    const layout: StripeLayout = { size: 5 * MiB + 11, unit: 256 * KiB, k: 4, m: 2 };

    async function targetsOn(servers: number[]): Promise<SlotTarget[]> {
      return servers.map((server, slot) => ({ slot, client: cluster.clients[server], blobId: randomUUID() }));
    }

    /** No ioserver may hold any of the datafiles (the server removes a failed upload's temp file). */
    async function assertNothingStored(targets: SlotTarget[]): Promise<void> {
      for (const target of targets) assert.equal(await target.client.headBlob(target.blobId), undefined, `slot ${target.slot} was stored`);
    }

    it("rejects with the source's own error when the source fails mid-way", async () => {
      const targets = await targetsOn([0, 1, 2, 3, 4, 5]);
      const failure = new Error("bad chunk signature");
      async function* source() {
        yield* pieces(randomBytes(3 * MiB));
        throw failure;
      }
      await assert.rejects(writeStriped(source(), layout, targets), (error) => error === failure);
      await assertNothingStored(targets);
    });

    it("commits nothing when the source fails after its last byte (e.g. a bad checksum trailer)", async () => {
      for (const size of [layout.size, 4 * 256 * KiB * 3, 10]) {
        const shape: StripeLayout = { ...layout, size };
        const targets = await targetsOn([5, 4, 3, 2, 1, 0]);
        const failure = new Error("x-amz-checksum-crc32 mismatch");
        async function* source() {
          yield* pieces(randomBytes(size));
          await new Promise((resolve) => setTimeout(resolve, 300)); // time for any eager ioserver to commit
          throw failure;
        }
        await assert.rejects(writeStriped(source(), shape, targets), (error) => error === failure);
        await assertNothingStored(targets);
      }
    });

    it("rejects with the signal's reason when the caller aborts mid-write", async () => {
      const targets = await targetsOn([0, 1, 2, 3, 4, 5]);
      const controller = new AbortController();
      const reason = new Error("client disconnected");
      async function* source() {
        yield randomBytes(2 * MiB);
        controller.abort(reason);
        yield randomBytes(MiB);
        await new Promise(() => {});
      }
      await assert.rejects(writeStriped(source(), layout, targets, { signal: controller.signal }), (error) => error === reason);
      await assertNothingStored(targets);
    });

    it("rejects short and long bodies with typed errors", async () => {
      const short = await targetsOn([0, 1, 2, 3, 4, 5]);
      await assert.rejects(writeStriped(pieces(randomBytes(layout.size - 1)), layout, short), (error) => error instanceof ShortBodyError && error.received === layout.size - 1);
      await assertNothingStored(short);
      const long = await targetsOn([0, 1, 2, 3, 4, 5]);
      await assert.rejects(writeStriped(pieces(randomBytes(layout.size + 1)), layout, long), LongBodyError);
      await assertNothingStored(long);
    });

    it("rejects with StripeWriteError naming the slot when an ioserver is unreachable, and aborts the rest", async () => {
      const targets = await targetsOn([0, 1, 2, 3, 4, 5]);
      const dead = new IoClient("http://127.0.0.1:1", SECRET); // nothing listens on port 1
      targets[3] = { ...targets[3], client: dead };
      await assert.rejects(writeStriped(pieces(randomBytes(layout.size)), layout, targets), (error) => error instanceof StripeWriteError && error.slot === 3);
      await dead.close();
      await assertNothingStored(targets.filter((target) => target.slot !== 3));
    });

    it("stops waiting for a stalled source as soon as an ioserver fails", async () => {
      const targets = await targetsOn([0, 1, 2, 3, 4, 5]);
      const dead = new IoClient("http://127.0.0.1:1", SECRET);
      targets[5] = { ...targets[5], client: dead };
      let stalled = false;
      async function* source() {
        yield randomBytes(MiB);
        stalled = true;
        await new Promise(() => {}); // a client that never sends the rest
      }
      const started = Date.now();
      await assert.rejects(writeStriped(source(), layout, targets), (error) => error instanceof StripeWriteError && error.slot === 5);
      assert.ok(stalled);
      assert.ok(Date.now() - started < 10_000, "gave up promptly");
      await dead.close();
    });
  });

  describe("when ioservers stop", () => {
    let spare: Cluster;
    before(async () => {
      spare = await startCluster(join(root, "spare"), 6);
    });
    after(async () => {
      if (spare) await stopCluster(spare);
    });

    it("reads every range with 2 of 6 servers stopped, fails cleanly with 3, and survives a server dying mid-read", async () => {
      const data = randomBytes(20 * MiB + 5);
      const stored = await writeObject(spare, data, chooseLayout(data.length, 4, 2, MiB));
      const bigUnit = await writeObject(spare, data, { size: data.length, unit: 64 * KiB, k: 4, m: 2 }, 2);

      // Dies while a read is streaming: slot 2's server (a data slot) is killed after the first MiB. The object is
      // large enough (20 MiB per slot) that the rest of slot 2 cannot already sit in socket buffers when it dies.
      const long = randomBytes(80 * MiB);
      const streamed = await writeObject(spare, long, chooseLayout(long.length, 4, 2, MiB));
      const failed: number[] = [];
      const stream = await openStripedRead([streamed.part], 0, long.length - 1, { onSlotFailure: ({ slot }) => failed.push(slot) });
      let killed = false;
      let offset = 0;
      for await (const chunk of stream) {
        assert.ok((chunk as Buffer).equals(long.subarray(offset, offset + chunk.length)), `wrong bytes at ${offset}`);
        offset += chunk.length;
        if (offset >= MiB && !killed) {
          killed = true;
          spare.servers[streamed.serverOf[2]].kill();
        }
      }
      assert.equal(offset, long.length);
      // Its stream is cut, and then its server refuses the next stripe: slot 2 may be reported more than once.
      assert.deepEqual([...new Set(failed)], [2], "the read switched to reconstruction when slot 2 died");

      await spare.servers[stored.serverOf[5]].stop();
      await assertReadsCorrectly([stored.part], data, 1);
      await assertReadsCorrectly([bigUnit.part], data, 2);

      await spare.servers[stored.serverOf[0]].stop();
      for (const part of [stored.part, bigUnit.part]) {
        // The lost slots are found while opening (every GET must answer before the first byte), so the
        // read fails up front; readPrefix would also catch any wrong byte had one been emitted.
        for (const [start, end] of [
          [0, data.length - 1],
          [3 * MiB + 7, 9 * MiB],
        ]) {
          const result = await readPrefix([part], data, start, end);
          assert.ok(result.error instanceof DataUnavailableError, `three lost slots fail the read of ${start}-${end}: ${String(result.error)}`);
          assert.equal(result.bytes, 0);
        }
      }
    });

    it("errors the stream, after only correct bytes, when three servers die mid-read", async () => {
      // Bring the servers of the previous test back (same folders, new ports).
      for (const [index, server] of spare.servers.entries()) {
        if (await spare.clients[index].health().then(() => true, () => false)) continue;
        await spare.clients[index].close();
        spare.servers[index] = await spawnIoServer({ dir: server.dir, secret: SECRET });
        spare.clients[index] = new IoClient(spare.servers[index].url, SECRET);
      }
      // 24 MiB per slot: far more than socket buffers can hold, so the kills land while data is still unsent.
      const data = randomBytes(96 * MiB);
      const stored = await writeObject(spare, data, { size: data.length, unit: 256 * KiB, k: 4, m: 2 });
      const stream = await openStripedRead([stored.part], 0, data.length - 1, { readAhead: 256 * KiB });
      let offset = 0;
      let killed = false;
      const outcome = await (async () => {
        for await (const chunk of stream) {
          assert.ok((chunk as Buffer).equals(data.subarray(offset, offset + chunk.length)), `wrong bytes at ${offset}`);
          offset += chunk.length;
          if (offset >= 2 * MiB && !killed) {
            killed = true;
            for (const slot of [0, 2, 5]) spare.servers[stored.serverOf[slot]].kill();
          }
        }
        return "ended";
      })().catch((error: unknown) => error);
      assert.ok(outcome instanceof DataUnavailableError, `expected DataUnavailableError, got ${String(outcome)}`);
      assert.ok(offset < data.length, "the stream did not end cleanly");
    });
  });
});
