// The gateway's Prometheus metrics, GET /_weft/metrics on the S3 port (docs/architecture.md, Observability, says what
// each series means). Requests are recorded once each, by the access log in app.ts, on label children resolved once;
// what the gateway already knows (its disks) and what PostgreSQL counts (the heal queue, the disks due for a scrub) is
// gathered only when scraped.
import type Koa from "koa";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Sql } from "../../../meta/src/db.js";
import { countHealQueue } from "../../../meta/src/pg/heal.js";
import { disksDueForScrub } from "../../../meta/src/pg/scrub.js";
import type { MetaStore } from "../../../meta/src/store.js";
import { RequestSeries, serveMetrics } from "../../../ioserver/src/metrics.js";
import type { GatewayConfig } from "../config.js";
import type { DiskReport, IoPool } from "../data/io-pool.js";
import { settledWithin } from "./health.js";

export const METRICS_PATH = "/_weft/metrics";

/** A scrape waits this long for PostgreSQL's counts; a gauge it could not fill reads NaN. */
const DATABASE_COUNT_TIMEOUT_MS = 2000;

/** Seconds: an index lookup at the low end, a multipart completion or a pool wait under load at the high end. */
const METADATA_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface GatewayMetricsSources {
  sql: Sql;
  io: IoPool;
  config: GatewayConfig;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests: RequestSeries;
  private readonly degradedReads: Counter;
  private readonly metadataCalls: Histogram;
  private metadataCallsInFlight = 0;
  private readonly token: string | undefined;

  constructor({ sql, io, config }: GatewayMetricsSources) {
    const registers = [this.registry];
    this.token = config.metricsToken;
    collectDefaultMetrics({ register: this.registry });
    this.requests = new RequestSeries(this.registry, "weft_gateway", "op", "S3 operation (WeftAdmin: the admin API; Unresolved: refused before its operation was known)");
    this.degradedReads = new Counter({
      name: "weft_gateway_degraded_reads_total",
      help: "Object reads (GET, and the reads of copies) that rebuilt bytes from parity or from a copy because a data slot was missing, down or failed.",
      registers,
    });
    this.metadataCalls = new Histogram({
      name: "weft_gateway_metadata_call_seconds",
      help: "Time from a call of the object layer's metadata facade (MetaStore) to its result: the wait for one of the pool's PostgreSQL connections, the round trip and PostgreSQL's work. The healer, scrubber, collector and credential lookups are not included.",
      buckets: METADATA_BUCKETS,
      registers,
    });
    const inFlight = () => this.metadataCallsInFlight;
    new Gauge({
      name: "weft_gateway_metadata_calls_in_flight",
      help: "Metadata facade calls under way at scrape time; more than weft_gateway_postgres_pool_connections means calls queue behind others on busy connections.",
      registers,
      collect() {
        this.set(inFlight());
      },
    });
    new Gauge({ name: "weft_gateway_postgres_pool_connections", help: "PostgreSQL connections the gateway opens at most (WEFT_PG_POOL).", registers }).set(config.databasePoolSize);
    this.diskGauges(io);
    new Gauge({
      name: "weft_gateway_heal_queue_parts",
      help: "Parts queued for heal, cluster-wide (a count in PostgreSQL at scrape time; NaN when it does not answer).",
      registers,
      async collect() {
        this.set((await settledWithin(countHealQueue(sql), DATABASE_COUNT_TIMEOUT_MS)) ?? Number.NaN);
      },
    });
    new Gauge({
      name: "weft_gateway_scrub_due_disks",
      help: "Disks not retired whose last scrub is older than WEFT_SCRUB_INTERVAL_MS or that were never scrubbed, cluster-wide (PostgreSQL at scrape time; NaN when it does not answer).",
      registers,
      async collect() {
        this.set((await settledWithin(disksDueForScrub(sql, config.scrubIntervalMs), DATABASE_COUNT_TIMEOUT_MS))?.length ?? Number.NaN);
      },
    });
  }

  /** The disks as this gateway's last round saw them (io-pool.ts): nothing is asked at scrape time. */
  private diskGauges(io: IoPool): void {
    const registers = [this.registry];
    const perDisk = (name: string, help: string, valueOf: (disk: DiskReport) => number | undefined) =>
      new Gauge({
        name,
        help,
        labelNames: ["disk"],
        registers,
        // Rebuilt at each scrape, so that a disk no longer registered, or no longer answering, leaves no stale value.
        collect() {
          this.reset();
          for (const disk of io.diskViews()) {
            const value = valueOf(disk);
            if (value !== undefined) this.labels(disk.id).set(value);
          }
        },
      });
    perDisk("weft_gateway_disk_up", "1 when the disk answered as itself in this gateway's last disk round (every 2 s) and no call to it failed since, else 0.", (disk) => (disk.up ? 1 : 0));
    perDisk("weft_gateway_disk_free_bytes", "Free bytes of the disk's filesystem, from its last health answer (absent while it is down).", (disk) => disk.freeBytes);
    perDisk("weft_gateway_disk_used_bytes", "Used bytes of the disk's filesystem, from its last health answer (absent while it is down).", (disk) => disk.usedBytes);
    perDisk("weft_gateway_disk_datafiles", "Datafiles in the disk's folder as its ioserver last counted them (absent while it is down or before its first count).", (disk) => disk.datafiles);
  }

  recordRequest(op: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void {
    this.requests.record(op, status, seconds, bytesIn, bytesOut);
  }

  readonly countDegradedRead = (): void => {
    this.degradedReads.inc();
  };

  /**
   * Times every method of `meta` (each is one metadata round trip, meta/src/store.ts) into
   * weft_gateway_metadata_call_seconds. The methods are replaced on the instance; the result is the same object.
   */
  timeMetadataCalls(meta: MetaStore): MetaStore {
    const prototype = Object.getPrototypeOf(meta) as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const method = prototype[name];
      if (name === "constructor" || typeof method !== "function") continue;
      const timed = (...args: unknown[]): Promise<unknown> => {
        const startedAt = performance.now();
        this.metadataCallsInFlight++;
        const result = (method as (...args: unknown[]) => Promise<unknown>).apply(meta, args);
        const settled = () => {
          this.metadataCallsInFlight--;
          this.metadataCalls.observe((performance.now() - startedAt) / 1000);
        };
        result.then(settled, settled);
        return result;
      };
      Object.defineProperty(meta, name, { value: timed });
    }
    return meta;
  }

  serve(ctx: Koa.ParameterizedContext): Promise<void> {
    return serveMetrics(ctx, this.registry, this.token);
  }
}
