// `npm run bench`: measures a local Weft cluster against this machine's own ceilings and prints a table
// (and writes bench/results/<time>.json). A script, not a test: nothing here asserts a speed.
//
//   npm run bench                       everything, default stripe unit
//   npm run bench -- --units 64K,1M,4M  the large-object section once per stripe unit
//   npm run bench -- --quick            smaller sizes and shorter runs (a smoke run)
//   npm run bench -- --profile DIR      also write the gateway's CPU profile (node --cpu-prof) into DIR
//   npm run bench -- --only small,listing  just these sections (large, small, listing, degraded, durability, memory)
//   npm run bench -- --small-size 16K --inline 0   small objects of another size, and another inline threshold
//   npm run bench -- --small-size 16K --replicate 0   ... and another replication threshold (0: stripe them 4+2)
//   npm run bench -- --endpoint URL --access-key ID --secret-key SECRET [--region R] [--server-processes a,b]
//                                       large and small objects against any S3 endpoint (bench/endpoint.ts)
import postgres from "postgres";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { request } from "undici";
import { startLocalCluster, type LocalCluster } from "../cluster/local-cluster.js";
import { DURABILITY_BENCH_ENV, durability, type BenchKit } from "./durability.js";
import { benchEndpoint } from "./endpoint.js";
import {
  diskCeiling,
  diskReadCeiling,
  loopbackCeiling,
  md5Ceiling,
  parityDiskCeiling,
  relayCeiling,
  startCeilingServer,
  stripingPutCeiling,
  type CeilingSample,
} from "./large-ceilings.js";
import { agent, block, closedLoop, cpuSeconds, median, percentile, s3, signed, timed, zeros, type LoopResult } from "./s3-requests.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const unitsArg = args[args.indexOf("--units") + 1];
const units = args.includes("--units") ? unitsArg.split(",").map(parseSize) : [undefined];
const RUNS = quick ? 1 : 3;
const LARGE = quick ? 256 * MiB : GiB;
const HUGE = quick ? GiB : 5 * GiB;
const SMALL_SECONDS = quick ? 2 : 5;
const SDK_PART_SIZE = 64 * MiB;
const SMALL_SIZE = args.includes("--small-size") ? parseSize(args[args.indexOf("--small-size") + 1]) : 4096;
const SMALL_LABEL = SMALL_SIZE % 1024 === 0 ? `${SMALL_SIZE / 1024} KiB` : `${SMALL_SIZE} B`;
const inlineThreshold = args.includes("--inline") ? String(parseSize(args[args.indexOf("--inline") + 1])) : undefined;
const replicationThreshold = args.includes("--replicate") ? String(parseSize(args[args.indexOf("--replicate") + 1])) : undefined;
const LIST_KEYS = quick ? 5_000 : 100_000;
const profileDir = args.includes("--profile") ? args[args.indexOf("--profile") + 1] : undefined;
const only = args.includes("--only") ? new Set(args[args.indexOf("--only") + 1].split(",")) : undefined;
const wanted = (section: string) => only === undefined || only.has(section);

function parseSize(text: string): number {
  const match = /^(\d+)([KMG]?)$/i.exec(text.trim());
  if (!match) throw new Error(`bad size ${text}`);
  return Number(match[1]) * ({ "": 1, K: 1024, M: MiB, G: GiB } as Record<string, number>)[match[2].toUpperCase()];
}

interface Figure {
  section: string;
  name: string;
  median: number;
  min: number;
  max: number;
  unit: string;
  ceiling?: string;
  ratio?: number;
  note?: string;
}
const figures: Figure[] = [];

function record(section: string, name: string, samples: number[], unit: string, extra: Partial<Figure> = {}): Figure {
  const sorted = [...samples].sort((a, b) => a - b);
  const figure = { section, name, median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted[sorted.length - 1], unit, ...extra };
  figures.push(figure);
  const ratio = figure.ratio !== undefined ? `  (${(figure.ratio * 100).toFixed(0)}% of ${figure.ceiling})` : "";
  console.log(`  ${name.padEnd(48)} ${fmt(figure.median).padStart(9)} ${unit.padEnd(6)} [${fmt(figure.min)}–${fmt(figure.max)}]${ratio}${figure.note ? `  ${figure.note}` : ""}`);
  return figure;
}

function fmt(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

// ---------------------------------------------------------------- process accounting

async function childrenOf(pid: number): Promise<number[]> {
  const children: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const fields = (await readFile(`/proc/${name}/stat`, "utf8")).split(") ")[1].split(" ");
      if (Number(fields[1]) === pid) children.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return children;
}

async function postgresPids(dataDir: string): Promise<number[]> {
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes(join(dataDir, "postgres")) && cmdline.includes("-D")) return [Number(name), ...(await childrenOf(Number(name)))];
  }
  return [];
}

interface CpuSnapshot {
  gateway: number;
  ioservers: number;
  postgres: number;
}

