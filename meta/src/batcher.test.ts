import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { Batcher } from "./batcher.js";

/** A commit that records each batch and returns when the test says so. */
function recordingCommit() {
  const batches: number[][] = [];
  const pending: (() => void)[] = [];
  const commit = (items: number[]) =>
    new Promise<(number | Error)[]>((resolve) => {
      batches.push(items);
      pending.push(() => resolve(items.map((item) => (item < 0 ? new Error(`item ${item} refused`) : item * 10))));
    });
  const releaseNext = () => pending.shift()!();
  /** Until `count` batches have been sent (a returning batch sends the next from its own continuation). */
  const untilBatches = async (count: number) => {
    while (batches.length < count) await sleep(1);
  };
  return { batches, commit, releaseNext, untilBatches };
}

describe("Batcher", () => {
  it("sends a lone item at once, and the next lone item at once after it", async () => {
    const { batches, commit, releaseNext, untilBatches } = recordingCommit();
    const batcher = new Batcher(commit, { maxInFlight: 1, maxBatch: 64, gatherMs: 10_000 });
    const first = batcher.submit(1);
    assert.deepEqual(batches, [[1]]);
    releaseNext();
    assert.equal(await first, 10);
    // The batch that returned carried one item: the next waits for nobody, not the 10 s window.
    const started = performance.now();
    const second = batcher.submit(2);
    await untilBatches(2);
    assert.ok(performance.now() - started < 1000);
    assert.deepEqual(batches, [[1], [2]]);
    releaseNext();
    assert.equal(await second, 20);
  });

  it("gathers what arrives while a batch commits into the next batch", async () => {
    const { batches, commit, releaseNext, untilBatches } = recordingCommit();
    const batcher = new Batcher(commit, { maxInFlight: 1, maxBatch: 64, gatherMs: 10_000 });
    const results = [1, 2, 3, 4].map((item) => batcher.submit(item));
    assert.deepEqual(batches, [[1]]);
    releaseNext();
    await untilBatches(2);
    assert.deepEqual(batches, [[1], [2, 3, 4]]);
    releaseNext();
    assert.deepEqual(await Promise.all(results), [10, 20, 30, 40]);
  });

  it("after a batch of n returns, waits for n items before sending the next", async () => {
    const { batches, commit, releaseNext, untilBatches } = recordingCommit();
    const batcher = new Batcher(commit, { maxInFlight: 1, maxBatch: 64, gatherMs: 10_000 });
    const firstWave = [1, 2, 3].map((item) => batcher.submit(item));
    releaseNext(); // [1]
    await untilBatches(2);
    releaseNext(); // [2, 3]
    await Promise.all(firstWave);
    assert.deepEqual(batches, [[1], [2, 3]]);
    // The two clients of [2, 3] come back one after the other: the first waits for the second.
    const four = batcher.submit(4);
    await sleep(5);
    assert.deepEqual(batches, [[1], [2, 3]], "one item of the expected two must not leave alone");
    const five = batcher.submit(5);
    assert.deepEqual(batches, [[1], [2, 3], [4, 5]]);
    releaseNext();
    assert.deepEqual(await Promise.all([four, five]), [40, 50]);
  });

  it("waits no longer than gatherMs for the expected items", async () => {
    const { batches, commit, releaseNext, untilBatches } = recordingCommit();
    const batcher = new Batcher(commit, { maxInFlight: 1, maxBatch: 64, gatherMs: 20 });
    const firstWave = [1, 2, 3].map((item) => batcher.submit(item));
    releaseNext();
    await untilBatches(2);
    releaseNext();
    await Promise.all(firstWave);
    const started = performance.now();
    const lone = batcher.submit(4); // two were expected; only one comes
    await untilBatches(3);
    const waited = performance.now() - started;
    assert.deepEqual(batches[2], [4]);
    assert.ok(waited >= 15, `the lone item left after ${waited.toFixed(1)} ms, before the window closed`);
    releaseNext();
    assert.equal(await lone, 40);
  });

  it("gives each item its own outcome, and retries each item of a batch that failed as a whole alone", async () => {
    const seen: number[][] = [];
    const batcher = new Batcher<number, number>(
      async (items) => {
        seen.push(items);
        if (items.length > 1 && items.includes(13)) throw new Error("the statement failed");
        if (items.includes(13)) throw new Error("13 breaks any batch");
        return items.map((item) => (item < 0 ? new Error(`item ${item} refused`) : item * 10));
      },
      { maxInFlight: 1, maxBatch: 64, gatherMs: 5 },
    );
    const outcomes = await Promise.allSettled([1, -2, 13, 4].map((item) => batcher.submit(item)));
    assert.deepEqual(
      outcomes.map((outcome) => (outcome.status === "fulfilled" ? outcome.value : (outcome.reason as Error).message)),
      [10, "item -2 refused", "13 breaks any batch", 40],
    );
    assert.deepEqual(seen, [[1], [-2, 13, 4], [-2], [13], [4]]);
  });
});
