// Heal's byte loop: rebuilds lost slots of one part. It reads k surviving datafiles whole, stripe by stripe, rebuilds
// the lost shards of each stripe with Reed–Solomon (a replicated part, k = 1, just copies its one data shard) and
// streams each to its new datafile. Memory stays at one stripe's shards; the slowest datafile sets the pace.
import { once } from "node:events";
import { PassThrough } from "node:stream";
import type { IoClient } from "../../../ioserver/src/client.js";
import { chunksOf } from "./chunk-reader.js";
import { reconstructShards } from "./erasure.js";
import { datafileLength, shardSize, stripeCount, storedLength, validateLayout, type StripeLayout } from "./layout.js";
import { StripeWriteError, type WrittenDatafile } from "./striper.js";

export interface SlotEndpoint {
  slot: number;
  blobId: string;
  client: IoClient;
}

/** A surviving datafile could not be read (down, corrupt, short): the caller may retry without it. */
export class RebuildSourceError extends Error {
  constructor(
    readonly slot: number,
    options: { cause: unknown },
  ) {
    super(`reading slot ${slot} to rebuild others failed: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`, options);
    this.name = "RebuildSourceError";
  }
}

/** Reads exact byte counts from a datafile's stream, across chunk boundaries. */
class ExactReader {
  private chunk: Buffer = Buffer.alloc(0);
  private offset = 0;
  constructor(private readonly chunks: AsyncIterator<Buffer>) {}

  async readInto(target: Buffer, at: number, count: number): Promise<void> {
    let filled = 0;
    while (filled < count) {
      if (this.offset === this.chunk.length) {
        const { value, done } = await this.chunks.next();
        if (done) throw new Error(`datafile ended ${count - filled} bytes early`);
        this.chunk = value;
        this.offset = 0;
      }
      const take = Math.min(count - filled, this.chunk.length - this.offset);
      this.chunk.copy(target, at + filled, this.offset, this.offset + take);
      this.offset += take;
      filled += take;
    }
  }

  close(): void {
    void this.chunks.return?.();
  }
}

/**
 * Writes the datafiles of `targets` (slots of `layout` whose datafiles are lost) from the first k of `sources`
 * (surviving slots, in order of preference). Resolves with each target's length and CRC32C as its ioserver
 * acknowledged them. Rejects with RebuildSourceError when a source fails, StripeWriteError when a target does; every
 * request is aborted then, and no target keeps a datafile.
 */
export async function rebuildSlots(
  layout: StripeLayout,
  sources: SlotEndpoint[],
  targets: SlotEndpoint[],
  options: { signal?: AbortSignal; requestId?: string } = {},
): Promise<WrittenDatafile[]> {
  validateLayout(layout);
  const { k, m } = layout;
  const chosen = sources.slice(0, k);
  if (chosen.length < k) throw new RangeError(`rebuilding needs ${k} surviving slots, got ${chosen.length}`);
  if (targets.length === 0) return [];
  const used = new Set([...chosen, ...targets].map((endpoint) => endpoint.slot));
  if (used.size !== chosen.length + targets.length || [...used].some((slot) => slot < 0 || slot >= k + m)) {
    throw new RangeError("sources and targets must be distinct slots of the layout");
  }

  if (options.signal?.aborted) throw options.signal.reason;
  const controller = new AbortController();
  const abort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", abort, { once: true });
  let failure: Error | undefined;
  const fail = (error: Error) => {
    if (failure) return;
    failure = error;
    controller.abort(error);
  };
  const call = { signal: controller.signal, requestId: options.requestId };

  const sinks = targets.map((target) => ({ target, stream: new PassThrough({ highWaterMark: 1024 * 1024 }), length: datafileLength(layout, target.slot) }));
  const puts = sinks.map((sink) =>
    sink.target.client.putBlob(sink.target.blobId, sink.stream, sink.length, call).then(
      (stored) => {
        // The body tag covered the bytes in transit: the ioserver's CRC32C is over exactly what was sent (striper.ts).
        if (stored.length !== sink.length) {
          fail(new StripeWriteError(sink.target.slot, sink.target.blobId, { cause: new Error(`ioserver stored ${stored.length} bytes, sent ${sink.length}`) }));
          return undefined;
        }
        return { slot: sink.target.slot, length: stored.length, crc32c: stored.crc32c };
      },
      (error: unknown) => {
        fail(new StripeWriteError(sink.target.slot, sink.target.blobId, { cause: error }));
        return undefined;
      },
    ),
  );
  // A failed request leaves its stream unread: a write waiting for it to drain must hear of the failure.
  const failed = new Promise<void>((resolve) => controller.signal.addEventListener("abort", () => resolve(), { once: true }));

  const readers: ExactReader[] = [];
  try {
    for (const source of chosen) {
      try {
        readers.push(new ExactReader(chunksOf(await source.client.getBlob(source.blobId, undefined, { ...call, datafileLength: datafileLength(layout, source.slot) }))));
      } catch (error) {
        throw new RebuildSourceError(source.slot, { cause: error });
      }
    }
    const present = chosen.map((source) => source.slot);
    const missing = targets.map((target) => target.slot);
    const stripes = stripeCount(layout);
    for (let stripe = 0; stripe < stripes && !failure; stripe++) {
      const shard = shardSize(layout, stripe);
      const data = Buffer.alloc(k * shard);
      const parity = Buffer.alloc(Math.max(1, m) * shard);
      const region = (slot: number) => (slot < k ? data.subarray(slot * shard, (slot + 1) * shard) : parity.subarray((slot - k) * shard, (slot - k + 1) * shard));
      for (const [index, source] of chosen.entries()) {
        try {
          await readers[index]!.readInto(region(source.slot), 0, storedLength(layout, stripe, source.slot));
        } catch (error) {
          throw new RebuildSourceError(source.slot, { cause: error });
        }
      }
      if (k === 1) {
        // Replication: every slot holds the same (padded) shard.
        for (const slot of missing) region(present[0]!).copy(region(slot));
      } else {
        await reconstructShards({ k, m, shardSize: shard, data, parity }, present, missing);
      }
      for (const sink of sinks) {
        const bytes = region(sink.target.slot).subarray(0, storedLength(layout, stripe, sink.target.slot));
        if (bytes.length === 0) continue;
        if (!sink.stream.write(bytes)) await Promise.race([once(sink.stream, "drain"), failed]);
      }
    }
    if (!failure) for (const sink of sinks) sink.stream.end();
  } catch (error) {
    fail(error instanceof Error ? error : new Error(String(error)));
  } finally {
    for (const reader of readers) reader.close();
  }
  // Ends every request still sending (destroyed without an error: nobody listens to these streams' errors).
  if (failure) for (const sink of sinks) sink.stream.destroy();
  const written = await Promise.all(puts);
  options.signal?.removeEventListener("abort", abort);
  if (failure) throw failure;
  return written.map((result) => result!);
}