async function cpuSnapshot(cluster: LocalCluster, dataDir: string): Promise<CpuSnapshot> {
  const pg = await postgresPids(dataDir);
  return {
    gateway: await cpuSeconds(cluster.gateway.pid),
    ioservers: (await Promise.all(cluster.ioservers.map((ioserver) => cpuSeconds(ioserver.pid)))).reduce((a, b) => a + b, 0),
    postgres: (await Promise.all(pg.map(cpuSeconds))).reduce((a, b) => a + b, 0),
  };
}

async function peakRssMiB(pid: number): Promise<number> {
  return statusMiB(pid, "VmHWM");
}

async function rssMiB(pid: number): Promise<number> {
  return statusMiB(pid, "VmRSS");
}

async function statusMiB(pid: number, field: string): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) / 1024;
}

// ---------------------------------------------------------------- sections

async function largeObjects(cluster: LocalCluster, dataDir: string, ceilings: Record<string, number>, label: string): Promise<void> {
  console.log(`\nLarge objects${label}`);
  await s3(cluster, "PUT", "/large", undefined, 0);
  const put: number[] = [];
  const get: number[] = [];
  const cpuPut: CpuSnapshot[] = [];
  const cpuGet: CpuSnapshot[] = [];
  for (let run = 0; run < RUNS; run++) {
    const before = await cpuSnapshot(cluster, dataDir);
    put.push(LARGE / MiB / (await timed(() => s3(cluster, "PUT", `/large/object-${run}`, zeros(LARGE), LARGE))));
    const middle = await cpuSnapshot(cluster, dataDir);
    get.push(LARGE / MiB / (await timed(() => s3(cluster, "GET", `/large/object-${run}`))));
    const after = await cpuSnapshot(cluster, dataDir);
    cpuPut.push(diff(middle, before));
    cpuGet.push(diff(after, middle));
  }
  const size = `${LARGE / MiB} MiB`;
  record("large", `PUT ${size}, one stream`, put, "MiB/s", { ceiling: "MD5", ratio: median(put) / ceilings.md5 });
  record("large", `PUT ${size}, one stream, against the striping relay`, put, "MiB/s", {
    ceiling: "striping relay",
    ratio: median(put) / ceilings.stripedPut,
    note: `${((median(put) / ceilings.stripedPutMd5) * 100).toFixed(0)}% of the striping relay with MD5, ${((median(put) / ceilings.parityDisk) * 100).toFixed(0)}% of the 4+2 disk`,
  });
  record("large", `GET ${size}, one stream`, get, "MiB/s", { ceiling: "loopback", ratio: median(get) / ceilings.loopback, note: ofRelay(get, ceilings) });
  printCpu("PUT", cpuPut, LARGE, ceilings);
  printCpu("GET", cpuGet, LARGE);

  // The same objects encrypted at rest (SSE-S3: sealed in the gateway before striping, opened after reading).
  const sealedPut: number[] = [];
  const sealedGet: number[] = [];
  const sse = { "x-amz-server-side-encryption": "AES256" };
  for (let run = 0; run < RUNS; run++) {
    sealedPut.push(LARGE / MiB / (await timed(() => s3(cluster, "PUT", `/large/sealed-${run}`, zeros(LARGE), LARGE, sse))));
    sealedGet.push(LARGE / MiB / (await timed(() => s3(cluster, "GET", `/large/sealed-${run}`))));
  }
  const ofPlain = (values: number[], plain: number[]) => `${((median(values) / median(plain)) * 100).toFixed(0)}% of the plain one`;
  record("large", `PUT ${size}, one stream, SSE-S3`, sealedPut, "MiB/s", { ceiling: "MD5", ratio: median(sealedPut) / ceilings.md5, note: ofPlain(sealedPut, put) });
  record("large", `GET ${size}, one stream, SSE-S3`, sealedGet, "MiB/s", { ceiling: "loopback", ratio: median(sealedGet) / ceilings.loopback, note: ofPlain(sealedGet, get) });

  // What an SDK user gets: @aws-sdk/lib-storage uploads parts of SDK_PART_SIZE one at a time (a single stream) with
  // the SDK's default CRC32 checksums, and GetObject streams the object back.
  const sdk = new S3Client({
    endpoint: cluster.endpoint,
    forcePathStyle: true,
    region: cluster.region,
    credentials: { accessKeyId: cluster.accessKey, secretAccessKey: cluster.secretKey },
  });
  const sdkPut: number[] = [];
  const sdkGet: number[] = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      const upload = new Upload({ client: sdk, partSize: SDK_PART_SIZE, queueSize: 1, params: { Bucket: "large", Key: `sdk-${run}`, Body: Readable.from(zeros(LARGE)) } });
      sdkPut.push(LARGE / MiB / (await timed(() => upload.done())));
      sdkGet.push(
        LARGE / MiB /
          (await timed(async () => {
            const response = await sdk.send(new GetObjectCommand({ Bucket: "large", Key: `sdk-${run}` }));
            for await (const _chunk of response.Body as Readable);
          })),
      );
    }
  } finally {
    sdk.destroy();
  }
  record("large", `PUT ${size}, SDK multipart, ${SDK_PART_SIZE / MiB} MiB parts`, sdkPut, "MiB/s", { ceiling: "MD5", ratio: median(sdkPut) / ceilings.md5 });
  record("large", `GET ${size}, SDK GetObject`, sdkGet, "MiB/s", { ceiling: "loopback", ratio: median(sdkGet) / ceilings.loopback });

  // Several backups at once: four quarter-size PUTs in parallel, then GETs.
  const parallel = 4;
  const each = LARGE / 4;
  const putAll: number[] = [];
  const getAll: number[] = [];
  const cpuPutAll: CpuSnapshot[] = [];
  for (let run = 0; run < RUNS; run++) {
    const before = await cpuSnapshot(cluster, dataDir);
    putAll.push((parallel * each) / MiB / (await timed(() => Promise.all(Array.from({ length: parallel }, (_, i) => s3(cluster, "PUT", `/large/parallel-${i}`, zeros(each), each))))));
    cpuPutAll.push(diff(await cpuSnapshot(cluster, dataDir), before));
    getAll.push((parallel * each) / MiB / (await timed(() => Promise.all(Array.from({ length: parallel }, (_, i) => s3(cluster, "GET", `/large/parallel-${i}`))))));
  }
  const together = `${parallel} × ${each / MiB} MiB at once`;
  record("large", `PUT ${together}`, putAll, "MiB/s", { ceiling: "striping relay", ratio: median(putAll) / ceilings.stripedPut });
  record("large", `GET ${together}`, getAll, "MiB/s", { ceiling: "loopback", ratio: median(getAll) / ceilings.loopback });
  printCpu(`PUT ${together}`, cpuPutAll, parallel * each, ceilings);
}

