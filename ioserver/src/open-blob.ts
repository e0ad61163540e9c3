// Reading one datafile (the format of blob-format.ts): an open file, and the verified chunks and streams of it.
import type { FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";
import { crc32c } from "@node-rs/crc32";
import { wholeCrcOfBlocks } from "./block-checksums.js";
import { BlobStoreError, type BlobLayout } from "./blob-format.js";
import { readDirect } from "./direct-io.js";
import { CHECKSUM_BLOCK_SIZE } from "./protocol.js";

export interface BlobInfo {
  length: number;
  crc32c: string; // 8 lowercase hex digits of the whole blob
}

// Blocks per disk read: 16 × 64 KiB = 1 MiB, whatever the stripe unit (a datafile holds its slot's units back to back).
const READ_BLOCKS_PER_CHUNK = 16;

export function crcHex(crc: number): string {
  return (crc >>> 0).toString(16).padStart(8, "0");
}

export async function readFully(handle: FileHandle, target: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await handle.read(target, done, target.length - done, position + done);
    if (bytesRead === 0) throw new BlobStoreError("ChecksumMismatch", "blob file is shorter than its trailer says");
    done += bytesRead;
  }
}

/**
 * An open blob: the file as it was at open, even across a delete, pinned by its file handle or, for a small blob, by
 * its whole file already in memory (BlobStore.openBlob reads those whole).
 */
export class OpenBlob implements BlobInfo {
  readonly length: number;
  readonly crc32c: string;
  private closed = false;

  constructor(
    private readonly source: FileHandle | Buffer,
    private readonly layout: BlobLayout,
    /** The same file opened with O_DIRECT, for reads of its data (direct-io.ts). */
    private readonly direct?: FileHandle,
  ) {
    this.length = layout.length;
    this.crc32c = crcHex(layout.wholeCrc);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.direct?.close();
    if (!Buffer.isBuffer(this.source)) await this.source.close();
  }

  /**
   * Bytes [start, end] inclusive as a stream that owns the handle (closes it when done or destroyed).
   * The first chunk is read and verified before this resolves, so a bad first block is reported
   * while an HTTP answer can still say so; later bad blocks error the stream before any of their bytes.
   */
  async stream(start: number, end: number): Promise<Readable> {
    let first: Buffer;
    try {
      if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && end >= start && end < this.length)) {
        throw new RangeError(`range ${start}-${end} is outside a blob of ${this.length} bytes`);
      }
      first = await this.readVerifiedChunk(start, end);
    } catch (error) {
      await this.close();
      throw error;
    }
    return new VerifiedBlobStream(this, first, start + first.length, end);
  }

  /** Reads and checks every block, and the whole-file CRC32C against the trailer's; throws on the first failure. */
  async verifyAll(): Promise<void> {
    const blockCrcs: number[] = [];
    for (let position = 0; position < this.length; ) {
      const chunk = await this.readVerifiedChunk(position, this.length - 1, blockCrcs);
      position += chunk.length;
    }
    const { blockSize } = this.layout;
    const crc = wholeCrcOfBlocks(blockCrcs, blockSize, this.length % blockSize || blockSize);
    if (crcHex(crc) !== this.crc32c) throw new BlobStoreError("ChecksumMismatch", `whole-file CRC32C ${crcHex(crc)}, trailer says ${this.crc32c}`);
  }

  /**
   * Verified bytes from `position` up to the end of its read chunk, never past `end`. `blockCrcs` (optional) receives
   * the CRC of every block read.
   */
  async readVerifiedChunk(position: number, end: number, blockCrcs?: number[]): Promise<Buffer> {
    const { blockSize, length } = this.layout;
    const firstBlock = Math.floor(position / blockSize);
    const lastBlock = Math.min(Math.floor(end / blockSize), firstBlock + READ_BLOCKS_PER_CHUNK - 1);
    const dataStart = firstBlock * blockSize;
    const dataEnd = Math.min((lastBlock + 1) * blockSize, length);
    const checksumsStart = length + 4 * firstBlock;
    const checksumsEnd = checksumsStart + 4 * (lastBlock - firstBlock + 1);
    let data: Buffer;
    let checksums: Buffer;
    if (Buffer.isBuffer(this.source)) {
      data = this.source.subarray(dataStart, dataEnd);
      checksums = this.source.subarray(checksumsStart, checksumsEnd);
    } else {
      // Each chunk gets a fresh buffer because consumers keep the pushed slices.
      data = Buffer.allocUnsafe(dataEnd - dataStart);
      checksums = Buffer.allocUnsafe(checksumsEnd - checksumsStart);
      const source = this.source;
      const readData = async () => (this.direct && (await readDirect(this.direct, data, dataStart))) || readFully(source, data, dataStart);
      await Promise.all([readData(), readFully(source, checksums, checksumsStart)]);
    }
    for (let block = 0; block * blockSize < data.length; block++) {
      const blockBytes = data.subarray(block * blockSize, Math.min((block + 1) * blockSize, data.length));
      const crc = crc32c(blockBytes) >>> 0;
      blockCrcs?.push(crc);
      if (crc !== checksums.readUInt32BE(4 * block)) {
        throw new BlobStoreError(
          "ChecksumMismatch",
          `block ${firstBlock + block} (bytes ${dataStart + block * blockSize}+${blockBytes.length}) fails its CRC32C`,
        );
      }
    }
    return data.subarray(position - dataStart, Math.min(end + 1, dataEnd) - dataStart);
  }
}

class VerifiedBlobStream extends Readable {
  private reading = false;

  constructor(
    private readonly blob: OpenBlob,
    private pending: Buffer | undefined,
    private position: number,
    private readonly end: number,
  ) {
    // About one chunk of read-ahead: the next disk read overlaps the network send of the current one.
    super({ highWaterMark: READ_BLOCKS_PER_CHUNK * CHECKSUM_BLOCK_SIZE });
  }

  override _read(): void {
    if (this.pending) {
      const chunk = this.pending;
      this.pending = undefined;
      if (!this.pushOrFinish(chunk)) return;
    }
    if (this.reading || this.destroyed) return;
    this.reading = true;
    this.blob.readVerifiedChunk(this.position, this.end).then(
      (chunk) => {
        this.reading = false;
        if (this.destroyed) return;
        this.position += chunk.length;
        this.pushOrFinish(chunk);
      },
      (error: unknown) => {
        this.reading = false;
        this.destroy(error as Error);
      },
    );
  }

  /** Pushes a chunk, ends the stream after the last one; returns whether more should be read now. */
  private pushOrFinish(chunk: Buffer): boolean {
    const more = this.push(chunk);
    if (this.position > this.end) {
      this.push(null);
      return false;
    }
    return more;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.blob.close().then(
      () => callback(error),
      (closeError: unknown) => callback(error ?? (closeError as Error)),
    );
  }
}
