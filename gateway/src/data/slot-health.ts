// What one part's read has learnt about its slots, and the plan that follows from it: which stripes to read
// straight from the data slots, and which to rebuild with Reed–Solomon from which k slots.
//
// A failure is not a verdict on the whole datafile: one bad 64 KiB block spoils one stripe of one slot, and a
// part survives one such block in every stripe as long as each stripe keeps k good slots. So a slot is given up
// for the rest of the part only when it cannot serve anything any more (its server does not answer, its
// datafile does not exist); every other failure costs it a stripe or a few:
//
// - Unreadable in stripe s: a read that asked the slot for bytes up to stripe s, and no further, failed in
//   stripe s. An ioserver verifies the blocks that overlap the asked range and no others, so the failure is in
//   that stripe. The slot is never asked for stripe s again.
// - Resting: a read that went on past the stripe where it failed says less. An ioserver reads and verifies
//   several blocks at a time and gives up before the first bytes of a bad one, so the bad block may lie a few
//   stripes after the last byte that arrived. The slot is avoided, not excluded: a stripe that cannot do without
//   it reads it on its own (a one-stripe segment), where a failure is exact.
//
// A slot rests from the stripe where it failed for 1, 2, 4, … stripes, doubling with each failure in the part:
// a slot with one bad block is back from the next stripe, and one that fails everywhere costs a logarithmic
// number of failed requests rather than one per stripe.
import { dataUnitLength, storedLength, stripeBytes, type StripeLayout } from "./layout.js";

export interface SegmentPlan {
  /** The last stripe this plan holds for. */
  lastStripe: number;
  /** The k slots to rebuild from, in slot order; undefined: read the data slots directly. */
  sources: number[] | undefined;
}

interface StripePlan {
  sources: number[] | undefined;
  usesResting: boolean;
}

/** Longest rest, in doublings: beyond any part's stripe count, and far from overflowing. */
const MAX_REST_DOUBLINGS = 40;

export class SlotHealth {
  private readonly gone: Set<number>;
  private readonly unreadable = new Map<number, Set<number>>();
  private readonly failureCounts = new Map<number, number>();
  /** Stripes [first, last] a slot is avoided in: the hull of its rests so far. */
  private readonly rests = new Map<number, { first: number; last: number }>();

  /** `down`: slots whose servers are known to be down before the read starts. */
  constructor(
    private readonly layout: StripeLayout,
    down: Iterable<number>,
  ) {
    this.gone = new Set(down);
  }

  /** The slot can serve nothing more of this part: its server did not answer, or its datafile is missing. */
  giveUp(slot: number): void {
    this.gone.add(slot);
  }

  /**
   * A read of the slot asked for local bytes up to `askedUntil` and failed at local byte `failedAt` (the first
   * one that did not arrive).
   */
  recordFailure(slot: number, failedAt: number, askedUntil: number): void {
    const { unit } = this.layout;
    const stripe = Math.floor(Math.min(failedAt, askedUntil) / unit);
    if (stripe === Math.floor(askedUntil / unit)) {
      const stripes = this.unreadable.get(slot) ?? new Set<number>();
      stripes.add(stripe);
      this.unreadable.set(slot, stripes);
    }
    const failures = (this.failureCounts.get(slot) ?? 0) + 1;
    this.failureCounts.set(slot, failures);
    const last = stripe + 2 ** Math.min(failures - 1, MAX_REST_DOUBLINGS) - 1;
    const rest = this.rests.get(slot);
    this.rests.set(slot, { first: Math.min(rest?.first ?? stripe, stripe), last: Math.max(rest?.last ?? last, last) });
  }

  /** Slots that cannot serve `stripe`, in slot order. */
  unusableIn(stripe: number): number[] {
    const { k, m } = this.layout;
    return [...Array(k + m).keys()].filter((slot) => this.isUnusable(slot, stripe));
  }