function diff(a: CpuSnapshot, b: CpuSnapshot): CpuSnapshot {
  return { gateway: a.gateway - b.gateway, ioservers: a.ioservers - b.ioservers, postgres: a.postgres - b.postgres };
}

/** A GET's share of the two-hop relay ceiling, the most any gateway design could reach. */
function ofRelay(samples: number[], ceilings: Record<string, number>): string {
  return `${((median(samples) / ceilings.relay) * 100).toFixed(0)}% of the two-hop relay`;
}

/** With `floor` (a PUT's), the all-servers line also says how it compares with the striping relay's own servers. */
function printCpu(what: string, snapshots: CpuSnapshot[], bytes: number, floor?: Record<string, number>): void {
  const perGB = (pick: (s: CpuSnapshot) => number) => snapshots.map((s) => pick(s) / (bytes / 1e9));
  record("cpu", `${what} CPU s/GB gateway`, perGB((s) => s.gateway), "s/GB");
  record("cpu", `${what} CPU s/GB ioservers (all six)`, perGB((s) => s.ioservers), "s/GB");
  record("cpu", `${what} CPU s/GB PostgreSQL`, perGB((s) => s.postgres), "s/GB");
  const all = perGB((s) => s.gateway + s.ioservers + s.postgres);
  const note = floor
    ? `the striping relay's servers: ${floor.stripedPutServers.toFixed(2)} without MD5, ${floor.stripedPutMd5Servers.toFixed(2)} with it`
    : undefined;
  record("cpu", `${what} CPU s/GB all servers`, all, "s/GB", { note });
}

/** Runs `op` in `concurrency` closed loops for `seconds`; ops/s and sorted latencies (ms). */
/** The targets set for 4 KiB objects at concurrency 16: only to print the CPU budget they leave per request. */
const TARGET_RATES = { GET: 4000, PUT: 1500 };

function machineNote(cpuPerOp: number, busyShare: number): string {
  return `machine CPU µs/op ${cpuPerOp.toFixed(0)}, cores ${(100 * busyShare).toFixed(0)}% busy`;
}

/**
 * What one small request can cost on this machine at best, measured with the same client against servers in
 * their own processes: a small GET and PUT against a node:http server that does nothing else; the PostgreSQL
 * round trip every S3 operation needs at least once (an indexed single-row select; a single-row insert with a
 * durable commit); both together, a "minimal gateway" whose GET is one select and whose PUT is one insert; and that
 * minimal gateway checking each request's SigV4 signature first, as any S3 server must. The small section interleaves
 * them with Weft's own rounds: the reading ones before Weft's round, the writing ones after it, so that the
 * autovacuum work of their ~100 MB of rows lands on neither. (Right before Weft's PUT round, that work once delayed
 * the analyze of Weft's own tables and exposed a PUT path that scanned them whole: migration 0008.)
 */
type SmallCeiling = "httpGet" | "httpPut" | "pgSelect" | "pgInsert" | "minimalGet" | "minimalPut" | "signedGet" | "signedPut";

type LoopFigures = Omit<LoopResult, "latencies">;

type ReadCeiling = "httpGet" | "httpPut" | "pgSelect" | "minimalGet" | "signedGet";
type WriteCeiling = Exclude<SmallCeiling, ReadCeiling>;

