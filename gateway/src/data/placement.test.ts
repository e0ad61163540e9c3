import assert from "node:assert/strict";
import { PlacementError, placeSlots } from "./placement.js";

const servers = Array.from({ length: 10 }, (_, index) => `disk-${index}`);

describe("placement", () => {
  it("returns distinct servers, deterministically, whatever the input order", () => {
    for (let seed = 0; seed < 200; seed++) {
      const order = placeSlots(`v${seed}`, servers, 6);
      assert.equal(order.length, 6);
      assert.equal(new Set(order).size, 6);
      for (const id of order) assert.ok(servers.includes(id));
      assert.deepEqual(placeSlots(`v${seed}`, [...servers].reverse(), 6), order);
      assert.deepEqual(placeSlots(`v${seed}`, servers, 3), order.slice(0, 3), "a narrower part takes a prefix");
    }
  });

  it("spreads slots evenly over servers", () => {
    const counts = new Map<string, number>(servers.map((id) => [id, 0]));
    const slotZero = new Map<string, number>(servers.map((id) => [id, 0]));
    const seeds = 5000;
    for (let seed = 0; seed < seeds; seed++) {
      const order = placeSlots(`object-${seed}`, servers, 6);
      for (const id of order) counts.set(id, counts.get(id)! + 1);
      slotZero.set(order[0], slotZero.get(order[0])! + 1);
    }
    const expected = (seeds * 6) / servers.length;
    for (const count of counts.values()) assert.ok(Math.abs(count - expected) < expected * 0.08, `uneven: ${[...counts.values()]}`);
    const expectedZero = seeds / servers.length;
    for (const count of slotZero.values()) assert.ok(Math.abs(count - expectedZero) < expectedZero * 0.25, `uneven slot 0: ${[...slotZero.values()]}`);
  });

  it("moves only the slots of a removed server", () => {
    let moved = 0;
    for (let seed = 0; seed < 500; seed++) {
      const before = placeSlots(`s${seed}`, servers, 4);
      const after = placeSlots(`s${seed}`, servers.filter((id) => id !== "disk-3"), 4);
      const kept = before.filter((id) => id !== "disk-3");
      assert.deepEqual(after.slice(0, kept.length), kept, "surviving servers keep their relative order");
      if (before.includes("disk-3")) moved++;
    }
    assert.ok(moved > 100 && moved < 300);
  });

  it("refuses when there are too few distinct servers", () => {
    assert.throws(() => placeSlots("x", ["a", "b", "c"], 4), PlacementError);
    assert.throws(() => placeSlots("x", ["a", "a", "b", "c"], 4), PlacementError);
    assert.deepEqual(placeSlots("x", ["a"], 1), ["a"]);
  });
});
