import assert from "node:assert/strict";
import { PassThrough, Readable } from "node:stream";
import { chunksOf } from "./chunk-reader.js";

async function drain(iterator: AsyncIterator<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const { value, done } = await iterator.next();
    if (done) return chunks;
    chunks.push(value);
  }
}

describe("chunksOf", () => {
  it("hands over a Readable's chunks one by one, as written, even when many are buffered", async () => {
    const stream = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
    const written = Array.from({ length: 40 }, (_, index) => Buffer.alloc(10_000 + index, index));
    for (const chunk of written) stream.write(chunk);
    stream.end();
    const chunks = await drain(chunksOf(stream));
    assert.deepEqual(chunks.map((chunk) => chunk.length), written.map((chunk) => chunk.length));
    assert.ok(Buffer.concat(chunks).equals(Buffer.concat(written)));
  });

  it("keeps up with a slow consumer without losing or reordering bytes", async () => {
    const source = Readable.from((function* () {
      for (let index = 0; index < 200; index++) yield Buffer.alloc(65_536, index);
    })(), { objectMode: false });
    const iterator = chunksOf(source);
    let total = 0;
    for (let expected = 0; ; expected++) {
      const { value, done } = await iterator.next();
      if (done) break;
      assert.equal(value[0], expected % 256);
      total += value.length;
      if (expected % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assert.equal(total, 200 * 65_536);
  });

  it("rejects with the stream's error", async () => {
    const stream = new PassThrough();
    stream.write(Buffer.from("abc"));
    const iterator = chunksOf(stream);
    assert.equal((await iterator.next()).value?.length, 3);
    stream.destroy(new Error("boom"));
    await assert.rejects(iterator.next(), /boom/);
  });

  it("reports a failure that happened before anyone listened", async () => {
    const stream = new PassThrough();
    stream.write(Buffer.from("abc"));
    stream.on("error", () => {}); // whoever created it saw the error; this reader comes later
    stream.destroy(new Error("failed early"));
    await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(chunksOf(stream).next(), /failed early/);
    const closed = new PassThrough();
    closed.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(chunksOf(closed).next(), /premature close/);
  });

  it("treats a stream destroyed without an error as cut short, never as ended", async () => {
    const stream = new PassThrough();
    const iterator = chunksOf(stream);
    const pending = iterator.next();
    stream.destroy();
    await assert.rejects(pending, /premature close/);
  });

  it("destroys the stream when the consumer gives up", async () => {
    const stream = new PassThrough();
    stream.write(Buffer.from("abc"));
    const iterator = chunksOf(stream);
    await iterator.next();
    await iterator.return!();
    assert.equal(stream.destroyed, true);
  });

  it("iterates anything else through its own iterator", async () => {
    const chunks = await drain(chunksOf((async function* () {
      yield new Uint8Array([1]);
      yield new Uint8Array([2, 3]);
    })()));
    assert.deepEqual(chunks.map((chunk) => [...chunk]), [[1], [2, 3]]);
  });
});
