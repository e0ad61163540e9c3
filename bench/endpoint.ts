// `npm run bench -- --endpoint URL --access-key ID --secret-key SECRET [--region R]`: the same large-object and
// small-object measurements against any S3 endpoint (Weft started by hand, MinIO, Ceph RGW...), so that servers
// started on one machine can be compared in one window with one client. It measures rates and latencies, and for the
// large PUTs the whole machine's CPU per GB of object (client included); with `--server-processes a,b,...` also the
// CPU of the processes whose command line contains one of those words (the server's own: `radosgw,ceph-osd,ceph-mon,
// ceph-mgr` for Ceph, `dist/gateway,dist/ioserver,postgres` for Weft started by `npm start`).
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { readdir, readFile } from "node:fs/promises";
import { block, closedLoop, cpuSeconds, machineCpu, median, percentile, s3, timed, zeros, type S3Target } from "./s3-requests.js";

const MiB = 1024 * 1024;
const SMALL_CONCURRENCY = 16;
const LARGE_STREAMS = 4;

export interface EndpointBenchSizes {
  runs: number;
  /** The single-stream object; LARGE_STREAMS objects of a quarter of it go at once. */
  largeBytes: number;
  smallBytes: number;
  smallSeconds: number;
}

function line(name: string, samples: number[], unit: string, note = ""): void {
  const sorted = [...samples].sort((a, b) => a - b);
  const value = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  console.log(`  ${name.padEnd(40)} ${value(median(sorted)).padStart(8)} ${unit.padEnd(6)} [${value(sorted[0]!)}–${value(sorted[sorted.length - 1]!)}]${note ? `  ${note}` : ""}`);
}

function sizeLabel(bytes: number): string {
  return bytes >= 1024 * MiB ? `${bytes / (1024 * MiB)} GiB` : bytes >= MiB ? `${bytes / MiB} MiB` : `${bytes / 1024} KiB`;
}

/** CPU seconds of every process (not this one) whose command line contains one of `words`. */
async function serverCpu(words: string[]): Promise<number> {
  let total = 0;
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmdline = (await readFile(`/proc/${name}/cmdline`, "utf8").catch(() => "")).replaceAll("\0", " ");
    if (words.some((word) => cmdline.includes(word))) total += await cpuSeconds(Number(name));
  }
  return total;
}

/** Runs `put`, which writes `bytes` of object, and adds its rate and CPU per GB (machine, and server when named). */
async function measurePut(bytes: number, put: () => Promise<unknown>, into: { rates: number[]; machine: number[]; server: number[] }, words: string[]) {
  const [machineBefore, serverBefore] = [await machineCpu(), words.length > 0 ? await serverCpu(words) : 0];
  into.rates.push(bytes / MiB / (await timed(put)));
  into.machine.push(((await machineCpu()).busy - machineBefore.busy) / (bytes / 1e9));
  if (words.length > 0) into.server.push(((await serverCpu(words)) - serverBefore) / (bytes / 1e9));
}

export async function benchEndpoint(target: S3Target, sizes: EndpointBenchSizes, serverProcesses: string[] = []): Promise<void> {
  const bucket = `weft-bench-${Date.now().toString(36)}`;
  console.log(`Endpoint ${target.endpoint}, bucket ${bucket} (removed at the end)`);
  await s3(target, "PUT", `/${bucket}`);
  try {
    const { largeBytes, smallBytes } = sizes;
    const quarter = Math.floor(largeBytes / LARGE_STREAMS);
    const put = { rates: [] as number[], machine: [] as number[], server: [] as number[] };
    const putMany = { rates: [] as number[], machine: [] as number[], server: [] as number[] };
    const rates = { get: [] as number[], getMany: [] as number[] };
    for (let run = 0; run < sizes.runs; run++) {
      await measurePut(largeBytes, () => s3(target, "PUT", `/${bucket}/large`, zeros(largeBytes), largeBytes), put, serverProcesses);
      rates.get.push(largeBytes / MiB / (await timed(() => s3(target, "GET", `/${bucket}/large`))));
      const streams = Array.from({ length: LARGE_STREAMS }, (_, index) => `/${bucket}/large-${index}`);
      await measurePut(quarter * LARGE_STREAMS, () => Promise.all(streams.map((path) => s3(target, "PUT", path, zeros(quarter), quarter))), putMany, serverProcesses);
      rates.getMany.push((quarter * LARGE_STREAMS) / MiB / (await timed(() => Promise.all(streams.map((path) => s3(target, "GET", path))))));
    }
    const cpuNote = (measured: typeof put) =>
      `machine CPU ${median(measured.machine).toFixed(2)} s/GB` + (measured.server.length > 0 ? `, server processes ${median(measured.server).toFixed(2)} s/GB` : "");
    console.log("Large objects");
    line(`PUT ${sizeLabel(largeBytes)}, one stream`, put.rates, "MiB/s", cpuNote(put));
    line(`GET ${sizeLabel(largeBytes)}, one stream`, rates.get, "MiB/s");
    line(`PUT ${LARGE_STREAMS} × ${sizeLabel(quarter)} at once`, putMany.rates, "MiB/s", cpuNote(putMany));
    line(`GET ${LARGE_STREAMS} × ${sizeLabel(quarter)} at once`, rates.getMany, "MiB/s");

    console.log(`Small objects (${sizeLabel(smallBytes)}), concurrency ${SMALL_CONCURRENCY}`);
    const body = block.subarray(0, smallBytes);
    const written = new Array<number>(SMALL_CONCURRENCY).fill(0);
    const puts = await closedLoop(SMALL_CONCURRENCY, sizes.smallSeconds, async (worker, index) => {
      await s3(target, "PUT", `/${bucket}/small/${worker}/${index}`, body, smallBytes);
      written[worker] = index + 1;
    });
    const gets = await closedLoop(SMALL_CONCURRENCY, sizes.smallSeconds, (worker, index) => s3(target, "GET", `/${bucket}/small/${worker}/${index % Math.max(1, written[worker]!)}`));
    for (const [name, result] of [["PUT", puts], ["GET", gets]] as const) {
      const note = `p50 ${percentile(result.latencies, 0.5).toFixed(1)} ms, p99 ${percentile(result.latencies, 0.99).toFixed(1)} ms`;
      line(`${name} ${sizeLabel(smallBytes)}`, [result.rate], "ops/s", note);
    }
  } finally {
    await removeBucket(target, bucket);
  }
}

/** Deletes what the run wrote, a thousand keys per request, then the bucket. */
async function removeBucket(target: S3Target, bucket: string): Promise<void> {
  const client = new S3Client({ endpoint: target.endpoint, region: target.region, forcePathStyle: true, credentials: { accessKeyId: target.accessKey, secretAccessKey: target.secretKey } });
  try {
    for (;;) {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
      const keys = (page.Contents ?? []).map((object) => ({ Key: object.Key! }));
      if (keys.length === 0) break;
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
    }
    await s3(target, "DELETE", `/${bucket}`);
  } finally {
    client.destroy();
  }
}
