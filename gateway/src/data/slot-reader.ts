// One ranged GET of one datafile, read ahead into a bounded queue, for the stripe reader (stripe-reader.ts). A
// failure says where in the datafile it stopped, so the reader can tell which stripe it spoils.
import type { Readable } from "node:stream";
import type { IoClient } from "../../../ioserver/src/client.js";
import { chunksOf } from "./chunk-reader.js";
import type { LocalRange } from "./layout.js";

export interface SlotFailureInfo {
  slot: number;
  blobId: string;
  cause: unknown;
}

/** A failed slot read, and where in its datafile it stopped. */
export interface SlotFault extends SlotFailureInfo {
  /** The first local byte that did not arrive. */
  failedAt: number;
  /** The last local byte the read asked for. */
  askedUntil: number;
}

/** One or more slots failed while reading a part; the part loop decides what to do. */
export class SlotFailure extends Error {
  constructor(readonly faults: SlotFault[]) {
    super(`slot ${faults.map((fault) => fault.slot).join(", ")} failed`);
  }
}

export interface ReadContext {
  signal: AbortSignal;
  requestId: string | undefined;
  readAhead: number | undefined;
  onSlotFailure: ((failure: SlotFailureInfo) => void) | undefined;
}

/**
 * One ranged GET of one datafile, read ahead into a bounded queue. Anything short of exactly the
 * requested bytes followed by a clean end is an error.
 */
export class SlotReader {
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
    datafileLength: number,
    client: IoClient,
    private readonly range: LocalRange,
    private readonly readAhead: number,
    context: ReadContext,
  ) {
    this.remaining = range.end - range.start + 1;
    context.signal.addEventListener("abort", this.onContextAbort, { once: true });
    let markOpened!: () => void;
    this.opened = new Promise((resolve) => {
      markOpened = resolve;
    });
    const response = client.getBlob(blobId, range, { signal: this.controller.signal, requestId: context.requestId, datafileLength });
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
      const fault = this.failure();
      if (fault) throw new SlotFailure([fault]);
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
  failure(): SlotFault | undefined {
    if (this.error === undefined) return undefined;
    const { end } = this.range;
    // Bytes before the first one that did not arrive were verified by the ioserver and handed over.
    return { slot: this.slot, blobId: this.blobId, cause: this.error, failedAt: Math.min(end + 1 - this.remaining, end), askedUntil: end };
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
export async function openReaders(
  datafiles: readonly { blobId: string; length: number; client: IoClient | undefined }[],
  ranges: Map<number, LocalRange>,
  readAhead: number,
  context: ReadContext,
): Promise<Map<number, SlotReader>> {
  const readers = new Map<number, SlotReader>();
  for (const [slot, range] of ranges) {
    const datafile = datafiles[slot];
    readers.set(slot, new SlotReader(slot, datafile.blobId, datafile.length, datafile.client!, range, readAhead, context));
  }
  await Promise.all([...readers.values()].map((reader) => reader.opened));
  const faults = [...readers.values()].map((reader) => reader.failure()).filter((fault) => fault !== undefined);
  if (faults.length > 0) {
    for (const reader of readers.values()) reader.close();
    throw new SlotFailure(faults);
  }
  return readers;
}