async function startSmallCeilings(cluster: LocalCluster): Promise<{
  measureReads(): Promise<Record<ReadCeiling, LoopFigures>>;
  measureWrites(round: number): Promise<Record<WriteCeiling, LoopFigures>>;
  stop(): Promise<void>;
}> {
  const payload = block.subarray(0, SMALL_SIZE);
  const sql = postgres(cluster.databaseUrl, { max: 16, onnotice: () => {} });
  await sql`create table if not exists bench_ceiling (id bigint generated always as identity primary key, key text not null unique, value bytea)`;
  await sql`insert into bench_ceiling (key, value) select 'k' || n, ${payload} from generate_series(0, 999) n on conflict do nothing`;
  await sql`create table if not exists bench_ceiling_insert (like bench_ceiling including all)`;
  // A round of the insert ceilings writes ~100 MB: truncated and checkpointed at once, or the checkpoint, and
  // vacuuming the rows, would land in Weft's PUT round that follows (PostgreSQL CPU per PUT doubled).
  const settle = async () => {
    await sql`truncate bench_ceiling_insert`;
    await sql`checkpoint`;
  };
  const servers = await Promise.all([
    startCeilingServer("origin", String(SMALL_SIZE)),
    startCeilingServer("minimal-gateway", cluster.databaseUrl),
    startCeilingServer(
      "signed-minimal-gateway",
      JSON.stringify({ databaseUrl: cluster.databaseUrl, accessKey: cluster.accessKey, secretKey: cluster.secretKey }),
    ),
  ]);
  const [noop, minimal, signed] = servers.map((server) => ({ ...cluster, endpoint: server.url }));
  const figures = async (run: () => Promise<LoopResult>): Promise<LoopFigures> => {
    const { latencies: _, ...loop } = await run();
    return loop;
  };
  const get = (target: LocalCluster) => figures(() => closedLoop(16, SMALL_SECONDS, () => s3(target, "GET", "/ceiling/object")));
  const put = (target: LocalCluster) => figures(() => closedLoop(16, SMALL_SECONDS, () => s3(target, "PUT", "/ceiling/object", payload, payload.length)));
  return {
    async measureReads() {
      return {
        httpGet: await get(noop),
        httpPut: await put(noop), // discarded by the no-op server: writes nothing anywhere
        pgSelect: await figures(() => closedLoop(16, SMALL_SECONDS, (_, index) => sql`select * from bench_ceiling where key = ${"k" + (index % 1000)}`)),
        minimalGet: await get(minimal),
        signedGet: await get(signed),
      };
    },
    async measureWrites(round) {
      // Each writing ceiling starts with no write debt, and leaves none to what follows.
      const settled = async (measure: () => Promise<LoopFigures>) => {
        await settle();
        return measure();
      };
      const figuresOfRound = {
        pgInsert: await settled(() =>
          figures(() =>
            closedLoop(16, SMALL_SECONDS, (worker, index) => sql`insert into bench_ceiling_insert (key, value) values (${`r${round}-w${worker}-${index}`}, ${payload})`),
          ),
        ),
        minimalPut: await settled(() => put(minimal)),
        signedPut: await settled(() => put(signed)),
      };
      await settle();
      return figuresOfRound;
    },
    async stop() {
      for (const server of servers) server.stop();
      await sql`drop table bench_ceiling, bench_ceiling_insert`;
      await sql.end();
    },
  };
}

