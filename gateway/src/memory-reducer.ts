// Gives memory back once a burst of streaming is over.
//
// Every socket read is a fresh 64 KiB ArrayBuffer in glibc's heap. V8 frees dead ones at its next collection,
// and those old enough to have been promoted only at a full collection, which external memory forces no sooner
// than every ~64 MiB; Node never runs V8's idle-time collections. So a gateway that streamed hard keeps tens of
// MiB of dead buffers, and glibc keeps the heap pages they were spread over even once they are freed: after
// eight concurrent 128 MiB streams a gateway sat at 180–190 MiB RSS for good, ~100 MiB of it glibc's heap, and
// the next large stream peaked above 200 (docs/performance.md).
//
// So: once RSS has grown by `growthBytes` since the last reduction and the event loop has been (nearly) idle for
// a whole interval, one full collection frees the dead buffers and malloc_trim(0) hands glibc's free pages back
// to the kernel. It costs some tens of milliseconds of one idle moment, and nothing while requests stream.
import { performance, type EventLoopUtilization } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import koffi from "koffi";
import type { Logger } from "pino";

export interface MemoryReducerOptions {
  /** RSS growth since the last reduction (or start) that makes an idle moment worth a reduction; 0 disables. */
  growthBytes: number;
  /** How often to look; an interval whose event-loop utilization stays under `idleUtilization` counts as idle. */
  intervalMs?: number;
  idleUtilization?: number;
  log?: Logger;
}

export interface Reduction {
  rssBefore: number;
  rssAfter: number;
  milliseconds: number;
}

export class MemoryReducer {
  private timer: NodeJS.Timeout | undefined;
  private baseline = process.memoryUsage.rss();
  private utilization: EventLoopUtilization = performance.eventLoopUtilization();
  private reducing = false;
  /** Reductions run so far. */
  reductions = 0;

  constructor(private readonly options: MemoryReducerOptions) {}

  start(): void {
    if (this.options.growthBytes <= 0 || this.timer) return;
    this.timer = setInterval(() => this.check(), this.options.intervalMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    const since = performance.eventLoopUtilization(this.utilization);
    this.utilization = performance.eventLoopUtilization();
    if (this.reducing) return;
    const rss = process.memoryUsage.rss();
    // Memory that came back by itself lowers the mark the next growth is measured from.
    this.baseline = Math.min(this.baseline, rss);
    if (rss - this.baseline < this.options.growthBytes) return;
    if (since.utilization > (this.options.idleUtilization ?? 0.05)) return;
    this.reduce().then(
      (reduction) =>
        this.options.log?.info(
          { rssBeforeMiB: mib(reduction.rssBefore), rssAfterMiB: mib(reduction.rssAfter), ms: Math.round(reduction.milliseconds) },
          "memory reduced after streaming",
        ),
      (error: unknown) => this.options.log?.warn({ err: error }, "memory reduction failed"),
    );
  }

  /** Runs a full collection, and trims glibc's heap once the dead buffers are freed. */
  async reduce(): Promise<Reduction> {
    this.reducing = true;
    try {
      const started = performance.now();
      const rssBefore = process.memoryUsage.rss();
      fullCollection();
      await arrayBuffersSwept();
      trimMallocHeap?.();
      const rssAfter = process.memoryUsage.rss();
      this.baseline = rssAfter;
      this.reductions++;
      return { rssBefore, rssAfter, milliseconds: performance.now() - started };
    } finally {
      this.reducing = false;
    }
  }
}

/**
 * V8 frees dead ArrayBuffers on a background thread after the collection returns; trimming before they are
 * freed trims nothing. Waits until V8's count of ArrayBuffer bytes has stopped falling (at most half a second).
 */
async function arrayBuffersSwept(): Promise<void> {
  let last = process.memoryUsage().arrayBuffers;
  let unchanged = 0;
  for (let waited = 0; waited < 500 && unchanged < 3; waited += 10) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const now = process.memoryUsage().arrayBuffers;
    unchanged = now < last ? 0 : unchanged + 1;
    last = now;
  }
}

function mib(bytes: number): number {
  return Math.round(bytes / 1048576);
}

/** V8's full collection. The gc function exists only with --expose-gc; the flag still takes effect this late. */
const fullCollection: () => void = (() => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

/** glibc's malloc_trim(0), which also returns free pages inside the heap; undefined where libc is not glibc. */
const trimMallocHeap: (() => void) | undefined = (() => {
  if (process.platform !== "linux") return undefined;
  try {
    const mallocTrim = koffi.load("libc.so.6").func("int malloc_trim(size_t pad)");
    return () => void mallocTrim(0);
  } catch {
    return undefined; // musl and others: the collection alone still frees the dead buffers
  }
})();
