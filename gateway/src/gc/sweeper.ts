// The collector (docs/architecture.md, Commit protocol, step 5): deletes queued datafiles and reaps pending rows that never committed.
// Any number of gateways may run it: takeGarbage hands each item to one of them.
import type { Logger } from "pino";
import type { Sql } from "../../../meta/src/db.js";
import { deferGarbage, forgetGarbage, reapStalePending, takeGarbage } from "../../../meta/src/pg/gc.js";
import type { IoPool } from "../data/io-pool.js";

/** A delete that failed is tried again after this (a collector that dies instead lets its 30-second lease lapse). */
const DEFER_MS = 10_000;

export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly io: IoPool,
    private readonly log: Logger,
    private readonly options: { intervalMs: number; pendingGraceMs: number },
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sweep()
        .then(() => undefined, (error) => this.log.warn({ err: error }, "sweep failed"))
        .finally(() => (this.running = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** One pass: reap stale pending rows, then delete queued datafiles until the queue is empty or a server is down. */
  async sweep(): Promise<{ reaped: number; deleted: number }> {
    const reaped = await reapStalePending(this.sql, this.options.pendingGraceMs);
    let deleted = 0;
    for (;;) {
      const batch = await takeGarbage(this.sql, 100);
      if (batch.length === 0) break;
      const done: number[] = [];
      const deferred: number[] = [];
      await Promise.all(
        batch.map(async (item) => {
          // A disk that is down (or unknown here) keeps its items until it is back.
          const client = this.io.clientFor(item.ioserverId);
          if (!client) return void deferred.push(item.id);
          try {
            await client.deleteBlob(item.blobId);
            done.push(item.id);
          } catch (error) {
            deferred.push(item.id);
            this.log.debug({ err: error, blob: item.blobId, ioserver: item.ioserverId }, "datafile delete deferred");
          }
        }),
      );
      await forgetGarbage(this.sql, done);
      await deferGarbage(this.sql, deferred, DEFER_MS);
      deleted += done.length;
      if (done.length < batch.length) break; // some server is unreachable: try again next pass
    }
    return { reaped, deleted };
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