async function smallObjects(cluster: LocalCluster, dataDir: string): Promise<void> {
  const thresholds = [
    ...(inlineThreshold === undefined ? [] : [`inline threshold ${inlineThreshold} bytes`]),
    ...(replicationThreshold === undefined ? [] : [`replication threshold ${replicationThreshold} bytes`]),
  ];
  console.log(`\nSmall objects (${[SMALL_LABEL, ...thresholds].join(", ")})`);
  const ceilings = await startSmallCeilings(cluster);
  const ceilingRounds: Record<SmallCeiling, LoopFigures>[] = [];
  await s3(cluster, "PUT", "/small", undefined, 0);
  const body = block.subarray(0, SMALL_SIZE);
  const methods = ["PUT", "GET", "HEAD", "DELETE"] as const;
  const printed: (() => void)[] = [];
  for (const concurrency of [1, 16]) {
    // RUNS rounds of PUT, GET, HEAD, DELETE; each figure is the median round, its latencies those of all rounds. At
    // concurrency 16 each round sits between a round of the reading ceilings and one of the writing ceilings: the
    // host's noise moves both alike, and each ratio is the median of the rounds' own ratios.
    const rates = new Map(methods.map((method) => [method, [] as number[]]));
    const latencies = new Map(methods.map((method) => [method, [] as number[]]));
    const cpu = new Map(methods.map((method) => [method, { gateway: 0, postgres: 0, ioservers: 0, client: 0 }]));
    const machine = new Map(methods.map((method) => [method, { cpuPerOp: [] as number[], busyShare: [] as number[] }]));
    for (let run = 0; run < RUNS; run++) {
      const reads = concurrency === 16 ? await ceilings.measureReads() : undefined;
      const stored = new Array<number>(concurrency).fill(0); // keys each worker PUT, which GET and HEAD then read
      for (const method of methods) {
        const cpuBefore = await cpuSnapshot(cluster, dataDir);
        const loop = await closedLoop(concurrency, SMALL_SECONDS, async (worker, index) => {
          const n = method === "GET" || method === "HEAD" ? index % stored[worker] : index;
          const key = `/small/c${concurrency}-r${run}-w${worker}-${n}`;
          if (method === "PUT") {
            await s3(cluster, "PUT", key, body, body.length);
            stored[worker] = index + 1;
          } else await s3(cluster, method, key);
        });
        const used = diff(await cpuSnapshot(cluster, dataDir), cpuBefore);
        const total = cpu.get(method)!;
        total.gateway += used.gateway;
        total.postgres += used.postgres;
        total.ioservers += used.ioservers;
        total.client += (loop.clientCpuPerOp * loop.latencies.length) / 1e6;
        rates.get(method)!.push(loop.rate);
        machine.get(method)!.cpuPerOp.push(loop.machineCpuPerOp);
        machine.get(method)!.busyShare.push(loop.busyShare);
        latencies.get(method)!.push(...loop.latencies);
      }
      if (reads) ceilingRounds.push({ ...reads, ...(await ceilings.measureWrites(run)) });
    }
    for (const method of methods) {
      const sorted = latencies.get(method)!.sort((a, b) => a - b);
      const total = cpu.get(method)!;
      const perOp = (cpuSeconds: number) => ((cpuSeconds * 1e6) / sorted.length).toFixed(0);
      const samples = rates.get(method)!;
      const paired = (ceiling: SmallCeiling) => median(samples.map((rate, run) => rate / ceilingRounds[run][ceiling].rate));
      const { cpuPerOp, busyShare } = machine.get(method)!;
      const measured = concurrency === 16 && (method === "PUT" || method === "GET");
      const ceiling = measured ? { ceiling: `minimal gateway ${method}`, ratio: paired(method === "PUT" ? "minimalPut" : "minimalGet") } : {};
      const signedShare = measured ? `${(100 * paired(method === "PUT" ? "signedPut" : "signedGet")).toFixed(0)}% of the signed one; ` : "";
      printed.push(() =>
        record("small", `${method} ${SMALL_LABEL}, concurrency ${concurrency}`, samples, "ops/s", {
          ...ceiling,
          note:
            signedShare +
            `p50 ${percentile(sorted, 0.5).toFixed(1)} ms, p99 ${percentile(sorted, 0.99).toFixed(1)} ms; CPU µs/op gateway ${perOp(total.gateway)},` +
            ` PostgreSQL ${perOp(total.postgres)}, ioservers ${perOp(total.ioservers)}, client ${perOp(total.client)};` +
            ` ${machineNote(median(cpuPerOp), median(busyShare))}`,
        }),
      );
    }
  }
  await ceilings.stop();
  const ceilingFigure = (name: SmallCeiling, label: string) => {
    const rounds = ceilingRounds.map((round) => round[name]);
    const clientCpu = median(rounds.map((round) => round.clientCpuPerOp)).toFixed(0);
    const note = `client CPU µs/op ${clientCpu}; ` + machineNote(median(rounds.map((round) => round.machineCpuPerOp)), median(rounds.map((round) => round.busyShare)));
    record("small", label, rounds.map((round) => round.rate), "ops/s", { note });
  };
  ceilingFigure("httpGet", `ceiling: HTTP GET ${SMALL_LABEL}, no-op server, concurrency 16`);
  ceilingFigure("httpPut", `ceiling: HTTP PUT ${SMALL_LABEL}, no-op server, concurrency 16`);
  ceilingFigure("pgSelect", "ceiling: PostgreSQL 1-row select, concurrency 16");
  ceilingFigure("pgInsert", "ceiling: PostgreSQL 1-row insert+commit, conc. 16");
  ceilingFigure("minimalGet", `ceiling: minimal gateway GET ${SMALL_LABEL} (HTTP + 1 select), c16`);
  ceilingFigure("minimalPut", `ceiling: minimal gateway PUT ${SMALL_LABEL} (HTTP + 1 commit), c16`);
  ceilingFigure("signedGet", `ceiling: the same GET + SigV4 check, c16`);
  ceilingFigure("signedPut", `ceiling: the same PUT + SigV4 check, c16`);
  const cores = availableParallelism();
  console.log(
    `  CPU budget of the issue's targets on ${cores} cores (client included): ${TARGET_RATES.GET.toLocaleString("en")} GET/s` +
      ` leaves ${((cores * 1e6) / TARGET_RATES.GET).toFixed(0)} µs per GET, ${TARGET_RATES.PUT.toLocaleString("en")} PUT/s` +
      ` ${((cores * 1e6) / TARGET_RATES.PUT).toFixed(0)} µs per PUT`,
  );
  for (const print of printed) print();
}

