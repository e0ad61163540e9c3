// GET /_weft/healthz and /_weft/readyz, for load balancers and orchestrators: no credentials, and answers that tell a
// stranger nothing (no disk ids, URLs or versions). Alive: the process serves HTTP. Ready: PostgreSQL answers and
// enough disks are up to write a part of the widest storage class.
import type Koa from "koa";
import type { Sql } from "../../../meta/src/db.js";
import { pingDatabase } from "../../../meta/src/pg/cluster.js";
import type { StorageClassConfig } from "../config.js";
import type { IoPool } from "../data/io-pool.js";

export const HEALTHZ_PATH = "/_weft/healthz";
export const READYZ_PATH = "/_weft/readyz";

/** A balancer may poll every gateway many times a second: PostgreSQL is asked at most once per this interval. */
const DATABASE_CHECK_CACHE_MS = 1000;
/** Longer than a loaded PostgreSQL takes to answer `select 1`, short enough for a balancer's probe timeout. */
const DATABASE_CHECK_TIMEOUT_MS = 1000;

/** `promise`'s value, or undefined when it rejects or takes longer than `ms` (it is not cancelled). */
export async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Disks a write of the widest storage class needs: its k data slots and the parity a degraded write must still have
 * (WEFT_MIN_PARITY_WRITTEN, at most m). Fewer, and writes are refused; reads may still work, but a balancer cannot
 * send reads and writes to different places, so the gateway is not ready.
 */
export function disksNeededForReadiness(storageClasses: Record<string, StorageClassConfig>, minParityWritten: number): number {
  return Math.max(...Object.values(storageClasses).map(({ k, m }) => k + Math.min(m, minParityWritten)));
}

export interface ReadinessReport {
  ready: boolean;
  /** What keeps the gateway from being ready; "shutdown": it has been told to stop and is finishing its requests. */
  missing: ("postgresql" | "disks" | "shutdown")[];
  disks: { up: number; needed: number };
}

export class Readiness {
  private checkedAt = Number.NEGATIVE_INFINITY;
  private databaseAnswered = false;
  /** The ping under way: a slow PostgreSQL gets one at a time, however often the gateway is probed. */
  private ping: Promise<boolean> | undefined;
  private shuttingDown = false;

  constructor(
    private readonly sql: Sql,
    private readonly io: IoPool,
    private readonly disksNeeded: number,
  ) {}

  /** From now on the gateway reports itself not ready, so that balancers stop sending it requests. */
  shutDown(): void {
    this.shuttingDown = true;
  }

  async report(): Promise<ReadinessReport> {
    const databaseAnswers = await this.databaseAnswers();
    // A retired disk is no longer one of the cluster's; a draining one still serves.
    const up = this.io.diskViews().filter((disk) => disk.up && disk.state !== "retired").length;
    const missing: ReadinessReport["missing"] = [];
    if (!databaseAnswers) missing.push("postgresql");
    if (up < this.disksNeeded) missing.push("disks");
    if (this.shuttingDown) missing.push("shutdown");
    return { ready: missing.length === 0, missing, disks: { up, needed: this.disksNeeded } };
  }

  private async databaseAnswers(): Promise<boolean> {
    if (performance.now() - this.checkedAt < DATABASE_CHECK_CACHE_MS) return this.databaseAnswered;
    this.ping ??= pingDatabase(this.sql)
      .then(
        () => true,
        () => false,
      )
      .finally(() => {
        this.ping = undefined;
      });
    this.databaseAnswered = (await settledWithin(this.ping, DATABASE_CHECK_TIMEOUT_MS)) === true;
    this.checkedAt = performance.now();
    return this.databaseAnswered;
  }
}

export function serveLiveness(ctx: Koa.ParameterizedContext): void {
  ctx.status = 200;
  ctx.type = "application/json";
  ctx.body = '{"alive":true}\n';
}

export async function serveReadiness(ctx: Koa.ParameterizedContext, readiness: Readiness): Promise<void> {
  const report = await readiness.report();
  ctx.status = report.ready ? 200 : 503;
  ctx.type = "application/json";
  ctx.body = `${JSON.stringify(report)}\n`;
}
