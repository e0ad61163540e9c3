// The on-disk format of one datafile (blob), written and read by store.ts:
//
//   [data: length bytes][block CRC32Cs: 4 bytes big-endian per block][blob id][id length: u8][trailer: TRAILER_SIZE bytes]
//
// Data sits at offset 0, so a logical offset is a file offset. The trailer records the block size it
// was written with, so CHECKSUM_BLOCK_SIZE can change without breaking old blobs.
//
// The blob id is recorded because block checksums only prove a file is intact, not that it is the blob asked
// for: another blob's valid file copied or restored over this one would pass every checksum. Opening compares
// the recorded id with the requested one. Files written before ids were recorded (magic "WFB1": no id, no
// length byte) stay readable without that check, since refusing them would make every older object unreadable.
import { crc32c } from "@node-rs/crc32";

export type BlobStoreErrorCode = "InvalidId" | "LengthMismatch" | "ChecksumMismatch" | "BlobIdMismatch" | "AlreadyExists";

export class BlobStoreError extends Error {
  constructor(
    readonly code: BlobStoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "BlobStoreError";
  }
}

// magic u32 | block size u32 | length u64 | whole-blob crc32c u32 | trailer crc32c u32 (see the magics)
export const TRAILER_SIZE = 24;
// Trailer crc32c covers the trailer's first 20 bytes.
const UNIDENTIFIED_TRAILER_MAGIC = 0x57464231; // "WFB1"
// Trailer crc32c covers the blob id and its length byte too, then the trailer's first 20 bytes.
const IDENTIFIED_TRAILER_MAGIC = 0x57464232; // "WFB2"
// The id length is one byte; BLOB_ID_PATTERN keeps ids well below it.
const MAX_RECORDED_ID_LENGTH = 255;
// Everything after the block checksums, at most: one read at open gets the trailer and the recorded id.
export const MAX_TAIL_SIZE = MAX_RECORDED_ID_LENGTH + 1 + TRAILER_SIZE;

export function blockCount(length: number, blockSize: number): number {
  return Math.ceil(length / blockSize);
}

/** The bytes after the block checksums: the blob id, its length byte and the trailer. */
export function encodeTail(id: string, blockSize: number, length: number, wholeCrc: number): Buffer {
  const idLength = Buffer.byteLength(id, "latin1");
  if (idLength > MAX_RECORDED_ID_LENGTH) throw new BlobStoreError("InvalidId", `blob id longer than ${MAX_RECORDED_ID_LENGTH} bytes`);
  const tail = Buffer.allocUnsafe(idLength + 1 + TRAILER_SIZE);
  tail.write(id, 0, "latin1");
  tail.writeUInt8(idLength, idLength);
  const trailer = tail.subarray(idLength + 1);
  trailer.writeUInt32BE(IDENTIFIED_TRAILER_MAGIC, 0);
  trailer.writeUInt32BE(blockSize, 4);
  trailer.writeBigUInt64BE(BigInt(length), 8);
  trailer.writeUInt32BE(wholeCrc >>> 0, 16);
  trailer.writeUInt32BE(crc32c(tail.subarray(0, tail.length - 4)) >>> 0, 20);
  return tail;
}

export interface BlobLayout {
  length: number;
  blockSize: number;
  wholeCrc: number;
  /** undefined for a file written before ids were recorded. */
  recordedId: string | undefined;
}

/** Decodes the end of a blob file: `tail` is its last bytes (at most MAX_TAIL_SIZE are needed), `fileSize` its size. */
export function decodeTail(tail: Buffer, fileSize: number): BlobLayout {
  const corrupt = (why: string) => new BlobStoreError("ChecksumMismatch", `corrupt blob trailer: ${why}`);
  if (tail.length < TRAILER_SIZE) throw corrupt("file is shorter than a trailer");
  const trailer = tail.subarray(tail.length - TRAILER_SIZE);
  const magic = trailer.readUInt32BE(0);
  let checked: Buffer;
  let recordedId: string | undefined;
  if (magic === IDENTIFIED_TRAILER_MAGIC) {
    if (tail.length < TRAILER_SIZE + 1) throw corrupt("file is shorter than its id length");
    const idLength = tail.readUInt8(tail.length - TRAILER_SIZE - 1);
    const idStart = tail.length - TRAILER_SIZE - 1 - idLength;
    if (idStart < 0) throw corrupt("file is shorter than its recorded id");
    checked = tail.subarray(idStart, tail.length - 4);
    recordedId = tail.toString("latin1", idStart, idStart + idLength);
  } else if (magic === UNIDENTIFIED_TRAILER_MAGIC) {
    checked = trailer.subarray(0, 20);
  } else {
    throw corrupt("bad magic");
  }
  if ((crc32c(checked) >>> 0) !== trailer.readUInt32BE(20)) throw corrupt("checksum mismatch");
  const blockSize = trailer.readUInt32BE(4);
  const length = Number(trailer.readBigUInt64BE(8));
  const tailSize = checked.length + 4;
  if (blockSize === 0 || length + 4 * blockCount(length, blockSize) + tailSize !== fileSize) {
    throw corrupt("size does not match the file");
  }
  return { length, blockSize, wholeCrc: trailer.readUInt32BE(16), recordedId };
}

/** Refuses a file that records another blob's id: its bytes are intact, but they are not this blob's. */
export function assertRecordsId(layout: BlobLayout, id: string): void {
  if (layout.recordedId !== undefined && layout.recordedId !== id) {
    throw new BlobStoreError("BlobIdMismatch", `the file of blob ${id} holds blob ${JSON.stringify(layout.recordedId)}`);
  }
}