async function listing(cluster: LocalCluster): Promise<void> {
  console.log(`\nListing (${LIST_KEYS.toLocaleString()} keys in a tree)`);
  await s3(cluster, "PUT", "/listing", undefined, 0);
  const body = Buffer.from("x");
  let next = 0;
  const fillStarted = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let index = next++; index < LIST_KEYS; index = next++) {
        const key = `dir${index % 100}/sub${Math.floor(index / 100) % 10}/file-${index}`;
        await s3(cluster, "PUT", `/listing/${key}`, body, 1);
      }
    }),
  );
  console.log(`  (filled in ${((performance.now() - fillStarted) / 1000).toFixed(0)} s)`);
  for (const [name, query] of [
    ["ListObjectsV2 page, delimiter /", "?list-type=2&delimiter=%2F"],
    ["ListObjectsV2 page, prefix + delimiter", "?list-type=2&prefix=dir7%2F&delimiter=%2F"],
    ["ListObjectsV2 page of 1000, no delimiter", "?list-type=2"],
  ] as const) {
    const latencies: number[] = [];
    for (let i = 0; i < (quick ? 20 : 100); i++) latencies.push(await timed(() => s3(cluster, "GET", `/listing${query}`)) * 1000);
    latencies.sort((a, b) => a - b);
    record("listing", name, [latencies[Math.floor(latencies.length / 2)]], "ms p50", { note: `p99 ${latencies[Math.floor(latencies.length * 0.99)].toFixed(1)} ms` });
  }
  const whole = await timed(async () => {
    let token: string | undefined;
    do {
      const { url, headers } = signed(cluster, "GET", `/listing?list-type=2${token ? `&continuation-token=${encodeURIComponent(token)}` : ""}`);
      const response = await request(url, { headers, dispatcher: agent });
      const text = await response.body.text();
      token = /<NextContinuationToken>([^<]+)</.exec(text)?.[1];
    } while (token);
  });
  record("listing", "list the whole bucket (pages of 1000)", [whole], "s");
}

const VERSION_KEYS = 1000;
const VERSIONS_PER_KEY = 1000;

/**
 * ListObjectVersions under a prefix holding 1,000,000 versions: 1,000 folders of one key with 1,000 versions each
 * (every tenth a delete marker), written by one statement straight into PostgreSQL (a million PUTs would take the
 * whole run).
 */
async function versionListing(cluster: LocalCluster): Promise<void> {
  const total = VERSION_KEYS * VERSIONS_PER_KEY;
  console.log(`\nListObjectVersions (${total.toLocaleString("en")} versions under one prefix: ${VERSION_KEYS.toLocaleString("en")} folders of a key with ${VERSIONS_PER_KEY.toLocaleString("en")} versions)`);
  await s3(cluster, "PUT", "/versions", undefined, 0);
  const sql = postgres(cluster.databaseUrl, { max: 1, onnotice: () => {} });
  const fillStarted = performance.now();
  try {
    const [bucket] = await sql<{ id: string }[]>`update buckets set versioning = 'Enabled' where name = 'versions' returning id`;
    // seq follows the order rows are inserted in: each key's versions oldest first, so the last is the newest.
    await sql`
      insert into versions (bucket_id, key, version_id, state, is_current, is_delete_marker, size, etag, storage_class, last_modified)
      select ${bucket.id}, 'versions/' || lpad(k::text, 4, '0') || '/object', md5(k || '/' || v), 'complete',
        v = ${VERSIONS_PER_KEY - 1}, v % 10 = 9, case when v % 10 = 9 then 0 else 1 end,
        case when v % 10 = 9 then null else md5(v::text) end, 'STANDARD', now()
      from generate_series(0, ${VERSION_KEYS - 1}) k, generate_series(0, ${VERSIONS_PER_KEY - 1}) v
      order by k, v`;
    await sql`analyze versions`;
  } finally {
    await sql.end();
  }
  console.log(`  (filled in ${((performance.now() - fillStarted) / 1000).toFixed(0)} s)`);

  const markers = (key: string, versionId: string) => `&key-marker=${encodeURIComponent(key)}&version-id-marker=${versionId}`;
  /** One page over HTTP, timed: what a client needs to ask for the next one, and how many entries came. */
  const page = async (query: string) => {
    const { url, headers } = signed(cluster, "GET", `/versions?versions&${query}`);
    const started = performance.now();
    const response = await request(url, { headers, dispatcher: agent });
    const text = await response.body.text();
    const ms = performance.now() - started;
    if (response.statusCode !== 200) throw new Error(`ListObjectVersions ${query}: ${response.statusCode} ${text}`);
    const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1];
    const nextKeyMarker = field("NextKeyMarker");
    return {
      ms,
      versions: text.split("<VersionId>").length - 1,
      commonPrefixes: text.split("<CommonPrefixes>").length - 1,
      next: nextKeyMarker === undefined ? undefined : markers(nextKeyMarker, field("NextVersionIdMarker")!),
    };
  };
  const percentiles = (latencies: number[]) => {
    const sorted = [...latencies].sort((a, b) => a - b);
    return { p50: sorted[Math.floor(sorted.length / 2)], note: `p99 ${sorted[Math.floor(sorted.length * 0.99)].toFixed(1)} ms` };
  };

  // Every page of the prefix, from the middle of the first key on, so that each page ends inside a key.
  const latencies: number[] = [];
  let listed = 0;
  const whole = await timed(async () => {
    let next: string | undefined = markers("versions/0000/object", createHash("md5").update(`0/${VERSIONS_PER_KEY / 2}`).digest("hex"));
    while (next !== undefined) {
      const result = await page(`prefix=versions%2F&max-keys=1000${next}`);
      latencies.push(result.ms);
      listed += result.versions;
      next = result.next;
    }
  });
  if (listed !== total - VERSIONS_PER_KEY / 2) throw new Error(`ListObjectVersions listed ${listed} versions`);
  const pages = percentiles(latencies);
  record("listing", "ListObjectVersions page of 1000, 1M versions", [pages.p50], "ms p50", { note: pages.note });
  record("listing", "list all 1M versions (pages of 1000)", [whole], "s");

  // A page of 1,000 common prefixes: a seek per folder, each jumping over the folder's 1,000 versions.
  const folders: number[] = [];
  for (let i = 0; i < (quick ? 5 : 20); i++) {
    const result = await page("prefix=versions%2F&delimiter=%2F&max-keys=1000");
    if (result.commonPrefixes !== VERSION_KEYS) throw new Error(`ListObjectVersions returned ${result.commonPrefixes} common prefixes`);
    folders.push(result.ms);
  }
  const rolled = percentiles(folders);
  record("listing", "ListObjectVersions page of 1000 common prefixes", [rolled.p50], "ms p50", { note: rolled.note });
}