  /**
   * How to read part bytes [from, to] from the stripe holding `from` on: the longest run of stripes that one
   * set of slots serves. undefined when that first stripe has fewer than k usable slots.
   */
  planSegment(from: number, to: number): SegmentPlan | undefined {
    const perStripe = stripeBytes(this.layout);
    const first = Math.floor(from / perStripe);
    const last = Math.floor(to / perStripe);
    if (this.gone.size === 0 && this.failureCounts.size === 0) return { lastStripe: last, sources: undefined };
    let plan = this.planStripe(first, from, to);
    if (!plan) return undefined;
    // A resting slot is read only for the one stripe that needs it, so that its failure there is exact.
    if (plan.usesResting) return { lastStripe: first, sources: plan.sources };
    // The partial stripes at either end of a range are read the way their neighbour is, when they can be: one
    // set of GETs rather than two, and a read whose rebuilding cannot be done fails before its first byte.
    if (plan.sources === undefined && first < last && from > first * perStripe) {
      const next = this.planStripe(first + 1, from, to);
      if (next?.sources && !next.usesResting && this.canServe(next.sources, first)) plan = next;
    }
    for (const stripe of this.changesAfter(first, last)) {
      const next = this.planStripe(stripe, from, to);
      if (next && !next.usesResting && sameSlots(next.sources, plan.sources)) continue;
      const partialLast = stripe === last && to < (last + 1) * perStripe - 1;
      if (partialLast && next && next.sources === undefined && plan.sources && this.canServe(plan.sources, last)) continue;
      return { lastStripe: stripe - 1, sources: plan.sources };
    }
    return { lastStripe: last, sources: plan.sources };
  }

  /** Whether `sources` can rebuild `stripe` without a slot that is unusable or resting there. */
  private canServe(sources: readonly number[], stripe: number): boolean {
    const { k } = this.layout;
    return sources.every(
      (slot) => (slot < k && storedLength(this.layout, stripe, slot) === 0) || (!this.isUnusable(slot, stripe) && !this.isResting(slot, stripe)),
    );
  }

  private isUnusable(slot: number, stripe: number): boolean {
    return this.gone.has(slot) || this.unreadable.get(slot)?.has(stripe) === true;
  }

  private isResting(slot: number, stripe: number): boolean {
    const rest = this.rests.get(slot);
    return rest !== undefined && rest.first <= stripe && stripe <= rest.last;
  }

  /** Stripes in (first, last] where the plan may differ from the stripe before: where an unreadable stripe or
   *  a rest begins or ends, and where the range stops covering whole stripes. */
  private changesAfter(first: number, last: number): number[] {
    const stripes = new Set([first + 1, last]);
    for (const unreadable of this.unreadable.values()) {
      for (const stripe of unreadable) stripes.add(stripe).add(stripe + 1);
    }
    for (const { first: restFirst, last: restLast } of this.rests.values()) stripes.add(restFirst).add(restLast + 1);
    return [...stripes].filter((stripe) => stripe > first && stripe <= last).sort((a, b) => a - b);
  }

  private planStripe(stripe: number, from: number, to: number): StripePlan | undefined {
    const { layout } = this;
    const { unit, k, m } = layout;
    const stripeStart = stripe * stripeBytes(layout);
    const direct = [...Array(k).keys()].every((slot) => {
      const unitStart = stripeStart + slot * unit;
      const length = dataUnitLength(layout, stripe, slot);
      const touched = length > 0 && unitStart <= to && unitStart + length - 1 >= from;
      return !touched || (!this.isUnusable(slot, stripe) && !this.isResting(slot, stripe));
    });
    if (direct) return { sources: undefined, usesResting: false };
    // Data slots first: a data shard needs no decoding. A data slot with no bytes in this stripe (the tail of a
    // short last stripe) is known to be zeros and needs no server. Resting slots only if there is no other way.
    const sources: number[] = [];
    let usesResting = false;
    for (const resting of [false, true]) {
      for (let slot = 0; slot < k + m && sources.length < k; slot++) {
        if (sources.includes(slot)) continue;
        const zeros = slot < k && storedLength(layout, stripe, slot) === 0;
        if (zeros ? resting : this.isUnusable(slot, stripe) || this.isResting(slot, stripe) !== resting) continue;
        sources.push(slot);
        usesResting ||= resting;
      }
    }
    if (sources.length < k) return undefined;
    sources.sort((a, b) => a - b);
    // Every data slot usable after all (a resting one among them): nothing to rebuild.
    return { sources: sources[k - 1] < k ? undefined : sources, usesResting };
  }
}

function sameSlots(a: number[] | undefined, b: number[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((slot, index) => slot === b[index]);
}
