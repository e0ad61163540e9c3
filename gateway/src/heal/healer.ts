// Heal: rebuilds the missing slots of parts in `heal_queue`, and moves the slots of draining and retired disks
// (docs/architecture.md, Healing). Every gateway runs one in
// the background, draining the queue every interval; `weft heal` starts a pass at once that first queues every part
// missing slots. Parts are leased (not_before), so gateways share the work, and a healer that dies mid-part leaves
// the lease to lapse and its rebuilt blobs to the collector: the work resumes from the queue.
import type { Logger } from "pino";
import type { Sql } from "../../../meta/src/db.js";
import {
  collectBlobsNow,
  commitHealedSlots,
  countHealQueue,
  finishHeal,
  leaseHealWork,
  loadPartForHeal,
  postponeHeal,
  queueBlobsUnlessClaimed,
  queueDegradedParts,
  renewHealLease,
  wakePartsWaitingForDisks,
  type HealedSlot,
} from "../../../meta/src/pg/heal.js";
import { IoServerError } from "../../../ioserver/src/client.js";
import type { IoPool } from "../data/io-pool.js";
import { placeSlots } from "../data/placement.js";
import { RebuildSourceError, rebuildSlots, type SlotEndpoint } from "../data/slot-rebuilder.js";
import { StripeWriteError } from "../data/striper.js";
import { newId } from "../objects/ids.js";

export interface HealerOptions {
  /** How often the background healer looks at the queue. */
  intervalMs: number;
  /** Rebuilt bytes written per second at most, so foreground traffic keeps the disks; 0: no limit. */
  bytesPerSecond: number;
  /** A rebuilt blob not recorded within this time is collected (the healer died). */
  unclaimedBlobGraceMs: number;
}

/** What a pass did so far; `weft heal --wait` shows it. */
export interface HealProgress {
  running: boolean;
  startedAt?: string;
  finishedAt?: string;
  /** Parts in the queue when the pass began (all gateways' work, not only this one's). */
  queuedAtStart: number;
  partsHealed: number;
  slotsRebuilt: number;
  bytesWritten: number;
  /** Parts left for later: too few readable slots, no disk to put a slot on, or still being written. */
  partsPostponed: number;
  failures: number;
  lastError?: string;
}

type PartOutcome = "healed" | "postponed" | "failed" | "gone";

/** Renewed every third of itself while a part is rebuilt: a healer that dies holds a part for this long at most. */
const LEASE_MS = 30_000;
const LEASE_BATCH = 8;
/** A part that cannot be rebuilt yet is looked at again after this, or when a disk comes up if it waits for one. */
const RETRY_LATER_MS = 60_000;
/** A degraded write queues its part before it commits, which takes milliseconds. */
const PENDING_RETRY_MS = 5_000;

export class Healer {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private progressOfPass: HealProgress = emptyProgress();
  private stopped = false;
  private scanWanted = false;
  /** The writable disks at the last pass: one more than then may be what a waiting part needs. */
  private writableBefore = new Set<string>();
  /** Aborts the rebuild in progress when the gateway stops: its blobs go to the collector, its lease lapses. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly sql: Sql,
    private readonly io: IoPool,
    private readonly log: Logger,
    private readonly options: HealerOptions,
  ) {}

  start(): void {
    const schedule = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        void this.startPass({ scanAll: false }).finally(schedule);
      }, this.options.intervalMs);
      this.timer.unref();
    };
    schedule();
  }

  /**
   * Starts a pass unless one is running; resolves when that pass ends. `scanAll` first queues every degraded part (a
   * running pass does that before it ends).
   */
  startPass(options: { scanAll: boolean }): Promise<void> {
    if (options.scanAll) this.scanWanted = true;
    if (!this.pass) {
      this.pass = this.runPass()
        .catch((error: unknown) => {
          this.progressOfPass.failures++;
          this.progressOfPass.lastError = (error as Error).message;
          this.log.warn({ err: error }, "heal pass failed");
        })
        .finally(() => {
          this.progressOfPass.running = false;
          this.progressOfPass.finishedAt = new Date().toISOString();
          this.pass = undefined;
        });
    }
    return this.pass;
  }

  progress(): HealProgress {
    return { ...this.progressOfPass };
  }

  queued(): Promise<number> {
    return countHealQueue(this.sql);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort(new Error("the gateway is stopping"));
    if (this.timer) clearTimeout(this.timer);
    await this.pass;
  }

  private async runPass(): Promise<void> {
    const progress: HealProgress = { ...emptyProgress(), running: true, startedAt: new Date().toISOString() };
    this.progressOfPass = progress;
    const started = Date.now();
    const writable = new Set(this.io.writableIds());
    if ([...writable].some((id) => !this.writableBefore.has(id))) await wakePartsWaitingForDisks(this.sql);
    this.writableBefore = writable;
    while (!this.stopped) {
      if (this.scanWanted) {
        this.scanWanted = false;
        await queueDegradedParts(this.sql);
        progress.queuedAtStart = await countHealQueue(this.sql);
      }
      const parts = await leaseHealWork(this.sql, LEASE_BATCH, LEASE_MS);
      if (parts.length === 0 && !this.scanWanted) break;
      for (const partId of parts) {
        if (this.stopped) return;
        const renewal = setInterval(() => void renewHealLease(this.sql, partId, LEASE_MS).catch(() => undefined), LEASE_MS / 3);
        const outcome = await this.healPart(partId, progress)
          .catch(async (error: unknown) => {
            progress.lastError = (error as Error).message;
            this.log.warn({ err: error, partId }, "healing a part failed");
            await postponeHeal(this.sql, partId, RETRY_LATER_MS).catch(() => undefined);
            return "failed" as const;
          })
          .finally(() => clearInterval(renewal));
        if (outcome === "healed") progress.partsHealed++;
        else if (outcome === "postponed") progress.partsPostponed++;
        else if (outcome === "failed") progress.failures++;
        await this.throttle(started, progress.bytesWritten);
      }
    }
  }