async function degraded(cluster: LocalCluster, ceilings: Record<string, number>): Promise<void> {
  console.log("\nDegraded read (two of six ioservers stopped)");
  await cluster.ioservers[1].stop();
  await cluster.ioservers[4].stop();
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const degraded: number[] = [];
  for (let run = 0; run < RUNS; run++) degraded.push(LARGE / MiB / (await timed(() => s3(cluster, "GET", `/large/object-${run}`))));
  record("degraded", `GET ${LARGE / MiB} MiB with 2 ioservers down`, degraded, "MiB/s", { ceiling: "loopback", ratio: median(degraded) / ceilings.loopback, note: ofRelay(degraded, ceilings) });
  await cluster.restartIoServer(1);
  await cluster.restartIoServer(4);
  await new Promise((resolve) => setTimeout(resolve, 2500));
}

async function memory(cluster: LocalCluster): Promise<void> {
  console.log(`\nMemory (${HUGE / GiB} GiB PUT and GET)`);
  record("memory", `gateway peak RSS over the run so far`, [await peakRssMiB(cluster.gateway.pid)], "MiB");
  record("memory", `gateway RSS now, before streaming`, [await rssMiB(cluster.gateway.pid)], "MiB");
  // Linux resets a process's peak RSS when 5 is written to its clear_refs: what follows is the streaming alone.
  await writeFile(`/proc/${cluster.gateway.pid}/clear_refs`, "5");
  await s3(cluster, "PUT", "/memory", undefined, 0);
  await s3(cluster, "PUT", "/memory/huge", zeros(HUGE), HUGE);
  await s3(cluster, "GET", "/memory/huge");
  record("memory", `gateway peak RSS while streaming ${HUGE / GiB} GiB in and out`, [await peakRssMiB(cluster.gateway.pid)], "MiB");
}

// ---------------------------------------------------------------- main

async function startCluster(dataDir: string, unit: number | undefined): Promise<LocalCluster> {
  await mkdir(dataDir, { recursive: true });
  return startLocalCluster({
    dataDir,
    port: 0,
    gatewayEnv: {
      ...DURABILITY_BENCH_ENV,
      ...(unit ? { WEFT_STRIPE_UNIT: String(unit) } : {}),
      ...(inlineThreshold ? { WEFT_INLINE_THRESHOLD: inlineThreshold } : {}),
      ...(replicationThreshold ? { WEFT_REPLICATION_THRESHOLD: replicationThreshold } : {}),
    },
    gatewayNodeArgs: profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [],
  });
}

const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const endpoint = option("--endpoint");
if (endpoint !== undefined) {
  const accessKey = option("--access-key") ?? process.env.AWS_ACCESS_KEY_ID;
  const secretKey = option("--secret-key") ?? process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKey || !secretKey) throw new Error("--endpoint needs --access-key and --secret-key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
  const target = { endpoint: endpoint.replace(/\/$/, ""), region: option("--region") ?? "us-east-1", accessKey, secretKey };
  try {
    const serverProcesses = option("--server-processes")?.split(",").filter((name) => name !== "") ?? [];
    await benchEndpoint(target, { runs: RUNS, largeBytes: LARGE, smallBytes: SMALL_SIZE, smallSeconds: SMALL_SECONDS }, serverProcesses);
  } finally {
    await agent.close();
  }
  process.exit(0);
}

