// The lifecycle worker (docs/architecture.md, Lifecycle): every interval, one gateway of the cluster (the one that
// gets the advisory lock; the others skip the round) applies the enabled rules of every bucket that has some. Each
// action reads a bounded batch of due rows in key order and acts on it in one statement, then goes on after the last
// key; nothing is remembered between rounds, so a round cut short anywhere leaves whole batches done and the next
// round finds what is still due.
import type { Logger } from "pino";
import type { Sql } from "../../../meta/src/db.js";
import {
  bucketsWithLifecycle,
  expireCurrentObjects,
  expireNoncurrentVersions,
  findExpiredDeleteMarkers,
  findExpiringObjects,
  findKeysWithNoncurrentVersions,
  findStaleUploads,
  removeExpiredDeleteMarkers,
  withLifecycleLock,
  type LifecycleBucket,
  type LifecycleRule,
} from "../../../meta/src/pg/lifecycle.js";
import { abortUpload } from "../../../meta/src/pg/uploads.js";
import { scopeOf } from "./rules.js";

export interface LifecycleWorkerOptions {
  intervalMs: number;
  /** The length of a rule's day in seconds (86400 but in tests and trials). */
  daySeconds: number;
  /** Rows read and acted on per statement. */
  batchSize?: number;
}

/** What one round did, cluster-wide (only one gateway runs a round at a time). */
export interface LifecycleRoundReport {
  buckets: number;
  objectsExpired: number;
  deleteMarkersRemoved: number;
  noncurrentVersionsRemoved: number;
  uploadsAborted: number;
}

const DEFAULT_BATCH = 100;
const BUCKET_PAGE = 100;

