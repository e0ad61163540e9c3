// The ceilings of the benchmark's large-object figures: what this machine allows one stream of bytes through MD5, a
// socket, a relay, the disk and a least-work 4+2 striping gateway, each with the whole machine's CPU per GiB while it
// ran. The stand-in servers run in processes of their own (bench/ceiling-servers.ts). Used by run.ts.
import { createHash } from "node:crypto";
import { fork } from "node:child_process";
import { mkdir, open, rm } from "node:fs/promises";
import { join } from "node:path";
import { request } from "undici";
import { DatafileWriter, supportsDirectIo } from "../ioserver/src/direct-io.js";
import { NODE_FLAGS, withMallocTunables } from "../ioserver/src/spawn.js";
import { dropCaches } from "./durability.js";
import { agent, block, cpuSeconds, machineCpu, zeros } from "./s3-requests.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** One sample of a ceiling: the rate, and what the whole machine's CPU spent per GiB of object meanwhile. */
export interface CeilingSample {
  rate: number;
  cpuPerGiB: number;
  busyShare: number;
  /** CPU seconds per GB (10^9 bytes) of object of the stand-in servers alone, as the cluster's figures count it. */
  serverCpuPerGB?: number;
}

/**
 * Times `run`, which moves `bytes` of object, and reads the whole machine's CPU over the same interval (servers are
 * started before and stopped after it): an object path that needs more CPU per GiB than two cores give per second
 * cannot reach the rate, whatever its design.
 */
export async function measureCeiling(bytes: number, run: () => Promise<unknown>, serverPids: number[] = []): Promise<CeilingSample> {
  const serverCpu = async () => (await Promise.all(serverPids.map(cpuSeconds))).reduce((a, b) => a + b, 0);
  const serversBefore = await serverCpu();
  const before = await machineCpu();
  const started = performance.now();
  await run();
  const seconds = (performance.now() - started) / 1000;
  const after = await machineCpu();
  const busy = after.busy - before.busy;
  const sample: CeilingSample = { rate: bytes / MiB / seconds, cpuPerGiB: busy / (bytes / GiB), busyShare: busy / (busy + after.idle - before.idle) };
  if (serverPids.length > 0) sample.serverCpuPerGB = ((await serverCpu()) - serversBefore) / (bytes / 1e9);
  return sample;
}

export async function md5Ceiling(): Promise<CeilingSample> {
  return measureCeiling(GiB, async () => {
    const hash = createHash("md5");
    for (let done = 0; done < GiB; done += MiB) hash.update(block);
    hash.digest();
  });
}

