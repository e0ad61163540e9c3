// The read half of the stripe engine: bytes [start, end] of an object made of striped parts, as one Readable.
//
// Normal mode opens one ranged GET per data slot the range touches (per part), each covering that slot's
// contiguous local range, and merges them in object order; each slot stream reads ahead a bounded amount
// so all k downloads run in parallel. When a slot fails (server unknown or down, HTTP error, cut stream,
// checksum failure on the ioserver), the part switches to degraded mode from the current stripe on: it
// streams whole shards of the remaining stripes from k surviving slots (data first, then parity) and
// rebuilds the missing data shards with Reed–Solomon. Another failure excludes that slot too and restarts
// from the same stripe; fewer than k usable slots is a DataUnavailableError. Bytes are only emitted once
// they are known good, so the stream errors rather than ever handing out a wrong byte.
import { Readable } from "node:stream";
import type { IoClient } from "../../../ioserver/src/client.js";
import { chunksOf } from "./chunk-reader.js";
import { reconstructShards } from "./erasure.js";
import {
  dataUnitLength,
  datafileLength,
  shardSize,
  slotLocalRange,
  storedLength,
  stripeBytes,
  validateLayout,
  type LocalRange,
  type StripeLayout,
} from "./layout.js";

export interface StoredDatafile {
  slot: number;
  /** undefined: the server is unknown or known to be down. */
  client: IoClient | undefined;
  blobId: string;
  length: number;
}

export interface StoredPart {
  layout: StripeLayout;
  datafiles: StoredDatafile[];
}

export interface SlotFailureInfo {
  slot: number;
  blobId: string;
  cause: unknown;
}

/** More than m slots of a stripe are unreadable. */
export class DataUnavailableError extends Error {
  constructor(
    message: string,
    readonly failures: SlotFailureInfo[],
  ) {
    super(message, { cause: failures[0]?.cause });
    this.name = "DataUnavailableError";
  }
}

export interface StripedReadOptions {
  signal?: AbortSignal;
  requestId?: string;
  /** Bytes each slot stream may buffer ahead of the consumer; default one stripe unit (at least 64 KiB). */
  readAhead?: number;
  /** Told about every slot that failed, e.g. to log it or mark its server down. */
  onSlotFailure?: (failure: SlotFailureInfo) => void;
}

const MIN_READ_AHEAD = 64 * 1024;

/** One or more slots failed while reading a part; the part loop decides what to do. */
class SlotFailure extends Error {
  constructor(readonly failures: SlotFailureInfo[]) {
    super(`slot ${failures.map((failure) => failure.slot).join(", ")} failed`);
  }
}

interface ReadContext {
  signal: AbortSignal;
  requestId: string | undefined;
  readAhead: number | undefined;
  onSlotFailure: ((failure: SlotFailureInfo) => void) | undefined;
}

/**
 * One ranged GET of one datafile, read ahead into a bounded queue. Anything short of exactly the
 * requested bytes followed by a clean end is an error.
 */
class SlotReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private remaining: number;
  private error: unknown;
  private closed = false;
  /** The GET has answered and its body was read to the end, or it failed: nothing left to abort. */
  private settled = false;
  private stream: (NodeJS.ReadableStream & AsyncIterable<Buffer>) | undefined;
  private wakeConsumer: (() => void) | undefined;
  private wakePump: (() => void) | undefined;
  private readonly controller = new AbortController();
  /** Settles (never rejects) once the GET has answered or failed. */
  readonly opened: Promise<void>;
  private readonly onContextAbort = () => this.close();

  constructor(
    readonly slot: number,
    readonly blobId: string,
    client: IoClient,
    range: LocalRange,
    private readonly readAhead: number,
    context: ReadContext,
  ) {
    this.remaining = range.end - range.start + 1;
    context.signal.addEventListener("abort", this.onContextAbort, { once: true });
    let markOpened!: () => void;
    this.opened = new Promise((resolve) => {
      markOpened = resolve;
    });
    const response = client.getBlob(blobId, range, { signal: this.controller.signal, requestId: context.requestId });
    void this.pump(response, context.signal, markOpened);
    if (context.signal.aborted) this.close();
  }

  private async pump(
    response: Promise<NodeJS.ReadableStream & AsyncIterable<Buffer>>,
    contextSignal: AbortSignal,
    markOpened: () => void,
  ): Promise<void> {
    try {
      const stream = await response;
      this.stream = stream;
      markOpened();
      if (this.closed) {
        stream.on("error", () => {});
        (stream as unknown as Readable).destroy();
        return;
      }
      for await (const chunk of { [Symbol.asyncIterator]: () => chunksOf(stream) }) {
        if (chunk.length > this.remaining) throw new Error(`datafile ${this.blobId} sent more bytes than asked for`);
        this.remaining -= chunk.length;
        this.chunks.push(chunk);
        this.buffered += chunk.length;
        this.wake();
        while (this.buffered >= this.readAhead && !this.closed) {
          await new Promise<void>((resolve) => {
            this.wakePump = resolve;
          });
        }
        if (this.closed) break;
      }
      if (!this.closed && this.remaining > 0) throw new Error(`datafile ${this.blobId} ended ${this.remaining} bytes early`);
    } catch (error) {
      if (!this.closed) this.error = error ?? new Error(`reading datafile ${this.blobId} failed`);
    } finally {
      this.settled = true;
      markOpened();
      contextSignal.removeEventListener("abort", this.onContextAbort);
      this.wake();
    }
  }

  /** Up to `max` bytes as soon as any are buffered; throws SlotFailure if the slot failed. */
  async read(max: number): Promise<Buffer> {
    for (;;) {
      const head = this.chunks[0];
      if (head) {
        let chunk: Buffer;
        if (head.length <= max) {
          this.chunks.shift();
          chunk = head;
        } else {
          this.chunks[0] = head.subarray(max);
          chunk = head.subarray(0, max);
        }
        this.buffered -= chunk.length;
        const pump = this.wakePump;
        if (pump && this.buffered < this.readAhead) {
          this.wakePump = undefined;
          pump();
        }
        return chunk;
      }
      if (this.error !== undefined) throw new SlotFailure([{ slot: this.slot, blobId: this.blobId, cause: this.error }]);
      if (this.closed) throw new Error("read from a closed slot stream");
      await new Promise<void>((resolve) => {
        this.wakeConsumer = resolve;
      });
    }
  }

  /** Copies exactly `length` bytes into target[at…]. */
  async readInto(target: Buffer, at: number, length: number): Promise<void> {
    let copied = 0;
    while (copied < length) {
      const chunk = await this.read(length - copied);
      chunk.copy(target, at + copied);
      copied += chunk.length;
    }
  }

  /** The failure seen so far, if any (after `opened` this tells whether the GET itself failed). */
  failure(): SlotFailureInfo | undefined {
    return this.error === undefined ? undefined : { slot: this.slot, blobId: this.blobId, cause: this.error };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.chunks.length = 0;
    this.buffered = 0;
    // Aborting builds a DOMException and walks undici's listeners: ~3% of a small GET's CPU when done every time.
    if (!this.settled) this.controller.abort();
    if (this.stream) {
      this.stream.on("error", () => {});
      (this.stream as unknown as Readable).destroy();
    }
    const pump = this.wakePump;
    this.wakePump = undefined;
    pump?.();
    this.wake();
  }

  private wake(): void {
    const consumer = this.wakeConsumer;
    this.wakeConsumer = undefined;
    consumer?.();
  }
}

/** Opens readers and, before any byte is used, waits for every GET to answer: a dead slot found now costs
 *  nothing, and a read that cannot be served fails before the gateway sends headers. */
