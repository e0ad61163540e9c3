import { strict as assert } from "node:assert";
import { createHash, randomBytes } from "node:crypto";
import { createCRC64 } from "hash-wasm";
import {
  CHECKSUM_ALGORITHMS,
  checksumAlgorithmOfHeader,
  checksumHeaderName,
  combineCrcs,
  compositeChecksum,
  createChecksum,
  decodeStrictBase64,
  isWellFormedChecksum,
  parseChecksumAlgorithm,
  type ChecksumAlgorithm,
} from "./checksums.js";

const CHECK_INPUT = Buffer.from("123456789");

function hexToBase64(hex: string): string {
  return Buffer.from(hex, "hex").toString("base64");
}

function digestOf(algorithm: ChecksumAlgorithm, ...pieces: Uint8Array[]): string {
  const checksum = createChecksum(algorithm);
  for (const piece of pieces) checksum.update(piece);
  return checksum.digestBase64();
}

describe("checksums", () => {
  it("produces the catalogued check values for '123456789' (big-endian, base64)", () => {
    assert.equal(digestOf("CRC32", CHECK_INPUT), hexToBase64("cbf43926"));
    assert.equal(digestOf("CRC32C", CHECK_INPUT), hexToBase64("e3069283"));
    assert.equal(digestOf("CRC64NVME", CHECK_INPUT), hexToBase64("ae8b14860a799888"));
    assert.equal(digestOf("SHA1", CHECK_INPUT), createHash("sha1").update(CHECK_INPUT).digest("base64"));
    assert.equal(digestOf("SHA256", CHECK_INPUT), createHash("sha256").update(CHECK_INPUT).digest("base64"));
  });

  it("gives the empty-input values S3 clients send for empty bodies", () => {
    assert.equal(digestOf("CRC32"), "AAAAAA==");
    assert.equal(digestOf("CRC32C"), "AAAAAA==");
    assert.equal(digestOf("CRC64NVME"), "AAAAAAAAAAA=");
  });

  it("is independent of how the input is split into updates", () => {
    const data = randomBytes(100_003);
    for (const algorithm of CHECKSUM_ALGORITHMS) {
      const whole = digestOf(algorithm, data);
      const cuts = [0, 1, 7, 8, 9, 4096, 65_537, 100_000, data.length];
      const pieces = cuts.slice(1).map((end, index) => data.subarray(cuts[index], end));
      assert.equal(digestOf(algorithm, ...pieces), whole, algorithm);
    }
  });

  it("matches hash-wasm's CRC-64 with the NVME polynomial on random data", async () => {
    const reference = await createCRC64("9a6c9329ac4bc9b5");
    for (const size of [0, 1, 7, 8, 15, 16, 1000, 262_147]) {
      const data = randomBytes(size);
      reference.init();
      reference.update(data);
      assert.equal(digestOf("CRC64NVME", data), hexToBase64(reference.digest("hex")), `size ${size}`);
    }
  });

  it("names headers and parses algorithm names", () => {
    assert.equal(checksumHeaderName("CRC64NVME"), "x-amz-checksum-crc64nvme");
    assert.equal(checksumAlgorithmOfHeader("X-Amz-Checksum-CRC32C"), "CRC32C");
    assert.equal(checksumAlgorithmOfHeader("x-amz-checksum-mode"), undefined);
    assert.equal(checksumAlgorithmOfHeader("x-amz-checksum-algorithm"), undefined);
    assert.equal(parseChecksumAlgorithm("sha256"), "SHA256");
    assert.equal(parseChecksumAlgorithm("md5"), undefined);
  });

  it("accepts only canonical base64 of the digest size", () => {
    assert.equal(isWellFormedChecksum("CRC32", "AAAAAA=="), true);
    assert.equal(isWellFormedChecksum("CRC32", "AAAAAA"), false, "padding is required");
    assert.equal(isWellFormedChecksum("CRC32", "AAAAAAAA"), false, "wrong length");
    assert.equal(isWellFormedChecksum("CRC32", "AAAAAB=="), false, "non-zero padding bits");
    assert.equal(isWellFormedChecksum("CRC64NVME", "AAAAAA=="), false);
    assert.equal(isWellFormedChecksum("SHA256", digestOf("SHA256", CHECK_INPUT)), true);
    assert.equal(decodeStrictBase64("!!!!"), undefined);
    assert.equal(decodeStrictBase64(""), undefined);
  });
});

describe("CRC combination (FULL_OBJECT checksums of multipart objects)", () => {
  for (const algorithm of ["CRC32", "CRC32C", "CRC64NVME"] as const) {
    it(`${algorithm}: combining the pieces' CRCs equals the CRC of their concatenation`, () => {
      const cases: number[][] = [[0], [1], [0, 0], [5, 0, 7], [1, 1, 1], [4096, 1, 65_537, 3], [300_000, 123_457]];
      for (let round = 0; round < 20; round++) cases.push(Array.from({ length: 1 + (round % 6) }, () => Math.floor(Math.random() * 20_000)));
      for (const sizes of cases) {
        const pieces = sizes.map((size) => randomBytes(size));
        const combined = combineCrcs(algorithm, pieces.map((piece) => ({ base64: digestOf(algorithm, piece), size: piece.length })));
        assert.equal(combined, digestOf(algorithm, ...pieces), `sizes ${sizes.join(",")}`);
      }
    });
  }

  it("combines across a length too big to materialize (a 5 GiB zero part), checked against zero-extension", () => {
    // crc(A‖0^n) computed both by combine (with crc of 0^n streamed) and directly, for n large enough to need many squarings.
    const zeros = Buffer.alloc(1024 * 1024);
    for (const algorithm of ["CRC32", "CRC32C", "CRC64NVME"] as const) {
      const head = randomBytes(1000);
      const checksum = createChecksum(algorithm);
      checksum.update(head);
      for (let i = 0; i < 64; i++) checksum.update(zeros);
      const zerosCrc = createChecksum(algorithm);
      for (let i = 0; i < 64; i++) zerosCrc.update(zeros);
      const combined = combineCrcs(algorithm, [
        { base64: digestOf(algorithm, head), size: head.length },
        { base64: zerosCrc.digestBase64(), size: 64 * zeros.length },
      ]);
      assert.equal(combined, checksum.digestBase64());
    }
  });

  it("composite checksum: the checksum of the concatenated part digests, suffixed -N", () => {
    const parts = [randomBytes(100), randomBytes(200)];
    const digests = parts.map((part) => createHash("sha256").update(part).digest());
    const expected = `${createHash("sha256").update(Buffer.concat(digests)).digest("base64")}-2`;
    assert.equal(compositeChecksum("SHA256", digests.map((digest) => digest.toString("base64"))), expected);
  });
});
