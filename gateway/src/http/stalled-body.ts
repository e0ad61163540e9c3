// Requests whose body stops arriving. AWS answers 400 RequestTimeout to a body idle for 20 s; without a watch, a
// stalled upload would hold its connection, its PostgreSQL reservation and its ioserver streams until the socket died.
import type { IncomingMessage } from "node:http";

interface Watched {
  request: IncomingMessage;
  bytesRead: number;
  progressAt: number;
  onStall: () => void;
}

/**
 * One timer for every request body under way (a timer per request would cost the small-PUT fast path). Progress is the
 * socket's byte count, which moves whoever consumes the body and however the HTTP parser reads the socket.
 */
export class StalledBodyWatch {
  private readonly watched = new Set<Watched>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly idleMs: number,
    private readonly tickMs = Math.max(50, Math.min(1_000, Math.floor(idleMs / 4))),
  ) {}

  /** Calls `onStall` once if the body of `request` makes no progress for idleMs; returns the function that stops the watch. */
  watch(request: IncomingMessage, onStall: () => void): () => void {
    if (this.idleMs === 0 || request.complete || !hasBody(request)) return noWatch;
    const entry: Watched = { request, bytesRead: request.socket.bytesRead, progressAt: Date.now(), onStall };
    this.watched.add(entry);
    this.timer ??= setInterval(() => this.check(), this.tickMs).unref();
    return () => this.forget(entry);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.watched.clear();
  }

  private forget(entry: Watched): void {
    this.watched.delete(entry);
    if (this.watched.size === 0) this.stop();
  }

  private check(): void {
    const now = Date.now();
    for (const entry of this.watched) {
      const { request } = entry;
      if (request.complete || request.destroyed) {
        this.forget(entry);
        continue;
      }
      const bytesRead = request.socket.bytesRead;
      // A body we stopped reading (the stripes ahead of it wait on slow disks) is our delay, not the client's.
      if (bytesRead !== entry.bytesRead || weAreNotReading(request)) {
        entry.bytesRead = bytesRead;
        entry.progressAt = now;
      } else if (now - entry.progressAt >= this.idleMs) {
        this.forget(entry);
        entry.onStall();
      }
    }
  }
}

function weAreNotReading(request: IncomingMessage): boolean {
  return request.readableFlowing === false || request.readableLength >= request.readableHighWaterMark;
}

/** A GET, HEAD or DELETE declares no body: nothing to watch, and nothing to cost the small-request path. */
function hasBody(request: IncomingMessage): boolean {
  const length = request.headers["content-length"];
  return (length !== undefined && length !== "0") || request.headers["transfer-encoding"] !== undefined;
}

const noWatch = () => {};
