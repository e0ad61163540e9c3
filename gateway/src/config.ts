// One typed configuration object for the gateway, read from the environment once at start-up. Every variable is
// checked before anything starts, and every problem is reported at once (one line each, exit status 2): `npm start`
// (cluster/start-local.ts) checks its environment with the same rules.
import { readTlsFiles, type TlsFiles } from "../../ioserver/src/listener.js";
import { pino } from "pino";
import { readFileSync } from "node:fs";
import { parseMasterKey } from "./auth/master-keys.js";
import { MAX_K, MAX_M } from "./data/layout.js";

export interface StorageClassConfig {
  k: number; // data slots per stripe
  m: number; // parity slots per stripe
}

export interface GatewayConfig {
  host: string;
  port: number;
  region: string;
  /** Hosts under which `<bucket>.<domain>` is virtual-hosted addressing; anything else is path-style. */
  virtualHostDomains: string[];
  databaseUrl: string;
  /** PostgreSQL connections this gateway opens at most; statements beyond them are pipelined on busy ones. */
  databasePoolSize: number;
  /** Base URLs of ioservers this gateway registers; it also uses every disk the registry holds (data/io-pool.ts). */
  ioserverUrls: string[];
  /** A disk whose filesystem has less free space than this gets no new datafiles (data/placement.ts). */
  diskReserveBytes: number;
  clusterSecret: string;
  /** The admin access key pairs (WEFT_ACCESS_KEY): the bootstrap admin user's, known only to configuration. */
  accessKeys: Record<string, string>;
  /** Seals access key secrets in PostgreSQL (auth/master-keys.ts); previous keys still open what they sealed. */
  masterKeys: { current: Buffer; previous: Buffer[] };
  storageClasses: Record<string, StorageClassConfig>;
  defaultStorageClass: string;
  /** Default stripe unit in bytes (multiple of 8); small parts use a smaller one (gateway/src/data/layout.ts). */
  stripeUnit: number;
  /** Objects and parts up to this many bytes are stored in PostgreSQL instead of datafiles. */
  inlineThreshold: number;
  /** Parts up to this many bytes (and above inlineThreshold) are stored as 1+m copies instead of k+m shards. */
  replicationThreshold: number;
  /**
   * Parity slots a part must have on disk, beyond its k data slots, for a write to be acknowledged while disks are
   * down or fail mid-write (capped at the class's m); the slots not written are recorded as missing.
   */
  minParityWritten: number;
  /** How often each gateway's background healer drains the heal queue (ms). */
  healIntervalMs: number;
  /** Rebuilt bytes a healer writes per second at most; 0: no limit. */
  healBytesPerSecond: number;
  /** How long after a disk's last scrub it is scrubbed again (ms). */
  scrubIntervalMs: number;
  /** Bytes a scrub has each ioserver verify per second at most; 0: no limit. */
  scrubBytesPerSecond: number;
  /** A pending version or part older than this is reaped by the collector (ms). */
  pendingGraceMs: number;
  gcIntervalMs: number;
  /** How often the lifecycle worker runs a round (ms); one gateway of the cluster runs each round. */
  lifecycleIntervalMs: number;
  /** The length of a lifecycle rule's day (s): 86400, or less to watch rules act in tests and trials. */
  lifecycleDaySeconds: number;
  /** On SIGTERM, how long requests under way may take to finish before their connections are cut (ms). */
  shutdownGraceMs: number;
  /** A request whose body stops arriving for this long is answered 400 RequestTimeout (ms). */
  requestIdleTimeoutMs: number;
  /** RSS growth after which an idle moment returns memory to the kernel (memory-reducer.ts); 0 disables. */
  memoryReducerGrowthBytes: number;
  /** WEFT_METRICS_TOKEN: when set, GET /_weft/metrics needs it as a bearer token; otherwise metrics are open. */
  metricsToken: string | undefined;
  /** Serve HTTPS with this certificate and key (WEFT_TLS_CERT, WEFT_TLS_KEY); plain HTTP when undefined. */
  tls: TlsFiles | undefined;
  logLevel: string;
}

export type Environment = Readonly<Record<string, string | undefined>>;

/** Variables whose value must not be echoed into a terminal or a log. */
const SECRET_VARIABLES = new Set(["DATABASE_URL", "WEFT_CLUSTER_SECRET", "WEFT_SECRET_KEY", "WEFT_MASTER_KEY", "WEFT_MASTER_KEY_PREVIOUS"]);