async function openReaders(
  part: StoredPart,
  ranges: Map<number, LocalRange>,
  readAhead: number,
  context: ReadContext,
): Promise<Map<number, SlotReader>> {
  const readers = new Map<number, SlotReader>();
  for (const [slot, range] of ranges) {
    const datafile = part.datafiles[slot];
    readers.set(slot, new SlotReader(slot, datafile.blobId, datafile.client!, range, readAhead, context));
  }
  await Promise.all([...readers.values()].map((reader) => reader.opened));
  const failed = [...readers.values()].map((reader) => reader.failure()).filter((failure) => failure !== undefined);
  if (failed.length > 0) {
    for (const reader of readers.values()) reader.close();
    throw new SlotFailure(failed);
  }
  return readers;
}

interface Cursor {
  /** Next part-relative offset to emit. */
  pos: number;
}

async function* readNormal(part: StoredPart, cursor: Cursor, to: number, readAhead: number, context: ReadContext): AsyncGenerator<Buffer> {
  const { layout } = part;
  const { unit, k } = layout;
  const ranges = new Map<number, LocalRange>();
  for (let slot = 0; slot < k; slot++) {
    const range = slotLocalRange(layout, slot, cursor.pos, to);
    if (range) ranges.set(slot, range);
  }
  const readers = await openReaders(part, ranges, readAhead, context);
  try {
    while (cursor.pos <= to) {
      const unitIndex = Math.floor(cursor.pos / unit);
      const reader = readers.get(unitIndex % k)!;
      const unitEnd = Math.min(to, unitIndex * unit + unit - 1);
      while (cursor.pos <= unitEnd) {
        const chunk = await reader.read(unitEnd - cursor.pos + 1);
        cursor.pos += chunk.length;
        yield chunk;
      }
    }
  } finally {
    for (const reader of readers.values()) reader.close();
  }
}

interface ShardSources {
  firstStripe: number;
  lastStripe: number;
  /** k slot indexes, data first; a data slot without a range holds only zero padding in these stripes. */
  sources: number[];
  ranges: Map<number, LocalRange>;
}

/** Which k slots to rebuild part bytes [from, to] from, or undefined when fewer than k are usable. */
function chooseSources(part: StoredPart, from: number, to: number, excluded: Set<number>): ShardSources | undefined {
  const { layout } = part;
  const { unit, k, m } = layout;
  const perStripe = stripeBytes(layout);
  const firstStripe = Math.floor(from / perStripe);
  const lastStripe = Math.floor(to / perStripe);
  // Data slots first: every one of them is a shard that needs no decoding. A data slot with no bytes in
  // these stripes (the tail of a short last stripe) is known to be zeros and needs no server at all.
  const sources: number[] = [];
  const ranges = new Map<number, LocalRange>();
  for (let slot = 0; slot < k + m && sources.length < k; slot++) {
    const length = (lastStripe - firstStripe) * unit + storedLength(layout, lastStripe, slot);
    if (length === 0) sources.push(slot);
    else if (!excluded.has(slot) && part.datafiles[slot].client) {
      sources.push(slot);
      ranges.set(slot, { start: firstStripe * unit, end: firstStripe * unit + length - 1 });
    }
  }
  return sources.length === k ? { firstStripe, lastStripe, sources, ranges } : undefined;
}

function unavailable(part: StoredPart, excluded: Set<number>, failures: SlotFailureInfo[]): DataUnavailableError {
  const { k, m } = part.layout;
  const lost = [...excluded].sort((a, b) => a - b).join(", ");
  return new DataUnavailableError(`a ${k}+${m} part needs ${k} readable slots; slots ${lost} are unavailable`, failures);
}

