// Chunks of a Readable one by one, as they arrived. A byte stream's own async iterator reads in paused
// mode, where read() joins everything buffered into one fresh Buffer: a copy of the whole body (and a
// MiB-sized allocation per read) that the stripe engine, which copies or forwards chunks anyway, does
// not need. In flowing mode each 'data' event hands over one chunk as it is.
import { Readable } from "node:stream";

/** Bytes queued here before the stream is paused; the stream keeps buffering up to its own high-water mark. */
const QUEUE_BYTES = 256 * 1024;

class ChunkReader implements AsyncIterableIterator<Buffer> {
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private ended = false;
  private error: Error | undefined;
  private waiting: { resolve: (result: IteratorResult<Buffer>) => void; reject: (error: Error) => void } | undefined;

  constructor(private readonly stream: Readable) {
    // The stream may have failed or ended before anyone listened (a small body is verified while the
    // caller is still busy elsewhere): its events are gone, its state is not.
    if (stream.errored) this.error = stream.errored;
    else if (stream.readableEnded) this.ended = true;
    else if (stream.destroyed) this.error = prematureClose();
    stream.on("data", this.onData);
    stream.once("end", this.onEnd);
    stream.once("error", this.onError);
    stream.once("close", this.onClose);
  }

  private readonly onData = (chunk: Buffer): void => {
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = undefined;
      waiting.resolve({ value: chunk, done: false });
      return;
    }
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes >= QUEUE_BYTES) this.stream.pause();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.settleWaiting();
  };

  private readonly onError = (error: Error): void => {
    this.error ??= error;
    this.settleWaiting();
  };

  private readonly onClose = (): void => {
    // Closed without 'end' or 'error': destroyed midway, which must not look like a complete body.
    if (!this.ended) this.onError(prematureClose());
  };

  private settleWaiting(): void {
    const waiting = this.waiting;
    if (!waiting || this.queue.length > 0) return;
    this.waiting = undefined;
    if (this.error) waiting.reject(this.error);
    else if (this.ended) waiting.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<Buffer>> {
    const head = this.queue.shift();
    if (head) {
      this.queuedBytes -= head.length;
      if (this.stream.isPaused() && this.queuedBytes < QUEUE_BYTES) this.stream.resume();
      return Promise.resolve({ value: head, done: false });
    }
    if (this.error) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    if (this.stream.isPaused()) this.stream.resume();
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  /** Giving up destroys the stream, as a for-await loop that breaks would. */
  return(): Promise<IteratorResult<Buffer>> {
    this.detach();
    this.queue.length = 0;
    this.queuedBytes = 0;
    if (!this.ended) {
      this.stream.on("error", () => {});
      this.stream.destroy();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private detach(): void {
    this.stream.off("data", this.onData);
    this.stream.off("end", this.onEnd);
    this.stream.off("error", this.onError);
    this.stream.off("close", this.onClose);
  }
}

function prematureClose(): Error {
  return Object.assign(new Error("premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" });
}

/** The chunks of `source` in order: without joining them when it is a Readable, else through its own iterator. */
export function chunksOf<Chunk extends Uint8Array>(source: AsyncIterable<Chunk>): AsyncIterator<Chunk> {
  if (source instanceof Readable && !source.readableObjectMode) return new ChunkReader(source) as AsyncIterator<Buffer> as AsyncIterator<Chunk>;
  return source[Symbol.asyncIterator]();
}