/**
 * Reads variables from an environment, noting one line per bad value instead of stopping at the first, so that one
 * attempt to start shows every mistake. A read returns its fallback when the variable is unset, empty or bad.
 */
export class EnvironmentReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Environment) {}

  /** `NAME=value: message`; `NAME: message` when the variable is unset or its value is secret. */
  problem(name: string, message: string): void {
    const value = this.text(name);
    this.problems.push(value === undefined || SECRET_VARIABLES.has(name) ? `${name}: ${message}` : `${name}=${value}: ${message}`);
  }

  text(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  }

  required(name: string, what: string): string | undefined {
    const value = this.text(name);
    if (value === undefined) this.problem(name, `required (${what})`);
    return value;
  }

  /** Digits only: Number() alone would also take "0x10", "1e3" and " ". */
  integer(name: string, fallback: number, { min = 0 } = {}): number {
    const text = this.text(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
      this.problem(name, "not a whole number");
    } else if (value < min) {
      this.problem(name, `must be at least ${min}`);
    } else {
      return value;
    }
    return fallback;
  }

  port(name: string, fallback: number): number {
    const text = this.text(name);
    if (text === undefined) return fallback;
    if (/^\d+$/.test(text) && Number(text) <= 65535) return Number(text);
    this.problem(name, "not a port number (0 to 65535)");
    return fallback;
  }

  list(name: string, fallback: string[]): string[] {
    const text = this.text(name);
    return text === undefined ? fallback : text.split(",").map((item) => item.trim()).filter(Boolean);
  }

  oneOf(name: string, fallback: string, allowed: readonly string[]): string {
    const text = this.text(name);
    if (text === undefined) return fallback;
    if (allowed.includes(text)) return text;
    this.problem(name, `must be one of ${allowed.join(", ")}`);
    return fallback;
  }
}

/** Prints each problem as `<program>: <problem>` on stderr and exits with status 2, a usage error. */
export function exitWithConfigProblems(program: string, problems: readonly string[]): never {
  for (const problem of problems) process.stderr.write(`${program}: ${problem}\n`);
  process.exit(2);
}

const LOG_LEVELS: readonly string[] = [...Object.keys(pino.levels.values), "silent"];

const DEFAULT_STORAGE_CLASSES = "STANDARD=4+2,REDUCED_REDUNDANCY=4+1";

/**
 * `STANDARD=4+2,REDUCED_REDUNDANCY=4+1` → {STANDARD: {k:4,m:2}, ...}. A class must fit the erasure code, and its
 * k+m slots must fit on distinct disks: on `ioserverCount` ioservers, when known.
 */
function readStorageClasses(reader: EnvironmentReader, ioserverCount: number | undefined): Record<string, StorageClassConfig> {
  const name = "WEFT_STORAGE_CLASSES";
  const classes: Record<string, StorageClassConfig> = {};
  for (const entry of (reader.text(name) ?? DEFAULT_STORAGE_CLASSES).split(",").map((item) => item.trim()).filter(Boolean)) {
    const match = /^([A-Z0-9_]+)=(\d+)\+(\d+)$/.exec(entry);
    if (!match) {
      reader.problem(name, `"${entry}" is not NAME=K+M (e.g. STANDARD=4+2)`);
      continue;
    }
    const k = Number(match[2]);
    const m = Number(match[3]);
    if (k < 1 || k > MAX_K || m > MAX_M) {
      reader.problem(name, `${entry}: the erasure code takes 1 to ${MAX_K} data slots (k) and 0 to ${MAX_M} parity slots (m)`);
    } else if (ioserverCount !== undefined && k + m > ioserverCount) {
      reader.problem(name, `${entry} puts each part on ${k + m} disks, but only ${ioserverCount} ioservers are configured`);
    }
    classes[match[1]] = { k, m };
  }
  return classes;
}

const MASTER_KEY_FORMAT = "64 hex digits or the base64 of 32 bytes (`openssl rand -hex 32`)";

