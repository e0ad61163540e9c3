// Scrub (docs/architecture.md, Scrubbing): every datafile row of a disk is checked by its ioserver, which reads every
// block and checks it (GET /verify; no bytes cross the network), and compared with the length and CRC32C recorded at
// commit. A datafile missing, corrupt or not matching its row loses the row and its part is queued for heal. Then the
// disk's listing is held against the rows: blobs nothing references are queued for collection after a grace period.
// Each gateway scrubs the disks that are due (every WEFT_SCRUB_INTERVAL_MS); `weft scrub` scrubs all of them now.
// Disks are scrubbed in parallel, each one blob at a time, under a lease so that gateways never scrub one twice.
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { MAX_VERIFY_BATCH, type VerifiedBlob } from "../../../ioserver/src/protocol.js";
import type { Sql } from "../../../meta/src/db.js";
import { datafilesByDisk } from "../../../meta/src/pg/durability.js";
import { queueUnreferencedBlobs } from "../../../meta/src/pg/gc.js";
import { disksDueForScrub, dropBadDatafiles, finishScrub, leaseScrub, listDatafilesOnDisk, releaseScrub, type ScrubbedDatafile } from "../../../meta/src/pg/scrub.js";
import type { IoPool } from "../data/io-pool.js";

export interface ScrubberOptions {
  /** How long after a disk's last scrub it is scrubbed again. */
  intervalMs: number;
  /** How often a gateway looks for disks that are due. */
  checkEveryMs: number;
  /** Bytes verified per second at most, per disk, so the disks keep serving clients; 0: no limit. */
  bytesPerSecondPerDisk: number;
  /** A blob nothing references is deleted this long after a scrub finds it. */
  orphanGraceMs: number;
}

export interface DiskScrub {
  diskId: string;
  state: "waiting" | "scrubbing" | "done" | "skipped";
  /** Why a disk was skipped: down, or scrubbed by another gateway. */
  reason?: string;
  datafiles: number;
  bytesVerified: number;
  missing: number;
  corrupt: number;
  orphans: number;
}

export interface ScrubProgress {
  running: boolean;
  startedAt?: string;
  finishedAt?: string;
  /** Bytes the rows of the disks in this pass hold: what a pass reads, for an estimate of the time left. */
  totalBytes: number;
  disks: DiskScrub[];
}

const LEASE_MS = 5 * 60_000;
const ROWS_PER_PAGE = 1024;
/** One verify request reads at most about this much: it answers only when its last blob is read. */
const VERIFY_BATCH_BYTES = 256 * 1024 * 1024;
const LIST_PAGE = 10_000;

export class Scrubber {
  private readonly holder = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private progressOfPass: ScrubProgress = { running: false, totalBytes: 0, disks: [] };
  private stopped = false;
  private readonly stopping = new AbortController();

  constructor(
    private readonly sql: Sql,
    private readonly io: IoPool,
    private readonly log: Logger,
    private readonly options: ScrubberOptions,
  ) {}

