// The write half of the stripe engine: one part's bytes → k data + m parity datafiles on k+m ioservers.
//
// Every slot gets one long streaming PUT, all started at once. Source bytes are copied into a stripe buffer
// (k·unit data + m·unit parity); a full stripe's data units go to their slots at once and its parity follows
// when the thread pool has computed it. Each slot is fed through a SlotFeed, an async iterator the HTTP
// client pulls from; the writer stops reading the source while any feed still has more than one unit
// queued, so memory stays at about two stripes and the slowest ioserver sets the pace.
//
// A slot may be missing from the start (its disk is down) or fail on the way (its ioserver dies, its disk
// fills): the write goes on without it as long as `minSlots` slots remain, because parity is computed from
// the stripe buffer, not from what the slots received. The caller records which slots were written
// (docs/architecture.md, Degraded writes).
//
// A datafile's last bytes are held back until the source has ended cleanly (and zero-length datafiles are
// only PUT then): a source that fails at its end — a bad checksum trailer, a short body — must never
// leave an ioserver believing it received a complete datafile.
//
// Stripe buffers are recycled: fresh multi-MiB buffers cost more CPU in page faults and GC than the whole
// copy. A buffer may only be reused once the socket no longer holds its bytes, which the HTTP client does
// not tell us; but it pulls the next chunk only after the previous write drained or left less than the
// socket's high-water mark (16 KiB) pending, so once every slot has pulled a chunk of stripe s+2, stripe s
// is free — for units well above 16 KiB (smaller units are not recycled). The guard on that reasoning is the
// body tag (docs/architecture.md, The ioserver protocol): the HTTP client tags each chunk as it pulls it, so a
// buffer reused while a socket still held some of its bytes would send bytes the tag does not cover, and the
// ioserver would refuse the datafile. So the CRC32C a datafile is recorded with is the one its ioserver computed
// over the bytes it verified, and the gateway does not hash every byte again.
import type { IoCallOptions, IoClient } from "../../../ioserver/src/client.js";
import { chunksOf } from "./chunk-reader.js";
import { encodeParity } from "./erasure.js";
import { datafileLength, roundUp, validateLayout, type StripeLayout } from "./layout.js";

export interface SlotTarget {
  slot: number;
  client: IoClient;
  blobId: string;
}

export interface WrittenDatafile {
  slot: number;
  length: number;
  crc32c: string;
}

/** A slot's PUT failed (ioserver down, disk error, timeout); `cause` holds the client's error. */
export class StripeWriteError extends Error {
  constructor(
    readonly slot: number,
    readonly blobId: string,
    options: { cause: unknown },
  ) {
    super(`writing slot ${slot} (datafile ${blobId}) failed: ${describe(options.cause)}`, options);
    this.name = "StripeWriteError";
  }
}

/** The source ended before `expected` bytes. */
export class ShortBodyError extends Error {
  constructor(
    readonly expected: number,
    readonly received: number,
  ) {
    super(`body ended after ${received} of ${expected} bytes`);
    this.name = "ShortBodyError";
  }
}

