import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { connect } from "./db.js";
import { startTestDatabase } from "./test-support.js";

// postgres.js's connection queues, as patched by patches/postgres+3.4.9.patch (see patches/README.md). The module
// is internal to postgres.js (its package exports do not name it), so it is loaded by path.
const require = createRequire(import.meta.url);
const queueFile = require.resolve("postgres").replace(/index\.js$/, "queue.js"); // the CommonJS copy
const Queue = require(queueFile) as <T>() => {
  readonly length: number;
  push(item: T): T;
  shift(): T;
  remove(item: T): T | null;
};

describe("meta: postgres.js connection queues (patched)", () => {
  it("are the same code in the ES module copy the gateway loads as in the CommonJS copy tested here", () => {
    const body = (file: string) => readFileSync(file, "utf8").replace(/^(export default Queue|module\.exports = Queue)$/m, "");
    assert.equal(body(queueFile.replace("/cjs/src/", "/src/")), body(queueFile));
  });

  it("keep first-in first-out order, and remove what they hold and nothing else", () => {
    const queue = Queue<string>();
    for (const item of ["a", "b", "c", "d"]) queue.push(item);
    assert.equal(queue.shift(), "a");
    assert.equal(queue.remove("c"), "c");
    assert.equal(queue.remove("a"), null, "an item already shifted out is not held");
    assert.equal(queue.length, 2);
    assert.deepEqual([queue.shift(), queue.shift()], ["b", "d"]);
    assert.equal(queue.length, 0);
  });

  it("search only what they hold when a busy connection cycles through them forever", () => {
    // The busy queue under steady load: a connection is shifted out for a query, put back, and now and then removed
    // when it goes idle; the queue never runs empty. Unpatched, every remove searched every slot ever shifted out
    // (100,000 here). Array.prototype.indexOf is what remove searches with: count the slots it is asked to search.
    const queue = Queue<object>();
    const connections = [{}, {}, {}, {}];
    for (const connection of connections) queue.push(connection);
    const indexOf = Array.prototype.indexOf;
    let widest = 0;
    Array.prototype.indexOf = function (this: unknown[], item: unknown, from = 0) {
      widest = Math.max(widest, this.length - from);
      return indexOf.call(this, item, from);
    };
    try {
      for (let query = 0; query < 100_000; query++) {
        const connection = queue.shift();
        queue.remove(connection); // what postgres.js's move() does: the connection is no longer held
        queue.push(connection);
        if (query % 1000 === 999) queue.push(queue.remove(connections[query % 4]!)!); // one goes idle and comes back
      }
    } finally {
      Array.prototype.indexOf = indexOf;
    }
    assert.equal(queue.length, 4);
    assert.ok(widest <= 4, `a remove searched ${widest} slots for a queue of 4`);
  });
});

describe("meta: postgres.js connections whose server went away (patched)", function () {
  this.timeout(60_000);

  it("fail the next queries on a reserved connection whose backend was terminated, instead of crashing the process", async () => {
    // Unpatched, the second query's write waits for the next tick, finds the socket gone and throws from there: an
    // uncaught TypeError ("reading 'write'") that takes the whole gateway down.
    const database = await startTestDatabase({ max: 2 });
    const killer = connect(database.url, { max: 1 });
    try {
      const reserved = await database.sql.reserve();
      const [backend] = await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`;
      await killer`select pg_terminate_backend(${backend!.pid})`;
      await assert.rejects(reserved`select 1`);
      await assert.rejects(reserved`select 1`, { code: "CONNECTION_CLOSED" });
      reserved.release();
    } finally {
      await killer.end();
      await database.stop();
    }
  });
});