/** WEFT_MASTER_KEY, or the file WEFT_MASTER_KEY_FILE names, and the comma-separated WEFT_MASTER_KEY_PREVIOUS. */
function readMasterKeys(reader: EnvironmentReader): { current: Buffer; previous: Buffer[] } {
  const fallback = { current: Buffer.alloc(0), previous: [] };
  let text = reader.text("WEFT_MASTER_KEY");
  const file = reader.text("WEFT_MASTER_KEY_FILE");
  if (text !== undefined && file !== undefined) reader.problem("WEFT_MASTER_KEY_FILE", "give WEFT_MASTER_KEY or WEFT_MASTER_KEY_FILE, not both");
  if (text === undefined && file !== undefined) {
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      reader.problem("WEFT_MASTER_KEY_FILE", `cannot read it: ${(error as Error).message}`);
      return fallback;
    }
  }
  if (text === undefined) {
    reader.required("WEFT_MASTER_KEY", `the key that seals access key secrets in PostgreSQL, ${MASTER_KEY_FORMAT}; or WEFT_MASTER_KEY_FILE`);
    return fallback;
  }
  const current = parseMasterKey(text);
  if (!current) reader.problem(file !== undefined ? "WEFT_MASTER_KEY_FILE" : "WEFT_MASTER_KEY", `not a master key: ${MASTER_KEY_FORMAT}`);
  const previous: Buffer[] = [];
  for (const item of reader.list("WEFT_MASTER_KEY_PREVIOUS", [])) {
    const key = parseMasterKey(item);
    if (key) previous.push(key);
    else reader.problem("WEFT_MASTER_KEY_PREVIOUS", `an entry is not a master key: ${MASTER_KEY_FORMAT}`);
  }
  return { current: current ?? fallback.current, previous };
}

function readDatabaseUrl(reader: EnvironmentReader): string | undefined {
  const text = reader.required("DATABASE_URL", "a postgres:// URL");
  if (text === undefined) return undefined;
  if (!URL.canParse(text)) reader.problem("DATABASE_URL", "not a URL (expected postgres://user:password@host:port/database)");
  else if (!["postgres:", "postgresql:"].includes(new URL(text).protocol)) reader.problem("DATABASE_URL", "not a postgres:// or postgresql:// URL");
  return text;
}

function readIoserverUrls(reader: EnvironmentReader): string[] {
  const urls = reader.list("WEFT_IOSERVERS", []);
  if (urls.length === 0) reader.required("WEFT_IOSERVERS", "comma-separated ioserver URLs");
  for (const url of urls) {
    if (!URL.canParse(url) || !["http:", "https:"].includes(new URL(url).protocol)) reader.problem("WEFT_IOSERVERS", `"${url}" is not an http:// URL`);
  }
  return urls;
}

export const DEFAULT_ACCESS_KEY = "weftadmin";
export const DEFAULT_SECRET_KEY = "weftadmin-secret-key";

export type ConfigReading = { ok: true; config: GatewayConfig } | { ok: false; problems: string[] };

