import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { EmbeddedPostgresInUseError, startEmbeddedPostgres, type EmbeddedPostgres } from "./embedded.js";

async function query<T extends object>(url: string, run: (sql: postgres.Sql) => Promise<T[]>): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return Array.from(await run(sql), (row) => ({ ...row }));
  } finally {
    await sql.end();
  }
}

async function timed<T>(label: string, start: () => Promise<T>): Promise<T> {
  const began = performance.now();
  const result = await start();
  console.log(`      ${label}: ${Math.round(performance.now() - began)} ms`);
  return result;
}

describe("embedded PostgreSQL", () => {
  let root: string;
  const running: EmbeddedPostgres[] = [];
  const strayPids: number[] = [];

  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "weft-embedded-test-"));
  });
  after(async () => {
    await Promise.all(running.map((server) => server.stop()));
    // A failed assertion may have left the orphan of the SIGKILL test behind; check it is still that process.
    for (const pid of strayPids) {
      const commandLine = await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
      if (commandLine.includes(root)) process.kill(pid, "SIGQUIT");
    }
    await fs.rm(root, { recursive: true, force: true });
  });

  it("initialises a UTF8 / C cluster with database weft, and a restart keeps the data (durable)", async () => {
    const dataDir = path.join(root, "durable");
    const fresh = await timed("fresh start (initdb, durable)", () => startEmbeddedPostgres({ dataDir }));
    const [settings] = await query(fresh.url, (sql) => sql<{ encoding: string; collate: string; ctype: string }[]>`
      select pg_encoding_to_char(encoding) as encoding, datcollate as collate, datctype as ctype
      from pg_database where datname = current_database()`);
    assert.deepEqual(settings, { encoding: "UTF8", collate: "C", ctype: "C" });
    await query(fresh.url, (sql) => sql`create table kept (value text)`);
    await query(fresh.url, (sql) => sql`insert into kept values ('still here')`);
    await fresh.stop();
    await fresh.stop(); // idempotent

    const restarted = await timed("restart (durable)", () => startEmbeddedPostgres({ dataDir }));
    running.push(restarted);
    assert.deepEqual(await query(restarted.url, (sql) => sql`select value from kept`), [{ value: "still here" }]);
    const log = await fs.readFile(path.join(dataDir, "postgres.log"), "utf8");
    assert.match(log, /ready to accept connections/);
  });

  it("times the throwaway (non-durable) mode used by tests", async () => {
    const dataDir = path.join(root, "fast");
    const fresh = await timed("fresh start (initdb, durable: false)", () => startEmbeddedPostgres({ dataDir, durable: false }));
    await fresh.stop();
    const restarted = await timed("restart (durable: false)", () => startEmbeddedPostgres({ dataDir, durable: false }));
    running.push(restarted);
    assert.deepEqual(await query(restarted.url, (sql) => sql`select 1 as one`), [{ one: 1 }]);
  });

  it("starts over a stale postmaster.pid naming an unrelated live process", async () => {
    const dataDir = path.join(root, "stale-pid");
    const first = await startEmbeddedPostgres({ dataDir, durable: false });
    await first.stop();
    const clusterDir = path.join(dataDir, "pgdata");
    // PID 1 is alive and is not this cluster's postmaster: PostgreSQL alone would refuse to start.
    await fs.writeFile(path.join(clusterDir, "postmaster.pid"), `1\n${clusterDir}\n1700000000\n5432\n\n127.0.0.1\n0 0\nready\n`);
    const second = await timed("restart over a stale pid file", () => startEmbeddedPostgres({ dataDir, durable: false }));
    running.push(second);
    assert.deepEqual(await query(second.url, (sql) => sql`select 1 as one`), [{ one: 1 }]);
  });

  it("takes over from a run killed with SIGKILL whose postmaster was left running", async () => {
    const dataDir = path.join(root, "killed");
    const fixture = fileURLToPath(new URL("./test-fixtures/hold-embedded-postgres.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", fixture, dataDir], { stdio: ["ignore", "pipe", "inherit"] });
    const firstLine = await new Promise<string>((resolve, reject) => {
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString("utf8");
        if (output.includes("\n")) resolve(output.split("\n")[0]!);
      });
      child.on("exit", (code) => reject(new Error(`fixture exited with ${code}`)));
    });
    const { url } = JSON.parse(firstLine) as { url: string };
    const orphanPid = Number((await fs.readFile(path.join(dataDir, "pgdata", "postmaster.pid"), "utf8")).split("\n")[0]);
    strayPids.push(orphanPid);
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    // The orphan still serves: a naive restart would fail on the lock file or the data directory in use.
    assert.deepEqual(await query(url, (sql) => sql`select count(*)::int as n from survivors`), [{ n: 1 }]);

    const restarted = await timed("restart after SIGKILL (orphaned postmaster shut down first)", () =>
      startEmbeddedPostgres({ dataDir, durable: false }),
    );
    running.push(restarted);
    assert.deepEqual(await query(restarted.url, (sql) => sql`select name from survivors`), [{ name: "written before SIGKILL" }]);
    const orphanStat = await fs.readFile(`/proc/${orphanPid}/stat`, "utf8").catch(() => undefined);
    assert.ok(orphanStat === undefined || / Z /.test(orphanStat), "the orphaned postmaster is gone");
  });

  it("refuses to start a cluster another live process is running, and leaves that one alone", async () => {
    const dataDir = path.join(root, "shared");
    const owner = await startEmbeddedPostgres({ dataDir, durable: false });
    running.push(owner);
    await assert.rejects(startEmbeddedPostgres({ dataDir, durable: false }), EmbeddedPostgresInUseError);
    assert.deepEqual(await query(owner.url, (sql) => sql`select 1 as one`), [{ one: 1 }]);
  });

  it("uses the requested port", async () => {
    const probe = await startEmbeddedPostgres({ dataDir: path.join(root, "port"), durable: false });
    const port = Number(new URL(probe.url).port);
    await probe.stop();
    const fixed = await startEmbeddedPostgres({ dataDir: path.join(root, "port"), durable: false, port });
    running.push(fixed);
    assert.equal(Number(new URL(fixed.url).port), port);
    assert.deepEqual(await query(fixed.url, (sql) => sql`select 1 as one`), [{ one: 1 }]);
  });
});