export class LifecycleWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly sql: Sql,
    private readonly log: Logger,
    private readonly options: LifecycleWorkerOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.runRound()
        .then(
          (report) => {
            if (report && hasWork(report)) this.log.info({ lifecycle: report }, "lifecycle round");
          },
          (error) => this.log.warn({ err: error }, "lifecycle round failed"),
        )
        .finally(() => (this.running = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** One round over every bucket with rules; undefined when another gateway holds the lock and runs it. */
  async runRound(): Promise<LifecycleRoundReport | undefined> {
    const report: LifecycleRoundReport = { buckets: 0, objectsExpired: 0, deleteMarkersRemoved: 0, noncurrentVersionsRemoved: 0, uploadsAborted: 0 };
    const ran = await withLifecycleLock(this.sql, async () => {
      let afterId = 0;
      for (;;) {
        const buckets = await bucketsWithLifecycle(this.sql, afterId, BUCKET_PAGE);
        for (const bucket of buckets) {
          if (this.stopped) return;
          report.buckets++;
          // One bucket's failure (say, a statement timing out) must not hold up the others' rules.
          await this.applyRules(bucket, report).catch((error: unknown) =>
            this.log.warn({ err: error, bucket: bucket.name }, "lifecycle rules of a bucket failed; the next round tries again"),
          );
        }
        if (buckets.length < BUCKET_PAGE) return;
        afterId = buckets[buckets.length - 1]!.id;
      }
    });
    return ran ? report : undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private get batch(): number {
    return this.options.batchSize ?? DEFAULT_BATCH;
  }

  private async applyRules(bucket: LifecycleBucket, report: LifecycleRoundReport): Promise<void> {
    for (const rule of bucket.rules) {
      if (rule.status !== "Enabled") continue;
      report.objectsExpired += await this.expireObjects(bucket, rule);
      report.deleteMarkersRemoved += await this.removeExpiredMarkers(bucket, rule);
      report.noncurrentVersionsRemoved += await this.expireNoncurrent(bucket, rule);
      report.uploadsAborted += await this.abortStaleUploads(bucket, rule);
    }
  }

  /**
   * Pages through the rows `find` returns after a key cursor, acting on each batch; the cursor moves past rows the
   * action skipped (under object lock, say), so a round ends.
   */
  private async inBatches<Row extends { key: string }>(
    find: (afterKey: string) => Promise<Row[]>,
    act: (rows: Row[]) => Promise<number>,
  ): Promise<number> {
    let done = 0;
    let afterKey = "";
    for (;;) {
      if (this.stopped) return done;
      const rows = await find(afterKey);
      if (rows.length > 0) done += await act(rows);
      if (rows.length < this.batch) return done;
      afterKey = rows[rows.length - 1]!.key;
    }
  }

  private expireObjects(bucket: LifecycleBucket, rule: LifecycleRule): Promise<number> {
    const expiration = rule.expiration;
    if (expiration?.days === undefined && expiration?.date === undefined) return Promise.resolve(0);
    const due = expiration.date !== undefined ? { date: new Date(expiration.date) } : { days: expiration.days!, daySeconds: this.options.daySeconds };
    const scope = scopeOf(rule);
    return this.inBatches(
      (afterKey) => findExpiringObjects(this.sql, bucket.id, scope, due, afterKey, this.batch),
      (rows) => expireCurrentObjects(this.sql, bucket.id, rows.map((row) => row.id)),
    );
  }

  /**
   * ExpiredObjectDeleteMarker, and what AWS does along with an Expiration in Days: delete markers left with no
   * version behind them go once they are as old as the rule's days. A delete marker has no tags, so a rule that asks
   * for tags selects none; size conditions do not apply to markers.
   */
  private removeExpiredMarkers(bucket: LifecycleBucket, rule: LifecycleRule): Promise<number> {
    const expiration = rule.expiration;
    if (bucket.versioning === "Unversioned" || !(expiration?.expiredObjectDeleteMarker || expiration?.days !== undefined)) return Promise.resolve(0);
    const scope = scopeOf(rule);
    if (scope.tags.length > 0) return Promise.resolve(0);
    const due = expiration.expiredObjectDeleteMarker ? undefined : { days: expiration.days!, daySeconds: this.options.daySeconds };
    return this.inBatches(
      (afterKey) => findExpiredDeleteMarkers(this.sql, bucket.id, scope.prefix, due, afterKey, this.batch),
      (rows) => removeExpiredDeleteMarkers(this.sql, bucket.id, rows.map((row) => row.id)),
    );
  }

  private expireNoncurrent(bucket: LifecycleBucket, rule: LifecycleRule): Promise<number> {
    const expiration = rule.noncurrentVersionExpiration;
    if (!expiration || bucket.versioning === "Unversioned") return Promise.resolve(0);
    const scope = scopeOf(rule);
    const settings = { days: expiration.noncurrentDays, daySeconds: this.options.daySeconds, keep: expiration.newerNoncurrentVersions ?? 0, scope };
    return this.inBatches(
      async (afterKey) => (await findKeysWithNoncurrentVersions(this.sql, bucket.id, scope.prefix, afterKey, this.batch)).map((key) => ({ key })),
      (rows) => expireNoncurrentVersions(this.sql, bucket.id, rows.map((row) => row.key), settings),
    );
  }

  /** AbortIncompleteMultipartUpload: each upload goes as AbortMultipartUpload takes it (its parts become garbage). */
  private async abortStaleUploads(bucket: LifecycleBucket, rule: LifecycleRule): Promise<number> {
    const abort = rule.abortIncompleteMultipartUpload;
    if (!abort) return 0;
    const prefix = scopeOf(rule).prefix;
    const due = { days: abort.daysAfterInitiation, daySeconds: this.options.daySeconds };
    let aborted = 0;
    let after = { key: "", uploadId: "" };
    for (;;) {
      if (this.stopped) return aborted;
      const uploads = await findStaleUploads(this.sql, bucket.id, prefix, due, after, this.batch);
      for (const upload of uploads) if (await abortUpload(this.sql, upload.uploadId)) aborted++;
      if (uploads.length < this.batch) return aborted;
      after = uploads[uploads.length - 1]!;
    }
  }
}

function hasWork(report: LifecycleRoundReport): boolean {
  return report.objectsExpired + report.deleteMarkersRemoved + report.noncurrentVersionsRemoved + report.uploadsAborted > 0;
}
