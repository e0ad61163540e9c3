// What the benchmarks share to drive any S3 endpoint: SigV4-signed streaming requests over one keep-alive pool,
// generated bodies (never buffered whole), closed-loop load and the machine's CPU counters.
import aws4 from "aws4";
import { readFile } from "node:fs/promises";
import { Agent, request } from "undici";

const MiB = 1024 * 1024;

/** Where requests go and who signs them: a local cluster, or any S3 endpoint. */
export interface S3Target {
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
}

/**
 * The whole machine's CPU time in seconds, from /proc/stat: busy (user, nice, system, irq, softirq, steal: every
 * process and the kernel's network work, which no process's own counters hold) and idle (idle, iowait).
 */
export async function machineCpu(): Promise<{ busy: number; idle: number }> {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = (await readFile("/proc/stat", "utf8")).split("\n", 1)[0].split(/\s+/).slice(1).map(Number);
  return { busy: (user + nice + system + irq + softirq + steal) / 100, idle: (idle + iowait) / 100 };
}


/** A process's CPU time in seconds (user + system, all its threads); 0 once it has gone. */
export async function cpuSeconds(pid: number): Promise<number> {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

export const agent = new Agent({ connections: 64, pipelining: 1, bodyTimeout: 0, headersTimeout: 0 });

export function signed(cluster: S3Target, method: string, path: string, headers: Record<string, string> = {}) {
  const url = new URL(cluster.endpoint);
  const options = aws4.sign(
    { host: url.host, path, method, service: "s3", region: cluster.region, headers: { "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD", ...headers } },
    { accessKeyId: cluster.accessKey, secretAccessKey: cluster.secretKey },
  );
  const sent = { ...(options.headers as Record<string, string>) };
  delete sent.Host;
  return { url: `${cluster.endpoint}${path}`, headers: sent };
}

export async function s3(
  cluster: S3Target,
  method: string,
  path: string,
  body?: Buffer | AsyncIterable<Buffer>,
  length?: number,
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; bytes: number }> {
  const headers: Record<string, string> = { ...extraHeaders };
  if (length !== undefined) headers["Content-Length"] = String(length);
  const { url, headers: sent } = signed(cluster, method, path, headers);
  // reset: false keeps the connection after a HEAD too (undici closes it by default; S3 SDKs keep it).
  const response = await request(url, { method: method as "GET", headers: sent, body: body as never, dispatcher: agent, reset: false });
  let bytes = 0;
  for await (const chunk of response.body) bytes += chunk.length;
  if (response.statusCode >= 300) throw new Error(`${method} ${path}: ${response.statusCode}`);
  return { status: response.statusCode, bytes };
}

export const block = Buffer.alloc(MiB);
for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
export async function* zeros(size: number): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < size; sent += MiB) yield size - sent >= MiB ? block : block.subarray(0, size - sent);
}


export async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}


export function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}


export interface LoopResult {
  rate: number;
  latencies: number[];
  /** The whole machine's CPU time per operation (client, servers, PostgreSQL, kernel), in µs. */
  machineCpuPerOp: number;
  /** This process's share of it: the measuring client's CPU time per operation, in µs. */
  clientCpuPerOp: number;
  /** How busy the machine's cores were meanwhile (1: every core all the time). */
  busyShare: number;
}

export async function closedLoop(concurrency: number, seconds: number, op: (worker: number, index: number) => Promise<unknown>): Promise<LoopResult> {
  const latencies: number[] = [];
  const cpuBefore = await machineCpu();
  const clientBefore = process.cpuUsage();
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let index = 0; performance.now() < deadline; index++) {
        const begin = performance.now();
        await op(worker, index);
        latencies.push(performance.now() - begin);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const client = process.cpuUsage(clientBefore);
  const cpuAfter = await machineCpu();
  const busy = cpuAfter.busy - cpuBefore.busy;
  const idle = cpuAfter.idle - cpuBefore.idle;
  latencies.sort((a, b) => a - b);
  return {
    rate: latencies.length / elapsed,
    latencies,
    machineCpuPerOp: (busy * 1e6) / latencies.length,
    clientCpuPerOp: (client.user + client.system) / latencies.length,
    busyShare: busy / (busy + idle),
  };
}

export function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

