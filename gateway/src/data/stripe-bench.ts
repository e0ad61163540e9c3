// Throughput of the stripe engine alone: writes and reads one object through six local ioservers.
//   node --import tsx gateway/src/data/stripe-bench.ts [sizeMiB=256] [unitKiB=1024] [k=4] [m=2] [dir=os tmpdir]
// Prints wall-clock MB/s and this process's CPU seconds (the ioservers are separate processes).
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IoClient } from "../../../ioserver/src/client.js";
import { spawnIoServer } from "../../../ioserver/src/spawn.js";
import { chooseLayout, datafileLength } from "./layout.js";
import { openStripedRead, type StoredPart } from "./stripe-reader.js";
import { writeStriped } from "./striper.js";

const MiB = 1024 * 1024;
const [sizeMiB = "256", unitKiB = "1024", kText = "4", mText = "2", dir = tmpdir()] = process.argv.slice(2);
const size = Number(sizeMiB) * MiB;
const k = Number(kText);
const m = Number(mText);
const secret = "stripe-bench";

const root = await mkdtemp(join(dir, "weft-stripe-bench-"));
const servers = await Promise.all(Array.from({ length: k + m }, (_, index) => spawnIoServer({ dir: join(root, `disk-${index}`), secret })));
const clients = servers.map((server) => new IoClient(server.url, secret));
const pattern = randomBytes(16 * MiB);
const chunkSize = 256 * 1024; // about what a Koa request body delivers per chunk

async function* body(): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < size; offset += chunkSize) {
    const at = offset % pattern.length;
    yield pattern.subarray(at, at + Math.min(chunkSize, size - offset));
  }
}

function report(what: string, started: number, cpu: NodeJS.CpuUsage): void {
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  console.log(`${what}: ${(size / seconds / 1e6).toFixed(0)} MB/s, gateway CPU ${((used.user + used.system) / 1e6).toFixed(2)} s`);
}

try {
  const layout = chooseLayout(size, k, m, Number(unitKiB) * 1024);
  console.log(`${sizeMiB} MiB, ${k}+${m}, unit ${layout.unit / 1024} KiB, ioservers on ${root}`);
  for (let round = 0; round < 2; round++) {
    const targets = clients.map((client, slot) => ({ slot, client, blobId: randomUUID() }));
    let started = performance.now();
    let cpu = process.cpuUsage();
    await writeStriped(body(), layout, targets);
    report("  write", started, cpu);
    const part: StoredPart = { layout, datafiles: targets.map(({ slot, client, blobId }) => ({ slot, client, blobId, length: datafileLength(layout, slot) })) };
    started = performance.now();
    cpu = process.cpuUsage();
    let read = 0;
    for await (const chunk of await openStripedRead([part], 0, size - 1)) read += (chunk as Buffer).length;
    if (read !== size) throw new Error(`read ${read} bytes`);
    report("  read ", started, cpu);
    await Promise.all(targets.map(({ client, blobId }) => client.deleteBlob(blobId)));
  }
} finally {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all(servers.map((server) => server.stop()));
  await rm(root, { recursive: true, force: true });
}