async function* readDegraded(
  part: StoredPart,
  cursor: Cursor,
  to: number,
  excluded: Set<number>,
  failures: SlotFailureInfo[],
  readAhead: number,
  context: ReadContext,
): AsyncGenerator<Buffer> {
  const { layout } = part;
  const { unit, k, m } = layout;
  const perStripe = stripeBytes(layout);
  const chosen = chooseSources(part, cursor.pos, to, excluded);
  if (!chosen) throw unavailable(part, excluded, failures);
  const { firstStripe, lastStripe, sources, ranges } = chosen;
  const missingData = [...Array(k).keys()].filter((slot) => !sources.includes(slot));

  const readers = await openReaders(part, ranges, readAhead, context);
  // Parity is never handed out, so one buffer serves every stripe; data buffers are emitted and so are fresh.
  const parity = Buffer.allocUnsafe(Math.max(8, m * unit));
  try {
    for (let stripe = firstStripe; stripe <= lastStripe; stripe++) {
      const shard = shardSize(layout, stripe);
      const data = Buffer.allocUnsafe(k * shard);
      const stripeStart = stripe * perStripe;
      for (const slot of sources) {
        const length = storedLength(layout, stripe, slot);
        const [target, at] = slot < k ? [data, slot * shard] : [parity, (slot - k) * shard];
        if (length > 0) await readers.get(slot)!.readInto(target, at, length);
        if (length < shard) target.fill(0, at + length, at + shard);
      }
      const wanted = missingData.filter((slot) => {
        const unitStart = stripeStart + slot * unit;
        const length = dataUnitLength(layout, stripe, slot);
        return length > 0 && unitStart <= to && unitStart + length - 1 >= cursor.pos;
      });
      if (wanted.length > 0) await reconstructShards({ k, m, shardSize: shard, data, parity }, sources, wanted);
      for (let slot = 0; slot < k; slot++) {
        const unitStart = stripeStart + slot * unit;
        const from = Math.max(cursor.pos, unitStart);
        const until = Math.min(to, unitStart + dataUnitLength(layout, stripe, slot) - 1);
        if (from > until) continue;
        cursor.pos = until + 1;
        yield data.subarray(slot * shard + (from - unitStart), slot * shard + (until - unitStart) + 1);
      }
    }
  } finally {
    for (const reader of readers.values()) reader.close();
  }
}

function unknownSlots(part: StoredPart): Set<number> {
  return new Set(part.datafiles.filter((datafile) => !datafile.client).map((datafile) => datafile.slot));
}

/** Whether bytes [from, to] of the part need slots that are known to be unavailable. */
function needsReconstruction(part: StoredPart, from: number, to: number, excluded: Set<number>): boolean {
  return [...Array(part.layout.k).keys()].some((slot) => excluded.has(slot) && slotLocalRange(part.layout, slot, from, to) !== undefined);
}

async function* readPart(part: StoredPart, from: number, to: number, context: ReadContext): AsyncGenerator<Buffer> {
  const { layout } = part;
  const readAhead = Math.max(MIN_READ_AHEAD, context.readAhead ?? layout.unit);
  const excluded = unknownSlots(part);
  const failures: SlotFailureInfo[] = [];
  const cursor: Cursor = { pos: from };
  let degraded = needsReconstruction(part, from, to, excluded);
  while (cursor.pos <= to) {
    try {
      if (degraded) yield* readDegraded(part, cursor, to, excluded, failures, readAhead, context);
      else yield* readNormal(part, cursor, to, readAhead, context);
    } catch (error) {
      if (context.signal.aborted) throw context.signal.reason;
      if (!(error instanceof SlotFailure)) throw error;
      for (const failure of error.failures) {
        excluded.add(failure.slot);
        failures.push(failure);
        context.onSlotFailure?.(failure);
      }
      degraded = true;
    }
  }
}

/** The part with its datafiles in slot order, after checking them against the layout (metadata could lie). */
function checkedPart(part: StoredPart, index: number): StoredPart {
  validateLayout(part.layout);
  const { k, m } = part.layout;
  const datafiles = [...part.datafiles].sort((a, b) => a.slot - b.slot);
  if (datafiles.length !== k + m) throw new Error(`part ${index}: ${datafiles.length} datafiles for a ${k}+${m} layout`);
  datafiles.forEach((datafile, slot) => {
    if (datafile.slot !== slot) throw new Error(`part ${index}: no datafile for slot ${slot}`);
    const expected = datafileLength(part.layout, slot);
    if (datafile.length !== expected) throw new Error(`part ${index} slot ${slot}: recorded length ${datafile.length}, layout says ${expected}`);
  });
  return { layout: part.layout, datafiles };
}

