// Reed–Solomon over @ronomon/reed-solomon: a native addon that runs in libuv's thread pool, so encoding
// and reconstruction never block the event loop. Shards of one stripe sit back to back: k data shards in
// one buffer, m parity shards in another, each `shardSize` bytes (a multiple of 8).
import { createRequire } from "node:module";

interface ReedSolomonBinding {
  MAX_K: number;
  MAX_M: number;
  create(k: number, m: number): Buffer;
  encode(
    context: Buffer,
    sources: number,
    targets: number,
    buffer: Buffer,
    bufferOffset: number,
    bufferSize: number,
    parity: Buffer,
    parityOffset: number,
    paritySize: number,
    callback: (error: Error | undefined | null) => void,
  ): void;
}

const require = createRequire(import.meta.url);
const binding = require("@ronomon/reed-solomon") as ReedSolomonBinding;

/** One context per (k, m): creating it searches for an optimal bitmatrix; using it concurrently is safe. */
const contexts = new Map<number, Buffer>();

function contextFor(k: number, m: number): Buffer {
  const key = k * 64 + m;
  let context = contexts.get(key);
  if (!context) {
    context = binding.create(k, m);
    contexts.set(key, context);
  }
  return context;
}

export interface StripeShards {
  k: number;
  m: number;
  shardSize: number;
  /** At least k·shardSize bytes: data shard j at j·shardSize. */
  data: Buffer;
  /** At least m·shardSize bytes: parity shard p at p·shardSize. */
  parity: Buffer;
}

function checkShape({ k, m, shardSize, data, parity }: StripeShards): void {
  if (m < 1) throw new RangeError("erasure coding needs m ≥ 1");
  if (shardSize <= 0 || shardSize % 8 !== 0) throw new RangeError(`shard size must be a positive multiple of 8, got ${shardSize}`);
  if (data.length < k * shardSize || parity.length < m * shardSize) throw new RangeError("shard buffers too small");
}

function run(shards: StripeShards, sources: number, targets: number): Promise<void> {
  const { k, m, shardSize, data, parity } = shards;
  return new Promise((resolve, reject) => {
    binding.encode(contextFor(k, m), sources, targets, data, 0, k * shardSize, parity, 0, m * shardSize, (error) =>
      error ? reject(error) : resolve(),
    );
  });
}

/** Computes all m parity shards from the k data shards. */
export function encodeParity(shards: StripeShards): Promise<void> {
  checkShape(shards);
  const { k, m } = shards;
  const dataMask = (1 << k) - 1;
  const parityMask = ((1 << (k + m)) - 1) & ~dataMask;
  return run(shards, dataMask, parityMask);
}

/**
 * Rebuilds the shards listed in `missing` (indexes 0..k+m-1, data first) from those in `present` (at least
 * k of them). Parity shards that are neither present nor missing may be overwritten.
 */
export function reconstructShards(shards: StripeShards, present: readonly number[], missing: readonly number[]): Promise<void> {
  checkShape(shards);
  const { k, m } = shards;
  let sources = 0;
  for (const index of present) sources |= 1 << index;
  let targets = 0;
  for (const index of missing) targets |= 1 << index;
  if (targets === 0) return Promise.resolve();
  if (present.length < k) throw new RangeError(`need ${k} shards to reconstruct, have ${present.length}`);
  if ((sources & targets) !== 0 || Math.max(...present, ...missing) >= k + m) throw new RangeError("bad shard indexes");
  return run(shards, sources, targets);
}
