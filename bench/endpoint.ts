// `npm run bench -- --endpoint URL --access-key ID --secret-key SECRET [--region R]`: the same large-object and
// small-object measurements against any S3 endpoint (Weft started by hand, MinIO, Ceph RGW...), so that servers
// started on one machine can be compared in one window with one client. Only what a client can see is measured:
// rates and latencies; server CPU needs the server's own processes (the local-cluster bench has them).
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { block, closedLoop, median, percentile, s3, timed, zeros, type S3Target } from "./s3-requests.js";

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

export async function benchEndpoint(target: S3Target, sizes: EndpointBenchSizes): Promise<void> {
  const bucket = `weft-bench-${Date.now().toString(36)}`;
  console.log(`Endpoint ${target.endpoint}, bucket ${bucket} (removed at the end)`);
  await s3(target, "PUT", `/${bucket}`);
  try {
    const { largeBytes, smallBytes } = sizes;
    const quarter = Math.floor(largeBytes / LARGE_STREAMS);
    const rates = { put: [] as number[], get: [] as number[], putMany: [] as number[], getMany: [] as number[] };
    for (let run = 0; run < sizes.runs; run++) {
      rates.put.push(largeBytes / MiB / (await timed(() => s3(target, "PUT", `/${bucket}/large`, zeros(largeBytes), largeBytes))));
      rates.get.push(largeBytes / MiB / (await timed(() => s3(target, "GET", `/${bucket}/large`))));
      const streams = Array.from({ length: LARGE_STREAMS }, (_, index) => `/${bucket}/large-${index}`);
      rates.putMany.push((quarter * LARGE_STREAMS) / MiB / (await timed(() => Promise.all(streams.map((path) => s3(target, "PUT", path, zeros(quarter), quarter))))));
      rates.getMany.push((quarter * LARGE_STREAMS) / MiB / (await timed(() => Promise.all(streams.map((path) => s3(target, "GET", path))))));
    }
    console.log("Large objects");
    line(`PUT ${sizeLabel(largeBytes)}, one stream`, rates.put, "MiB/s");
    line(`GET ${sizeLabel(largeBytes)}, one stream`, rates.get, "MiB/s");
    line(`PUT ${LARGE_STREAMS} × ${sizeLabel(quarter)} at once`, rates.putMany, "MiB/s");
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
