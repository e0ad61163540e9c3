// What an ioserver serves: signed requests only, each once, for its own disk, and PUT bodies only with their tag.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { request } from "undici";
import { IoClient } from "./client.js";
import { ANY_DISK, BODY_TAG_SIZE, CHECKSUM_BLOCK_SIZE, MAX_CLOCK_SKEW_MS, ROUTES } from "./protocol.js";
import type { IoServerProcess } from "./spawn.js";
import { collect, newId, pieces, rejectsWith, signedHeaders, signedPut, useTestIoServer, waitForEmptyTmp } from "./test-support.js";

const BLOCK = CHECKSUM_BLOCK_SIZE;

describe("ioserver: signed requests and ids", function () {
  this.timeout(30_000);
  let dir: string;
  let server: IoServerProcess;
  let client: IoClient;

  useTestIoServer("weft-ioserver-signing-", (started) => ({ dir, server, client } = started));

  it("refuses a wrong secret with 403 and stores nothing", async () => {
    const forger = new IoClient(server.url, "not-the-secret", { diskId: server.diskId });
    try {
      const id = newId();
      await rejectsWith(forger.putBlob(id, pieces(randomBytes(200_000)), 200_000), 403, "BadSignature");
      assert.equal(await client.headBlob(id), undefined);
      await client.putBlob(id, pieces(randomBytes(5)), 5);
      await rejectsWith(forger.getBlob(id), 403, "BadSignature");
      await rejectsWith(forger.deleteBlob(id), 403, "BadSignature");
      await rejectsWith(forger.health(), 403, "BadSignature");
      assert.equal((await client.headBlob(id))?.length, 5);
    } finally {
      await forger.close();
    }
    assert.deepEqual(await readdir(join(dir, "tmp")), []);
  });

  async function refusal(path: string, options: Parameters<typeof request>[1]): Promise<{ status: number; error: string }> {
    const response = await request(`${server.url}${path}`, options);
    const body = (await response.body.json()) as { error: string };
    return { status: response.statusCode, error: body.error };
  }

  it("refuses unsigned requests, dates more than a minute off either way, and signatures for another path", async () => {
    const id = newId();
    const path = ROUTES.blob(id);
    assert.deepEqual(await refusal(path, { method: "GET" }), { status: 403, error: "BadSignature" });
    for (const offset of [-(MAX_CLOCK_SKEW_MS + 5_000), MAX_CLOCK_SKEW_MS + 5_000]) {
      const headers = signedHeaders("GET", ROUTES.list, server.diskId, { date: String(Date.now() + offset) });
      assert.deepEqual(await refusal(ROUTES.list, { headers }), { status: 403, error: "BadSignature" }, `dated ${offset} ms off`);
    }
    const near = signedHeaders("GET", ROUTES.list, server.diskId, { date: String(Date.now() + 5_000) });
    assert.equal((await request(`${server.url}${ROUTES.list}`, { headers: near })).statusCode, 200, "a few seconds of skew are fine");
    const put = await signedPut(ROUTES.blob(newId()), server.diskId, Buffer.from("hello"));
    assert.deepEqual(await refusal(path, { method: "PUT", ...put }), { status: 403, error: "BadSignature" });
    assert.equal(await client.headBlob(id), undefined);
  });

  it("binds the declared body length", async () => {
    const id = newId();
    const path = ROUTES.blob(id);
    const put = await signedPut(path, server.diskId, randomBytes(100));
    assert.deepEqual(await refusal(path, { method: "PUT", headers: put.headers, body: put.body.subarray(0, 60) }), { status: 403, error: "BadSignature" });
    assert.deepEqual(await refusal(path, { method: "PUT", headers: put.headers, body: Readable.from([put.body]) }), { status: 403, error: "BadSignature" }, "the same bytes chunked");
    assert.equal(await client.headBlob(id), undefined);
  });

  it("binds a request to its disk: 421 WrongDisk for another disk, and for ANY_DISK but on /status and claims", async () => {
    const id = newId();
    await client.putBlob(id, pieces(randomBytes(10)), 10);
    const path = ROUTES.blob(id);
    assert.deepEqual(await refusal(path, { headers: signedHeaders("GET", path, randomUUID()) }), { status: 421, error: "WrongDisk" });
    assert.deepEqual(await refusal(path, { method: "DELETE", headers: signedHeaders("DELETE", path, ANY_DISK) }), { status: 421, error: "WrongDisk" });
    assert.equal((await client.headBlob(id))?.length, 10);
    const status = await request(`${server.url}${ROUTES.status}`, { headers: signedHeaders("GET", ROUTES.status, ANY_DISK) });
    assert.equal(status.statusCode, 200);
    assert.equal(((await status.body.json()) as { diskId: string }).diskId, server.diskId);
  });

  it("serves a request once: its exact replay is 403 Replayed, a DELETE's too", async () => {
    const id = newId();
    const bytes = randomBytes(1000);
    await client.putBlob(id, pieces(bytes), bytes.length);
    const path = ROUTES.blob(id);
    const get = signedHeaders("GET", path, server.diskId);
    const first = await request(`${server.url}${path}`, { headers: get });
    assert.equal(first.statusCode, 200);
    await first.body.dump();
    assert.deepEqual(await refusal(path, { headers: get }), { status: 403, error: "Replayed" });

    const deletion = signedHeaders("DELETE", path, server.diskId);
    assert.equal((await request(`${server.url}${path}`, { method: "DELETE", headers: deletion })).statusCode, 204);
    await client.putBlob(id, pieces(bytes), bytes.length);
    assert.deepEqual(await refusal(path, { method: "DELETE", headers: deletion }), { status: 403, error: "Replayed" });
    assert.ok((await collect(await client.getBlob(id))).equals(bytes), "the blob written again is still there");
  });

  it("publishes a PUT body only with its tag: altered bytes of the right length store nothing", async () => {
    const id = newId();
    const path = ROUTES.blob(id);
    const bytes = randomBytes(3 * BLOCK + 5);
    const put = await signedPut(path, server.diskId, bytes);
    put.body[BLOCK + 1] ^= 0x01;
    assert.deepEqual(await refusal(path, { method: "PUT", ...put }), { status: 403, error: "BadBodyTag" });
    // Chunked, a body cut anywhere is a complete request to HTTP: only its tag tells.
    for (const cutBy of [1, BODY_TAG_SIZE, bytes.length]) {
      const chunked = await signedPut(path, server.diskId, bytes, { chunked: true });
      const keep = chunked.body.length - cutBy;
      const body = Readable.from([chunked.body.subarray(0, keep)]);
      assert.deepEqual(await refusal(path, { method: "PUT", headers: chunked.headers, body }), { status: 403, error: "BadBodyTag" }, `${keep} bytes`);
    }
    const tooShort = signedHeaders("PUT", path, server.diskId, { bodyLength: "10" });
    assert.deepEqual(await refusal(path, { method: "PUT", headers: tooShort, body: randomBytes(10) }), { status: 400, error: "BadRequest" });
    assert.equal(await client.headBlob(id), undefined);
    await waitForEmptyTmp(dir);
    const intact = await signedPut(path, server.diskId, bytes);
    assert.equal((await request(`${server.url}${path}`, { method: "PUT", ...intact })).statusCode, 200);
    assert.ok((await collect(await client.getBlob(id))).equals(bytes));
  });

  it("answers /healthz unsigned with nothing but ok; /status needs a signature", async () => {
    const health = await request(`${server.url}${ROUTES.health}`);
    assert.equal(health.statusCode, 200);
    assert.deepEqual(await health.body.json(), { ok: true });
    assert.deepEqual(await refusal(ROUTES.status, {}), { status: 403, error: "BadSignature" });
  });

  it("rejects ids that could name a path", async () => {
    for (const id of ["../x", "..", "abc", "ABCDEF0123456789ABCDEF", `a${"/b".repeat(10)}0123456789`]) {
      await rejectsWith(client.putBlob(id, pieces(Buffer.from("evil")), 4), 400, "BadRequest");
      await rejectsWith(client.getBlob(id), 400, "BadRequest");
    }
    assert.deepEqual((await readdir(dir)).sort(), ["blobs", "disk-id", "ioserver.sock", "tmp"]);
  });
});
