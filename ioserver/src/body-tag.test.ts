import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { BodyTagCheck, withBodyTag } from "./body-tag.js";
import { BODY_TAG_SIZE, deriveKeys, NONCE_BYTES } from "./protocol.js";
import { RequestRefused } from "./request-auth.js";

const KEYS = deriveKeys("test-cluster-secret");

function piecesOf(bytes: Buffer, sizes: number[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let offset = 0, index = 0; offset < bytes.length; index++) {
    const size = sizes[index % sizes.length]!;
    pieces.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return pieces;
}

async function* inPieces(bytes: Buffer, sizes: number[]): AsyncGenerator<Uint8Array> {
  yield* piecesOf(bytes, sizes);
}

/** What a check hands on of `tagged` cut into pieces of `sizes`. */
function untag(check: BodyTagCheck, tagged: Buffer, sizes: number[]): Buffer {
  const handedOn: Uint8Array[] = [];
  const take = check.untagged((chunk) => {
    handedOn.push(chunk);
    return undefined;
  });
  for (const piece of piecesOf(tagged, sizes)) take(piece);
  return Buffer.concat(handedOn);
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

describe("ioserver: the PUT body tag", () => {
  const nonce = randomBytes(NONCE_BYTES);
  const signature = randomBytes(32);

  for (const size of [0, 1, 15, 16, 17, 100_000]) {
    for (const sizes of [[1], [7, 16, 3], [16], [65_536], [size + BODY_TAG_SIZE]]) {
      it(`hands on exactly the ${size} data bytes, however the tagged body is cut (${sizes.join(",")})`, async () => {
        const data = randomBytes(size);
        const tagged = await collect(withBodyTag(inPieces(data, [4096]), KEYS.bodyTag, nonce, signature));
        assert.equal(tagged.length, size + BODY_TAG_SIZE);
        const check = new BodyTagCheck(KEYS.bodyTag, nonce, signature);
        assert.ok(untag(check, tagged, sizes).equals(data));
        check.verify();
      });
    }
  }

  async function verdict(tagged: Buffer, key = KEYS.bodyTag, checkNonce = nonce, checkSignature = signature): Promise<string> {
    const check = new BodyTagCheck(key, checkNonce, checkSignature);
    untag(check, tagged, [1000]);
    try {
      check.verify();
      return "ok";
    } catch (error) {
      assert.ok(error instanceof RequestRefused);
      return error.code;
    }
  }

  it("refuses any flipped bit, a cut body, another request's nonce or signature, and another key", async () => {
    const data = randomBytes(5000);
    const tagged = await collect(withBodyTag(inPieces(data, [999]), KEYS.bodyTag, nonce, signature));
    assert.equal(await verdict(tagged), "ok");
    for (const position of [0, 2500, data.length - 1, data.length, tagged.length - 1]) {
      const altered = Buffer.from(tagged);
      altered[position] ^= 0x80;
      assert.equal(await verdict(altered), "BadBodyTag", `bit flipped at ${position}`);
    }
    assert.equal(await verdict(tagged.subarray(0, tagged.length - 1)), "BadBodyTag");
    assert.equal(await verdict(tagged.subarray(0, 10)), "BadBodyTag");
    assert.equal(await verdict(Buffer.alloc(0)), "BadBodyTag");
    assert.equal(await verdict(tagged, KEYS.bodyTag, randomBytes(NONCE_BYTES)), "BadBodyTag");
    assert.equal(await verdict(tagged, KEYS.bodyTag, nonce, randomBytes(32)), "BadBodyTag");
    assert.equal(await verdict(tagged, deriveKeys("another-secret").bodyTag), "BadBodyTag");
    assert.notDeepEqual(KEYS.bodyTag, KEYS.signing, "each use has its own key");
  });
});
