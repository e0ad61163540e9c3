import assert from "node:assert/strict";
import { PlacementError, placeSlots, writableDiskIds, type DiskView } from "./placement.js";

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

describe("writable disks", () => {
  const GiB = 1024 ** 3;
  const disk = (id: string, overrides: Partial<DiskView> = {}): DiskView => ({ id, url: `http://127.0.0.1:91${id.slice(-2)}`, up: true, state: "active", freeBytes: 100 * GiB, ...overrides });

  it("offers every up, active disk with room", () => {
    const disks = ["disk-01", "disk-02", "disk-03"].map((id) => disk(id));
    assert.deepEqual(writableDiskIds(disks, GiB), ["disk-01", "disk-02", "disk-03"]);
  });

  it("skips disks that are down, draining, retired or below the reserve", () => {
    const disks = [
      disk("disk-01"),
      disk("disk-02", { up: false }),
      disk("disk-03", { state: "draining" }),
      disk("disk-04", { state: "retired" }),
      disk("disk-05", { freeBytes: GiB - 1 }),
      disk("disk-06", { freeBytes: GiB }),
      disk("disk-07", { freeBytes: undefined }),
    ];
    assert.deepEqual(writableDiskIds(disks, GiB), ["disk-01", "disk-06", "disk-07"]);
  });

  it("never offers two ids of one URL, nor one id at two URLs", () => {
    const shared = "http://127.0.0.1:9999";
    const disks = [
      disk("disk-01"),
      disk("disk-02", { url: shared }),
      disk("disk-03", { url: shared }),
      disk("disk-04", { url: "http://127.0.0.1:9004" }),
      disk("disk-04", { url: "http://127.0.0.1:9005" }),
    ];
    assert.deepEqual(writableDiskIds(disks, GiB), ["disk-01"]);
    // A dead registration at the URL of a live disk does not cost the live one its place.
    assert.deepEqual(writableDiskIds([disk("disk-02", { url: shared }), disk("disk-03", { url: shared, up: false })], GiB), ["disk-02"]);
  });

  it("places a part on distinct physical disks whatever the registry holds", () => {
    const disks = Array.from({ length: 8 }, (_, index) => disk(`disk-${10 + index}`));
    // Old ids still registered at the URLs of live disks, as a wiped disk used to leave behind.
    disks.push(disk("old-10", { url: disks[0].url, up: false }), disk("old-11", { url: disks[1].url, up: false }));
    const writable = writableDiskIds(disks, GiB);
    for (let seed = 0; seed < 200; seed++) {
      const urls = placeSlots(`p${seed}`, writable, 6).map((id) => disks.find((candidate) => candidate.id === id)!.url);
      assert.equal(new Set(urls).size, 6);
    }
  });
});
