import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import {
  PACKAGE_BYTES,
  SEALED_PACKAGE_BYTES,
  SealedDataError,
  TAG_BYTES,
  openPackage,
  openingStream,
  plainSize,
  sealedRangeOf,
  sealedSize,
  sealingStream,
} from "./packages.js";

/** Streams `bytes` in chunks of `chunkSize`, so packages straddle chunk boundaries. */
function chunked(bytes: Buffer, chunkSize: number): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += chunkSize) chunks.push(bytes.subarray(offset, offset + chunkSize));
  return Readable.from(chunks);
}

async function seal(key: Buffer, plaintext: Buffer, chunkSize = 10_007): Promise<Buffer> {
  return buffer(chunked(plaintext, chunkSize).pipe(sealingStream(key)));
}

/** Reads plaintext bytes start..end of `sealed` the way a ranged GET does: only the stored bytes of the range. */
async function openRange(key: Buffer, sealed: Buffer, plainTotal: number, start: number, end: number): Promise<Buffer> {
  const range = sealedRangeOf(start, end, plainTotal);
  return buffer(chunked(sealed.subarray(range.start, range.end + 1), 9_973).pipe(openingStream([{ key, range }])));
}

describe("sealed packages", () => {
  const key = randomBytes(32);

  it("maps sizes both ways, an empty plaintext included", () => {
    for (const size of [0, 1, PACKAGE_BYTES - 1, PACKAGE_BYTES, PACKAGE_BYTES + 1, 5 * PACKAGE_BYTES, 1024 ** 3]) {
      const packages = Math.max(1, Math.ceil(size / PACKAGE_BYTES));
      assert.equal(sealedSize(size), size + packages * TAG_BYTES, `size ${size}`);
      assert.equal(plainSize(sealedSize(size)), size, `size ${size}`);
    }
    assert.throws(() => plainSize(TAG_BYTES - 1), SealedDataError);
    assert.throws(() => plainSize(SEALED_PACKAGE_BYTES + 3), SealedDataError, "a last package shorter than its tag");
  });

  it("round-trips whole objects of every shape, and the stored bytes are not the plaintext", async () => {
    for (const size of [0, 1, 4096, PACKAGE_BYTES, PACKAGE_BYTES + 1, 3 * PACKAGE_BYTES, 3 * PACKAGE_BYTES + 12_345]) {
      const plaintext = randomBytes(size);
      const sealed = await seal(key, plaintext);
      assert.equal(sealed.length, sealedSize(size));
      if (size >= 16) assert.equal(sealed.indexOf(plaintext.subarray(0, 16)), -1);
      // An empty object is one empty package, sealed as the last; GET never reads it (there is no byte to serve).
      const opened = size === 0 ? openPackage(key, 0, true, sealed) : await openRange(key, sealed, size, 0, size - 1);
      assert.deepEqual(opened, plaintext, `size ${size}`);
    }
  });

  it("serves ranges at and across package boundaries from their packages alone", async () => {
    const size = 4 * PACKAGE_BYTES + 777;
    const plaintext = randomBytes(size);
    const sealed = await seal(key, plaintext, 65_536);
    const P = PACKAGE_BYTES;
    const ranges: [number, number][] = [
      [0, 0], [size - 1, size - 1], [P - 1, P], [P, 2 * P - 1], [P - 1, 3 * P], [2 * P + 5, 2 * P + 5],
      [4 * P, size - 1], [4 * P - 1, size - 1], [0, size - 1], [123, 3 * P + 456],
    ];
    for (const [start, end] of ranges) {
      assert.deepEqual(await openRange(key, sealed, size, start, end), plaintext.subarray(start, end + 1), `bytes ${start}-${end}`);
    }
    const range = sealedRangeOf(P, 2 * P - 1, size);
    assert.deepEqual([range.start, range.end, range.skip], [SEALED_PACKAGE_BYTES, 2 * SEALED_PACKAGE_BYTES - 1, 0], "one whole package");
  });

  it("opens a range across parts, each under its own key, from their stored bytes one after the other", async () => {
    const keys = [randomBytes(32), randomBytes(32)];
    const plaintexts = [randomBytes(2 * PACKAGE_BYTES + 10), randomBytes(PACKAGE_BYTES + 3)];
    const sealed = await Promise.all(plaintexts.map((plaintext, i) => seal(keys[i]!, plaintext)));
    // Bytes from the middle of the first part's last package to the second part's second package.
    const first = sealedRangeOf(2 * PACKAGE_BYTES + 4, plaintexts[0]!.length - 1, plaintexts[0]!.length);
    const second = sealedRangeOf(0, PACKAGE_BYTES + 1, plaintexts[1]!.length);
    const stored = Buffer.concat([sealed[0]!.subarray(first.start, first.end + 1), sealed[1]!.subarray(second.start, second.end + 1)]);
    const opened = await buffer(chunked(stored, 7_001).pipe(openingStream([{ key: keys[0]!, range: first }, { key: keys[1]!, range: second }])));
    assert.deepEqual(opened, Buffer.concat([plaintexts[0]!.subarray(2 * PACKAGE_BYTES + 4), plaintexts[1]!.subarray(0, PACKAGE_BYTES + 2)]));
  });

  it("fails loudly on a flipped byte, swapped packages, a truncation, or another key", async () => {
    const size = 3 * PACKAGE_BYTES + 100;
    const plaintext = randomBytes(size);
    const sealed = await seal(key, plaintext);
    const whole = (bytes: Buffer, withKey = key) => buffer(Readable.from([bytes]).pipe(openingStream([{ key: withKey, range: sealedRangeOf(0, size - 1, size) }])));

    const flipped = Buffer.from(sealed);
    flipped[SEALED_PACKAGE_BYTES + 10]! ^= 0x01;
    await assert.rejects(whole(flipped), SealedDataError);

    const swapped = Buffer.from(sealed);
    sealed.copy(swapped, 0, SEALED_PACKAGE_BYTES, 2 * SEALED_PACKAGE_BYTES);
    sealed.copy(swapped, SEALED_PACKAGE_BYTES, 0, SEALED_PACKAGE_BYTES);
    await assert.rejects(whole(swapped), SealedDataError);

    // Cut after whole packages: what is left ends on a package that was not sealed as the last one.
    const truncated = sealed.subarray(0, 2 * SEALED_PACKAGE_BYTES);
    const truncatedRange = sealedRangeOf(0, 2 * PACKAGE_BYTES - 1, plainSize(truncated.length));
    await assert.rejects(buffer(Readable.from([truncated]).pipe(openingStream([{ key, range: truncatedRange }]))), SealedDataError);
    // Cut short of the size the metadata records.
    await assert.rejects(whole(sealed.subarray(0, sealed.length - 50)), SealedDataError);

    await assert.rejects(whole(sealed, randomBytes(32)), SealedDataError);
    assert.deepEqual(await whole(sealed), plaintext, "the untouched bytes still open");
  });

  it("seals the same plaintext differently under another key", async () => {
    const plaintext = randomBytes(1000);
    assert.notDeepEqual(await seal(key, plaintext), await seal(randomBytes(32), plaintext));
  });
});