/** The gateway's configuration from `env`, or every problem with it. */
export function readGatewayConfig(env: Environment = process.env): ConfigReading {
  const reader = new EnvironmentReader(env);
  const databaseUrl = readDatabaseUrl(reader);
  const tlsFiles = readTlsFiles(env);
  reader.problems.push(...tlsFiles.problems);
  const clusterSecret = reader.required("WEFT_CLUSTER_SECRET", "the secret shared with the ioservers");
  const masterKeys = readMasterKeys(reader);
  const ioserverUrls = readIoserverUrls(reader);
  const storageClasses = readStorageClasses(reader, ioserverUrls.length > 0 ? ioserverUrls.length : undefined);
  const defaultStorageClass = reader.text("WEFT_DEFAULT_STORAGE_CLASS") ?? "STANDARD";
  if (!storageClasses[defaultStorageClass]) {
    reader.problem("WEFT_DEFAULT_STORAGE_CLASS", `no such class in WEFT_STORAGE_CLASSES (${Object.keys(storageClasses).join(", ") || "none"})`);
  }
  // 256 KiB: chosen by `npm run bench -- --units 64K,256K,1M,4M` (docs/performance.md).
  const stripeUnit = reader.integer("WEFT_STRIPE_UNIT", 256 * 1024, { min: 4096 });
  if (stripeUnit % 4096 !== 0) reader.problem("WEFT_STRIPE_UNIT", "must be a multiple of 4096");
  const config: GatewayConfig = {
    host: reader.text("WEFT_HOST") ?? "127.0.0.1",
    port: reader.port("WEFT_PORT", 9000),
    region: reader.text("WEFT_REGION") ?? "us-east-1",
    virtualHostDomains: reader.list("WEFT_DOMAINS", ["localhost"]),
    databaseUrl: databaseUrl ?? "",
    // 4, not postgres.js's 10: with every connection busy, statements share round trips and wake-ups of PostgreSQL
    // (4 KiB GETs at concurrency 16: ~22% more per second; docs/performance.md).
    databasePoolSize: reader.integer("WEFT_PG_POOL", 4, { min: 1 }),
    ioserverUrls,
    // 2 GiB: what lands on a disk between two health checks (2 s at a few hundred MB/s) plus a large slot in flight
    // (a 5 GiB part striped over 4 data slots puts 1.25 GiB on each) still fits once the disk crosses the reserve.
    diskReserveBytes: reader.integer("WEFT_DISK_RESERVE_BYTES", 2 * 1024 * 1024 * 1024),
    clusterSecret: clusterSecret ?? "",
    accessKeys: {
      [reader.text("WEFT_ACCESS_KEY") ?? DEFAULT_ACCESS_KEY]: reader.text("WEFT_SECRET_KEY") ?? DEFAULT_SECRET_KEY,
    },
    masterKeys,
    storageClasses,
    defaultStorageClass,
    stripeUnit,
    inlineThreshold: reader.integer("WEFT_INLINE_THRESHOLD", 4096),
    // 64 KiB: chosen by `npm run bench -- --only small --small-size S --replicate T` (docs/performance.md).
    replicationThreshold: reader.integer("WEFT_REPLICATION_THRESHOLD", 64 * 1024),
    // 1: a degraded part still survives one more lost disk; m makes every write all-or-nothing.
    minParityWritten: reader.integer("WEFT_MIN_PARITY_WRITTEN", 1),
    // Timers: 0 would run them back to back.
    healIntervalMs: reader.integer("WEFT_HEAL_INTERVAL_MS", 10_000, { min: 1 }),
    // 64 MiB/s: a quarter of one disk's sequential rate or less on the disks this was built on; heal reads k times that.
    healBytesPerSecond: reader.integer("WEFT_HEAL_BYTES_PER_SECOND", 64 * 1024 * 1024),
    // A week, as Ceph's deep scrub: a disk's silent corruption is found within days, not at the next read years later.
    scrubIntervalMs: reader.integer("WEFT_SCRUB_INTERVAL_MS", 7 * 24 * 60 * 60 * 1000),
    // 32 MiB/s per disk: a whole 4 TB disk in about a day and a half, leaving most of its bandwidth to clients.
    scrubBytesPerSecond: reader.integer("WEFT_SCRUB_BYTES_PER_SECOND", 32 * 1024 * 1024),
    pendingGraceMs: reader.integer("WEFT_PENDING_GRACE_MS", 60 * 60 * 1000),
    gcIntervalMs: reader.integer("WEFT_GC_INTERVAL_MS", 5000, { min: 1 }),
    // An hour: rules count in days, and a round reads every current object of each bucket that has rules.
    lifecycleIntervalMs: reader.integer("WEFT_LIFECYCLE_INTERVAL_MS", 60 * 60 * 1000, { min: 1 }),
    lifecycleDaySeconds: reader.integer("WEFT_LIFECYCLE_DAY_SECONDS", 86_400, { min: 1 }),
    // 25 s: inside the 30 s a container runtime waits after SIGTERM before it sends SIGKILL.
    shutdownGraceMs: reader.integer("WEFT_SHUTDOWN_GRACE_MS", 25_000),
    // 20 s: how long AWS waits on a silent upload before its RequestTimeout; 0 never times one out.
    requestIdleTimeoutMs: reader.integer("WEFT_REQUEST_IDLE_TIMEOUT_MS", 20_000),
    memoryReducerGrowthBytes: reader.integer("WEFT_MEMORY_REDUCER_GROWTH", 64 * 1024 * 1024),
    metricsToken: reader.text("WEFT_METRICS_TOKEN"),
    tls: tlsFiles.tls,
    logLevel: reader.oneOf("WEFT_LOG_LEVEL", "info", LOG_LEVELS),
  };
  return reader.problems.length > 0 ? { ok: false, problems: reader.problems } : { ok: true, config };
}

/** The gateway's configuration; with any problem, every one is printed and the process exits with status 2. */
export function loadConfigOrExit(): GatewayConfig {
  const reading = readGatewayConfig();
  if (!reading.ok) exitWithConfigProblems("weft gateway", reading.problems);
  return reading.config;
}
