import assert from "node:assert/strict";
import {
  chooseLayout,
  dataUnitLength,
  datafileLength,
  locate,
  shardSize,
  slotLocalRange,
  storedLength,
  stripeCount,
  type StripeLayout,
} from "./layout.js";
import { prng } from "../../../conformance/support/prng.js";


/** Reference mapping straight from docs/architecture.md, Data layout (the offset formula). */
function reference(layout: StripeLayout, b: number) {
  const stripe = Math.floor(b / (layout.k * layout.unit));
  const slot = Math.floor(b / layout.unit) % layout.k;
  return { stripe, slot, local: stripe * layout.unit + (b % layout.unit) };
}

describe("layout", () => {
  it("maps every byte of random small parts to exactly one (slot, offset), and lengths add up", () => {
    const random = prng(1);
    for (let trial = 0; trial < 400; trial++) {
      const k = 1 + Math.floor(random() * 6);
      const m = Math.floor(random() * 4);
      const unit = 8 * (1 + Math.floor(random() * 5));
      const size = Math.floor(random() * (unit * k * 4 + 20));
      const layout: StripeLayout = { size, unit, k, m };
      const seen = Array.from({ length: k }, (_, slot) => new Uint8Array(datafileLength(layout, slot)));
      for (let b = 0; b < size; b++) {
        const where = locate(layout, b);
        assert.deepEqual(where, reference(layout, b));
        assert.ok(where.local < seen[where.slot].length, `byte ${b} beyond datafile ${where.slot}`);
        assert.equal(seen[where.slot][where.local], 0, `byte ${b} collides`);
        seen[where.slot][where.local] = 1;
        assert.ok(where.local - where.stripe * unit < dataUnitLength(layout, where.stripe, where.slot));
      }
      for (const marks of seen) assert.ok(marks.every((mark) => mark === 1), "datafile has a byte no object byte maps to");
      const dataTotal = seen.reduce((sum, marks) => sum + marks.length, 0);
      assert.equal(dataTotal, size);
      const stripes = stripeCount(layout);
      assert.equal(stripes, Math.ceil(size / (k * unit)));
      let perStripeTotal = 0;
      for (let stripe = 0; stripe < stripes; stripe++) {
        const shard = shardSize(layout, stripe);
        assert.equal(shard % 8, 0);
        assert.ok(shard > 0 && shard <= unit);
        for (let slot = 0; slot < k; slot++) {
          assert.ok(dataUnitLength(layout, stripe, slot) <= shard, "a data unit longer than its stripe's shard");
          perStripeTotal += dataUnitLength(layout, stripe, slot);
        }
        if (stripe < stripes - 1) assert.equal(shard, unit);
      }
      assert.equal(perStripeTotal, size);
      for (let p = 0; p < m; p++) {
        let parityTotal = 0;
        for (let stripe = 0; stripe < stripes; stripe++) parityTotal += storedLength(layout, stripe, k + p);
        assert.equal(datafileLength(layout, k + p), parityTotal);
        assert.equal(parityTotal % 8, 0);
      }
      assert.throws(() => datafileLength(layout, k + m));
    }
  });

  it("maps every byte range onto per-slot contiguous local ranges", () => {
    const random = prng(2);
    for (let trial = 0; trial < 300; trial++) {
      const k = 1 + Math.floor(random() * 5);
      const unit = 8 * (1 + Math.floor(random() * 3));
      const size = 1 + Math.floor(random() * (unit * k * 3 + 10));
      const layout: StripeLayout = { size, unit, k, m: 1 };
      const start = Math.floor(random() * size);
      const end = start + Math.floor(random() * (size - start));
      for (let slot = 0; slot < k; slot++) {
        const locals = [];
        for (let b = start; b <= end; b++) {
          const where = locate(layout, b);
          if (where.slot === slot) locals.push(where.local);
        }
        const range = slotLocalRange(layout, slot, start, end);
        if (locals.length === 0) assert.equal(range, undefined);
        else {
          assert.deepEqual(range, { start: locals[0], end: locals[locals.length - 1] });
          assert.equal(locals.length, locals[locals.length - 1] - locals[0] + 1, "slot bytes of a range are contiguous");
        }
      }
    }
  });

  it("replicates parts up to the replication threshold: k = 1, m unchanged", () => {
    const KiB = 1024;
    assert.deepEqual(chooseLayout(5000, 4, 2, 256 * KiB, 64 * KiB), { size: 5000, unit: 8192, k: 1, m: 2 });
    assert.deepEqual(chooseLayout(64 * KiB, 4, 2, 256 * KiB, 64 * KiB), { size: 64 * KiB, unit: 64 * KiB, k: 1, m: 2 });
    assert.deepEqual(chooseLayout(64 * KiB + 1, 4, 2, 256 * KiB, 64 * KiB), { size: 64 * KiB + 1, unit: 20480, k: 4, m: 2 });
    // Above the default unit a replicated part has several stripes, still one data slot.
    assert.deepEqual(chooseLayout(100 * KiB, 4, 1, 64 * KiB, 128 * KiB), { size: 100 * KiB, unit: 64 * KiB, k: 1, m: 1 });
    assert.equal(chooseLayout(5000, 4, 2, 256 * KiB).k, 4, "no threshold, no replication");
  });

  it("chooses smaller units for small parts", () => {
    const MiB = 1024 * 1024;
    assert.deepEqual(chooseLayout(0, 4, 2, MiB), { size: 0, unit: 4096, k: 4, m: 2 });
    assert.equal(chooseLayout(1, 4, 2, MiB).unit, 4096);
    assert.equal(chooseLayout(4 * 4096 + 1, 4, 2, MiB).unit, 8192);
    assert.equal(chooseLayout(3 * MiB, 4, 2, MiB).unit, 786432);
    assert.equal(chooseLayout(4 * MiB, 4, 2, MiB).unit, MiB);
    assert.equal(chooseLayout(100 * MiB, 4, 2, MiB).unit, MiB);
    assert.equal(chooseLayout(100 * MiB, 4, 2, 64 * 1024).unit, 64 * 1024);
    assert.equal(chooseLayout(10, 4, 2, 16).unit, 16);
    assert.equal(chooseLayout(5 * 1024 ** 3, 1, 2, MiB).unit, MiB);
    for (const size of [0, 1, 4095, 4096, 70000, 3 * MiB + 17]) {
      const layout = chooseLayout(size, 4, 2, MiB);
      assert.ok(stripeCount(layout) <= 1, "a part up to k·defaultUnit is one stripe");
      assert.equal(layout.unit % 8, 0);
    }
    assert.throws(() => chooseLayout(10, 0, 2, MiB));
    assert.throws(() => chooseLayout(10, 25, 2, MiB));
    assert.throws(() => chooseLayout(10, 4, 7, MiB));
    assert.throws(() => chooseLayout(10, 4, 2, 1000 + 4));
    assert.throws(() => chooseLayout(-1, 4, 2, MiB));
  });

  it("gives a short last stripe a parity shard sized by data slot 0", () => {
    const layout: StripeLayout = { size: 2 * 4 * 64 + 64 + 13, unit: 64, k: 4, m: 2 };
    assert.equal(stripeCount(layout), 3);
    assert.equal(dataUnitLength(layout, 2, 0), 64);
    assert.equal(dataUnitLength(layout, 2, 1), 13);
    assert.equal(dataUnitLength(layout, 2, 2), 0);
    assert.equal(shardSize(layout, 2), 64);
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((slot) => datafileLength(layout, slot)), [192, 141, 128, 128, 192, 192]);
    const short: StripeLayout = { size: 4 * 64 + 13, unit: 64, k: 4, m: 1 };
    assert.equal(shardSize(short, 1), 16);
    assert.deepEqual([0, 1, 2, 3, 4].map((slot) => datafileLength(short, slot)), [77, 64, 64, 64, 80]);
  });
});
