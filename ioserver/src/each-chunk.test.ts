import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { eachChunk } from "./each-chunk.js";

describe("ioserver: eachChunk", () => {
  it("hands over every chunk in order and holds the stream while the taker asks it to wait", async () => {
    const body = new PassThrough();
    const taken: string[] = [];
    let waiting = false;
    const done = eachChunk(body, (chunk) => {
      assert.equal(waiting, false, "no chunk while a wait is pending");
      taken.push(Buffer.from(chunk).toString());
      if (taken.length % 2 === 1) return undefined;
      waiting = true;
      return sleep(5).then(() => {
        waiting = false;
      });
    });
    for (let index = 0; index < 10; index++) body.write(`c${index}`);
    body.end();
    await done;
    assert.deepEqual(taken, Array.from({ length: 10 }, (_, index) => `c${index}`));
  });

  it("resolves only once the last wait has settled", async () => {
    const body = new PassThrough();
    let settled = false;
    const done = eachChunk(body, () =>
      sleep(20).then(() => {
        settled = true;
      }),
    );
    body.end("last");
    await done;
    assert.equal(settled, true);
  });

  it("rejects when the taker throws, and takes nothing after", async () => {
    const body = new PassThrough();
    let calls = 0;
    const done = eachChunk(body, () => {
      calls++;
      throw new Error("too long");
    });
    body.write("a");
    body.write("b");
    body.end();
    await assert.rejects(done, /too long/);
    assert.equal(calls, 1);
  });

  it("rejects when a wait fails", async () => {
    const body = new PassThrough();
    const done = eachChunk(body, () => Promise.reject(new Error("disk full")));
    body.end("x");
    await assert.rejects(done, /disk full/);
  });

  it("rejects a body that closes before its end, as a cut request does", async () => {
    const body = new PassThrough();
    const done = eachChunk(body, () => undefined);
    body.write("partial");
    await sleep(1);
    body.destroy();
    await assert.rejects(done, { code: "ERR_STREAM_PREMATURE_CLOSE" });
  });

  it("rejects with the body's own error", async () => {
    const body = new PassThrough();
    const done = eachChunk(body, () => undefined);
    body.destroy(new Error("socket reset"));
    await assert.rejects(done, /socket reset/);
  });

  it("rejects a body that was already cut when it was handed over", async () => {
    const body = new PassThrough();
    body.write("partial");
    body.destroy();
    await sleep(1);
    await assert.rejects(eachChunk(body, () => undefined), { code: "ERR_STREAM_PREMATURE_CLOSE" });
  });
});
