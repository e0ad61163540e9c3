// Entry point of one ioserver (one disk). Flags --dir/--port/--host override the WEFT_IOSERVER_* env;
// the secret comes only from WEFT_CLUSTER_SECRET so it never shows in a process listing.
// Prints one line `WEFT_IOSERVER_READY {"url":...,"diskId":...}` on stdout once listening (spawn.ts parses it); the
// disk id is the one the folder had at start, which a fresh folder gives up if it replaces a registered disk.
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { createIoServerApp } from "./app.js";
import { DiskIdentity } from "./disk-identity.js";
import { DatafileCounter } from "./disk-usage.js";
import { createListener, listenerUrl, listenOnSocket, readTlsFiles, type TlsFiles } from "./listener.js";
import { IoServerMetrics } from "./metrics.js";
import { IOSERVER_READY_PREFIX } from "./protocol.js";
import { BlobStore } from "./store.js";

// Longer than any keep-alive idle timeout a client uses (undici's default is 4 s, ours 30 s), so the
// client always closes first and never sends a request into a socket the server is closing.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
// A connection silent this long mid-request is a dead peer; uploads and downloads that are merely slow keep moving.
const IDLE_SOCKET_TIMEOUT_MS = 120_000;

/** The Unix socket in the folder (WEFT_IOSERVER_LOCAL_SOCKET). */
const LOCAL_SOCKET_NAME = "ioserver.sock";

const LOG_LEVELS = [...Object.keys(pino.levels.values), "silent"];

interface Settings {
  dir: string;
  port: number;
  host: string;
  secret: string;
  logLevel: string;
  tls: TlsFiles | undefined;
  /** Whether to answer on a Unix socket in the folder too (WEFT_IOSERVER_LOCAL_SOCKET, default on). */
  localSocket: boolean;
}

/**
 * Flags and environment, every one checked before anything starts: with any problem, each is printed on its own line
 * (as the gateway prints its own, gateway/src/config.ts) and the process exits with status 2.
 */
function readSettings(): Settings {
  const { values } = parseArgs({
    options: { dir: { type: "string" }, port: { type: "string" }, host: { type: "string" } },
  });
  // A flag overrides its variable; a problem names whichever was used.
  const setting = (flag: "dir" | "port" | "host", variable: string): [name: string, value: string | undefined] =>
    values[flag] !== undefined ? [`--${flag}`, values[flag]] : [variable, process.env[variable] || undefined];
  const problems: string[] = [];
  const [dirName, dir] = setting("dir", "WEFT_IOSERVER_DIR");
  if (dir === undefined) problems.push(`${dirName}: required (the folder this ioserver keeps its datafiles in)`);
  const [portName, portText = "0"] = setting("port", "WEFT_IOSERVER_PORT");
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) problems.push(`${portName}=${portText}: not a port number (0 to 65535)`);
  const [, host = "127.0.0.1"] = setting("host", "WEFT_IOSERVER_HOST");
  const secret = process.env.WEFT_CLUSTER_SECRET || undefined;
  if (secret === undefined) problems.push("WEFT_CLUSTER_SECRET: required (the secret shared with the gateways)");
  const logLevel = process.env.WEFT_LOG_LEVEL || "warn";
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`WEFT_LOG_LEVEL=${logLevel}: must be one of ${LOG_LEVELS.join(", ")}`);
  const { tls, problems: tlsProblems } = readTlsFiles(process.env);
  problems.push(...tlsProblems);
  const localSocketText = process.env.WEFT_IOSERVER_LOCAL_SOCKET || "on";
  if (localSocketText !== "on" && localSocketText !== "off") problems.push(`WEFT_IOSERVER_LOCAL_SOCKET=${localSocketText}: must be on or off`);
  if (dir === undefined || secret === undefined || problems.length > 0) {
    for (const problem of problems) process.stderr.write(`weft ioserver: ${problem}\n`);
    process.exit(2);
  }
  return { dir, port: Number(portText), host, secret, logLevel, tls, localSocket: localSocketText === "on" };
}

async function main(): Promise<void> {
  const { dir, port, host, secret, logLevel, tls, localSocket } = readSettings();

  // Logs go to stderr: stdout carries only the READY line for the parent process.
  const logger = pino({ name: "ioserver", level: logLevel }, pino.destination(2));
  const store = await BlobStore.open(resolve(dir));
  const identity = await DiskIdentity.open(store.dir);
  const datafiles = new DatafileCounter(store.dir, logger);
  datafiles.current(); // starts the first count, so that early health answers already carry it
  const metrics = new IoServerMetrics({ dir: store.dir, datafiles, token: process.env.WEFT_METRICS_TOKEN || undefined });
  let localSocketPath: string | undefined;
  const app = createIoServerApp({ store, identity, datafiles, secret, logger, metrics, localSocket: () => localSocketPath });

  const listener = () => {
    const server = createListener(app.callback(), tls);
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
    // Whole-request deadlines would cut long multi-gigabyte uploads; the idle timeout catches dead peers.
    server.requestTimeout = 0;
    server.timeout = IDLE_SOCKET_TIMEOUT_MS;
    return server;
  };
  const server = listener();
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once("error", rejectListen);
    server.listen(port, host, () => {
      server.off("error", rejectListen);
      resolveListen();
    });
  });
  const servers = [server];
  // The same service on a Unix socket, for gateways on this host: a byte through it costs less than one through TCP
  // on loopback, most of all where the gateway receives (docs/performance.md, Gateways and ioservers on one host).
  if (localSocket) {
    const local = listener();
    const path = join(store.dir, LOCAL_SOCKET_NAME);
    try {
      await listenOnSocket(local, path);
      localSocketPath = path;
      servers.push(local);
    } catch (error) {
      logger.warn({ err: error, path }, "no local socket: clients on this host use TCP too");
    }
  }
  const url = listenerUrl(server);
  process.stdout.write(`${IOSERVER_READY_PREFIX}${JSON.stringify({ url, diskId: identity.diskId })}\n`);
  logger.info({ url, localSocket: localSocketPath, dir: store.dir, diskId: identity.diskId, claimed: identity.claimed, directIo: store.directIo }, "listening");

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    // close() stops accepting and waits for in-flight requests; idle keep-alive sockets would otherwise
    // hold it open until their timeout, so keep closing the ones that finish their request.
    const closeIdle = () => servers.forEach((each) => each.closeIdleConnections());
    const closing = setInterval(closeIdle, 50);
    const closed = servers.map((each) => new Promise<Error | undefined>((resolveClose) => each.close(resolveClose)));
    closeIdle();
    void Promise.all(closed).then((errors) => {
      clearInterval(closing);
      const error = errors.find((each) => each !== undefined);
      if (error) logger.error({ err: error }, "close failed");
      logger.flush();
      process.exit(error ? 1 : 0);
    });
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`ioserver: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