const root = await mkdtemp(join(tmpdir(), "weft-bench-"));
try {
  console.log("Ceilings (this machine, this run)");
  // Medians of RUNS: one sample of a ceiling is as noisy as one sample of anything else here.
  const ceiling = async (name: string, measure: () => Promise<CeilingSample>, extra: (rate: number) => Partial<Figure> = () => ({})) => {
    const samples: CeilingSample[] = [];
    for (let run = 0; run < RUNS; run++) samples.push(await measure());
    const rates = samples.map((sample) => sample.rate);
    const cpu = median(samples.map((sample) => sample.cpuPerGiB));
    const busy = median(samples.map((sample) => sample.busyShare));
    const serverCpus = samples.flatMap((sample) => (sample.serverCpuPerGB === undefined ? [] : [sample.serverCpuPerGB]));
    const note = `machine CPU ${cpu.toFixed(2)} s/GiB, cores ${(busy * 100).toFixed(0)}% busy`;
    const figure = record("ceiling", name, rates, "MiB/s", { note, ...extra(median(rates)) });
    figures.push({ section: "ceiling", name: `${name}: machine CPU`, median: cpu, min: cpu, max: cpu, unit: "s/GiB" });
    if (serverCpus.length > 0) record("ceiling", `${name}: servers' CPU`, serverCpus, "s/GB");
    return figure;
  };
  const md5 = await ceiling("MD5 of 1 GiB, one core", md5Ceiling);
  const loopback = await ceiling("HTTP loopback, 1 GiB into a discarding server", loopbackCeiling);
  const relay = await ceiling("HTTP GET 1 GiB through a no-op relay (two hops)", relayCeiling);
  const disk = await ceiling("disk write 1 GiB + fsync", () => diskCeiling(root));
  const diskRead = await ceiling("disk read 1 GiB, page cache dropped", () => diskReadCeiling(root));
  const parityDisk = await ceiling("disk: a 1 GiB object's 4+2 datafiles, 6 files + fsync", () => parityDiskCeiling(root));
  // Shares of MD5: the large PUT target is 70% of it.
  const ofMd5 = (rate: number): Partial<Figure> => ({ ceiling: "MD5", ratio: rate / md5.median });
  const stripedPut = await ceiling("PUT 1 GiB via a 4+2 striping relay, 6 disk sinks", () => stripingPutCeiling(root, false), ofMd5);
  const stripedPutMd5 = await ceiling("the same, the relay hashing MD5", () => stripingPutCeiling(root, true), ofMd5);
  const putTarget = 0.7 * md5.median;
  const cpuOf = (figure: Figure) => figures.find((other) => other.name === `${figure.name}: machine CPU`)!.median;
  const serversCpuOf = (figure: Figure) => figures.find((other) => other.name === `${figure.name}: servers' CPU`)!.median;
  console.log(
    `  CPU budget of the large PUT target on ${availableParallelism()} cores: 70% of MD5 (${putTarget.toFixed(0)} MiB/s) leaves ` +
      `${((availableParallelism() * 1024) / putTarget).toFixed(2)} s of machine CPU per GiB; the striping relay used ` +
      `${cpuOf(stripedPut).toFixed(2)} without MD5, ${cpuOf(stripedPutMd5).toFixed(2)} with it`,
  );
  const ceilings = {
    md5: md5.median,
    loopback: loopback.median,
    relay: relay.median,
    disk: disk.median,
    diskRead: diskRead.median,
    parityDisk: parityDisk.median,
    stripedPut: stripedPut.median,
    stripedPutMd5: stripedPutMd5.median,
    stripedPutServers: serversCpuOf(stripedPut),
    stripedPutMd5Servers: serversCpuOf(stripedPutMd5),
  };

  for (const [index, unit] of units.entries()) {
    const dataDir = join(root, `cluster-${index}`);
    const cluster = await startCluster(dataDir, unit);
    try {
      // The degraded section reads the large section's objects.
      if (wanted("large") || wanted("degraded")) await largeObjects(cluster, dataDir, ceilings, unit ? ` (stripe unit ${unit / 1024} KiB)` : "");
      if (index === units.length - 1) {
        if (wanted("small")) await smallObjects(cluster, dataDir);
        if (wanted("listing")) {
          await listing(cluster);
          await versionListing(cluster);
        }
        if (wanted("degraded")) await degraded(cluster, ceilings);
        if (wanted("durability")) {
          const kit: BenchKit = { runs: RUNS, largeBytes: LARGE, record, timed, median, put: (target, path, size) => s3(target, "PUT", path, size > 0 ? zeros(size) : undefined, size) };
          await durability(cluster, ceilings, kit);
        }
        if (wanted("memory")) await memory(cluster);
      }
    } finally {
      await cluster.stop();
    }
  }
  await mkdir("bench/results", { recursive: true });
  const file = `bench/results/${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  await writeFile(file, JSON.stringify({ quick, units, figures }, null, 2));
  console.log(`\nwritten ${file}`);
} finally {
  await agent.close();
  await rm(root, { recursive: true, force: true });
}
