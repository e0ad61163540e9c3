// The pool against a real PostgreSQL and real ioserver processes: which disks it registers, takes back, refuses and
// offers for new slots. Each test starts its own ioservers; the registry is shared, so tests look at their own ids.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pino, type Logger } from "pino";
import { IoClient } from "../../../ioserver/src/client.js";
import { spawnIoServer, type IoServerProcess } from "../../../ioserver/src/spawn.js";
import { listDisks, setDiskState, type DiskRecord } from "../../../meta/src/pg/ioservers.js";
import { startTestDatabase, type TestDatabase } from "../../../meta/src/test-support.js";
import { IoPool } from "./io-pool.js";

const SECRET = "io-pool-test-secret";
const LOG_LEVEL = process.env.WEFT_LOG_LEVEL ?? "fatal";

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A disk folder and the ioserver serving it (restarted on the same port unless told otherwise). */
interface TestDisk {
  dir: string;
  server: IoServerProcess;
  url: string;
  /** The id the folder had when its server last started. */
  startedAs: string;
}

describe("IoPool: disk identity, registry and health (real PostgreSQL and ioservers)", function () {
  this.timeout(120_000);
  let db: TestDatabase;
  const folders: string[] = [];
  const running = new Set<IoServerProcess>();
  const pools: IoPool[] = [];
  const clients: IoClient[] = [];

  before(async () => {
    db = await startTestDatabase();
  });

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.close()));
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all([...running].map((server) => server.stop()));
    running.clear();
    // A later test's server may get a port of this one's: a retired disk's URL is free for a new disk.
    for (const disk of await listDisks(db.sql)) await setDiskState(db.sql, disk.id, "retired");
  });

  after(async () => {
    await db?.stop();
    await Promise.all(folders.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  async function serve(dir: string, port?: number): Promise<TestDisk> {
    const server = await spawnIoServer({ dir, secret: SECRET, port, logLevel: LOG_LEVEL });
    running.add(server);
    return { dir, server, url: server.url, startedAs: server.diskId };
  }

  async function newDisk(): Promise<TestDisk> {
    const dir = await mkdtemp(join(tmpdir(), "weft-io-pool-"));
    folders.push(dir);
    return serve(dir);
  }

  async function stop(disk: TestDisk): Promise<void> {
    await disk.server.stop();
    running.delete(disk.server);
  }

  /** Same folder, same URL. */
  async function restart(disk: TestDisk): Promise<TestDisk> {
    await stop(disk);
    return serve(disk.dir, Number(new URL(disk.url).port));
  }

  /** The folder's disk is replaced by an empty one: everything in it is gone, the server comes back at its URL. */
  async function wipeAndRestart(disk: TestDisk): Promise<TestDisk> {
    await stop(disk);
    await rm(disk.dir, { recursive: true, force: true });
    await mkdir(disk.dir);
    return serve(disk.dir, Number(new URL(disk.url).port));
  }

  function newPool(urls: string[], reserveBytes = 0): { pool: IoPool; lines: LogLine[] } {
    const lines: LogLine[] = [];
    const log: Logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
    const pool = new IoPool(urls, SECRET, db.sql, log, { reserveBytes });
    pools.push(pool);
    return { pool, lines };
  }

  function clientOf(disk: TestDisk): IoClient {
    const client = new IoClient(disk.url, SECRET);
    clients.push(client);
    return client;
  }

  async function disksAt(url: string): Promise<DiskRecord[]> {
    return (await listDisks(db.sql)).filter((disk) => disk.url === url);
  }

  async function putBlob(disk: TestDisk): Promise<void> {
    const bytes = randomBytes(10_000);
    await clientOf(disk).putBlob(randomUUID(), Readable.from([bytes]), bytes.length);
  }

  it("registers a new disk once, claims its folder and offers it for new slots", async () => {
    const disk = await newDisk();
    assert.equal((await clientOf(disk).health()).fresh, true);
    const { pool } = newPool([disk.url]);
    await pool.refresh();
    await pool.refresh();
    const rows = await disksAt(disk.url);
    assert.deepEqual(rows.map(({ id, state, emptiedAt }) => ({ id, state, emptiedAt })), [{ id: disk.startedAs, state: "active", emptiedAt: undefined }]);
    const health = await clientOf(disk).health();
    assert.equal(health.claimed, true);
    assert.equal(health.fresh, false);
    assert.ok(health.freeBytes > 0 && health.usedBytes > 0);
    assert.ok(pool.writableIds().includes(disk.startedAs));
    assert.ok(pool.clientFor(disk.startedAs));
    // The identity survives a restart: same id, still claimed.
    const again = await restart(disk);
    assert.equal(again.startedAs, disk.startedAs);
    assert.equal((await clientOf(again).health()).claimed, true);
  });

  it("takes a wiped folder back at its URL as the same disk, empty, and records when", async () => {
    const disk = await newDisk();
    const { pool, lines } = newPool([disk.url]);
    await pool.refresh();
    const diskId = disk.startedAs;
    await putBlob(disk);

    const wiped = await wipeAndRestart(disk);
    assert.notEqual(wiped.startedAs, diskId, "a wiped folder starts with an id of its own");
    const before = Date.now();
    await pool.refresh();

    const rows = await disksAt(disk.url);
    assert.deepEqual(rows.map((row) => row.id), [diskId], "one disk at the URL, with the old id");
    assert.ok(rows[0]!.emptiedAt && rows[0]!.emptiedAt.getTime() >= before - 1000, "the replacement is recorded");
    assert.equal((await listDisks(db.sql)).find((row) => row.id === wiped.startedAs), undefined, "the folder's own id is never registered");
    const health = await clientOf(wiped).health();
    assert.equal(health.diskId, diskId);
    assert.equal(health.claimed, true);
    assert.ok(JSON.parse(await readFile(join(disk.dir, "disk-id"), "utf8")).diskId === diskId, "the marker names the old disk");
    assert.ok(pool.clientFor(diskId));
    assert.ok(pool.writableIds().includes(diskId));
    assert.equal(lines.filter((line) => line.msg.startsWith("disk came back empty")).length, 1);

    // Restarts and later rounds keep it: the replacement is recorded once.
    const emptiedAt = rows[0]!.emptiedAt!.getTime();
    const restarted = await restart(wiped);
    assert.equal(restarted.startedAs, diskId);
    await pool.refresh();
    assert.equal((await disksAt(disk.url))[0]!.emptiedAt!.getTime(), emptiedAt);
  });

  it("records one replacement when several gateways see the wiped folder at once", async () => {
    const disk = await newDisk();
    await newPool([disk.url]).pool.refresh();
    const wiped = await wipeAndRestart(disk);
    const racers = Array.from({ length: 4 }, () => newPool([disk.url]));
    await Promise.all(racers.map(({ pool }) => pool.refresh()));

    const rows = await disksAt(disk.url);
    assert.deepEqual(rows.map((row) => row.id), [disk.startedAs]);
    assert.ok(rows[0]!.emptiedAt);
    const recorded = racers.flatMap(({ lines }) => lines.filter((line) => line.msg.startsWith("disk came back empty")));
    assert.equal(recorded.length, 1, "exactly one gateway records the replacement");
    assert.equal((await clientOf(wiped).health()).diskId, disk.startedAs);
    for (const { pool } of racers) assert.ok(pool.clientFor(disk.startedAs), "every gateway sees the disk up");
  });

  it("refuses a folder that holds data under another id at a registered disk's URL", async () => {
    const disk = await newDisk();
    const { pool, lines } = newPool([disk.url]);
    await pool.refresh();
    // A folder with datafiles of its own, never registered (another cluster's disk, or a copy).
    const foreign = await newDisk();
    await putBlob(foreign);
    await stop(foreign);
    await stop(disk);
    const intruder = await serve(foreign.dir, Number(new URL(disk.url).port));
    await pool.refresh();

    assert.deepEqual((await disksAt(disk.url)).map(({ id, emptiedAt }) => ({ id, emptiedAt })), [{ id: disk.startedAs, emptiedAt: undefined }]);
    assert.equal((await listDisks(db.sql)).find((row) => row.id === intruder.startedAs), undefined);
    assert.equal(pool.clientFor(disk.startedAs), undefined, "the registered disk is down: its URL answers as another");
    assert.ok(!pool.writableIds().includes(disk.startedAs));
    assert.ok(!pool.writableIds().includes(intruder.startedAs));
    assert.equal((await clientOf(intruder).health()).diskId, intruder.startedAs, "the folder keeps its id");
    const refusals = lines.filter((line) => line.level >= 50 && line.msg.includes("refused"));
    assert.equal(refusals.length, 1, "one loud line, not one per round");
    await pool.refresh();
    assert.equal(lines.filter((line) => line.level >= 50 && line.msg.includes("refused")).length, 1);
  });

  it("checks every registered disk, also those of other gateways; one never seen up is down", async () => {
    const disk = await newDisk();
    await newPool([disk.url]).pool.refresh();
    await stop(disk);

    // A gateway configured with other servers, started while the disk is down.
    const other = await newDisk();
    const { pool } = newPool([other.url]);
    await pool.refresh();
    assert.equal(pool.clientFor(disk.startedAs), undefined);
    assert.ok(!pool.writableIds().includes(disk.startedAs));
    assert.ok(pool.writableIds().includes(other.startedAs));

    const back = await serve(disk.dir, Number(new URL(disk.url).port));
    await pool.refresh();
    assert.ok(pool.clientFor(back.startedAs), "found up without a restart of the gateway");
    assert.ok(pool.writableIds().includes(back.startedAs));
    await stop(back);
    await pool.refresh();
    assert.equal(pool.clientFor(back.startedAs), undefined);
  });

  it("follows a disk that answers at another URL, and refuses one answering at two", async () => {
    const disk = await newDisk();
    await newPool([disk.url]).pool.refresh();
    await stop(disk);
    const moved = await serve(disk.dir);
    assert.notEqual(moved.url, disk.url);
    const { pool } = newPool([moved.url]);
    await pool.refresh();
    assert.deepEqual((await listDisks(db.sql)).filter((row) => row.id === disk.startedAs).map((row) => row.url), [moved.url]);
    assert.equal(pool.clientFor(disk.startedAs)?.baseUrl, moved.url);
    assert.ok(pool.writableIds().includes(disk.startedAs));
    // A copy of the folder answering at a third URL does not take the disk away from its registered URL.
    const copy = await serve(disk.dir);
    const { pool: confused, lines } = newPool([copy.url]);
    await confused.refresh();
    assert.deepEqual((await listDisks(db.sql)).filter((row) => row.id === disk.startedAs).map((row) => row.url), [moved.url]);
    assert.equal(confused.clientFor(disk.startedAs)?.baseUrl, moved.url);
    assert.ok(lines.some((line) => line.level >= 50 && line.url === copy.url));
  });

  it("gives draining and retired disks no new slots, and still reads from them", async () => {
    const disk = await newDisk();
    const { pool } = newPool([disk.url]);
    await pool.refresh();
    for (const state of ["draining", "retired"] as const) {
      assert.ok(await setDiskState(db.sql, disk.startedAs, state));
      await pool.refresh();
      assert.ok(!pool.writableIds().includes(disk.startedAs), state);
      assert.ok(pool.clientFor(disk.startedAs), `${state}: still readable`);
    }
    await setDiskState(db.sql, disk.startedAs, "active");
    await pool.refresh();
    assert.ok(pool.writableIds().includes(disk.startedAs));
  });

  it("gives a disk with less free space than the reserve no new slots", async () => {
    const disk = await newDisk();
    const { pool, lines } = newPool([disk.url], Number.MAX_SAFE_INTEGER);
    await pool.refresh();
    assert.ok(!pool.writableIds().includes(disk.startedAs));
    assert.ok(pool.clientFor(disk.startedAs));
    assert.ok(lines.some((line) => line.msg.startsWith("disk is full") && line.ioserver === disk.startedAs));
  });
});

describe("ioserver: claiming a folder's identity", function () {
  this.timeout(60_000);
  let dir: string;
  let server: IoServerProcess;
  let client: IoClient;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "weft-identity-"));
    server = await spawnIoServer({ dir, secret: SECRET, logLevel: LOG_LEVEL });
    client = new IoClient(server.url, SECRET);
  });

  afterEach(async () => {
    await client.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function conflict(promise: Promise<unknown>): Promise<void> {
    await assert.rejects(promise, (error: { status?: number; code?: string }) => error.status === 409 && error.code === "IdentityConflict");
  }

  it("lets a fresh folder take over another id once, and nothing after", async () => {
    const own = server.diskId;
    assert.deepEqual(await client.claimDisk("registered-disk", own), { diskId: "registered-disk", adopted: true });
    assert.deepEqual(await client.claimDisk("registered-disk", own), { diskId: "registered-disk", adopted: false }, "a repeat is a no-op");
    await conflict(client.claimDisk("yet-another", "registered-disk"));
    const health = await client.health();
    assert.equal(health.diskId, "registered-disk");
    assert.equal(health.claimed, true);
    assert.equal(health.fresh, false);
  });

  it("refuses to give up its id once it holds a datafile, or when the caller saw another folder", async () => {
    const own = server.diskId;
    await conflict(client.claimDisk("registered-disk", "some-other-folder"));
    const bytes = randomBytes(100);
    await client.putBlob(randomUUID(), Readable.from([bytes]), bytes.length);
    assert.equal((await client.health()).fresh, false);
    await conflict(client.claimDisk("registered-disk", own));
    assert.equal((await client.health()).diskId, own);
    assert.deepEqual(await client.claimDisk(own, own), { diskId: own, adopted: false }, "claiming its own id is fine");
  });

  it("reports its datafile count and space", async () => {
    const bytes = randomBytes(100);
    await client.putBlob(randomUUID(), Readable.from([bytes]), bytes.length);
    await server.stop();
    server = await spawnIoServer({ dir, secret: SECRET, logLevel: LOG_LEVEL });
    await client.close();
    client = new IoClient(server.url, SECRET);
    let health = await client.health();
    for (let tries = 0; health.datafiles === undefined && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      health = await client.health();
    }
    assert.equal(health.datafiles, 1);
    assert.ok(health.freeBytes > 0 && health.usedBytes > 0);
  });
});
