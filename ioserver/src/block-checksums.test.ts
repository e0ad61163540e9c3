import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { crc32c } from "@node-rs/crc32";
import { BlockChecksums, combineCrc32c, wholeCrcOfBlocks } from "./block-checksums.js";

const BLOCK = 64 * 1024;

describe("ioserver: block checksums from one pass", () => {
  for (const length of [0, 1, 4095, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17, 1024 * 1024]) {
    it(`gives the block CRCs and the whole-file CRC of ${length} bytes, however they arrive`, () => {
      const data = randomBytes(length);
      for (const piece of [1000, 7777, BLOCK, 3 * BLOCK + 1]) {
        const checksums = new BlockChecksums(BLOCK);
        for (let offset = 0; offset < length; offset += piece) checksums.update(data.subarray(offset, offset + piece));
        assert.equal(checksums.length, length);
        assert.equal(checksums.wholeCrc(), crc32c(data) >>> 0, `pieces of ${piece}`);
        const table = checksums.table();
        assert.equal(table.length, 4 * Math.ceil(length / BLOCK));
        for (let block = 0; block * BLOCK < length; block++) {
          assert.equal(table.readUInt32BE(4 * block), crc32c(data.subarray(block * BLOCK, (block + 1) * BLOCK)) >>> 0);
        }
      }
    });
  }

  it("combines the CRCs of two pieces into the CRC of both, for any split", () => {
    const data = randomBytes(300_000);
    for (const cut of [0, 1, 5, 65_536, 123_457, 299_999, 300_000]) {
      const combined = combineCrc32c(crc32c(data.subarray(0, cut)), crc32c(data.subarray(cut)), data.length - cut);
      assert.equal(combined, crc32c(data) >>> 0, `cut at ${cut}`);
    }
  });

  it("folds block CRCs of another block size, as a scrub reads them from a trailer", () => {
    const blockSize = 4096;
    const data = randomBytes(10 * blockSize + 100);
    const crcs: number[] = [];
    for (let offset = 0; offset < data.length; offset += blockSize) crcs.push(crc32c(data.subarray(offset, offset + blockSize)) >>> 0);
    assert.equal(wholeCrcOfBlocks(crcs, blockSize, 100), crc32c(data) >>> 0);
  });

  it("appends lengths of 512 MiB and more right, where the power table goes past 32 entries", () => {
    // Appending n bytes of zeros is a shift by n. Pieces under 2^28 bytes use the table's first 31 entries only, which
    // the tests above check against real data; one shift of their sum uses entries 32 and up.
    const a = crc32c(Buffer.from("weft")) >>> 0;
    for (const [pieces, rest] of [[2, 5], [12, 11], [40, 1]] as const) {
      let stepwise = combineCrc32c(a, 0, rest);
      for (let piece = 0; piece < pieces; piece++) stepwise = combineCrc32c(stepwise, 0, 2 ** 28);
      assert.equal(combineCrc32c(a, 0, pieces * 2 ** 28 + rest), stepwise, `${pieces} × 2^28 + ${rest} bytes`);
    }
  });
});
