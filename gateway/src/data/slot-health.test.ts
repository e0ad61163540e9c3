import assert from "node:assert/strict";
import type { StripeLayout } from "./layout.js";
import { SlotHealth } from "./slot-health.js";

const KiB = 1024;
const MiB = 1024 * KiB;
// 20 stripes of 1 MiB: four data units of 256 KiB and two parity units each.
const layout: StripeLayout = { size: 20 * MiB, unit: 256 * KiB, k: 4, m: 2 };
const unit = layout.unit;
const whole = layout.size - 1;

/** Every segment from `from` to `to`: [first stripe, last stripe, sources or "direct"]. */
function segments(health: SlotHealth, from = 0, to = whole): [number, number, number[] | "direct"][] {
  const plans: [number, number, number[] | "direct"][] = [];
  for (let pos = from; pos <= to; ) {
    const plan = health.planSegment(pos, to);
    assert.ok(plan, `stripe ${Math.floor(pos / MiB)} is readable`);
    plans.push([Math.floor(pos / MiB), plan.lastStripe, plan.sources ?? "direct"]);
    pos = (plan.lastStripe + 1) * MiB;
  }
  return plans;
}

describe("SlotHealth: which slots each stripe of a part is read from", () => {
  it("reads the data slots straight through when nothing failed", () => {
    assert.deepEqual(segments(new SlotHealth(layout, [])), [[0, 19, "direct"]]);
  });

  it("rebuilds the whole range without a slot that is down, and ignores a parity slot that is down", () => {
    assert.deepEqual(segments(new SlotHealth(layout, [1])), [[0, 19, [0, 2, 3, 4]]]);
    assert.deepEqual(segments(new SlotHealth(layout, [5])), [[0, 19, "direct"]]);
    // A range that does not touch the lost slot needs no rebuilding.
    assert.deepEqual(segments(new SlotHealth(layout, [1]), 3 * MiB + 10, 3 * MiB + 100), [[3, 3, "direct"]]);
    // Partial first and last stripes that could be read directly are rebuilt with their neighbours: one set of
    // GETs, all answered before the first byte.
    assert.deepEqual(segments(new SlotHealth(layout, [1]), 2 * MiB + 2 * unit, 3 * MiB + unit + 5), [[2, 3, [0, 2, 3, 4]]]);
    assert.deepEqual(segments(new SlotHealth(layout, [1]), 2 * MiB + unit + 5, 4 * MiB + 5), [[2, 4, [0, 2, 3, 4]]]);
    // Not when the neighbour cannot serve them.
    const health = new SlotHealth(layout, [1]);
    health.recordFailure(4, 2 * unit, 3 * unit - 1);
    assert.deepEqual(segments(health, 2 * MiB + 2 * unit, 3 * MiB + unit + 5), [
      [2, 2, "direct"],
      [3, 3, [0, 2, 3, 4]],
    ]);
  });

  it("rebuilds only the stripe a slot failed in, then reads it again", () => {
    const health = new SlotHealth(layout, []);
    // Slot 2 was asked for stripe 7 alone and failed there.
    health.recordFailure(2, 7 * unit + 1000, 8 * unit - 1);
    assert.deepEqual(segments(health), [
      [0, 6, "direct"],
      [7, 7, [0, 1, 3, 4]],
      [8, 19, "direct"],
    ]);
    assert.deepEqual(health.unusableIn(7), [2]);
    assert.deepEqual(health.unusableIn(8), []);
  });

  it("lets a slot that failed in a long read rest, doubling the rest with each failure", () => {
    const health = new SlotHealth(layout, []);
    health.recordFailure(0, 3 * unit, whole);
    assert.deepEqual(segments(health), [
      [0, 2, "direct"],
      [3, 3, [1, 2, 3, 4]],
      [4, 19, "direct"],
    ]);
    health.recordFailure(0, 4 * unit, whole);
    health.recordFailure(0, 6 * unit, whole);
    // Three failures: resting for 4 stripes from the last one (6, 7, 8, 9). Resting is not unusable.
    assert.deepEqual(segments(health, 4 * MiB), [
      [4, 9, [1, 2, 3, 4]],
      [10, 19, "direct"],
    ]);
    assert.deepEqual(health.unusableIn(6), []);
  });

  it("reads a resting slot, one stripe at a time, when a stripe cannot do without it", () => {
    const health = new SlotHealth(layout, [5]);
    health.recordFailure(0, 10 * unit, whole); // resting in stripe 10
    health.recordFailure(0, 11 * unit, whole); // and 11, 12
    health.recordFailure(1, 11 * unit + 5, 12 * unit - 1); // unreadable in stripe 11
    assert.deepEqual(segments(health, 10 * MiB, 14 * MiB - 1), [
      [10, 10, [1, 2, 3, 4]],
      // Stripe 11 has lost slots 1 and 5: slot 0, resting, is its only way.
      [11, 11, [0, 2, 3, 4]],
      [12, 12, [1, 2, 3, 4]],
      [13, 13, "direct"],
    ]);
  });

  it("has no plan for a stripe with fewer than k usable slots, and names them", () => {
    const health = new SlotHealth(layout, [4]);
    health.recordFailure(1, 5 * unit, 6 * unit - 1);
    health.recordFailure(3, 5 * unit + 7, 6 * unit - 1);
    assert.equal(health.planSegment(5 * MiB, whole), undefined);
    assert.deepEqual(health.unusableIn(5), [1, 3, 4]);
    // The stripes before are fine, and the plan stops short of stripe 5.
    assert.deepEqual(health.planSegment(0, whole), { lastStripe: 4, sources: undefined });
  });

  it("reads the tail of a short last stripe from zeros, not from a server", () => {
    // 2.5 units of data: slot 3 has no bytes in the only stripe, slot 2 half a unit.
    const short: StripeLayout = { size: 2 * unit + unit / 2, unit, k: 4, m: 2 };
    const health = new SlotHealth(short, [0, 4]);
    assert.deepEqual(health.planSegment(0, short.size - 1), { lastStripe: 0, sources: [1, 2, 3, 5] });
  });
});
