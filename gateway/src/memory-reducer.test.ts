import assert from "node:assert/strict";
import { MemoryReducer } from "./memory-reducer.js";

const MiB = 1024 * 1024;

/** What a streaming burst leaves: `total` bytes of 64 KiB socket-sized buffers that lived long enough to be
 *  promoted and are now dead, with a few survivors spread among them so that glibc's heap cannot shrink from
 *  the top alone. Returns the survivors. */
function streamingBurst(total: number): Buffer[] {
  const all: Buffer[] = [];
  for (let i = 0; i < total / (64 * 1024); i++) all.push(Buffer.allocUnsafeSlow(64 * 1024).fill(i & 0xff));
  return all.filter((_, i) => i % 40 === 0);
}

describe("MemoryReducer", () => {
  it("hands a burst's dead buffers back to the kernel, survivors and all", async () => {
    const survivors = streamingBurst(192 * MiB);
    const reduction = await new MemoryReducer({ growthBytes: 0 }).reduce();
    assert.ok(
      reduction.rssAfter < reduction.rssBefore - 100 * MiB,
      `RSS went from ${reduction.rssBefore / MiB} to ${reduction.rssAfter / MiB} MiB`,
    );
    assert.ok(survivors.every((buffer, index) => buffer[0] === ((index * 40) & 0xff)), "survivors keep their bytes");
  });

  it("reduces by itself once RSS has grown that much and the event loop is idle, and not before", async () => {
    const eager = new MemoryReducer({ growthBytes: 64 * MiB, intervalMs: 100 });
    const patient = new MemoryReducer({ growthBytes: 4096 * MiB, intervalMs: 100 });
    eager.start();
    patient.start();
    try {
      const survivors = streamingBurst(192 * MiB);
      const deadline = Date.now() + 5000;
      while (eager.reductions === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(eager.reductions, 1, "the reducer with a 64 MiB threshold ran once");
      assert.equal(patient.reductions, 0, "the reducer with a 4 GiB threshold did not run");
      assert.ok(survivors.length > 0);
    } finally {
      eager.stop();
      patient.stop();
    }
  });
});
