// One disk's datafiles, each a single file in the format of blob-format.ts (data at offset 0, block CRC32Cs, the
// blob id, a trailer), so that one rename publishes data and checksums together (a sidecar would need two renames
// and could pair new data with old checksums after a crash). Files are spread over fan-out directories.
import { randomUUID } from "node:crypto";
import { mkdir, open, readdir, rename, rm, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { crc32c } from "@node-rs/crc32";
import { BLOB_ID_PATTERN, CHECKSUM_BLOCK_SIZE, type VerifiedBlob } from "./protocol.js";
import { readOrCreateDiskId } from "./disk-identity.js";
import { fsyncPath } from "./fsync.js";
import { assertRecordsId, BlobStoreError, decodeTail, encodeTail, MAX_TAIL_SIZE, TRAILER_SIZE, type BlobLayout } from "./blob-format.js";

export { BlobStoreError, type BlobStoreErrorCode } from "./blob-format.js";

export interface BlobInfo {
  length: number;
  crc32c: string; // 8 lowercase hex digits of the whole blob
}

// Gather incoming chunks into one writev of about this size: fewer syscalls and thread-pool hops.
const WRITE_BATCH_BYTES = 1024 * 1024;
// Blocks per disk read: 16 × 64 KiB = 1 MiB, whatever the stripe unit (a datafile holds its slot's units back to back).
const READ_BLOCKS_PER_CHUNK = 16;
// A blob of one checksum block is read whole, in one read: any read of it must verify that block anyway, and one
// read instead of three (trailer, data, checksums) is what a small object's GET costs on the ioserver.
const WHOLE_FILE_READ_LIMIT = CHECKSUM_BLOCK_SIZE + 4 + MAX_TAIL_SIZE;
// 4096 fan-out directories keep each directory small up to tens of millions of blobs while a full
// listing walk stays at a few thousand readdir calls.
const FANOUT_DIRS = 4096;

export function isValidBlobId(id: string): boolean {
  return BLOB_ID_PATTERN.test(id);
}

function assertValidId(id: string): void {
  if (!isValidBlobId(id)) throw new BlobStoreError("InvalidId", `invalid blob id ${JSON.stringify(id)}`);
}

function fanoutDirName(id: string): string {
  // Hash, not the id's prefix: time-ordered ids (uuid v7) would otherwise all land in one directory.
  return (crc32c(id) % FANOUT_DIRS).toString(16).padStart(3, "0");
}

const FANOUT_DIR_NAME = /^[0-9a-f]{3}$/;

export function crcHex(crc: number): string {
  return (crc >>> 0).toString(16).padStart(8, "0");
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === "ENOENT";
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

async function readFully(handle: FileHandle, target: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await handle.read(target, done, target.length - done, position + done);
    if (bytesRead === 0) throw new BlobStoreError("ChecksumMismatch", "blob file is shorter than its trailer says");
    done += bytesRead;
  }
}

/**
 * An open blob: the version that was current at open, even across overwrite or delete, pinned by its file handle
 * or, for a small blob, by its whole file already in memory (WHOLE_FILE_READ_LIMIT).
 */
export class OpenBlob implements BlobInfo {
  readonly length: number;
  readonly crc32c: string;
  private closed = false;

  constructor(
    private readonly source: FileHandle | Buffer,
    private readonly layout: BlobLayout,
  ) {
    this.length = layout.length;
    this.crc32c = crcHex(layout.wholeCrc);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
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
    let crc = 0;
    for (let position = 0; position < this.length; ) {
      const chunk = await this.readVerifiedChunk(position, this.length - 1);
      crc = crc32c(chunk, crc);
      position += chunk.length;
    }
    if (crcHex(crc) !== this.crc32c) throw new BlobStoreError("ChecksumMismatch", `whole-file CRC32C ${crcHex(crc)}, trailer says ${this.crc32c}`);
  }

  /** Verified bytes from `position` up to the end of its read chunk, never past `end`. */
  async readVerifiedChunk(position: number, end: number): Promise<Buffer> {
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
      await Promise.all([readFully(this.source, data, dataStart), readFully(this.source, checksums, checksumsStart)]);
    }
    for (let block = 0; block * blockSize < data.length; block++) {
      const blockBytes = data.subarray(block * blockSize, Math.min((block + 1) * blockSize, data.length));
      if ((crc32c(blockBytes) >>> 0) !== checksums.readUInt32BE(4 * block)) {
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

export class BlobStore {
  private readonly blobsDir: string;
  private readonly tmpDir: string;
  private readonly knownFanoutDirs = new Set<string>();

  private constructor(
    readonly dir: string,
    readonly diskId: string,
  ) {
    this.blobsDir = join(dir, "blobs");
    this.tmpDir = join(dir, "tmp");
  }

  /** Prepares the folder (creating the disk-id marker on first start) and removes temp files of interrupted writes. */
  static async open(dir: string): Promise<BlobStore> {
    await mkdir(join(dir, "blobs"), { recursive: true });
    await mkdir(join(dir, "tmp"), { recursive: true });
    for (const name of await readdir(join(dir, "tmp"))) {
      await rm(join(dir, "tmp", name), { force: true, recursive: true });
    }
    return new BlobStore(dir, await readOrCreateDiskId(dir));
  }

  private pathOf(id: string): { fanoutDir: string; path: string } {
    const fanoutDir = join(this.blobsDir, fanoutDirName(id));
    return { fanoutDir, path: join(fanoutDir, id) };
  }

  /**
   * Streams `body` into blob `id` and publishes it atomically (temp file, fsync, rename, fsync dir).
   * With `expectedLength`, any other byte count stores nothing and throws LengthMismatch; an erroring
   * body (aborted request) stores nothing and rethrows.
   */
  async write(id: string, body: AsyncIterable<Uint8Array>, expectedLength?: number): Promise<BlobInfo> {
    assertValidId(id);
    const tmpPath = join(this.tmpDir, `${id}.${randomUUID()}`);
    const handle = await open(tmpPath, "wx");
    let handleOpen = true;
    let inflightWrite: Promise<void> | undefined;
    try {
      const blockSize = CHECKSUM_BLOCK_SIZE;
      const blockChecksums: number[] = [];
      let blockCrc = 0;
      let blockFill = 0;
      let wholeCrc = 0;
      let length = 0;
      let written = 0;
      let batch: Uint8Array[] = [];
      let batchBytes = 0;

      const flushBatch = async () => {
        if (inflightWrite) await inflightWrite;
        const buffers = batch;
        const position = written;
        written += batchBytes;
        batch = [];
        batchBytes = 0;
        inflightWrite = writeFully(handle, buffers, position);
        // Awaited on the next flush or at the end; this only keeps an early failure from being "unhandled".
        inflightWrite.catch(() => {});
      };

      for await (const chunk of body) {
        length += chunk.length;
        if (expectedLength !== undefined && length > expectedLength) {
          throw new BlobStoreError("LengthMismatch", `body is longer than the declared ${expectedLength} bytes`);
        }
        wholeCrc = crc32c(chunk, wholeCrc);
        let offset = 0;
        while (offset < chunk.length) {
          const take = Math.min(blockSize - blockFill, chunk.length - offset);
          blockCrc = crc32c(take === chunk.length ? chunk : chunk.subarray(offset, offset + take), blockCrc);
          blockFill += take;
          offset += take;
          if (blockFill === blockSize) {
            blockChecksums.push(blockCrc >>> 0);
            blockCrc = 0;
            blockFill = 0;
          }
        }
        batch.push(chunk);
        batchBytes += chunk.length;
        if (batchBytes >= WRITE_BATCH_BYTES) await flushBatch();
      }
      if (expectedLength !== undefined && length !== expectedLength) {
        throw new BlobStoreError("LengthMismatch", `body has ${length} bytes, ${expectedLength} were declared`);
      }
      if (blockFill > 0) blockChecksums.push(blockCrc >>> 0);

      const checksumTable = Buffer.allocUnsafe(4 * blockChecksums.length);
      for (let i = 0; i < blockChecksums.length; i++) checksumTable.writeUInt32BE(blockChecksums[i]!, 4 * i);
      batch.push(checksumTable, encodeTail(id, blockSize, length, wholeCrc));
      await flushBatch();
      await inflightWrite;
      await handle.sync();
      handleOpen = false;
      await handle.close();

      const { fanoutDir, path } = this.pathOf(id);
      await this.ensureFanoutDir(fanoutDir);
      await rename(tmpPath, path);
      await fsyncPath(fanoutDir);
      return { length, crc32c: crcHex(wholeCrc) };
    } catch (error) {
      if (inflightWrite) await inflightWrite.catch(() => {});
      if (handleOpen) await handle.close().catch(() => {});
      await unlink(tmpPath).catch(() => {});
      throw error;
    }
  }

  private async ensureFanoutDir(fanoutDir: string): Promise<void> {
    if (this.knownFanoutDirs.has(fanoutDir)) return;
    const created = await mkdir(fanoutDir, { recursive: true });
    // A new directory entry is durable only once its parent is synced.
    if (created !== undefined) await fsyncPath(this.blobsDir);
    this.knownFanoutDirs.add(fanoutDir);
  }

  /** Opens blob `id` for reading; undefined when it does not exist. The caller closes it (or a stream of it). */
  async openBlob(id: string): Promise<OpenBlob | undefined> {
    assertValidId(id);
    let handle: FileHandle;
    try {
      handle = await open(this.pathOf(id).path, "r");
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    let handleOpen = true;
    try {
      const { size } = await handle.stat();
      if (size < TRAILER_SIZE) throw new BlobStoreError("ChecksumMismatch", "blob file is shorter than a trailer");
      if (size <= WHOLE_FILE_READ_LIMIT) {
        const file = Buffer.allocUnsafe(size);
        await readFully(handle, file, 0);
        handleOpen = false;
        await handle.close();
        const layout = decodeTail(file, size);
        assertRecordsId(layout, id);
        return new OpenBlob(file, layout);
      }
      const tail = Buffer.allocUnsafe(Math.min(size, MAX_TAIL_SIZE));
      await readFully(handle, tail, size - tail.length);
      const layout = decodeTail(tail, size);
      assertRecordsId(layout, id);
      return new OpenBlob(handle, layout);
    } catch (error) {
      if (handleOpen) await handle.close();
      throw error;
    }
  }

  async stat(id: string): Promise<BlobInfo | undefined> {
    const blob = await this.openBlob(id);
    if (!blob) return undefined;
    await blob.close();
    return { length: blob.length, crc32c: blob.crc32c };
  }

  /** Reads all of blob `id` and checks it (scrub): its id, every block, the whole-file CRC32C. */
  async verify(id: string): Promise<VerifiedBlob> {
    let blob: OpenBlob | undefined;
    try {
      blob = await this.openBlob(id);
      if (!blob) return { id, status: "missing" };
      await blob.verifyAll();
      return { id, status: "ok", length: blob.length, crc32c: blob.crc32c };
    } catch (error) {
      if (error instanceof BlobStoreError && error.code !== "InvalidId") return { id, status: "corrupt", reason: `${error.code}: ${error.message}` };
      throw error;
    } finally {
      await blob?.close();
    }
  }

  /** Verified bytes [start, end] inclusive; undefined when the blob does not exist. See OpenBlob.stream. */
  async read(id: string, start: number, end: number): Promise<Readable | undefined> {
    const blob = await this.openBlob(id);
    return blob?.stream(start, end);
  }

  /**
   * Idempotent. Not fsynced: a delete lost in a crash leaves a blob that nothing references; the collector has already
   * forgotten it, and no scan of the disks for such blobs exists yet (docs/architecture.md, Commit protocol).
   */
  async delete(id: string): Promise<void> {
    assertValidId(id);
    await unlink(this.pathOf(id).path).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
  }

  /**
   * Up to `limit` ids greater than `after`, ascending. Hashed fan-out means every page walks all
   * directories (O(blobs) per page, memory O(limit)): callers that scan everything should use large pages.
   */
  async list(after: string, limit: number): Promise<string[]> {
    let best: string[] = [];
    let bestSorted = true;
    const compact = () => {
      best.sort(compareIds);
      best.length = Math.min(best.length, limit);
      bestSorted = true;
    };
    const fanoutDirs = (await readdir(this.blobsDir)).filter((name) => FANOUT_DIR_NAME.test(name));
    for (const dirName of fanoutDirs) {
      let names: string[];
      try {
        names = await readdir(join(this.blobsDir, dirName));
      } catch (error) {
        if (isNotFound(error)) continue;
        throw error;
      }
      for (const name of names) {
        if (name <= after || !isValidBlobId(name)) continue;
        if (bestSorted && best.length >= limit && name >= best[best.length - 1]!) continue;
        best.push(name);
        bestSorted = false;
        if (best.length >= 2 * limit) compact();
      }
    }
    compact();
    return best;
  }
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
