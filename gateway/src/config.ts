// One typed configuration object for the gateway, read from the environment once at start-up.

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
  /** Access key pairs seeded into PostgreSQL at start (more can live there already). */
  accessKeys: Record<string, string>;
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
  /** RSS growth after which an idle moment returns memory to the kernel (memory-reducer.ts); 0 disables. */
  memoryReducerGrowthBytes: number;
  logLevel: string;
}

function integer(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${text}`);
  return value;
}

function list(name: string, fallback: string[]): string[] {
  const text = process.env[name];
  if (text === undefined || text.trim() === "") return fallback;
  return text.split(",").map((item) => item.trim()).filter(Boolean);
}

/** `STANDARD=4+2,REDUCED_REDUNDANCY=4+1` → {STANDARD: {k:4,m:2}, ...} */
export function parseStorageClasses(text: string): Record<string, StorageClassConfig> {
  const classes: Record<string, StorageClassConfig> = {};
  for (const entry of text.split(",").map((item) => item.trim()).filter(Boolean)) {
    const match = /^([A-Z0-9_]+)=(\d+)\+(\d+)$/.exec(entry);
    if (!match) throw new Error(`bad storage class "${entry}", expected NAME=K+M`);
    const k = Number(match[2]);
    const m = Number(match[3]);
    if (k < 1 || k > 24 || m > 6) throw new Error(`storage class ${match[1]}: need 1 ≤ k ≤ 24 and m ≤ 6`);
    classes[match[1]] = { k, m };
  }
  return classes;
}

export const DEFAULT_ACCESS_KEY = "weftadmin";
export const DEFAULT_SECRET_KEY = "weftadmin-secret-key";

export function loadConfig(): GatewayConfig {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error("DATABASE_URL is required");
  const clusterSecret = process.env.WEFT_CLUSTER_SECRET;
  if (!clusterSecret) throw new Error("WEFT_CLUSTER_SECRET is required");
  const ioserverUrls = list("WEFT_IOSERVERS", []);
  if (ioserverUrls.length === 0) throw new Error("WEFT_IOSERVERS (comma-separated ioserver URLs) is required");
  const storageClasses = parseStorageClasses(process.env.WEFT_STORAGE_CLASSES ?? "STANDARD=4+2,REDUCED_REDUNDANCY=4+1");
  const defaultStorageClass = process.env.WEFT_DEFAULT_STORAGE_CLASS ?? "STANDARD";
  if (!storageClasses[defaultStorageClass]) throw new Error(`default storage class ${defaultStorageClass} is not defined`);
  // 256 KiB: chosen by `npm run bench -- --units 64K,256K,1M,4M` (docs/performance.md).
  const stripeUnit = integer("WEFT_STRIPE_UNIT", 256 * 1024);
  if (stripeUnit < 4096 || stripeUnit % 4096 !== 0) throw new Error("WEFT_STRIPE_UNIT must be a multiple of 4096");
  // 4, not postgres.js's 10: with every connection busy, statements share round trips and wake-ups of PostgreSQL
  // (4 KiB GETs at concurrency 16: ~22% more per second; docs/performance.md).
  const databasePoolSize = integer("WEFT_PG_POOL", 4);
  if (databasePoolSize < 1) throw new Error("WEFT_PG_POOL must be at least 1");
  return {
    host: process.env.WEFT_HOST ?? "127.0.0.1",
    port: integer("WEFT_PORT", 9000),
    region: process.env.WEFT_REGION ?? "us-east-1",
    virtualHostDomains: list("WEFT_DOMAINS", ["localhost"]),
    databaseUrl,
    databasePoolSize,
    ioserverUrls,
    // 2 GiB: what lands on a disk between two health checks (2 s at a few hundred MB/s) plus a large slot in flight
    // (a 5 GiB part striped over 4 data slots puts 1.25 GiB on each) still fits once the disk crosses the reserve.
    diskReserveBytes: integer("WEFT_DISK_RESERVE_BYTES", 2 * 1024 * 1024 * 1024),
    clusterSecret,
    accessKeys: {
      [process.env.WEFT_ACCESS_KEY ?? DEFAULT_ACCESS_KEY]: process.env.WEFT_SECRET_KEY ?? DEFAULT_SECRET_KEY,
    },
    storageClasses,
    defaultStorageClass,
    stripeUnit,
    inlineThreshold: integer("WEFT_INLINE_THRESHOLD", 4096),
    // 64 KiB: chosen by `npm run bench -- --only small --small-size S --replicate T` (docs/performance.md).
    replicationThreshold: integer("WEFT_REPLICATION_THRESHOLD", 64 * 1024),
    // 1: a degraded part still survives one more lost disk; m makes every write all-or-nothing.
    minParityWritten: integer("WEFT_MIN_PARITY_WRITTEN", 1),
    healIntervalMs: integer("WEFT_HEAL_INTERVAL_MS", 10_000),
    // 64 MiB/s: a quarter of one disk's sequential rate or less on the disks this was built on; heal reads k times that.
    healBytesPerSecond: integer("WEFT_HEAL_BYTES_PER_SECOND", 64 * 1024 * 1024),
    // A week, as Ceph's deep scrub: a disk's silent corruption is found within days, not at the next read years later.
    scrubIntervalMs: integer("WEFT_SCRUB_INTERVAL_MS", 7 * 24 * 60 * 60 * 1000),
    // 32 MiB/s per disk: a whole 4 TB disk in about a day and a half, leaving most of its bandwidth to clients.
    scrubBytesPerSecond: integer("WEFT_SCRUB_BYTES_PER_SECOND", 32 * 1024 * 1024),
    pendingGraceMs: integer("WEFT_PENDING_GRACE_MS", 60 * 60 * 1000),
    gcIntervalMs: integer("WEFT_GC_INTERVAL_MS", 5000),
    memoryReducerGrowthBytes: integer("WEFT_MEMORY_REDUCER_GROWTH", 64 * 1024 * 1024),
    logLevel: process.env.WEFT_LOG_LEVEL ?? "info",
  };
}