  start(): void {
    const schedule = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        void (async () => {
          const due = await disksDueForScrub(this.sql, this.options.intervalMs);
          if (due.length > 0) await this.startPass(due);
        })()
          .catch((error: unknown) => this.log.warn({ err: error }, "scrub schedule failed"))
          .finally(schedule);
      }, this.options.checkEveryMs);
      this.timer.unref();
    };
    schedule();
  }

  /** Scrubs `disks` (default: every disk not retired) unless a pass is running; resolves when the pass ends. */
  startPass(disks?: string[]): Promise<void> {
    if (!this.pass) {
      const ids = disks ?? this.io.diskViews().filter((disk) => disk.state !== "retired").map((disk) => disk.id);
      this.progressOfPass = {
        running: true,
        startedAt: new Date().toISOString(),
        totalBytes: 0,
        disks: ids.map((diskId) => ({ diskId, state: "waiting", datafiles: 0, bytesVerified: 0, missing: 0, corrupt: 0, orphans: 0 })),
      };
      this.pass = this.runPass(this.progressOfPass)
        .catch((error: unknown) => this.log.warn({ err: error }, "scrub pass failed"))
        .finally(() => {
          this.progressOfPass.running = false;
          this.progressOfPass.finishedAt = new Date().toISOString();
          this.pass = undefined;
        });
    }
    return this.pass;
  }

  progress(): ScrubProgress {
    return { ...this.progressOfPass, disks: this.progressOfPass.disks.map((disk) => ({ ...disk })) };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort(new Error("the gateway is stopping"));
    if (this.timer) clearTimeout(this.timer);
    await this.pass;
  }

  private async runPass(progress: ScrubProgress): Promise<void> {
    const bytes = await datafilesByDisk(this.sql);
    progress.totalBytes = progress.disks.reduce((sum, disk) => sum + (bytes.get(disk.diskId)?.bytes ?? 0), 0);
    await Promise.all(progress.disks.map((disk) => this.scrubDisk(disk)));
  }

  private async scrubDisk(disk: DiskScrub): Promise<void> {
    const skip = (reason: string) => {
      disk.state = "skipped";
      disk.reason = reason;
    };
    if (!this.io.clientFor(disk.diskId)) return skip("down");
    if (!(await leaseScrub(this.sql, disk.diskId, this.holder, LEASE_MS))) return skip("another gateway is scrubbing it");
    disk.state = "scrubbing";
    const started = Date.now();
    try {
      let after = "";
      for (;;) {
        const rows = await listDatafilesOnDisk(this.sql, disk.diskId, after, ROWS_PER_PAGE);
        if (rows.length === 0) break;
        after = rows[rows.length - 1]!.blobId;
        for (const batch of verifyBatches(rows)) {
          const results = await this.verify(disk.diskId, batch);
          const bad = judge(batch, results, disk);
          if (bad.length > 0) {
            await dropBadDatafiles(this.sql, disk.diskId, bad);
            this.log.warn({ ioserver: disk.diskId, blobs: bad }, "scrub dropped missing or corrupt datafiles; their parts are queued for heal");
          }
          await this.throttle(started, disk.bytesVerified);
        }
        if (!(await leaseScrub(this.sql, disk.diskId, this.holder, LEASE_MS))) throw new Error("lost the scrub lease");
      }
      await this.collectOrphans(disk);
      await finishScrub(this.sql, disk.diskId, this.holder);
      disk.state = "done";
    } catch (error) {
      await releaseScrub(this.sql, disk.diskId, this.holder).catch(() => undefined);
      skip(`failed: ${(error as Error).message}`);
      this.log.warn({ err: error, ioserver: disk.diskId }, "scrubbing a disk failed");
    }
  }

  private async verify(diskId: string, batch: ScrubbedDatafile[]): Promise<VerifiedBlob[]> {
    const client = this.io.clientFor(diskId);
    if (!client) throw new Error("the disk went down");
    const { results } = await client.verifyBlobs(
      batch.map((row) => row.blobId),
      { signal: this.stopping.signal, requestId: "scrub" },
    );
    return results;
  }

  /** Blobs on the disk that no row references are queued for collection after the grace period. */
  private async collectOrphans(disk: DiskScrub): Promise<void> {
    let after: string | undefined;
    do {
      const client = this.io.clientFor(disk.diskId);
      if (!client) throw new Error("the disk went down");
      const page = await client.listBlobs(after, LIST_PAGE, { signal: this.stopping.signal });
      const orphans = await queueUnreferencedBlobs(this.sql, disk.diskId, page.ids, this.options.orphanGraceMs);
      if (orphans.length > 0) this.log.warn({ ioserver: disk.diskId, blobs: orphans.length }, "scrub found blobs nothing references; they will be collected");
      disk.orphans += orphans.length;
      after = page.next;
    } while (after !== undefined);
  }

  private async throttle(startedAt: number, bytes: number): Promise<void> {
    if (this.options.bytesPerSecondPerDisk <= 0) return;
    const aheadMs = (bytes / this.options.bytesPerSecondPerDisk) * 1000 - (Date.now() - startedAt);
    if (aheadMs > 0) await new Promise((resolve) => setTimeout(resolve, aheadMs));
  }
}

/** Rows cut into verify requests of at most MAX_VERIFY_BATCH blobs and about VERIFY_BATCH_BYTES. */
function* verifyBatches(rows: ScrubbedDatafile[]): Generator<ScrubbedDatafile[]> {
  let batch: ScrubbedDatafile[] = [];
  let bytes = 0;
  for (const row of rows) {
    if (batch.length > 0 && (batch.length === MAX_VERIFY_BATCH || bytes + row.length > VERIFY_BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(row);
    bytes += row.length;
  }
  if (batch.length > 0) yield batch;
}

/**
 * The blob ids of committed datafiles the ioserver found missing or corrupt, or whose length or CRC32C is not what
 * the commit recorded (a file another writer replaced); counts everything into `disk`. A part still being written may
 * not have its datafiles yet: its rows are left alone.
 */
function judge(rows: ScrubbedDatafile[], results: VerifiedBlob[], disk: DiskScrub): string[] {
  const bad: string[] = [];
  rows.forEach((row, index) => {
    const result = results[index];
    if (!result || result.id !== row.blobId) throw new Error(`verify answered ${result?.id} for ${row.blobId}`);
    disk.datafiles++;
    disk.bytesVerified += result.length ?? 0;
    if (!row.committed) return;
    if (result.status === "missing") disk.missing++;
    else if (result.status === "corrupt" || result.length !== row.length || (row.crc32c !== null && result.crc32c !== row.crc32c)) disk.corrupt++;
    else return;
    bad.push(row.blobId);
  });
  return bad;
}