/** The source went on past `expected` bytes. */
export class LongBodyError extends Error {
  constructor(readonly expected: number) {
    super(`body is longer than the declared ${expected} bytes`);
    this.name = "LongBodyError";
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The body of one slot's PUT: an async iterator that hands out queued chunks in order and waits when there
 * are none. Chunks are subarrays of stripe buffers, never copied.
 */
class SlotFeed implements AsyncIterableIterator<Uint8Array> {
  private readonly queue: { chunk: Buffer; stripe: number }[] = [];
  queuedBytes = 0;
  /** Stripe of the last chunk the HTTP client pulled; -1 before the first. */
  pulledStripe = -1;
  private ended = false;
  /** Failed, or the consumer gave up (its request failed): pushes are dropped and nobody waits for it. */
  dead = false;
  private error: Error | undefined;
  private waitingPull: { resolve: (result: IteratorResult<Uint8Array>) => void; reject: (error: Error) => void } | undefined;
  private pullWatcher: (() => void) | undefined;

  push(chunk: Buffer, stripe: number): void {
    if (this.dead) return;
    const pull = this.waitingPull;
    if (pull) {
      this.waitingPull = undefined;
      this.pulledStripe = stripe;
      pull.resolve({ value: chunk, done: false });
      this.notifyPull();
      return;
    }
    this.queue.push({ chunk, stripe });
    this.queuedBytes += chunk.length;
  }

  end(): void {
    this.ended = true;
    const pull = this.waitingPull;
    if (pull && this.queue.length === 0) {
      this.waitingPull = undefined;
      pull.resolve({ value: undefined, done: true });
    }
  }

  fail(error: Error): void {
    if (this.error) return;
    this.error = error;
    this.drop();
    const pull = this.waitingPull;
    this.waitingPull = undefined;
    pull?.reject(error);
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.error) return Promise.reject(this.error);
    const head = this.queue.shift();
    if (head) {
      this.pulledStripe = head.stripe;
      this.queuedBytes -= head.chunk.length;
      this.notifyPull();
      return Promise.resolve({ value: head.chunk, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waitingPull = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<Uint8Array>> {
    this.drop();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Resolves at the HTTP client's next pull (or when the feed dies). */
  nextPull(): Promise<void> {
    if (this.dead) return Promise.resolve();
    return new Promise((resolve) => {
      this.pullWatcher = resolve;
    });
  }

  private drop(): void {
    this.dead = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.notifyPull();
  }

  private notifyPull(): void {
    const watcher = this.pullWatcher;
    this.pullWatcher = undefined;
    watcher?.();
  }
}

/**
 * Reads exactly layout.size bytes from `source` and writes the datafiles of the slots in `targets` (any subset
 * of 0..k+m-1) in parallel. Resolves once every slot still alive has acknowledged its datafile, with one entry
 * per written slot in slot order. A slot that fails is dropped (options.onSlotFailure hears of it) while at
 * least `minSlots` (default k+m) remain; below that, or on a failure of the source, every slot PUT is aborted
 * and the promise rejects with the source's own error, a ShortBodyError / LongBodyError, or the
 * StripeWriteError of the slot that broke the quorum.
 */
export async function writeStriped(
  source: AsyncIterable<Uint8Array>,
  layout: StripeLayout,
  targets: SlotTarget[],
  options: {
    signal?: AbortSignal;
    requestId?: string;
    /** layout.size is only an upper bound: the source may end anywhere up to it (a POST form's file, whose
     *  length nobody declares). Datafiles then go out chunked, their lengths learned when the source ends. */
    sizeIsLimit?: boolean;
    /** Fewest slots that must end up written; default all k+m. */
    minSlots?: number;
    onSlotFailure?: (failure: StripeWriteError) => void;
  } = {},
): Promise<WrittenDatafile[]> {
  validateLayout(layout);
  const { size, unit, k, m } = layout;
  const width = k + m;
  const minSlots = options.minSlots ?? width;
  if (!Number.isInteger(minSlots) || minSlots < k || minSlots > width) throw new RangeError(`minSlots ${minSlots} outside ${k}..${width}`);
  const bySlot = new Array<SlotTarget | undefined>(width);
  for (const target of targets) {
    if (!Number.isInteger(target.slot) || target.slot < 0 || target.slot >= width || bySlot[target.slot]) {
      throw new RangeError(`writeStriped needs at most one target for each of slots 0..${width - 1}, got slot ${target.slot}`);
    }
    bySlot[target.slot] = target;
  }
  if (targets.length < minSlots) throw new RangeError(`writeStriped got ${targets.length} targets, needs at least ${minSlots}`);

  const sizeIsLimit = options.sizeIsLimit === true;
  // -1 (unknown) never matches `sent`, so nothing is held back: a chunked PUT completes only at its last chunk.
  const lengths = Array.from({ length: width }, (_, slot) => (sizeIsLimit ? -1 : datafileLength(layout, slot)));
  const sent = new Array<number>(width).fill(0);
  const heldBack = new Array<{ chunk: Buffer; stripe: number } | undefined>(width);
  const feeds = Array.from({ length: width }, () => new SlotFeed());
  const results = new Array<WrittenDatafile | undefined>(width);
  const dropped = new Array<boolean>(width).fill(false);
  let liveSlots = targets.length;
  const controller = new AbortController();
  const call: IoCallOptions = { signal: controller.signal, requestId: options.requestId };

  let failure: Error | undefined;
  let interruptSourceWait: ((error: Error) => void) | undefined;
  const fail = (error: Error): void => {
    if (failure) return;
    failure = error;
    for (const feed of feeds) feed.fail(error);
    controller.abort(error);
    interruptSourceWait?.(error);
  };

  const onOuterAbort = () => fail(toError(options.signal!.reason));
  if (options.signal?.aborted) throw toError(options.signal.reason);
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });

  // A slot without a target never gets bytes: its feed is dead from the start.
  for (let slot = 0; slot < width; slot++) if (!bySlot[slot]) feeds[slot].fail(new Error(`slot ${slot} has no target`));
  const dropSlot = (error: StripeWriteError): void => {
    if (failure || dropped[error.slot]) return;
    dropped[error.slot] = true;
    liveSlots--;
    if (liveSlots < minSlots) return fail(error);
    feeds[error.slot].fail(error);
    options.onSlotFailure?.(error);
  };

  const puts: Promise<void>[] = [];
  const startPut = (slot: number): void => {
    const { client, blobId } = bySlot[slot]!;
    puts.push(
      client.putBlob(blobId, feeds[slot], sizeIsLimit ? undefined : lengths[slot], call).then(
        (stored) => {
          if (stored.length !== lengths[slot]) {
            const why = `ioserver stored ${stored.length} bytes, sent ${lengths[slot]}`;
            dropSlot(new StripeWriteError(slot, blobId, { cause: new Error(why) }));
          } else results[slot] = { slot, length: stored.length, crc32c: stored.crc32c };
        },
        (error: unknown) => dropSlot(new StripeWriteError(slot, blobId, { cause: error })),
      ),
    );
  };
  // Zero-length datafiles would be complete the moment their request is sent: PUT them at the end.
  for (let slot = 0; slot < width; slot++) if (bySlot[slot] && (lengths[slot] > 0 || sizeIsLimit)) startPut(slot);

  const deal = (slot: number, chunk: Buffer, stripeIndex: number): void => {
    if (chunk.length === 0) return;
    sent[slot] += chunk.length;
    if (sent[slot] === lengths[slot]) heldBack[slot] = { chunk, stripe: stripeIndex };
    else feeds[slot].push(chunk, stripeIndex);
  };

  let parityChain: Promise<void> = Promise.resolve();
  let encodesInFlight = 0;
  const bufferSize = k * unit + (m > 0 && k > 1 ? m * unit : 0);

  // Recycling bounds memory too: a new stripe waits until every slot has pulled the one before it.
  const recycle = unit >= RECYCLE_MIN_UNIT;
  const spare: Buffer[] = [];
  const inFlight: { stripe: number; buffer: Buffer }[] = [];
  const takeBuffer = async (): Promise<Buffer> => {
    if (!recycle) {
      // Unrecycled buffers: let at most one unit wait in each feed, plus what the HTTP client holds.
      if (encodesInFlight > 1) await parityChain;
      for (const feed of feeds) while (!failure && !feed.dead && feed.queuedBytes > unit) await feed.nextPull();
      return Buffer.allocUnsafe(bufferSize);
    }
    while (!failure) {
      const pulledByAll = Math.min(...feeds.map((feed) => (feed.dead ? Infinity : feed.pulledStripe)));
      while (inFlight.length > 0 && inFlight[0].stripe + 2 <= pulledByAll) spare.push(inFlight.shift()!.buffer);
      if (spare.length > 0 || inFlight.length < MAX_STRIPE_BUFFERS) break;
      const needed = inFlight[0].stripe + 2;
      const lagging = feeds.find((feed) => !feed.dead && feed.pulledStripe < needed && feed.queuedBytes > 0);
      if (lagging) await lagging.nextPull();
      else if (encodesInFlight > 0) await parityChain;
      else break; // a slot whose datafile ends early is holding back its last chunk: nothing to wait for
    }
    return spare.pop() ?? Buffer.allocUnsafeSlow(bufferSize);
  };

  /** Sends one stripe. `filled` < k·unit only for the last stripe, whose shards shrink to fit. */
  const flushStripe = (stripe: Buffer, filled: number, stripeIndex: number): void => {
    if (recycle) inFlight.push({ stripe: stripeIndex, buffer: stripe });
    // Without parity the units may stay where they are.
    const shard = filled === k * unit || m === 0 ? unit : roundUp(Math.min(filled, unit), 8);
    const unitLength = (slot: number) => Math.max(0, Math.min(unit, filled - slot * unit));
    if (m > 0) {
      // The parity library wants the k shards back to back: close the gaps a short stripe leaves, then
      // zero the padding (allocUnsafe memory holds old bytes).
      for (let slot = 0; slot < k; slot++) {
        const length = unitLength(slot);
        if (shard !== unit && slot > 0 && length > 0) stripe.copyWithin(slot * shard, slot * unit, slot * unit + length);
        if (length < shard) stripe.fill(0, slot * shard + length, (slot + 1) * shard);
      }
    }
    for (let slot = 0; slot < k; slot++) deal(slot, stripe.subarray(slot * shard, slot * shard + unitLength(slot)), stripeIndex);
    if (m === 0) return;
    if (k === 1) {
      // Replication: every parity shard is the (padded) data shard itself.
      const copy = stripe.subarray(0, shard);
      for (let p = 0; p < m; p++) deal(1 + p, copy, stripeIndex);
      return;
    }
    const parity = stripe.subarray(k * unit, k * unit + m * shard);
    encodesInFlight++;
    parityChain = parityChain
      .then(() => (failure ? undefined : encodeParity({ k, m, shardSize: shard, data: stripe, parity })))
      .then(
        () => {
          encodesInFlight--;
          if (failure) return;
          for (let p = 0; p < m; p++) deal(k + p, parity.subarray(p * shard, (p + 1) * shard), stripeIndex);
        },
        (error: unknown) => {
          encodesInFlight--;
          fail(toError(error));
        },
      );
  };

  const iterator = chunksOf(source);
  const pullSource = (): Promise<IteratorResult<Uint8Array>> =>
    new Promise((resolve, reject) => {
      // A failing ioserver must not wait for a stalled client to send its next chunk.
      interruptSourceWait = reject;
      iterator.next().then(resolve, (error: unknown) => {
        fail(toError(error));
        reject(error);
      });
    });

  let stripe = await takeBuffer();
  let stripeIndex = 0;
  let filled = 0;
  let total = 0;
  const fullStripe = k * unit;
  let sourceDone = false;
  try {
    while (!failure) {
      const { value: chunk, done } = await pullSource();
      if (done) {
        sourceDone = true;
        break;
      }
      if (total + chunk.length > size) {
        fail(new LongBodyError(size));
        break;
      }
      total += chunk.length;
      let offset = 0;
      while (offset < chunk.length) {
        if (filled === fullStripe) {
          // Only flush a full stripe once more bytes exist: the stripe holding the last byte waits for the end.
          flushStripe(stripe, filled, stripeIndex++);
          stripe = await takeBuffer();
          filled = 0;
          if (failure) break;
        }
        const count = Math.min(chunk.length - offset, fullStripe - filled);
        copyInto(chunk, offset, count, stripe, filled);
        filled += count;
        offset += count;
      }
    }
  } catch (error) {
    fail(toError(error)); // no-op when the failure came first; the source's own error is already recorded
  }
  interruptSourceWait = undefined;

  if (!failure && sourceDone && total < size && !sizeIsLimit) fail(new ShortBodyError(size, total));
  if (!failure) {
    if (filled > 0) flushStripe(stripe, filled, stripeIndex);
    await parityChain;
  }
  if (!failure) {
    if (sizeIsLimit) for (let slot = 0; slot < width; slot++) lengths[slot] = datafileLength({ ...layout, size: total }, slot);
    for (let slot = 0; slot < width; slot++) {
      const last = heldBack[slot];
      if (last) feeds[slot].push(last.chunk, last.stripe);
      feeds[slot].end();
      if (lengths[slot] === 0 && !sizeIsLimit && bySlot[slot] && !dropped[slot]) startPut(slot);
    }
  } else if (!sourceDone) {
    // Release the source (a request body stream is destroyed by its iterator's return()).
    void Promise.resolve(iterator.return?.()).catch(() => {});
  }

  await Promise.all(puts);
  options.signal?.removeEventListener("abort", onOuterAbort);
  if (failure) throw failure;
  return results.filter((result, slot): result is WrittenDatafile => {
    if (!result && bySlot[slot] && !dropped[slot]) throw new StripeWriteError(slot, bySlot[slot]!.blobId, { cause: new Error("no acknowledgement") });
    return result !== undefined;
  });
}

/** Stripe buffers one write may hold: one filling, one being sent, one the sockets may still read. */
const MAX_STRIPE_BUFFERS = 3;

/** Units below this are not recycled: see the header comment (socket high-water mark 16 KiB). */
const RECYCLE_MIN_UNIT = 64 * 1024;

function copyInto(chunk: Uint8Array, offset: number, count: number, target: Buffer, at: number): void {
  if (Buffer.isBuffer(chunk)) chunk.copy(target, at, offset, offset + count);
  else target.set(chunk.subarray(offset, offset + count), at);
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
