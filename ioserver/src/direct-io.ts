// How datafile bytes move between an ioserver and its disk: the byte-moving loops of the write path, and the disk
// reads of large datafiles.
//
// Large datafiles are written and read with O_DIRECT, through page-aligned staging buffers: the disk reads the bytes
// straight from such a buffer, or writes them straight into it, and the page cache never holds them. Buffered I/O
// costs every byte a kernel copy into or out of a freshly allocated page-cache page and, for writes, the work of
// writing those pages back at fsync; on the development machine that was most of an ioserver's CPU on a large PUT
// (~9 of its ~11 s per GB of object) and two thirds of it on a large GET of data not cached, where a buffer that is
// reused costs none of it (docs/performance.md, Direct I/O). MinIO writes its erasure-coded shards the same way.
//
// Direct I/O wants the buffer's address, the file offset and the length in multiples of the block size. Every write
// is of whole 4 KiB pages, the last one padded with zeros, and the file is cut back to its true length before the
// fsync that publishes it; every read is of whole pages from a page boundary (a datafile's data starts at offset 0 and
// is read in whole checksum blocks), copied out of the staging buffer. Staging buffers come from one
// WebAssembly.Memory, whose memory is page-aligned, where a Buffer's is not.
//
// Small datafiles (below one staging buffer), transfers that find every staging buffer taken, and disks whose
// filesystem refuses O_DIRECT (tmpfs before Linux 6.6, some network and FUSE filesystems) take the buffered path:
// writes gather the received chunks into writev calls of about the same size, with no copy.
import { constants } from "node:fs";
import { open, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { BlobStoreError } from "./blob-format.js";

export const STAGING_BYTES = 1024 * 1024;
/** Direct I/O alignment: 4 KiB covers disks with 512-byte and 4 KiB logical blocks. */
export const DIRECT_IO_ALIGNMENT = 4096;
/** Staging buffers an ioserver keeps: concurrent large transfers beyond this many go buffered. */
const STAGING_BUFFERS = 32;
const WASM_PAGE = 64 * 1024;

const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;

/** Page-aligned buffers of STAGING_BYTES, made on first use; memory only becomes resident once a buffer is used. */
class StagingBuffers {
  private free: Buffer[] | undefined;

  take(): Buffer | undefined {
    if (!this.free) {
      const pages = (STAGING_BUFFERS * STAGING_BYTES) / WASM_PAGE;
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
      this.free = Array.from({ length: STAGING_BUFFERS }, (_, index) => Buffer.from(memory.buffer, index * STAGING_BYTES, STAGING_BYTES));
    }
    return this.free.pop();
  }

  give(buffer: Buffer): void {
    this.free!.push(buffer);
  }
}

const stagingBuffers = new StagingBuffers();

/**
 * Whether files in `dir` can be written and read with O_DIRECT: some filesystems refuse it at open, others only at
 * the first transfer, so the probe writes one aligned page and reads it back.
 */
export async function supportsDirectIo(dir: string): Promise<boolean> {
  const path = join(dir, `direct-io-probe-${process.pid}`);
  const staging = stagingBuffers.take();
  if (!staging) return false;
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT);
    const { bytesWritten } = await handle.write(staging, 0, DIRECT_IO_ALIGNMENT, 0);
    const { bytesRead } = await handle.read(staging, 0, DIRECT_IO_ALIGNMENT, 0);
    return bytesWritten === DIRECT_IO_ALIGNMENT && bytesRead === DIRECT_IO_ALIGNMENT;
  } catch {
    return false;
  } finally {
    stagingBuffers.give(staging);
    await handle?.close().catch(() => {});
    await unlink(path).catch(() => {});
  }
}

/**
 * A new file being written front to back: append() the bytes as they arrive (it returns a promise only when the
 * caller should wait before handing more), then finish() with the last bytes, or abort().
 */
