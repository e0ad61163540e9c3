import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { encodeParity, reconstructShards } from "./erasure.js";

/** All subsets of {0..n-1} with exactly `size` members. */
function subsets(n: number, size: number): number[][] {
  const result: number[][] = [];
  const walk = (from: number, chosen: number[]) => {
    if (chosen.length === size) return void result.push([...chosen]);
    for (let index = from; index < n; index++) walk(index + 1, [...chosen, index]);
  };
  walk(0, []);
  return result;
}

describe("erasure", () => {
  for (const [k, m] of [[4, 2], [4, 1], [1, 2], [2, 1], [3, 3], [6, 3]] as const) {
    for (const shardSize of [8, 40, 4096 + 8, 65536]) {
      it(`${k}+${m}, shard ${shardSize}: every loss of up to m shards is repaired`, async () => {
        const data = randomBytes(k * shardSize);
        const parity = Buffer.alloc(m * shardSize);
        await encodeParity({ k, m, shardSize, data, parity });
        if (k === 1) for (let p = 0; p < m; p++) assert.ok(parity.subarray(p * shardSize, (p + 1) * shardSize).equals(data), "k=1 is replication");
        const original = Buffer.concat([data, parity]);
        for (let lost = 1; lost <= m; lost++) {
          for (const missing of subsets(k + m, lost)) {
            const damagedData = Buffer.from(data);
            const damagedParity = Buffer.from(parity);
            for (const index of missing) {
              const target = index < k ? damagedData : damagedParity;
              const at = (index < k ? index : index - k) * shardSize;
              target.fill(0xa5, at, at + shardSize);
            }
            const present = [...Array(k + m).keys()].filter((index) => !missing.includes(index));
            await reconstructShards({ k, m, shardSize, data: damagedData, parity: damagedParity }, present, missing);
            assert.ok(Buffer.concat([damagedData, damagedParity]).equals(original), `lost ${missing}`);
          }
        }
      });
    }
  }

  it("rebuilds data from exactly k chosen shards, ignoring garbage elsewhere", async () => {
    const k = 4, m = 2, shardSize = 1000 * 8;
    const data = randomBytes(k * shardSize);
    const parity = Buffer.alloc(m * shardSize);
    await encodeParity({ k, m, shardSize, data, parity });
    const damaged = Buffer.from(data);
    damaged.fill(1, 0, shardSize);
    damaged.fill(2, 2 * shardSize, 3 * shardSize);
    const parityCopy = Buffer.from(parity);
    await reconstructShards({ k, m, shardSize, data: damaged, parity: parityCopy }, [1, 3, 4, 5], [0, 2]);
    assert.ok(damaged.equals(data));
  });

  it("rejects impossible requests", () => {
    const shards = { k: 4, m: 2, shardSize: 8, data: Buffer.alloc(32), parity: Buffer.alloc(16) };
    assert.throws(() => reconstructShards(shards, [0, 1, 2], [3]));
    assert.throws(() => encodeParity({ ...shards, shardSize: 12, data: Buffer.alloc(48), parity: Buffer.alloc(24) }));
    assert.throws(() => reconstructShards(shards, [0, 1, 2, 3], [3]));
    assert.throws(() => reconstructShards(shards, [0, 1, 2, 3], [6]));
  });
});
