// One disk's datafiles, each a single file in the format of blob-format.ts (data at offset 0, block CRC32Cs, the
// blob id, a trailer), so that one link publishes data and checksums together (a sidecar would need two steps and
// could pair new data with old checksums after a crash). Files are spread over fan-out directories.
import { randomUUID } from "node:crypto";
import { link, lstat, mkdir, open, readdir, rm, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { crc32c } from "@node-rs/crc32";
import { BLOB_ID_PATTERN, CHECKSUM_BLOCK_SIZE, type VerifiedBlob } from "./protocol.js";
import { readOrCreateDiskId } from "./disk-identity.js";
import { fsyncPath } from "./fsync.js";
import { assertRecordsId, BlobStoreError, decodeTail, encodeTail, MAX_TAIL_SIZE, TRAILER_SIZE } from "./blob-format.js";
import { crcHex, OpenBlob, readFully, type BlobInfo } from "./open-blob.js";
import { BlockChecksums } from "./block-checksums.js";
import { DatafileWriter, DIRECT_IO_ALIGNMENT, openForDirectReads, STAGING_BYTES, supportsDirectIo } from "./direct-io.js";
import type { ChunkTaker } from "./each-chunk.js";

export { BlobStoreError, type BlobStoreErrorCode } from "./blob-format.js";

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

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === "ENOENT";
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

function alreadyExists(id: string): BlobStoreError {
  return new BlobStoreError("AlreadyExists", `blob ${id} exists, and blobs are written once`);
}

/** Gives the temp file its blob name unless that name exists: link() never replaces, where rename() would. */
async function publishOnce(tmpPath: string, path: string, id: string): Promise<void> {
  try {
    await link(tmpPath, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException)?.code === "EEXIST") throw alreadyExists(id);
    throw error;
  }
  // A crash before this unlink leaves a second name in tmp/, which the next start removes.
  await unlink(tmpPath);
}

export class BlobStore {
  private readonly blobsDir: string;
  private readonly tmpDir: string;
  private readonly knownFanoutDirs = new Set<string>();

  private constructor(
    readonly dir: string,
    readonly diskId: string,
    /** Whether large datafiles are written and read with O_DIRECT (direct-io.ts): the filesystem takes it. */
    readonly directIo: boolean,
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
    return new BlobStore(dir, await readOrCreateDiskId(dir), await supportsDirectIo(join(dir, "tmp")));
  }

  private pathOf(id: string): { fanoutDir: string; path: string } {
    const fanoutDir = join(this.blobsDir, fanoutDirName(id));
    return { fanoutDir, path: join(fanoutDir, id) };
  }

  /**
   * Writes the bytes `feed` hands over into blob `id` and publishes it atomically (temp file, fsync, link into place,
   * fsync dir). `feed` is given the function that takes each chunk (each-chunk.ts) and resolves once it has handed
   * over the last. Blobs are written once: an id that exists throws AlreadyExists and leaves that blob as it is, also
   * when two writes of one id race. With `expectedLength`, any other byte count stores nothing and throws
   * LengthMismatch; a failing feed (aborted request) stores nothing and rethrows. `beforePublish` runs once the whole
   * body has been read and before anything is published: if it throws, nothing is stored.
   */
  async write(
    id: string,
    feed: (take: ChunkTaker) => Promise<void>,
    { expectedLength, beforePublish }: { expectedLength?: number; beforePublish?: () => void | Promise<void> } = {},
  ): Promise<BlobInfo> {
    assertValidId(id);
    const { fanoutDir, path } = this.pathOf(id);
    // Refused before a byte of the body is read; publishOnce settles a race with another write of the id.
    if (await exists(path)) throw alreadyExists(id);
    const tmpPath = join(this.tmpDir, `${id}.${randomUUID()}`);
    const writer = await DatafileWriter.create(tmpPath, { direct: this.directIo, expectedLength });
    try {
      const checksums = new BlockChecksums(CHECKSUM_BLOCK_SIZE);
      await feed((chunk) => {
        checksums.update(chunk);
        if (expectedLength !== undefined && checksums.length > expectedLength) {
          throw new BlobStoreError("LengthMismatch", `body is longer than the declared ${expectedLength} bytes`);
        }
        return writer.append(chunk);
      });
      const { length } = checksums;
      if (expectedLength !== undefined && length !== expectedLength) {
        throw new BlobStoreError("LengthMismatch", `body has ${length} bytes, ${expectedLength} were declared`);
      }
      await beforePublish?.();
      const wholeCrc = checksums.wholeCrc();
      await writer.finish([checksums.table(), encodeTail(id, CHECKSUM_BLOCK_SIZE, length, wholeCrc)]);

      await this.ensureFanoutDir(fanoutDir);
      await publishOnce(tmpPath, path, id);
      await fsyncPath(fanoutDir);
      return { length, crc32c: crcHex(wholeCrc) };
    } catch (error) {
      await writer.abort();
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
      // The same file opened again for direct reads of its data: through /proc, not by name, which a delete may
      // already have removed.
      const directReads = this.directIo && layout.length >= STAGING_BYTES && layout.blockSize % DIRECT_IO_ALIGNMENT === 0;
      const direct = directReads ? await openForDirectReads(`/proc/self/fd/${handle.fd}`) : undefined;
      return new OpenBlob(handle, layout, direct);
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