  /** Keeps the pass's average rate of rebuilt bytes under the limit. */
  private async throttle(startedAt: number, bytes: number): Promise<void> {
    if (this.options.bytesPerSecond <= 0) return;
    const aheadMs = (bytes / this.options.bytesPerSecond) * 1000 - (Date.now() - startedAt);
    if (aheadMs > 0) await new Promise((resolve) => setTimeout(resolve, aheadMs));
  }

  private async healPart(partId: number, progress: HealProgress): Promise<PartOutcome> {
    const part = await loadPartForHeal(this.sql, partId);
    if (!part) {
      await finishHeal(this.sql, partId);
      return "gone";
    }
    // Its write is still going on: its commit decides which slots it has.
    if (part.state !== "complete") {
      await postponeHeal(this.sql, partId, PENDING_RETRY_MS);
      return "postponed";
    }
    const layout = { size: part.size, unit: part.unit, k: part.k, m: part.m };
    // A slot on a draining or retired disk is moved: rebuilt elsewhere from the others, then its old datafile collected.
    const states = new Map(this.io.diskViews().map((disk) => [disk.id, disk.state]));
    const leaving = part.datafiles.filter((datafile) => states.get(datafile.ioserverId) === "draining" || states.get(datafile.ioserverId) === "retired");
    const staying = part.datafiles.filter((datafile) => !leaving.includes(datafile));
    const held = new Set(staying.map((datafile) => datafile.slot));
    const missing = Array.from({ length: part.k + part.m }, (_, slot) => slot).filter((slot) => !held.has(slot));
    if (missing.length === 0 || part.k === 0) {
      await finishHeal(this.sql, partId);
      return "healed";
    }
    // Data slots first: with all of them, a parity slot's rebuild is the writer's own encoding.
    let sources: SlotEndpoint[] = staying
      .map((datafile) => ({ slot: datafile.slot, blobId: datafile.blobId, client: this.io.clientFor(datafile.ioserverId) }))
      .filter((source): source is SlotEndpoint => source.client !== undefined);
    // Never two slots of a part on one disk, counting the slots on disks that are down.
    const occupied = new Set(part.datafiles.map((datafile) => datafile.ioserverId));
    const candidates = this.io.writableIds().filter((id) => !occupied.has(id));
    if (sources.length < part.k || candidates.length === 0) {
      await postponeHeal(this.sql, partId, RETRY_LATER_MS, true);
      return "postponed";
    }
    const disks = placeSlots(`heal/${partId}`, candidates, Math.min(missing.length, candidates.length));
    const slots = missing.slice(0, disks.length).map((slot, index) => {
      const old = leaving.find((datafile) => datafile.slot === slot);
      return { slot, ioserverId: disks[index]!, blobId: newId(), ...(old ? { replaces: { ioserverId: old.ioserverId, blobId: old.blobId } } : {}) };
    });
    const targets = slots.map((slot) => ({ slot: slot.slot, blobId: slot.blobId, client: this.io.clientFor(slot.ioserverId)! }));
    await queueBlobsUnlessClaimed(this.sql, slots, this.options.unclaimedBlobGraceMs);
    for (;;) {
      try {
        const written = await rebuildSlots(layout, sources, targets, { requestId: `heal-${partId}`, signal: this.stopping.signal });
        const healed: HealedSlot[] = written.map((datafile, index) => ({ ...slots[index]!, length: datafile.length, crc32c: datafile.crc32c }));
        const recorded = await commitHealedSlots(this.sql, partId, healed);
        progress.slotsRebuilt += recorded.length;
        progress.bytesWritten += written.reduce((sum, datafile) => sum + datafile.length, 0);
        if (recorded.length === missing.length) {
          await finishHeal(this.sql, partId);
          return "healed";
        }
        await postponeHeal(this.sql, partId, RETRY_LATER_MS);
        return "postponed";
      } catch (error) {
        if (error instanceof RebuildSourceError && sources.length > part.k && !this.stopped) {
          this.log.warn({ err: error, partId }, "a slot read for heal failed; trying another");
          sources = sources.filter((source) => source.slot !== error.slot);
          continue;
        }
        if (error instanceof StripeWriteError && error.cause instanceof IoServerError && error.cause.unreachable) {
          this.io.reportFailure(slots.find((slot) => slot.slot === error.slot)!.ioserverId);
        }
        await collectBlobsNow(this.sql, slots);
        throw error;
      }
    }
  }
}

function emptyProgress(): HealProgress {
  return { running: false, queuedAtStart: 0, partsHealed: 0, slotsRebuilt: 0, bytesWritten: 0, partsPostponed: 0, failures: 0 };
}