/** Starts a stand-in server of bench/ceiling-servers.ts in its own process, tuned as the gateway and ioservers are. */
export async function startCeilingServer(role: string, arg: string): Promise<{ url: string; pid: number; stop: () => void }> {
  const child = fork(new URL("./ceiling-servers.ts", import.meta.url).pathname, [role, arg], {
    execArgv: [...NODE_FLAGS, "--import", "tsx"],
    env: withMallocTunables(process.env),
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (message) => resolve(message as number));
    child.once("exit", (code) => reject(new Error(`ceiling server ${role} exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => child.kill() };
}

export async function loopbackCeiling(): Promise<CeilingSample> {
  const server = await startCeilingServer("origin", "0");
  try {
    return await measureCeiling(GiB, async () => {
      const response = await request(`${server.url}/`, { method: "PUT", body: zeros(GiB) as never, headers: { "content-length": String(GiB) }, dispatcher: agent });
      await response.body.text();
    });
  } finally {
    server.stop();
  }
}

/**
 * A GET of 1 GiB through a relay that does nothing but pass the bytes on (client ← relay ← origin, three
 * processes): the two network hops every design with a gateway between the client and the disks' servers pays.
 */
export async function relayCeiling(): Promise<CeilingSample> {
  const origin = await startCeilingServer("origin", String(GiB));
  const relay = await startCeilingServer("relay", origin.url);
  try {
    return await measureCeiling(GiB, async () => {
      const response = await request(`${relay.url}/`, { dispatcher: agent });
      let bytes = 0;
      for await (const chunk of response.body) bytes += chunk.length;
      if (bytes !== GiB) throw new Error(`relay sent ${bytes} bytes`);
    });
  } finally {
    relay.stop();
    origin.stop();
  }
}

/** Writes `bytes` into a new file at `path` and fsyncs it, the way an ioserver writes a datafile (direct-io.ts). */
async function writeLikeADatafile(path: string, bytes: number, direct: boolean): Promise<void> {
  const writer = await DatafileWriter.create(path, { direct, expectedLength: bytes });
  for (let done = 0; done < bytes; done += MiB) {
    const writing = writer.append(block.subarray(0, Math.min(MiB, bytes - done)));
    if (writing) await writing;
  }
  await writer.finish([]);
}

export async function diskCeiling(dir: string): Promise<CeilingSample> {
  const path = join(dir, "disk-ceiling");
  const direct = await supportsDirectIo(dir);
  const sample = await measureCeiling(GiB, () => writeLikeADatafile(path, GiB, direct));
  await rm(path);
  return sample;
}

/** Reading 1 GiB back from the disk, page cache dropped first where the kernel lets us (bench/durability.ts). */
export async function diskReadCeiling(dir: string): Promise<CeilingSample> {
  const path = join(dir, "disk-read-ceiling");
  const file = await open(path, "w");
  for (let done = 0; done < GiB; done += MiB) await file.write(block);
  await file.sync();
  await file.close();
  await dropCaches();
  const reader = await open(path, "r");
  const buffer = Buffer.allocUnsafe(4 * MiB);
  const sample = await measureCeiling(GiB, async () => {
    for (let position = 0; position < GiB; position += buffer.length) await reader.read(buffer, 0, buffer.length, position);
  });
  await reader.close();
  await rm(path);
  return sample;
}

/**
 * What the disk allows a 4+2 PUT: the 1.5 GiB of datafiles of a 1 GiB object written as six files at once, each
 * fsynced, as six ioservers on this disk do. Reported as object MiB/s (1 GiB over the time taken).
 */
export async function parityDiskCeiling(dir: string): Promise<CeilingSample> {
  const direct = await supportsDirectIo(dir);
  const paths = Array.from({ length: 6 }, (_, index) => join(dir, `parity-ceiling-${index}`));
  const sample = await measureCeiling(GiB, () => Promise.all(paths.map((path) => writeLikeADatafile(path, GiB / 4, direct))));
  await Promise.all(paths.map((path) => rm(path)));
  return sample;
}

/**
 * A PUT of 1 GiB through a 4+2 striping relay into six disk sinks (client → relay → six processes that write and
 * fsync, bench/ceiling-servers.ts): the network hops, the half again of bytes that parity adds and the durable
 * writes that a striping design with one server per disk pays, without S3, metadata or checksums. With `md5` the
 * relay also hashes every byte, as the ETag needs. Reported as object MiB/s.
 */
export async function stripingPutCeiling(dir: string, md5: boolean): Promise<CeilingSample> {
  const sinkDir = join(dir, "striping-ceiling");
  await mkdir(sinkDir, { recursive: true });
  const sinks = await Promise.all(Array.from({ length: 6 }, () => startCeilingServer("disk-sink", sinkDir)));
  const relay = await startCeilingServer("striping-relay", JSON.stringify({ sinks: sinks.map((sink) => sink.url), md5 }));
  try {
    const servers = [relay.pid, ...sinks.map((sink) => sink.pid)];
    return await measureCeiling(
      GiB,
      async () => {
        const response = await request(`${relay.url}/`, { method: "PUT", body: zeros(GiB) as never, headers: { "content-length": String(GiB) }, dispatcher: agent });
        await response.body.text();
        if (response.statusCode !== 200) throw new Error(`striping relay answered ${response.statusCode}`);
      },
      servers,
    );
  } finally {
    relay.stop();
    for (const sink of sinks) sink.stop();
  }
}

