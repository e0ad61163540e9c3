import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { streamingMd5 } from "./md5-in-background.js";

const MiB = 1024 * 1024;

/** Feeds `data` in pieces, waiting whenever the MD5 asks to, and returns the digest and how often it asked. */
async function md5Of(data: Buffer, piece: number, declared = data.length): Promise<{ md5: string; waits: number }> {
  const md5 = streamingMd5(declared);
  let waits = 0;
  for (let offset = 0; offset < data.length; offset += piece) {
    md5.update(data.subarray(offset, offset + piece));
    const waiting = md5.ready();
    if (waiting) {
      waits++;
      await waiting;
    }
  }
  return { md5: (await md5.digest()).toString("hex"), waits };
}

const expected = (data: Buffer) => createHash("md5").update(data).digest("hex");

describe("gateway: MD5 of large bodies in the background", () => {
  for (const length of [MiB, MiB + 1, 256 * 1024 * 5 - 3, 9 * MiB + 12_345]) {
    it(`is the MD5 of ${length} bytes, however they arrive`, async () => {
      const data = randomBytes(length);
      for (const piece of [4099, 65_536, 300_001]) {
        assert.equal((await md5Of(data, piece)).md5, expected(data), `pieces of ${piece}`);
      }
    });
  }

  it("holds the caller back once the worker has a megabyte of a stream to hash", async () => {
    const data = randomBytes(32 * MiB);
    const { md5, waits } = await md5Of(data, MiB);
    assert.equal(md5, expected(data));
    assert.ok(waits > 0, "a 32 MiB body fed a MiB at a time must wait for the worker at least once");
  });

  it("keeps streams apart when many hash at once", async () => {
    const bodies = Array.from({ length: 12 }, (_, index) => randomBytes(2 * MiB + index * 4099));
    const results = await Promise.all(bodies.map((body, index) => md5Of(body, 50_000 + index)));
    results.forEach((result, index) => assert.equal(result.md5, expected(bodies[index]!)));
  });

  it("hashes small or undeclared bodies on the event loop, with the same answer", async () => {
    for (const [data, declared] of [[randomBytes(1000), 1000], [randomBytes(3 * MiB), undefined]] as const) {
      const md5 = streamingMd5(declared);
      md5.update(data);
      assert.equal(md5.ready(), undefined);
      assert.equal((await md5.digest()).toString("hex"), expected(data));
    }
  });

  it("forgets a discarded stream and goes on serving the others", async () => {
    const abandoned = streamingMd5(8 * MiB);
    abandoned.update(randomBytes(3 * MiB));
    abandoned.discard();
    const data = randomBytes(4 * MiB);
    assert.equal((await md5Of(data, 100_000)).md5, expected(data));
  });
});
