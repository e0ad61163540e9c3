// Object bytes at rest are sealed in packages (docs/architecture.md, Encryption at rest): the plaintext is cut into
// PACKAGE_BYTES pieces, each sealed with AES-256-GCM under the part's key and followed by its 16-byte tag. The nonce is
// the package's index and whether it is the last one, so a package moved, repeated, dropped from the end or replaced
// by another object's fails to open. A part's key is used for that one part only (partKey in object-keys.ts), so a
// counter nonce never repeats under a key. A plaintext range maps to whole packages: a ranged or degraded read
// decrypts only the packages it touches, and the stripe layer below sees nothing but the sealed bytes.
import { createCipheriv, createDecipheriv } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";

export const PACKAGE_BYTES = 64 * 1024;
export const TAG_BYTES = 16;
export const SEALED_PACKAGE_BYTES = PACKAGE_BYTES + TAG_BYTES;
const NONCE_BYTES = 12;
const KEY_BYTES = 32;

/** How many packages `plainSize` bytes take: an empty plaintext is one empty package, so even it is authenticated. */
function packageCount(plainSize: number): number {
  return Math.max(1, Math.ceil(plainSize / PACKAGE_BYTES));
}

/** The stored size of `plainSize` bytes of plaintext. */
export function sealedSize(plainSize: number): number {
  return plainSize + packageCount(plainSize) * TAG_BYTES;
}

/** The plaintext size of `sealed` stored bytes (the inverse of sealedSize); throws for a size no plaintext seals to. */
export function plainSize(sealed: number): number {
  const plain = sealed - Math.max(1, Math.ceil(sealed / SEALED_PACKAGE_BYTES)) * TAG_BYTES;
  if (plain < 0 || sealedSize(plain) !== sealed) throw new SealedDataError(`${sealed} bytes are not a sealed size`);
  return plain;
}

/** Stored bytes that do not open: altered, moved, truncated, or sealed under another key. */
export class SealedDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SealedDataError";
  }
}

function nonceOf(index: number, final: boolean): Buffer {
  const nonce = Buffer.alloc(NONCE_BYTES);
  nonce.writeBigUInt64BE(BigInt(index), 0);
  nonce.writeUInt32BE(final ? 1 : 0, 8);
  return nonce;
}

function checkKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new Error(`a package key is ${KEY_BYTES} bytes, not ${key.length}`);
}

/** Package `index` of a part, sealed: its ciphertext then its tag. */
export function sealPackage(key: Buffer, index: number, final: boolean, plaintext: Buffer): Buffer {
  const cipher = createCipheriv("aes-256-gcm", key, nonceOf(index, final));
  const sealed = Buffer.allocUnsafe(plaintext.length + TAG_BYTES);
  const written = cipher.update(plaintext).copy(sealed, 0);
  cipher.final();
  cipher.getAuthTag().copy(sealed, written);
  return sealed;
}

/** The plaintext of sealed package `index`; SealedDataError when it does not open as that package. */
export function openPackage(key: Buffer, index: number, final: boolean, sealed: Buffer): Buffer {
  if (sealed.length < TAG_BYTES) throw new SealedDataError(`package ${index} is ${sealed.length} bytes, shorter than its tag`);
  const decipher = createDecipheriv("aes-256-gcm", key, nonceOf(index, final));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const plaintext = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  try {
    decipher.final();
  } catch {
    throw new SealedDataError(`package ${index}${final ? " (the last)" : ""} does not open: altered, moved, truncated or under another key`);
  }
  return plaintext;
}

/** Collects chunks into pieces of one size without copying a chunk more than once. */
class PieceBuffer {
  private readonly chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The first `size` bytes (at most what is held), removed; without a copy when one chunk holds them all. */
  take(size: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= size) {
      this.chunks[0] = first.subarray(size);
      if (first.length === size) this.chunks.shift();
      this.length -= size;
      return first.subarray(0, size);
    }
    const taken = Buffer.allocUnsafe(Math.min(size, this.length));
    let filled = 0;
    while (filled < taken.length) {
      const chunk = this.chunks[0]!;
      const used = chunk.copy(taken, filled, 0, Math.min(chunk.length, taken.length - filled));
      filled += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    this.length -= taken.length;
    return taken;
  }
}

/**
 * Seals a part's plaintext as it streams. A full package is held until more bytes arrive, since only the end of the
 * stream says which package is the last: the length need not be known ahead (a POST form's file).
 */