/** The parts that bytes [start, end] touch, each with its part-relative range. */
function partsInRange(parts: StoredPart[], start: number, end: number): { part: StoredPart; from: number; to: number }[] {
  const touched = [];
  let partStart = 0;
  for (const part of parts) {
    const partEnd = partStart + part.layout.size - 1;
    if (partStart > end) break;
    if (part.layout.size > 0 && partEnd >= start) {
      touched.push({ part, from: Math.max(start, partStart) - partStart, to: Math.min(end, partEnd) - partStart });
    }
    partStart += part.layout.size;
  }
  return touched;
}

async function* readParts(touched: { part: StoredPart; from: number; to: number }[], context: ReadContext): AsyncGenerator<Buffer> {
  for (const { part, from, to } of touched) yield* readPart(part, from, to, context);
}

/** Pulls the generator only as fast as the consumer reads; destroying it aborts every upstream GET. */
class StripedReadable extends Readable {
  private pumping = false;

  constructor(
    private readonly source: AsyncGenerator<Buffer>,
    private readonly abort: (reason: Error) => void,
    first: Buffer,
  ) {
    super({ highWaterMark: MIN_READ_AHEAD });
    this.push(first);
  }

  override _read(): void {
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (;;) {
        const { value, done } = await this.source.next();
        if (this.destroyed) return;
        if (done) {
          this.push(null);
          return;
        }
        if (!this.push(value)) return;
      }
    } catch (error) {
      this.destroy(error as Error);
    } finally {
      this.pumping = false;
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // After the last byte every slot read has finished: nothing upstream to stop.
    if (error || !this.readableEnded) this.abort(error ?? new Error("striped read closed by its consumer"));
    void this.source.return(undefined).catch(() => {});
    callback(error);
  }
}

/**
 * Streams bytes [start, end] (inclusive object offsets) of an object made of consecutive parts. Resolves
 * once the first bytes are available, or rejects (DataUnavailableError when too many slots are gone). The
 * returned Readable errors, never ends early, if data becomes unavailable later. `end = start - 1` reads
 * nothing.
 */
export async function openStripedRead(parts: StoredPart[], start: number, end: number, options: StripedReadOptions = {}): Promise<Readable> {
  parts = parts.map(checkedPart);
  const total = parts.reduce((sum, part) => sum + part.layout.size, 0);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start - 1 || end >= total) {
    throw new RangeError(`bad range ${start}-${end} of a ${total}-byte object`);
  }
  if (end < start) return Readable.from([], { objectMode: false });
  if (options.signal?.aborted) throw options.signal.reason;
  // A later part whose servers are known to be gone must fail the read now, while a 503 is still possible.
  const touched = partsInRange(parts, start, end);
  for (const { part, from, to } of touched) {
    const excluded = unknownSlots(part);
    if (needsReconstruction(part, from, to, excluded) && !chooseSources(part, from, to, excluded)) throw unavailable(part, excluded, []);
  }

  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(options.signal!.reason);
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  const context: ReadContext = {
    signal: controller.signal,
    requestId: options.requestId,
    readAhead: options.readAhead,
    onSlotFailure: options.onSlotFailure,
  };
  const abort = (reason: Error) => {
    options.signal?.removeEventListener("abort", onOuterAbort);
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const generator = readParts(touched, context);
  let first: IteratorResult<Buffer>;
  try {
    first = await generator.next();
  } catch (error) {
    abort(error as Error);
    throw error;
  }
  if (first.done) throw new Error("striped read produced no bytes");
  const stream = new StripedReadable(generator, abort, first.value);
  stream.once("close", () => options.signal?.removeEventListener("abort", onOuterAbort));
  return stream;
}
