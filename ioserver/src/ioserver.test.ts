import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, open, readdir, readFile, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { request } from "undici";
import { IoClient, IoServerError } from "./client.js";
import { CHECKSUM_BLOCK_SIZE, ROUTES } from "./protocol.js";
import { spawnIoServer, type IoServerProcess } from "./spawn.js";
import { blobPath, collect, crcHex, LOG_LEVEL, newId, pieces, rejectsWith, SECRET, signedHeaders, useTestIoServer, waitForEmptyTmp } from "./test-support.js";

const BLOCK = CHECKSUM_BLOCK_SIZE;
const MiB = 1024 * 1024;

describe("ioserver", function () {
  this.timeout(30_000);
  let dir: string;
  let server: IoServerProcess;
  let client: IoClient;

  useTestIoServer("weft-ioserver-", (started) => ({ dir, server, client } = started));

  describe("round trips", () => {
    for (const size of [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 5 * MiB + 123]) {
      it(`stores and returns ${size} bytes`, async () => {
        const id = newId();
        const bytes = randomBytes(size);
        const put = await client.putBlob(id, pieces(bytes), size);
        assert.deepEqual(put, { length: size, crc32c: crcHex(bytes) });
        assert.deepEqual(await client.headBlob(id), { length: size, crc32c: crcHex(bytes) });
        const back = await collect(await client.getBlob(id));
        assert.equal(back.length, size);
        assert.ok(back.equals(bytes));
      });
    }

    for (const size of [0, 15, 16, 17, 3 * BLOCK + 7]) {
      it(`stores a chunked body of ${size} bytes (length unknown to the sender)`, async () => {
        const id = newId();
        const bytes = randomBytes(size);
        assert.deepEqual(await client.putBlob(id, pieces(bytes, 7000), undefined), { length: size, crc32c: crcHex(bytes) });
        assert.ok((await collect(await client.getBlob(id))).equals(bytes));
      });
    }

    it("writes a datafile once: a second PUT of its id is 409 AlreadyExists and changes nothing", async () => {
      const id = newId();
      const first = randomBytes(1000);
      await client.putBlob(id, pieces(first), first.length);
      const before = await readFile(await blobPath(dir, id));
      await rejectsWith(client.putBlob(id, Readable.from(pieces(randomBytes(3 * BLOCK + 7), 8192)), 3 * BLOCK + 7), 409, "AlreadyExists");
      await rejectsWith(client.putBlob(id, pieces(randomBytes(1000)), undefined), 409, "AlreadyExists");
      assert.ok((await readFile(await blobPath(dir, id))).equals(before), "the file is untouched");
      assert.ok((await collect(await client.getBlob(id))).equals(first));
      await waitForEmptyTmp(dir);
    });

    it("lets one of two concurrent PUTs of an id win, whole", async () => {
      const id = newId();
      const bodies = [randomBytes(2 * MiB), randomBytes(2 * MiB)];
      const outcomes = await Promise.allSettled(bodies.map((bytes) => client.putBlob(id, pieces(bytes), bytes.length)));
      const won = outcomes.findIndex((outcome) => outcome.status === "fulfilled");
      assert.notEqual(won, -1, "one PUT stores the datafile");
      const lost = outcomes[1 - won]!;
      assert.equal(lost.status, "rejected");
      assert.equal((lost.reason as IoServerError).code, "AlreadyExists");
      assert.ok((await collect(await client.getBlob(id))).equals(bodies[won]!));
      await waitForEmptyTmp(dir);
    });
  });

  describe("ranges", () => {
    const id = newId();
    const bytes = randomBytes(5 * MiB + 123);
    before(async () => {
      await client.putBlob(id, pieces(bytes), bytes.length);
    });

    const ranges: Array<[number, number]> = [
      [0, 0],
      [BLOCK - 1, BLOCK], // two bytes, two blocks
      [BLOCK - 10, 3 * BLOCK + 10],
      [MiB - 1, MiB + 1], // across a server read chunk
      [10, 3 * MiB + 17], // many read chunks, unaligned both ends
      [5 * MiB + 122, 5 * MiB + 122], // the last byte
      [5 * MiB, 5 * MiB + 122], // the short last block only
      [0, 5 * MiB + 122], // everything
    ];
    for (const [start, end] of ranges) {
      it(`returns bytes ${start}-${end}`, async () => {
        const back = await collect(await client.getBlob(id, { start, end }));
        assert.equal(back.length, end - start + 1);
        assert.ok(back.equals(bytes.subarray(start, end + 1)));
      });
    }

    it("answers 416 for a range past the end, and for any range of an empty blob", async () => {
      await rejectsWith(client.getBlob(id, { start: bytes.length, end: bytes.length + 5 }), 416, "RangeNotSatisfiable");
      const empty = newId();
      await client.putBlob(empty, pieces(Buffer.alloc(0)), 0);
      await rejectsWith(client.getBlob(empty, { start: 0, end: 0 }), 416, "RangeNotSatisfiable");
    });

    it("refuses to hand back a clamped range", async () => {
      await rejectsWith(client.getBlob(id, { start: bytes.length - 2, end: bytes.length + 5 }), 206, "RangeMismatch");
    });

    it("sends Content-Length and Content-Range on a ranged GET", async () => {
      const path = ROUTES.blob(id);
      const response = await request(`${server.url}${path}`, {
        headers: { ...signedHeaders("GET", path, server.diskId), range: "bytes=100-199" },
      });
      assert.equal(response.statusCode, 206);
      assert.equal(response.headers["content-length"], "100");
      assert.equal(response.headers["content-range"], `bytes 100-199/${bytes.length}`);
      assert.ok(Buffer.from(await response.body.arrayBuffer()).equals(bytes.subarray(100, 200)));
    });
  });

  describe("delete and list", () => {
    it("deletes idempotently", async () => {
      const id = newId();
      await client.putBlob(id, pieces(randomBytes(10)), 10);
      await client.deleteBlob(id);
      assert.equal(await client.headBlob(id), undefined);
      await rejectsWith(client.getBlob(id), 404, "NotFound");
      await client.deleteBlob(id);
    });

    it("lists ids in ascending order, page by page", async () => {
      const ids = ["0000", "1111", "7777", "ffff"].map((prefix) => `${prefix}${randomUUID().slice(4)}`);
      for (const id of ids) await client.putBlob(id, pieces(randomBytes(3)), 3);
      const all = (await client.listBlobs(undefined, 10_000)).ids;
      assert.deepEqual(all, [...all].sort());
      for (const id of ids) assert.ok(all.includes(id));

      const paged: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await client.listBlobs(after, 3);
        assert.ok(page.ids.length <= 3);
        paged.push(...page.ids);
        if (!page.next) break;
        after = page.next;
      }
      assert.deepEqual(paged, all);
      assert.deepEqual((await client.listBlobs(ids[2], 1)).ids, [all[all.indexOf(ids[2]!) + 1]]);
    });
  });

  describe("checksums", () => {
    const id = newId();
    const bytes = randomBytes(6 * MiB);
    const badOffset = 4 * MiB + 3 * BLOCK + 100; // past the server's first read chunk of a whole GET
    const badBlockStart = badOffset - (badOffset % BLOCK);

    before(async () => {
      await client.putBlob(id, pieces(bytes), bytes.length);
      const file = await open(await blobPath(dir, id), "r+");
      try {
        const byte = Buffer.alloc(1);
        await file.read(byte, 0, 1, badOffset);
        byte[0] = byte[0]! ^ 0x01;
        await file.write(byte, 0, 1, badOffset);
        await file.sync();
      } finally {
        await file.close();
      }
    });

    it("answers 500 ChecksumMismatch when the first block of a range is corrupt", async () => {
      await rejectsWith(client.getBlob(id, { start: badOffset, end: badOffset + 10 }), 500, "ChecksumMismatch");
      await rejectsWith(client.getBlob(id, { start: badBlockStart, end: badBlockStart + 1 }), 500, "ChecksumMismatch");
    });

    it("still serves ranges in intact blocks, even next to the corrupt one", async () => {
      for (const [start, end] of [
        [0, BLOCK - 1],
        [badBlockStart - 1000, badBlockStart - 1],
        [badBlockStart + BLOCK, badBlockStart + BLOCK + 5000],
        [bytes.length - 10, bytes.length - 1],
      ] as Array<[number, number]>) {
        const back = await collect(await client.getBlob(id, { start, end }));
        assert.ok(back.equals(bytes.subarray(start, end + 1)), `range ${start}-${end}`);
      }
    });

    it("cuts a stream at the corrupt block: the reader gets an error and never a wrong byte", async () => {
      const stream = await client.getBlob(id); // headers are out before the server reaches the bad block
      const received: Buffer[] = [];
      await assert.rejects(async () => {
        for await (const chunk of stream) received.push(chunk);
      });
      const prefix = Buffer.concat(received);
      assert.ok(prefix.length <= badBlockStart, `${prefix.length} bytes arrived, the bad block starts at ${badBlockStart}`);
      assert.ok(prefix.length >= MiB, "the first chunk should have been delivered before the cut");
      assert.ok(prefix.equals(bytes.subarray(0, prefix.length)));
    });

    it("refuses a blob file whose trailer was cut off", async () => {
      const truncated = newId();
      await client.putBlob(truncated, pieces(randomBytes(1000)), 1000);
      const file = await open(await blobPath(dir, truncated), "r+");
      try {
        await file.truncate((await file.stat()).size - 1);
      } finally {
        await file.close();
      }
      await rejectsWith(client.headBlob(truncated), 500);
      await rejectsWith(client.getBlob(truncated), 500, "ChecksumMismatch");
    });

    it("verifies a one-block blob, which is read whole, just the same", async () => {
      const small = newId();
      const smallBytes = randomBytes(BLOCK);
      await client.putBlob(small, pieces(smallBytes), smallBytes.length);
      assert.ok((await collect(await client.getBlob(small, { start: 100, end: 5000 }))).equals(smallBytes.subarray(100, 5001)));
      const file = await open(await blobPath(dir, small), "r+");
      try {
        await file.write(Buffer.from([smallBytes[BLOCK - 1]! ^ 0x01]), 0, 1, BLOCK - 1);
      } finally {
        await file.close();
      }
      // The flipped byte is outside the range asked for, but its block is the blob's only one.
      await rejectsWith(client.getBlob(small, { start: 0, end: 10 }), 500, "ChecksumMismatch");
      await rejectsWith(client.getBlob(small), 500, "ChecksumMismatch");
    });

    it("still answers HEAD with the whole-file checksum recorded at write time", async () => {
      assert.deepEqual(await client.headBlob(id), { length: bytes.length, crc32c: crcHex(bytes) });
    });
  });

  describe("incomplete uploads store nothing", () => {
    it("a body shorter than its length", async () => {
      const id = newId();
      await rejectsWith(client.putBlob(id, pieces(randomBytes(1000)), 5000), undefined, "LengthMismatch");
      await rejectsWith(client.putBlob(id, pieces(Buffer.alloc(0)), 10), undefined, "LengthMismatch");
      await rejectsWith(client.putBlob(id, pieces(randomBytes(20)), 10), undefined, "LengthMismatch");
      assert.equal(await client.headBlob(id), undefined);
      await waitForEmptyTmp(dir);
    });

    it("a connection closed before Content-Length bytes arrived", async () => {
      const id = newId();
      const path = ROUTES.blob(id);
      const headers = signedHeaders("PUT", path, server.diskId, { bodyLength: String(3 * BLOCK) });
      const { port } = new URL(server.url);
      const socket = connect(Number(port), "127.0.0.1");
      await new Promise<void>((resolveConnect) => socket.once("connect", resolveConnect));
      socket.write(
        `PUT ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${3 * BLOCK}\r\n` +
          Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("") +
          "\r\n",
      );
      socket.write(randomBytes(BLOCK + 17));
      const deadline = Date.now() + 3_000;
      while ((await readdir(join(dir, "tmp"))).length === 0) {
        assert.ok(Date.now() < deadline, "the upload should be in progress");
        await new Promise((resolveWait) => setTimeout(resolveWait, 10));
      }
      socket.destroy();
      await waitForEmptyTmp(dir);
      assert.equal(await client.headBlob(id), undefined);
    });

    it("an upload whose signal aborts", async () => {
      const id = newId();
      const controller = new AbortController();
      async function* stalls(): AsyncGenerator<Uint8Array> {
        yield randomBytes(2 * BLOCK);
        setTimeout(() => controller.abort(), 50);
        await new Promise((resolveWait) => setTimeout(resolveWait, 200));
        yield randomBytes(10);
      }
      await rejectsWith(client.putBlob(id, stalls(), 4 * BLOCK, { signal: controller.signal }), undefined, "Aborted");
      await waitForEmptyTmp(dir);
      assert.equal(await client.headBlob(id), undefined);
    });
  });

  it("a network failure is an IoServerError without status", async () => {
    const nowhere = new IoClient("http://127.0.0.1:9", SECRET);
    try {
      await rejectsWith(nowhere.health(), undefined);
    } finally {
      await nowhere.close();
    }
  });

  it("a restarted ioserver on the same folder and port serves its old blobs, and no request signed before it started", async () => {
    const restartDir = await mkdtemp(join(tmpdir(), "weft-ioserver-restart-"));
    let first: IoServerProcess | undefined = await spawnIoServer({ dir: restartDir, secret: SECRET, logLevel: LOG_LEVEL });
    let second: IoServerProcess | undefined;
    const firstClient = new IoClient(first.url, SECRET);
    try {
      const id = newId();
      const bytes = randomBytes(300_000);
      await firstClient.putBlob(id, pieces(bytes), bytes.length);
      await firstClient.close();
      // Signed now, never sent: the restarted server cannot know that, nor which nonces the first one saw.
      const signedBeforeRestart = signedHeaders("GET", ROUTES.blob(id), first.diskId);
      await first.stop();
      const port = Number(new URL(first.url).port);
      second = await spawnIoServer({ dir: restartDir, secret: SECRET, port, logLevel: LOG_LEVEL });
      assert.equal(second.url, first.url);
      assert.equal(second.diskId, first.diskId);
      first = undefined;
      const secondClient = new IoClient(second.url, SECRET);
      try {
        assert.ok((await collect(await secondClient.getBlob(id))).equals(bytes));
        assert.equal((await secondClient.health()).diskId, second.diskId);
        const early = await request(`${second.url}${ROUTES.blob(id)}`, { headers: signedBeforeRestart });
        assert.equal(early.statusCode, 403);
        assert.equal(((await early.body.json()) as { error: string }).error, "Replayed", "dated before the server started");
      } finally {
        await secondClient.close();
      }
    } finally {
      await first?.stop();
      await second?.stop();
      await rm(restartDir, { recursive: true, force: true });
    }
  });
});