export class DatafileWriter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** File offset of the next byte to be written. */
  private position = 0;
  private inflight: Promise<void> | undefined;
  /** A write waiting for the one before it to end: appends until then only queue (one write is started at a time). */
  private starting: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly handle: FileHandle,
    /** Set for a direct writer. */
    private staging: Buffer | undefined,
  ) {}

  /**
   * Creates the file (it must not exist). `direct`: the disk takes O_DIRECT; `expectedLength`, when known, lets a
   * small datafile skip it.
   */
  static async create(path: string, { direct, expectedLength }: { direct: boolean; expectedLength?: number }): Promise<DatafileWriter> {
    const staging = direct && (expectedLength === undefined || expectedLength >= STAGING_BYTES) ? stagingBuffers.take() : undefined;
    try {
      return new DatafileWriter(await open(path, staging ? CREATE_NEW | constants.O_DIRECT : CREATE_NEW), staging);
    } catch (error) {
      if (staging) stagingBuffers.give(staging);
      throw error;
    }
  }

  /** Whether this file is written with O_DIRECT. */
  get direct(): boolean {
    return this.staging !== undefined;
  }

  append(chunk: Uint8Array): Promise<void> | undefined {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.starting) return this.starting;
    if (this.pendingBytes < STAGING_BYTES) return undefined;
    const starting = this.writePending(STAGING_BYTES).finally(() => {
      this.starting = undefined;
    });
    this.starting = starting;
    return starting;
  }

  /** Writes what is pending and `last`, makes the file exactly that long, fsyncs and closes it. */
  async finish(last: Uint8Array[]): Promise<void> {
    await this.starting;
    for (const chunk of last) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
    while (this.pendingBytes > STAGING_BYTES) await this.writePending(STAGING_BYTES);
    const end = this.position + this.pendingBytes;
    if (this.pendingBytes > 0) await this.writePending(this.pendingBytes);
    await this.inflight;
    // A direct writer's last page was padded.
    if (this.position !== end) await this.handle.truncate(end);
    await this.handle.sync();
    await this.close();
  }

  /** After a failure: waits out a write in flight, closes the file (the caller removes it). */
  async abort(): Promise<void> {
    await this.starting?.catch(() => {});
    await this.inflight?.catch(() => {});
    await this.close().catch(() => {});
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.staging) stagingBuffers.give(this.staging);
    this.staging = undefined;
    await this.handle.close();
  }

  /** Starts writing the first `bytes` pending bytes once the write before has ended; resolves when it has started. */
  private async writePending(bytes: number): Promise<void> {
    await this.inflight;
    const position = this.position;
    let write: Promise<void>;
    if (this.staging) {
      const padded = Math.ceil(bytes / DIRECT_IO_ALIGNMENT) * DIRECT_IO_ALIGNMENT;
      this.moveInto(this.staging, bytes);
      this.staging.fill(0, bytes, padded);
      write = writeWhole(this.handle, this.staging.subarray(0, padded), position);
      this.position += padded;
    } else {
      // Everything pending goes, in one writev: nothing is copied, so nothing is gained by cutting at `bytes`.
      const buffers = this.pending;
      this.position += this.pendingBytes;
      this.pending = [];
      this.pendingBytes = 0;
      write = writeFully(this.handle, buffers, position);
    }
    this.inflight = write;
    // Awaited by the next write or by finish(); this only keeps an early failure from being "unhandled".
    write.catch(() => {});
  }

  /** Copies the first `bytes` pending bytes to the start of `target` and drops them from the pending list. */
  private moveInto(target: Buffer, bytes: number): void {
    let filled = 0;
    while (filled < bytes) {
      const chunk = this.pending[0]!;
      const take = Math.min(chunk.length, bytes - filled);
      target.set(take === chunk.length ? chunk : chunk.subarray(0, take), filled);
      filled += take;
      if (take === chunk.length) this.pending.shift();
      else this.pending[0] = chunk.subarray(take);
    }
    this.pendingBytes -= bytes;
  }
}

/** A direct write is all or nothing: a short one (a full disk) cannot go on from an unaligned offset. */
async function writeWhole(handle: FileHandle, buffer: Buffer, position: number): Promise<void> {
  const { bytesWritten } = await handle.write(buffer, 0, buffer.length, position);
  if (bytesWritten !== buffer.length) {
    throw Object.assign(new Error(`direct write of ${buffer.length} bytes at ${position} wrote ${bytesWritten}`), { code: "ENOSPC" });
  }
}

async function writeFully(handle: FileHandle, buffers: Uint8Array[], position: number): Promise<void> {
  let total = 0;
  for (const buffer of buffers) total += buffer.length;
  let { bytesWritten } = await handle.writev(buffers, position);
  if (bytesWritten === total) return;
  // Short writes are rare on regular files, but a lost tail would be silent corruption.
  const rest = Buffer.concat(buffers).subarray(bytesWritten);
  let done = 0;
  while (done < rest.length) {
    ({ bytesWritten } = await handle.write(rest, done, rest.length - done, position + bytesWritten + done));
    done += bytesWritten;
  }
}

/** Opens a datafile for direct reads (readDirect); undefined when the filesystem refuses. */
export async function openForDirectReads(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, constants.O_RDONLY | constants.O_DIRECT);
  } catch {
    return undefined;
  }
}

/**
 * Fills `target` with the file's bytes from `position` (a multiple of 4 KiB) through a staging buffer, in reads of
 * whole pages. False, with nothing read, when every staging buffer is taken: the caller reads buffered then. The file
 * must have bytes up to the end of the last page read or end within it (a datafile's checksums and trailer follow
 * its data).
 */
export async function readDirect(handle: FileHandle, target: Buffer, position: number): Promise<boolean> {
  if (position % DIRECT_IO_ALIGNMENT !== 0) throw new RangeError(`direct read at ${position}, not a multiple of ${DIRECT_IO_ALIGNMENT}`);
  const staging = stagingBuffers.take();
  if (!staging) return false;
  try {
    for (let done = 0; done < target.length; ) {
      const wanted = Math.min(STAGING_BYTES, Math.ceil((target.length - done) / DIRECT_IO_ALIGNMENT) * DIRECT_IO_ALIGNMENT);
      const { bytesRead } = await handle.read(staging, 0, wanted, position + done);
      const useful = Math.min(bytesRead, target.length - done);
      // Only the file's end reads short: what is missing is not there.
      if (bytesRead < wanted && done + useful < target.length) throw new BlobStoreError("ChecksumMismatch", "blob file is shorter than its trailer says");
      staging.copy(target, done, 0, useful);
      done += useful;
    }
    return true;
  } finally {
    stagingBuffers.give(staging);
  }
}
