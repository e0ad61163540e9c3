// Shared by the stripe engine's tests (stripe-io.test.ts, stripe-reader-retry.test.ts): real ioserver processes on
// temp dirs, objects written with writeStriped, reads checked byte for byte, datafiles found and damaged on disk.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { open, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { crc32c } from "@node-rs/crc32";
import { IoClient } from "../../../ioserver/src/client.js";
import { spawnIoServer, type IoServerProcess } from "../../../ioserver/src/spawn.js";
import { datafileLength, locate, type StripeLayout } from "./layout.js";
import { openStripedRead, type StoredPart, type StripedReadOptions } from "./stripe-reader.js";
import { writeStriped, type SlotTarget } from "./striper.js";
import { prng } from "../../../conformance/support/prng.js";

export const SECRET = "stripe-test-secret";
export const KiB = 1024;
export const MiB = 1024 * KiB;


/** Yields `bytes` in pieces of random sizes, from single bytes to a few hundred KiB. */
export async function* pieces(bytes: Buffer, seed = 7): AsyncGenerator<Uint8Array> {
  const random = prng(seed);
  let offset = 0;
  while (offset < bytes.length) {
    const roll = random();
    const size = roll < 0.1 ? 1 + Math.floor(random() * 16) : roll < 0.6 ? 1 + Math.floor(random() * 64 * KiB) : 1 + Math.floor(random() * 400 * KiB);
    // Plain Uint8Array views too: the source is any AsyncIterable<Uint8Array>.
    const piece = bytes.subarray(offset, offset + size);
    yield random() < 0.5 ? piece : new Uint8Array(piece.buffer, piece.byteOffset, piece.length);
    offset += size;
  }
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function crcHex(bytes: Buffer): string {
  return (crc32c(bytes) >>> 0).toString(16).padStart(8, "0");
}

export interface Cluster {
  servers: IoServerProcess[];
  clients: IoClient[];
}

/** `logLevel`: the ioservers' pino level, e.g. "fatal" for tests that make them log every checksum failure. */
export async function startCluster(root: string, count: number, logLevel?: string): Promise<Cluster> {
  const servers = await Promise.all(Array.from({ length: count }, (_, index) => spawnIoServer({ dir: join(root, `disk-${index}`), secret: SECRET, logLevel })));
  return { servers, clients: servers.map((server) => new IoClient(server.url, SECRET)) };
}

export async function stopCluster(cluster: Cluster): Promise<void> {
  await Promise.all(cluster.clients.map((client) => client.close()));
  await Promise.all(cluster.servers.map((server) => server.stop()));
}

export interface StoredObject {
  data: Buffer;
  part: StoredPart;
  /** Server index of each slot. */
  serverOf: number[];
}

/** Writes `data` with slot i on server (i + rotate) mod servers, and checks what writeStriped reports. */
export async function writeObject(cluster: Cluster, data: Buffer, layout: StripeLayout, rotate = 0): Promise<StoredObject> {
  const width = layout.k + layout.m;
  const serverOf = Array.from({ length: width }, (_, slot) => (slot + rotate) % cluster.servers.length);
  const targets: SlotTarget[] = serverOf.map((server, slot) => ({ slot, client: cluster.clients[server], blobId: randomUUID() }));
  const written = await writeStriped(pieces(data, data.length), layout, targets, { requestId: "test-write" });
  assert.equal(written.length, width);
  for (const [slot, result] of written.entries()) {
    assert.equal(result.slot, slot);
    assert.equal(result.length, datafileLength(layout, slot));
  }
  // Data slots hold exactly the object's bytes in layout order.
  for (let slot = 0; slot < layout.k; slot++) {
    const expected = Buffer.alloc(datafileLength(layout, slot));
    for (let b = 0; b < data.length; b++) {
      const where = locate(layout, b);
      if (where.slot === slot) expected[where.local] = data[b];
    }
    assert.equal(written[slot].crc32c, crcHex(expected), `slot ${slot} checksum`);
  }
  return {
    data,
    serverOf,
    part: {
      layout,
      datafiles: targets.map(({ slot, client, blobId }) => ({ slot, client, blobId, length: datafileLength(layout, slot) })),
    },
  };
}

export function withClients(part: StoredPart, clientOf: (slot: number) => IoClient | undefined): StoredPart {
  return { layout: part.layout, datafiles: part.datafiles.map((datafile) => ({ ...datafile, client: clientOf(datafile.slot) })) };
}

export async function readRange(parts: StoredPart[], start: number, end: number, options?: StripedReadOptions): Promise<Buffer> {
  return collect(await openStripedRead(parts, start, end, options));
}

/** Whole object, edges, and random ranges: each must equal the original bytes. */
export async function assertReadsCorrectly(parts: StoredPart[], data: Buffer, seed: number, ranges = 8): Promise<void> {
  if (data.length === 0) {
    assert.equal((await readRange(parts, 0, -1)).length, 0);
    return;
  }
  const random = prng(seed);
  const checks: [number, number][] = [
    [0, data.length - 1],
    [0, 0],
    [data.length - 1, data.length - 1],
  ];
  for (let index = 0; index < ranges; index++) {
    const start = Math.floor(random() * data.length);
    const length = random() < 0.5 ? 1 + Math.floor(random() * 100 * KiB) : 1 + Math.floor(random() * data.length);
    checks.push([start, Math.min(data.length - 1, start + length - 1)]);
  }
  for (const [start, end] of checks) {
    const bytes = await readRange(parts, start, end);
    assert.equal(bytes.length, end - start + 1, `length of ${start}-${end}`);
    assert.ok(bytes.equals(data.subarray(start, end + 1)), `bytes ${start}-${end} differ`);
  }
}

export async function blobFile(dir: string, id: string): Promise<string | undefined> {
  for (const fanout of await readdir(join(dir, "blobs"))) {
    const entries = await readdir(join(dir, "blobs", fanout));
    if (entries.includes(id)) return join(dir, "blobs", fanout, id);
  }
  return undefined;
}

export async function flipByte(path: string, position: number): Promise<void> {
  const handle = await open(path, "r+");
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, position);
    byte[0] ^= 0x5a;
    await handle.write(byte, 0, 1, position);
  } finally {
    await handle.close();
  }
}

/** Reads until the stream ends or errors; every byte that did arrive must be right. */
export async function readPrefix(parts: StoredPart[], data: Buffer, start: number, end: number): Promise<{ bytes: number; error?: unknown }> {
  let stream: Readable;
  try {
    stream = await openStripedRead(parts, start, end);
  } catch (error) {
    return { bytes: 0, error };
  }
  let offset = start;
  try {
    for await (const chunk of stream) {
      assert.ok((chunk as Buffer).equals(data.subarray(offset, offset + chunk.length)), `wrong bytes at ${offset}`);
      offset += chunk.length;
    }
  } catch (error) {
    return { bytes: offset - start, error };
  }
  return { bytes: offset - start };
}
