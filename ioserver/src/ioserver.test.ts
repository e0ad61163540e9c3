import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, open, readdir, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32c } from "@node-rs/crc32";
import { request } from "undici";
import { IoClient, IoServerError } from "./client.js";
import { CHECKSUM_BLOCK_SIZE, HEADERS, ROUTES, signRequest } from "./protocol.js";
import { spawnIoServer, type IoServerProcess } from "./spawn.js";

const SECRET = "test-cluster-secret";
// The failures these tests provoke on purpose would otherwise fill the output; WEFT_LOG_LEVEL=info shows them.
const LOG_LEVEL = process.env.WEFT_LOG_LEVEL ?? "fatal";
const BLOCK = CHECKSUM_BLOCK_SIZE;
const MiB = 1024 * 1024;

function newId(): string {
  return randomUUID();
}

/** Yields `bytes` in pieces that do not line up with checksum blocks. */
async function* pieces(bytes: Buffer, size = 50_000): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function crcHex(bytes: Buffer): string {
  return (crc32c(bytes) >>> 0).toString(16).padStart(8, "0");
}

async function blobPath(dir: string, id: string): Promise<string> {
  for (const fanout of await readdir(join(dir, "blobs"))) {
    if ((await readdir(join(dir, "blobs", fanout))).includes(id)) return join(dir, "blobs", fanout, id);
  }
  throw new Error(`blob ${id} not found on disk`);
}

/** The server deletes the temp file of a failed upload asynchronously after the connection drops. */
async function waitForEmptyTmp(dir: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  for (;;) {
    const left = await readdir(join(dir, "tmp"));
    if (left.length === 0) return;
    if (Date.now() > deadline) assert.fail(`temp files left behind: ${left.join(", ")}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 25));
  }
}

async function rejectsWith(promise: Promise<unknown>, status: number | undefined, code?: string): Promise<IoServerError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof IoServerError, `expected IoServerError, got ${String(error)}`);
    assert.equal(error.status, status, error.message);
    if (code !== undefined) assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail("expected a rejection");
}

function signedHeaders(method: string, path: string, secret = SECRET): Record<string, string> {
  const date = String(Date.now());
  return { [HEADERS.date]: date, [HEADERS.signature]: signRequest(secret, method, path, date) };
}

describe("ioserver", function () {
  this.timeout(30_000);
  let dir: string;
  let server: IoServerProcess;
  let client: IoClient;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "weft-ioserver-"));
    server = await spawnIoServer({ dir, secret: SECRET, logLevel: LOG_LEVEL });
    client = new IoClient(server.url, SECRET);
  });

  after(async () => {
    await client?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

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

    it("accepts a Readable body and overwrites an existing id", async () => {
      const id = newId();
      await client.putBlob(id, pieces(randomBytes(1000)), 1000);
      const replacement = randomBytes(3 * BLOCK + 7);
      const { Readable } = await import("node:stream");
      await client.putBlob(id, Readable.from(pieces(replacement, 8192)), replacement.length);
      assert.ok((await collect(await client.getBlob(id))).equals(replacement));
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
        headers: { ...signedHeaders("GET", path), range: "bytes=100-199" },
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

  describe("signatures and ids", () => {
    it("refuses a wrong secret with 403 and stores nothing", async () => {
      const forger = new IoClient(server.url, "not-the-secret");
      try {
        const id = newId();
        await rejectsWith(forger.putBlob(id, pieces(randomBytes(200_000)), 200_000), 403, "BadSignature");
        assert.equal(await client.headBlob(id), undefined);
        await client.putBlob(id, pieces(randomBytes(5)), 5);
        await rejectsWith(forger.getBlob(id), 403, "BadSignature");
        await rejectsWith(forger.deleteBlob(id), 403, "BadSignature");
        assert.equal((await client.headBlob(id))?.length, 5);
      } finally {
        await forger.close();
      }
      assert.deepEqual(await readdir(join(dir, "tmp")), []);
    });

    it("refuses missing, stale and replayed signatures", async () => {
      const id = newId();
      const path = ROUTES.blob(id);
      const missing = await request(`${server.url}${path}`, { method: "PUT", body: "hello" });
      assert.equal(missing.statusCode, 403);
      assert.deepEqual(await missing.body.json(), { error: "BadSignature", message: "missing, stale or wrong request signature" });

      const staleDate = String(Date.now() - 10 * 60 * 1000);
      const stale = await request(`${server.url}${path}`, {
        method: "PUT",
        body: "hello",
        headers: { [HEADERS.date]: staleDate, [HEADERS.signature]: signRequest(SECRET, "PUT", path, staleDate) },
      });
      assert.equal(stale.statusCode, 403);
      await stale.body.dump();

      // A signature is bound to its path: one for another blob does not open this one.
      const replayed = await request(`${server.url}${path}`, {
        method: "PUT",
        body: "hello",
        headers: signedHeaders("PUT", ROUTES.blob(newId())),
      });
      assert.equal(replayed.statusCode, 403);
      await replayed.body.dump();
      assert.equal(await client.headBlob(id), undefined);

      const health = await request(`${server.url}${ROUTES.health}`);
      assert.equal(health.statusCode, 200);
      assert.equal(((await health.body.json()) as { diskId: string }).diskId, server.diskId);
    });

    it("rejects ids that could name a path", async () => {
      for (const id of ["../x", "..", "abc", "ABCDEF0123456789ABCDEF", `a${"/b".repeat(10)}0123456789`]) {
        await rejectsWith(client.putBlob(id, pieces(Buffer.from("evil")), 4), 400, "BadRequest");
        await rejectsWith(client.getBlob(id), 400, "BadRequest");
      }
      assert.deepEqual((await readdir(dir)).sort(), ["blobs", "disk-id", "tmp"]);
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
      const headers = signedHeaders("PUT", path);
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

  it("a restarted ioserver on the same folder and port serves its old blobs", async () => {
    const restartDir = await mkdtemp(join(tmpdir(), "weft-ioserver-restart-"));
    let first: IoServerProcess | undefined = await spawnIoServer({ dir: restartDir, secret: SECRET, logLevel: LOG_LEVEL });
    let second: IoServerProcess | undefined;
    const firstClient = new IoClient(first.url, SECRET);
    try {
      const id = newId();
      const bytes = randomBytes(300_000);
      await firstClient.putBlob(id, pieces(bytes), bytes.length);
      await firstClient.close();
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
