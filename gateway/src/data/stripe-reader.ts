// The read half of the stripe engine: bytes [start, end] of an object made of striped parts, as one Readable.
//
// Normal mode opens one ranged GET per data slot the range touches (per part), each covering that slot's
// contiguous local range, and merges them in object order; each slot stream reads ahead a bounded amount
// so all k downloads run in parallel. A part is read in segments, runs of stripes that one set of slots
// serves (slot-health.ts); with nothing failing, the whole range is one segment. When a slot fails (HTTP
// error, cut stream, checksum failure on the ioserver), the read goes on from the current stripe: stripes
// that miss a data slot are rebuilt with Reed–Solomon from whole shards of k slots (data first, then
// parity), and the failed slot is used again a stripe or a few later, since one bad block spoils one stripe,
// not the datafile. Only a slot whose server is down or does not answer, or whose datafile is missing, is
// given up for the rest of the part. A stripe with fewer than k readable slots is a DataUnavailableError.
// Bytes are only emitted once they are known good, so the stream errors rather than ever handing out a
// wrong byte.
import { Readable } from "node:stream";
import { IoServerError, type IoClient } from "../../../ioserver/src/client.js";
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
import { SlotHealth } from "./slot-health.js";
import { openReaders, SlotFailure, type ReadContext, type SlotFailureInfo } from "./slot-reader.js";

export type { SlotFailureInfo } from "./slot-reader.js";

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

/** A stripe has fewer than k readable slots. */
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
  /** Told about every failed slot read, e.g. to log it or mark its server down; a slot may fail more than once. */
  onSlotFailure?: (failure: SlotFailureInfo) => void;
  /** Told once, when the read first rebuilds bytes from parity (or a copy) because a data slot is missing or failed. */
  onDegraded?: () => void;
}

const MIN_READ_AHEAD = 64 * 1024;

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
  const readers = await openReaders(part.datafiles, ranges, readAhead, context);
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

function unavailable(part: StoredPart, health: SlotHealth, stripe: number, failures: SlotFailureInfo[]): DataUnavailableError {
  const { k, m } = part.layout;
  const lost = health.unusableIn(stripe).join(", ");
  return new DataUnavailableError(`a ${k}+${m} part needs ${k} readable slots; stripe ${stripe} has lost slots ${lost}`, failures);
}

/** Rebuilds part bytes [cursor.pos, to] stripe by stripe from whole shards of the k `sources` (slot order). */
async function* readDegraded(
  part: StoredPart,
  cursor: Cursor,
  to: number,
  sources: readonly number[],
  readAhead: number,
  context: ReadContext,
): AsyncGenerator<Buffer> {
  const { layout } = part;
  const { unit, k, m } = layout;
  const perStripe = stripeBytes(layout);
  const firstStripe = Math.floor(cursor.pos / perStripe);
  const lastStripe = Math.floor(to / perStripe);
  // A data source with no bytes in these stripes (the tail of a short last stripe) holds zeros: no GET.
  const ranges = new Map<number, LocalRange>();
  for (const slot of sources) {
    const length = (lastStripe - firstStripe) * unit + storedLength(layout, lastStripe, slot);
    if (length > 0) ranges.set(slot, { start: firstStripe * unit, end: firstStripe * unit + length - 1 });
  }
  const missingData = [...Array(k).keys()].filter((slot) => !sources.includes(slot));

  const readers = await openReaders(part.datafiles, ranges, readAhead, context);
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

function unknownSlots(part: StoredPart): number[] {
  return part.datafiles.filter((datafile) => !datafile.client).map((datafile) => datafile.slot);
}

/** A server that does not answer, or a datafile that does not exist, will serve no later stripe either. */
function isLostForPart(cause: unknown): boolean {
  return cause instanceof IoServerError && (cause.unreachable || cause.status === 404);
}

async function* readPart(part: StoredPart, from: number, to: number, context: ReadContext, onRebuild: () => void): AsyncGenerator<Buffer> {
  const { layout } = part;
  const readAhead = Math.max(MIN_READ_AHEAD, context.readAhead ?? layout.unit);
  const perStripe = stripeBytes(layout);
  const health = new SlotHealth(layout, unknownSlots(part));
  const failures: SlotFailureInfo[] = [];
  const cursor: Cursor = { pos: from };
  while (cursor.pos <= to) {
    const plan = health.planSegment(cursor.pos, to);
    if (!plan) throw unavailable(part, health, Math.floor(cursor.pos / perStripe), failures);
    const until = Math.min(to, (plan.lastStripe + 1) * perStripe - 1);
    try {
      if (plan.sources) {
        onRebuild();
        yield* readDegraded(part, cursor, until, plan.sources, readAhead, context);
      } else {
        yield* readNormal(part, cursor, until, readAhead, context);
      }
    } catch (error) {
      if (context.signal.aborted) throw context.signal.reason;
      if (!(error instanceof SlotFailure)) throw error;
      for (const { slot, blobId, cause, failedAt, askedUntil } of error.faults) {
        if (isLostForPart(cause)) health.giveUp(slot);
        else health.recordFailure(slot, failedAt, askedUntil);
        const failure = { slot, blobId, cause };
        failures.push(failure);
        context.onSlotFailure?.(failure);
      }
      // Fail before handing out more bytes (or, early on, while a 503 is still possible) when a stripe ahead is lost.
      checkReadable(part, health, cursor.pos, to, failures);
    }
  }
}

/** Throws DataUnavailableError if, as far as `health` knows, a stripe of part bytes [from, to] is short of k slots. */
function checkReadable(part: StoredPart, health: SlotHealth, from: number, to: number, failures: SlotFailureInfo[]): void {
  const perStripe = stripeBytes(part.layout);
  for (let pos = from; pos <= to; ) {
    const plan = health.planSegment(pos, to);
    if (!plan) throw unavailable(part, health, Math.floor(pos / perStripe), failures);
    pos = (plan.lastStripe + 1) * perStripe;
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

async function* readParts(touched: { part: StoredPart; from: number; to: number }[], context: ReadContext, onDegraded: (() => void) | undefined): AsyncGenerator<Buffer> {
  let rebuilt = false;
  const onRebuild = () => {
    if (!rebuilt) onDegraded?.();
    rebuilt = true;
  };
  for (const { part, from, to } of touched) yield* readPart(part, from, to, context, onRebuild);
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
  for (const { part, from, to } of touched) checkReadable(part, new SlotHealth(part.layout, unknownSlots(part)), from, to, []);

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
  const generator = readParts(touched, context, options.onDegraded);
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
