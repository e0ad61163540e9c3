// Degraded writes against real ioserver processes: writeStriped stores a part without the slots whose server is
// missing or fails on the way, as long as `minSlots` remain, and the part reads back whole from what was written.
import assert from "node:assert/strict";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IoClient } from "../../../ioserver/src/client.js";
import { spawnIoServer, type IoServerProcess } from "../../../ioserver/src/spawn.js";
import { chooseLayout, datafileLength, type StripeLayout } from "./layout.js";
import { DataUnavailableError, openStripedRead, type StoredPart } from "./stripe-reader.js";
import { StripeWriteError, writeStriped, type SlotTarget, type WrittenDatafile } from "./striper.js";

const SECRET = "degraded-write-secret";
const KiB = 1024;
const MiB = 1024 * KiB;

async function* inPieces(bytes: Buffer, pieceSize = 200 * KiB): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < bytes.length; offset += pieceSize) yield bytes.subarray(offset, offset + pieceSize);
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

describe("writeStriped with missing and failing slots (six real ioservers)", function () {
  this.timeout(120_000);
  let root: string;
  let servers: IoServerProcess[];
  let clients: IoClient[];
  const unreachable = new IoClient("http://127.0.0.1:1", SECRET); // nothing listens on port 1
  const layout = chooseLayout(6 * MiB + 12_345, 4, 2, 256 * KiB, 64 * KiB);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "weft-degraded-write-"));
    servers = await Promise.all(Array.from({ length: 6 }, (_, index) => spawnIoServer({ dir: join(root, `disk-${index}`), secret: SECRET })));
    clients = servers.map((server) => new IoClient(server.url, SECRET));
  });

  after(async () => {
    await unreachable.close();
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all(servers.map((server) => server.stop()));
    await rm(root, { recursive: true, force: true });
  });

  function targets(slots: number[], client = (slot: number) => clients[slot]): SlotTarget[] {
    return slots.map((slot) => ({ slot, client: client(slot), blobId: randomUUID() }));
  }

  /** The part as a reader sees it: the written slots, the others absent (no client). */
  function storedPart(shape: StripeLayout, written: WrittenDatafile[], used: SlotTarget[]): StoredPart {
    return {
      layout: shape,
      datafiles: Array.from({ length: shape.k + shape.m }, (_, slot) => {
        const ok = written.find((datafile) => datafile.slot === slot);
        const target = used.find((candidate) => candidate.slot === slot)!;
        return { slot, blobId: target?.blobId ?? "", length: datafileLength(shape, slot), client: ok ? target.client : undefined };
      }),
    };
  }

  async function readAll(part: StoredPart): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await openStripedRead([part], 0, part.layout.size - 1)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  it("goes on without a slot whose ioserver is unreachable, reports it, and the part reads back whole", async () => {
    const data = randomBytes(layout.size);
    const used = targets([0, 1, 2, 3, 4, 5], (slot) => (slot === 2 ? unreachable : clients[slot]));
    const failures: StripeWriteError[] = [];
    const written = await writeStriped(inPieces(data), layout, used, { minSlots: 5, onSlotFailure: (failure) => failures.push(failure) });
    assert.deepEqual(written.map((datafile) => datafile.slot), [0, 1, 3, 4, 5]);
    assert.deepEqual(failures.map((failure) => failure.slot), [2]);
    const part = storedPart(layout, written, used);
    assert.equal(sha256(await readAll(part)), sha256(data));
    // Still whole with one more slot gone: the acknowledged part kept one disk of margin.
    part.datafiles[5] = { ...part.datafiles[5], client: undefined };
    assert.equal(sha256(await readAll(part)), sha256(data));
  });

  it("writes only the slots it has targets for", async () => {
    const data = randomBytes(layout.size);
    const used = targets([0, 1, 2, 3, 4]);
    const written = await writeStriped(inPieces(data), layout, used, { minSlots: 5 });
    assert.deepEqual(written.map((datafile) => datafile.slot), [0, 1, 2, 3, 4]);
    assert.equal(sha256(await readAll(storedPart(layout, written, used))), sha256(data));
  });

  it("fails with the slot that broke the quorum and leaves no datafile behind", async () => {
    const used = targets([0, 1, 2, 3, 4, 5], (slot) => (slot === 1 || slot === 4 ? unreachable : clients[slot]));
    await assert.rejects(
      writeStriped(inPieces(randomBytes(layout.size)), layout, used, { minSlots: 5 }),
      (error) => error instanceof StripeWriteError && (error.slot === 1 || error.slot === 4),
    );
    for (const target of used.filter((candidate) => candidate.client !== unreachable)) {
      assert.equal(await target.client.headBlob(target.blobId), undefined, `slot ${target.slot} was stored`);
    }
  });

  it("refuses fewer targets than minSlots before sending anything", async () => {
    await assert.rejects(writeStriped(inPieces(randomBytes(layout.size)), layout, targets([0, 1, 2, 3]), { minSlots: 5 }), RangeError);
  });

  it("keeps a replicated part with one copy lost", async () => {
    const small = chooseLayout(40 * KiB, 4, 2, 256 * KiB, 64 * KiB);
    assert.equal(small.k, 1);
    const data = randomBytes(small.size);
    const used = targets([0, 1, 2], (slot) => (slot === 0 ? unreachable : clients[slot]));
    const written = await writeStriped(inPieces(data), small, used, { minSlots: 2 });
    assert.deepEqual(written.map((datafile) => datafile.slot), [1, 2]);
    assert.equal(sha256(await readAll(storedPart(small, written, used))), sha256(data));
  });

  it("goes on when an ioserver dies mid-write, and a body of unknown length learns its slots' lengths", async () => {
    const victimDir = join(root, "victim");
    const victim = await spawnIoServer({ dir: victimDir, secret: SECRET });
    const victimClient = new IoClient(victim.url, SECRET);
    try {
      const data = randomBytes(24 * MiB + 777);
      const shape = chooseLayout(64 * MiB, 4, 2, 256 * KiB, -1);
      const used = targets([0, 1, 2, 3, 4, 5], (slot) => (slot === 3 ? victimClient : clients[slot]));
      async function* killingSource(): AsyncGenerator<Buffer> {
        let sent = 0;
        for await (const piece of inPieces(data, MiB)) {
          if (sent === 4 * MiB) victim.kill();
          sent += piece.length;
          yield piece;
        }
      }
      const written = await writeStriped(killingSource(), shape, used, { minSlots: 5, sizeIsLimit: true });
      assert.deepEqual(written.map((datafile) => datafile.slot), [0, 1, 2, 4, 5]);
      const actual = { ...shape, size: data.length };
      for (const datafile of written) assert.equal(datafile.length, datafileLength(actual, datafile.slot));
      const read = await readAll(storedPart(actual, written, used));
      assert.equal(sha256(read), sha256(data));
    } finally {
      await victimClient.close();
      await victim.stop();
    }
  });

  it("a part missing three of its six slots fails the read, never with wrong bytes", async () => {
    const data = randomBytes(layout.size);
    const used = targets([0, 1, 2, 3, 4]);
    const written = await writeStriped(inPieces(data), layout, used, { minSlots: 5 });
    const part = storedPart(layout, written, used);
    part.datafiles[0] = { ...part.datafiles[0], client: undefined };
    part.datafiles[3] = { ...part.datafiles[3], client: undefined };
    await assert.rejects(readAll(part), DataUnavailableError);
  });
});
