// The nonces of the requests an ioserver accepted, kept long enough that no signed request is accepted twice.
//
// A request dated d is acceptable while the clock reads d ± MAX_CLOCK_SKEW_MS (W), so one first seen at t stays
// acceptable until at most t + 2W. Nonces go into the current of two generations; every GENERATION_MS = 2W the
// current one becomes the previous and the previous is dropped, so a nonce is remembered at least 2W after it was
// seen, and at most 4W. Memory is bounded by MAX_NONCES_PER_GENERATION per generation: at most 2 million nonces,
// about 60 MB per million (24-character strings in a Set), reached only by 8,000 requests a second kept up for two
// minutes; at 1,000 requests a second it holds at most 240,000 (~15 MB). A full generation makes the ioserver refuse
// requests (503 Busy) until it rotates, rather than forget a nonce that could still be replayed.
import { MAX_CLOCK_SKEW_MS } from "./protocol.js";

export const GENERATION_MS = 2 * MAX_CLOCK_SKEW_MS;
export const MAX_NONCES_PER_GENERATION = 1_000_000;

export type NonceVerdict = "new" | "seen" | "full";

export class NonceCache {
  private current = new Set<string>();
  private previous = new Set<string>();
  private currentSince: number;

  constructor(
    now = Date.now(),
    private readonly generationMs = GENERATION_MS,
    private readonly maxPerGeneration = MAX_NONCES_PER_GENERATION,
  ) {
    this.currentSince = now;
  }

  /** "new": remembered from now on; "seen": accepted before; "full": neither, the request must be refused. */
  remember(nonce: string, now = Date.now()): NonceVerdict {
    this.rotate(now);
    if (this.current.has(nonce) || this.previous.has(nonce)) return "seen";
    if (this.current.size >= this.maxPerGeneration) return "full";
    this.current.add(nonce);
    return "new";
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  private rotate(now: number): void {
    const age = now - this.currentSince;
    if (age < this.generationMs) return;
    // Both generations are older than anything still acceptable once two have passed without a request.
    this.previous = age >= 2 * this.generationMs ? new Set() : this.current;
    this.current = new Set();
    this.currentSince = age >= 2 * this.generationMs ? now : this.currentSince + this.generationMs;
  }
}
