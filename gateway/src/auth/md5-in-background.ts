// The MD5 of a large body, computed on another thread. MD5 is the ETag of every single-part object and part, it runs at
// ~720 MiB/s on one core of the development machine (~1.4 s of CPU per GB), it cannot be split (each block depends
// on the one before), and on the event loop it was the largest single cost of a large PUT, holding up the socket
// reads and writes around it. Here the bytes are copied into 256 KiB segments that are handed (transferred, not
// copied) to one worker thread per gateway, which hashes them in order and hands each segment back for reuse, so
// hashing overlaps with everything else the event loop does. docs/performance.md, MD5 off the event loop.
//
// A stream keeps at most MAX_SEGMENTS_IN_FLIGHT segments in the worker: ready() tells its caller to wait beyond that,
// which holds the request body back as any slow consumer does.
import { createHash, type Hash } from "node:crypto";
import { Worker } from "node:worker_threads";

type Md5Request =
  | { id: number; kind: "update"; segment: ArrayBuffer; length: number }
  | { id: number; kind: "digest" }
  | { id: number; kind: "discard" };

type Md5Reply = { id: number; kind: "hashed"; segment: ArrayBuffer } | { id: number; kind: "digest"; md5: Uint8Array };

const SEGMENT_BYTES = 256 * 1024;
const MAX_SEGMENTS_IN_FLIGHT = 4;

/** Bodies at least this long are hashed in the background; below, a message round trip costs more than the hash. */
const BACKGROUND_MD5_MIN_BYTES = 1024 * 1024;

/** The MD5 of a stream of chunks, wherever it is computed. */
export interface StreamingMd5 {
  update(chunk: Uint8Array): void;
  /** Pending while the caller should wait before the next update(). */
  ready(): Promise<void> | undefined;
  /** The MD5 of everything updated; call once. */
  digest(): Promise<Buffer>;
  /** The stream failed or was abandoned: nothing more will come. */
  discard(): void;
}

/** An MD5 for a body of `length` bytes (undefined: not known): in the background when it is known to be large. */
export function streamingMd5(length: number | undefined): StreamingMd5 {
  return length !== undefined && length >= BACKGROUND_MD5_MIN_BYTES ? new Md5InBackground() : new Md5OnEventLoop();
}

class Md5OnEventLoop implements StreamingMd5 {
  private readonly hash: Hash = createHash("md5");

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }

  ready(): undefined {
    return undefined;
  }

  digest(): Promise<Buffer> {
    return Promise.resolve(this.hash.digest());
  }

  discard(): void {}
}

/**
 * What the worker runs: MD5 states by stream id, fed segments it hands back once hashed. Source text rather than a
 * module file, so that it runs the same compiled and from the TypeScript sources (tests run under tsx, whose loader
 * does not reach worker threads on Node 20).
 */
const MD5_THREAD_SOURCE = `
const { createHash } = require("node:crypto");
const { parentPort } = require("node:worker_threads");
const hashes = new Map();
parentPort.on("message", (request) => {
  const { id } = request;
  if (request.kind === "update") {
    let hash = hashes.get(id);
    if (!hash) hashes.set(id, (hash = createHash("md5")));
    hash.update(new Uint8Array(request.segment, 0, request.length));
    parentPort.postMessage({ id, kind: "hashed", segment: request.segment }, [request.segment]);
  } else if (request.kind === "digest") {
    const md5 = (hashes.get(id) ?? createHash("md5")).digest();
    hashes.delete(id);
    parentPort.postMessage({ id, kind: "digest", md5: new Uint8Array(md5) });
  } else if (request.kind === "discard") {
    hashes.delete(id);
  }
});
`;

/** The one worker of this process, started on first use; a worker that dies fails the streams it held. */
class Md5Thread {
  private static current: Md5Thread | undefined;
  private readonly worker: Worker;
  private readonly streams = new Map<number, Md5InBackground>();
  private nextId = 1;

  static get(): Md5Thread {
    return (Md5Thread.current ??= new Md5Thread());
  }

  private constructor() {
    this.worker = new Worker(MD5_THREAD_SOURCE, { eval: true });
    this.worker.unref();
    this.worker.on("message", (reply: Md5Reply) => this.streams.get(reply.id)?.onReply(reply));
    const fail = (error: Error) => {
      if (Md5Thread.current === this) Md5Thread.current = undefined;
      for (const stream of this.streams.values()) stream.onWorkerFailure(error);
      this.streams.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`the MD5 worker exited with code ${code}`)));
  }

  open(stream: Md5InBackground): number {
    const id = this.nextId++;
    this.streams.set(id, stream);
    return id;
  }

  close(id: number): void {
    this.streams.delete(id);
  }

  send(request: Md5Request): void {
    this.worker.postMessage(request, request.kind === "update" ? [request.segment] : []);
  }
}

class Md5InBackground implements StreamingMd5 {
  private readonly thread = Md5Thread.get();
  private readonly id = this.thread.open(this);
  private readonly spare: ArrayBuffer[] = [];
  private segment: Buffer | undefined;
  private filled = 0;
  private inFlight = 0;
  private waiting: { resolve: () => void; reject: (error: Error) => void } | undefined;
  private digesting: { resolve: (md5: Buffer) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  private closed = false;

  update(chunk: Uint8Array): void {
    for (let offset = 0; offset < chunk.length; ) {
      this.segment ??= Buffer.from(this.spare.pop() ?? new ArrayBuffer(SEGMENT_BYTES));
      const take = Math.min(SEGMENT_BYTES - this.filled, chunk.length - offset);
      this.segment.set(take === chunk.length ? chunk : chunk.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === SEGMENT_BYTES) this.sendSegment();
    }
  }

  /** Pending while the worker holds more segments of this stream than it may: wait before the next update(). */
  ready(): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.inFlight <= MAX_SEGMENTS_IN_FLIGHT) return undefined;
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  /** The MD5 of everything updated; the stream is done with after this. */
  digest(): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.filled > 0) this.sendSegment();
    this.closed = true;
    return new Promise((resolve, reject) => {
      this.digesting = { resolve, reject };
      this.thread.send({ id: this.id, kind: "digest" });
    });
  }

  /** The body failed: the worker forgets the stream. */
  discard(): void {
    if (this.closed) return;
    this.closed = true;
    this.thread.send({ id: this.id, kind: "discard" });
    this.thread.close(this.id);
  }

  onReply(reply: Md5Reply): void {
    if (reply.kind === "hashed") {
      this.inFlight--;
      if (this.spare.length < MAX_SEGMENTS_IN_FLIGHT) this.spare.push(reply.segment);
      if (this.waiting && this.inFlight <= MAX_SEGMENTS_IN_FLIGHT) {
        const { resolve } = this.waiting;
        this.waiting = undefined;
        resolve();
      }
      return;
    }
    this.thread.close(this.id);
    this.digesting?.resolve(Buffer.from(reply.md5.buffer, reply.md5.byteOffset, reply.md5.byteLength));
    this.digesting = undefined;
  }

  onWorkerFailure(error: Error): void {
    this.failure = error;
    this.waiting?.reject(error);
    this.digesting?.reject(error);
    this.waiting = this.digesting = undefined;
  }

  private sendSegment(): void {
    const segment = this.segment!;
    this.thread.send({ id: this.id, kind: "update", segment: segment.buffer as ArrayBuffer, length: this.filled });
    this.segment = undefined;
    this.filled = 0;
    this.inFlight++;
  }
}