export function sealingStream(key: Buffer): Transform {
  checkKey(key);
  const held = new PieceBuffer();
  let index = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      held.push(chunk);
      while (held.length > PACKAGE_BYTES) this.push(sealPackage(key, index++, false, held.take(PACKAGE_BYTES)));
      callback();
    },
    flush(callback: TransformCallback) {
      callback(null, sealPackage(key, index, true, held.take(PACKAGE_BYTES)));
    },
  });
}

/** The stored bytes that hold plaintext bytes start..end (inclusive) of a part of `plainTotal` bytes. */
export interface SealedRange {
  /** Stored offsets, inclusive: whole packages. */
  start: number;
  end: number;
  firstPackage: number;
  /** Plaintext bytes of the first package before `start`'s byte. */
  skip: number;
  /** Plaintext bytes wanted. */
  length: number;
  packages: number;
}

export function sealedRangeOf(start: number, end: number, plainTotal: number): SealedRange {
  if (start < 0 || end < start || end >= plainTotal) throw new RangeError(`bytes ${start}-${end} are not within ${plainTotal}`);
  const firstPackage = Math.floor(start / PACKAGE_BYTES);
  const lastPackage = Math.floor(end / PACKAGE_BYTES);
  return {
    start: firstPackage * SEALED_PACKAGE_BYTES,
    end: Math.min(sealedSize(plainTotal), (lastPackage + 1) * SEALED_PACKAGE_BYTES) - 1,
    firstPackage,
    skip: start - firstPackage * PACKAGE_BYTES,
    length: end - start + 1,
    packages: packageCount(plainTotal),
  };
}

/** Opens one part's stored range, package by package: what openingStream does for each part in turn. */
class RangeOpener {
  private readonly held = new PieceBuffer();
  private index: number;
  private skip: number;
  private remaining: number;
  /** Stored bytes of the range not yet taken in. */
  unread: number;

  constructor(
    private readonly key: Buffer,
    private readonly range: SealedRange,
  ) {
    checkKey(key);
    this.index = range.firstPackage;
    this.skip = range.skip;
    this.remaining = range.length;
    this.unread = range.end - range.start + 1;
  }

  /** Takes in stored bytes (at most `unread`), handing out the plaintext wanted of every package they complete. */
  take(chunk: Buffer, out: Buffer[]): void {
    this.unread -= chunk.length;
    this.held.push(chunk);
    while (this.held.length >= SEALED_PACKAGE_BYTES) this.open(this.held.take(SEALED_PACKAGE_BYTES), out);
    if (this.unread === 0 && this.held.length > 0) this.open(this.held.take(SEALED_PACKAGE_BYTES), out);
  }

  /** Throws unless every plaintext byte asked for came out. */
  finish(): void {
    if (this.remaining > 0) throw new SealedDataError(`the stored bytes ended ${this.remaining} plaintext bytes early`);
  }

  private open(sealed: Buffer, out: Buffer[]): void {
    const plaintext = openPackage(this.key, this.index, this.index === this.range.packages - 1, sealed);
    this.index++;
    const wanted = plaintext.subarray(this.skip, this.skip + this.remaining);
    this.skip = 0;
    this.remaining -= wanted.length;
    if (wanted.length > 0) out.push(wanted);
  }
}

/** One encrypted part's share of a read: its key and the stored range that holds the plaintext asked of it. */
export interface SealedSegment {
  key: Buffer;
  range: SealedRange;
}

/**
 * Opens, as they stream, the stored bytes of `segments` one after another (the parts a read touches, each from the
 * start of its stored range), handing out only the plaintext asked for. Every package is authenticated before any
 * of its bytes go out; a package that does not open, or stored bytes that end early, fail the stream.
 */
export function openingStream(segments: SealedSegment[]): Transform {
  const openers = segments.map(({ key, range }) => new RangeOpener(key, range));
  let current = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      const out: Buffer[] = [];
      try {
        while (chunk.length > 0) {
          const opener = openers[current];
          if (!opener) throw new SealedDataError("more stored bytes than the read asked for");
          const taken = chunk.subarray(0, opener.unread);
          opener.take(taken, out);
          chunk = chunk.subarray(taken.length);
          if (opener.unread === 0) {
            opener.finish();
            current++;
          }
        }
        for (const plaintext of out) this.push(plaintext);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      if (current < openers.length) return callback(new SealedDataError("the stored bytes ended before the range did"));
      callback();
    },
  });
}
