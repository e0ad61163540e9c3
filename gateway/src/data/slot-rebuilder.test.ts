// Rebuilding lost slots against real ioserver processes: a rebuilt datafile must equal, byte for byte (same length
// and CRC32C), the one the writer stored for that slot, for data and parity slots, short last stripes, replicated
// parts; a failing source or target must leave no datafile behind.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IoClient } from "../../../ioserver/src/client.js";
import { spawnIoServer, type IoServerProcess } from "../../../ioserver/src/spawn.js";
import { chooseLayout, type StripeLayout } from "./layout.js";
import { RebuildSourceError, rebuildSlots, type SlotEndpoint } from "./slot-rebuilder.js";
import { StripeWriteError, writeStriped, type WrittenDatafile } from "./striper.js";

const SECRET = "rebuild-test-secret";
const KiB = 1024;
const MiB = 1024 * KiB;

describe("rebuildSlots (six real ioservers)", function () {
  this.timeout(120_000);
  let root: string;
  let servers: IoServerProcess[];
  let clients: IoClient[];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "weft-rebuild-"));
    servers = await Promise.all(Array.from({ length: 6 }, (_, index) => spawnIoServer({ dir: join(root, `disk-${index}`), secret: SECRET })));
    clients = servers.map((server) => new IoClient(server.url, SECRET));
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all(servers.map((server) => server.stop()));
    await rm(root, { recursive: true, force: true });
  });

  async function stored(layout: StripeLayout): Promise<{ endpoints: SlotEndpoint[]; written: WrittenDatafile[] }> {
    const endpoints = Array.from({ length: layout.k + layout.m }, (_, slot) => ({ slot, blobId: randomUUID(), client: clients[slot]! }));
    async function* body() {
      yield randomBytes(layout.size);
    }
    const written = await writeStriped(body(), layout, endpoints);
    return { endpoints, written };
  }

  /** Rebuilds `lost` from `from` onto new datafiles on the next server along, and checks them against the originals. */
  async function expectRebuilt(layout: StripeLayout, from: number[], lost: number[]): Promise<void> {
    const { endpoints, written } = await stored(layout);
    const targets = lost.map((slot) => ({ slot, blobId: randomUUID(), client: clients[(slot + 1) % clients.length]! }));
    const rebuilt = await rebuildSlots(layout, from.map((slot) => endpoints[slot]!), targets);
    assert.deepEqual(
      rebuilt,
      lost.map((slot) => written[slot]),
    );
    for (const target of targets) {
      const head = await target.client.headBlob(target.blobId);
      assert.equal(head?.crc32c, written[target.slot]!.crc32c);
    }
  }

  it("rebuilds a data slot and a parity slot of a part of many stripes with a short last one", async () => {
    await expectRebuilt(chooseLayout(5 * MiB + 4321, 4, 2, 256 * KiB), [0, 2, 3, 4], [1, 5]);
  });

  it("rebuilds two data slots from parity", async () => {
    await expectRebuilt(chooseLayout(3 * MiB + 17, 4, 2, 256 * KiB), [1, 3, 4, 5], [0, 2]);
  });

  it("rebuilds a single-stripe part whose slots differ in length", async () => {
    const layout = chooseLayout(300 * KiB + 5, 4, 2, 256 * KiB);
    assert.equal(layout.size <= layout.k * layout.unit, true);
    await expectRebuilt(layout, [1, 2, 3, 5], [0, 4]);
  });

  it("rebuilds a replicated part's data slot from a copy, and a copy from the data slot", async () => {
    const layout = chooseLayout(40 * KiB + 3, 4, 2, 256 * KiB, 64 * KiB);
    assert.equal(layout.k, 1);
    await expectRebuilt(layout, [2], [0]);
    await expectRebuilt(layout, [0], [1, 2]);
  });

  it("names the source that failed, and leaves no rebuilt datafile", async () => {
    const layout = chooseLayout(2 * MiB, 4, 2, 256 * KiB);
    const { endpoints } = await stored(layout);
    const missingSource = { ...endpoints[3]!, blobId: randomUUID() }; // no such datafile
    const target = { slot: 1, blobId: randomUUID(), client: clients[2]! };
    await assert.rejects(
      rebuildSlots(layout, [endpoints[0]!, endpoints[2]!, missingSource, endpoints[4]!], [target]),
      (error) => error instanceof RebuildSourceError && error.slot === 3,
    );
    assert.equal(await target.client.headBlob(target.blobId), undefined);
  });

  it("fails with the target that could not be written", async () => {
    const layout = chooseLayout(2 * MiB, 4, 2, 256 * KiB);
    const { endpoints } = await stored(layout);
    const unreachable = new IoClient("http://127.0.0.1:1", SECRET);
    try {
      await assert.rejects(
        rebuildSlots(layout, [endpoints[0]!, endpoints[2]!, endpoints[3]!, endpoints[4]!], [{ slot: 1, blobId: randomUUID(), client: unreachable }]),
        (error) => error instanceof StripeWriteError && error.slot === 1,
      );
    } finally {
      await unreachable.close();
    }
  });
});
