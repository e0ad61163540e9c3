// A datafile's checksums from one CRC32C pass over its bytes: the CRC of every block (blob-format.ts) and the
// whole-file CRC, which is not computed over the bytes a second time but combined from the block CRCs.
//
// CRC combination is zlib's crc32_combine, for the Castagnoli polynomial: crc(A‖B) = crc(A)·x^(8·|B|) ⊕ crc(B),
// with the product taken modulo the polynomial (reflected bit order). Multiplying by x^(8·n) for the one block
// size every full block has is worked out once; each block then costs at most 32 shifts and xors, where hashing
// its 64 KiB again would cost ~10 µs.
import { crc32c } from "@node-rs/crc32";

const REFLECTED_POLYNOMIAL = 0x82f63b78;
const X_TO_THE_0 = 0x80000000; // the polynomial 1, in reflected bit order

/** a·b modulo the CRC polynomial. */
function multiplyModPoly(a: number, b: number): number {
  let product = 0;
  for (let bit = X_TO_THE_0; bit !== 0; bit >>>= 1) {
    if (a & bit) product ^= b;
    b = b & 1 ? (b >>> 1) ^ REFLECTED_POLYNOMIAL : b >>> 1;
  }
  return product >>> 0;
}

// x^(2^k) for k = 0..63 (x^1 is 0x40000000 reflected): enough for any safe-integer length in bits.
const X_TO_POWERS_OF_TWO: number[] = [];
for (let power = 0x40000000, k = 0; k < 64; k++, power = multiplyModPoly(power, power)) X_TO_POWERS_OF_TWO.push(power);

/** x^(8·bytes) modulo the polynomial: what crc(A) is multiplied by when `bytes` bytes are appended to A. */
function shiftByBytes(bytes: number): number {
  let result = X_TO_THE_0;
  // 8·bytes = bytes·2^3: walk the bits of `bytes` from x^(2^3) up. Division, not >>>, keeps lengths past 2^32 exact.
  for (let k = 3; bytes > 0; k++, bytes = Math.floor(bytes / 2)) {
    if (bytes % 2 === 1) result = multiplyModPoly(X_TO_POWERS_OF_TWO[k]!, result);
  }
  return result;
}

/** The CRC32C of A‖B from crc(A), crc(B) and B's length. */
export function combineCrc32c(crcOfA: number, crcOfB: number, lengthOfB: number): number {
  return (multiplyModPoly(shiftByBytes(lengthOfB), crcOfA >>> 0) ^ crcOfB) >>> 0;
}

/** Folds the CRCs of consecutive blocks of `blockSize` bytes (the last may be `lastLength` long) into the CRC of all. */
export function wholeCrcOfBlocks(blockCrcs: ArrayLike<number>, blockSize: number, lastLength: number): number {
  const fullShift = shiftByBytes(blockSize);
  let whole = 0;
  for (let block = 0; block < blockCrcs.length; block++) {
    const shift = block === blockCrcs.length - 1 && lastLength !== blockSize ? shiftByBytes(lastLength) : fullShift;
    whole = (multiplyModPoly(shift, whole) ^ blockCrcs[block]!) >>> 0;
  }
  return whole;
}

/** The block CRCs of a datafile being written, one pass over each byte; table() and wholeCrc() once it has ended. */
export class BlockChecksums {
  private readonly crcs: number[] = [];
  private blockCrc = 0;
  private blockFill = 0;
  length = 0;

  constructor(readonly blockSize: number) {}

  update(chunk: Uint8Array): void {
    this.length += chunk.length;
    for (let offset = 0; offset < chunk.length; ) {
      const take = Math.min(this.blockSize - this.blockFill, chunk.length - offset);
      this.blockCrc = crc32c(take === chunk.length ? chunk : chunk.subarray(offset, offset + take), this.blockCrc);
      this.blockFill += take;
      offset += take;
      if (this.blockFill === this.blockSize) this.endBlock();
    }
  }

  /** The block checksums as stored: 4 bytes big-endian per block. */
  table(): Buffer {
    if (this.blockFill > 0) this.endBlock();
    const table = Buffer.allocUnsafe(4 * this.crcs.length);
    for (let i = 0; i < this.crcs.length; i++) table.writeUInt32BE(this.crcs[i]!, 4 * i);
    return table;
  }

  wholeCrc(): number {
    if (this.blockFill > 0) this.endBlock();
    const last = this.length % this.blockSize || this.blockSize;
    return wholeCrcOfBlocks(this.crcs, this.blockSize, last);
  }

  private endBlock(): void {
    this.crcs.push(this.blockCrc >>> 0);
    this.blockCrc = 0;
    this.blockFill = 0;
  }
}
