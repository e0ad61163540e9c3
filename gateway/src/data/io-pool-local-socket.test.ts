// An ioserver also answers on a Unix socket in its folder, and a gateway on its host sends data through it: real
// PostgreSQL, real ioserver processes, and a counting relay in place of the socket to see which way the bytes went.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rename, rm, stat, writeFile } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pino } from "pino";
import { IoClient } from "../../../ioserver/src/client.js";
import { spawnIoServer, type IoServerProcess } from "../../../ioserver/src/spawn.js";
import { listDisks, setDiskState } from "../../../meta/src/pg/ioservers.js";
import { startTestDatabase, type TestDatabase } from "../../../meta/src/test-support.js";
import { IoPool } from "./io-pool.js";

const SECRET = "io-pool-local-socket-test-secret";
const LOG_LEVEL = process.env.WEFT_LOG_LEVEL ?? "fatal";
const SOCKET_NAME = "ioserver.sock";

/** Listens at `path` and passes every connection on to the socket at `target`, counting the bytes sent to it. */
async function countingRelay(path: string, target: string): Promise<{ server: Server; bytesIn: () => number }> {
  let bytes = 0;
  const server = createServer((client) => {
    const upstream = connect(target);
    client.on("data", (chunk: Buffer) => (bytes += chunk.length));
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { server, bytesIn: () => bytes };
}

describe("IoPool: an ioserver's local socket (real PostgreSQL and ioservers)", function () {
  this.timeout(120_000);
  let db: TestDatabase;
  const folders: string[] = [];
  const running: IoServerProcess[] = [];
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    db = await startTestDatabase();
  });

  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
    await Promise.all(running.splice(0).map((server) => server.stop()));
    for (const disk of await listDisks(db.sql)) await setDiskState(db.sql, disk.id, "retired");
  });

  after(async () => {
    await db?.stop();
    await Promise.all(folders.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  async function newFolder(name = "weft-local-socket-"): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), name));
    folders.push(dir);
    return dir;
  }

  async function serve(dir: string, env: Record<string, string> = {}): Promise<IoServerProcess> {
    const server = await spawnIoServer({ dir, secret: SECRET, logLevel: LOG_LEVEL, env });
    running.push(server);
    return server;
  }

  async function advertised(server: IoServerProcess): Promise<string | undefined> {
    const client = new IoClient(server.url, SECRET);
    closers.push(() => client.close());
    return (await client.health()).localSocket;
  }

  function newPool(urls: string[]): IoPool {
    const pool = new IoPool(urls, SECRET, db.sql, pino({ level: "silent" }), { reserveBytes: 0 });
    closers.push(() => pool.close());
    return pool;
  }

  /** PUTs and GETs a blob of `size` bytes through the pool's client for the disk. */
  async function roundTrip(pool: IoPool, diskId: string, size: number): Promise<void> {
    const client = pool.clientFor(diskId);
    assert.ok(client, "the disk is up");
    const bytes = randomBytes(size);
    const id = randomUUID();
    await client.putBlob(id, Readable.from([bytes]), bytes.length);
    const back: Buffer[] = [];
    for await (const chunk of await client.getBlob(id)) back.push(chunk);
    assert.ok(Buffer.concat(back).equals(bytes));
  }

  it("answers on a Unix socket in its folder, and names it in its status", async () => {
    const dir = await newFolder();
    const server = await serve(dir);
    const path = join(dir, SOCKET_NAME);
    assert.equal(await advertised(server), path);
    assert.ok((await stat(path)).isSocket());
    const local = new IoClient(server.url, SECRET, { socketPath: path });
    closers.push(() => local.close());
    assert.equal((await local.health()).diskId, server.diskId);
  });

  it("a gateway on the same host sends the data through the socket", async () => {
    const dir = await newFolder();
    const server = await serve(dir);
    // The ioserver keeps listening on its socket under another name; a relay that counts takes the advertised one.
    const path = join(dir, SOCKET_NAME);
    await rename(path, join(dir, "real.sock"));
    const relay = await countingRelay(path, join(dir, "real.sock"));
    closers.push(() => new Promise((resolve) => relay.server.close(resolve)));

    const pool = newPool([server.url]);
    await pool.refresh();
    const size = 3 * 1024 * 1024;
    await roundTrip(pool, server.diskId, size);
    assert.ok(relay.bytesIn() > size, `the PUT went through the socket (${relay.bytesIn()} bytes)`);
  });

  it("does not use a socket that answers as another disk", async () => {
    const dir = await newFolder();
    const server = await serve(dir);
    const other = await serve(await newFolder());
    const path = join(dir, SOCKET_NAME);
    await rm(path);
    const relay = await countingRelay(path, join(other.dir, SOCKET_NAME));
    closers.push(() => new Promise((resolve) => relay.server.close(resolve)));

    const pool = newPool([server.url]);
    await pool.refresh();
    const asked = relay.bytesIn();
    assert.ok(asked > 0, "the pool asked who answers on the socket");
    await roundTrip(pool, server.diskId, 1024 * 1024);
    assert.equal(relay.bytesIn(), asked, "no data went to the other disk's socket");
  });

  it("WEFT_IOSERVER_LOCAL_SOCKET=off: no socket, and the data goes over TCP", async () => {
    const dir = await newFolder();
    const server = await serve(dir, { WEFT_IOSERVER_LOCAL_SOCKET: "off" });
    assert.equal(await advertised(server), undefined);
    await assert.rejects(stat(join(dir, SOCKET_NAME)), { code: "ENOENT" });
    const pool = newPool([server.url]);
    await pool.refresh();
    await roundTrip(pool, server.diskId, 1024 * 1024);
  });

  it("replaces the socket a killed ioserver left, and serves without one where it cannot have it", async () => {
    const dir = await newFolder();
    const first = await serve(dir);
    first.kill();
    await first.exited;
    running.splice(running.indexOf(first), 1);
    const path = join(dir, SOCKET_NAME);
    assert.ok((await stat(path)).isSocket(), "a killed server leaves its socket behind");
    assert.equal(await advertised(await serve(dir)), path);

    // A file that is not a socket is never removed; the server runs on TCP alone.
    const taken = await newFolder();
    await writeFile(join(taken, SOCKET_NAME), "not a socket");
    assert.equal(await advertised(await serve(taken)), undefined);

    // A path longer than a Unix socket may have.
    const deep = await newFolder(`weft-local-socket-${"x".repeat(100)}-`);
    const server = await serve(deep);
    assert.equal(await advertised(server), undefined);
    const pool = newPool([server.url]);
    await pool.refresh();
    await roundTrip(pool, server.diskId, 64 * 1024);
  });

  it("refuses a WEFT_IOSERVER_LOCAL_SOCKET that is neither on nor off", async () => {
    await assert.rejects(serve(await newFolder(), { WEFT_IOSERVER_LOCAL_SOCKET: "yes" }), /WEFT_IOSERVER_LOCAL_SOCKET=yes: must be on or off/);
  });
});
