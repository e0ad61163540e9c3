// Entry point of one ioserver (one disk). Flags --dir/--port/--host override the WEFT_IOSERVER_* env;
// the secret comes only from WEFT_CLUSTER_SECRET so it never shows in a process listing.
// Prints one line `WEFT_IOSERVER_READY {"url":...,"diskId":...}` on stdout once listening (spawn.ts parses it); the
// disk id is the one the folder had at start, which a fresh folder gives up if it replaces a registered disk.
import { createServer } from "node:http";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { createIoServerApp } from "./app.js";
import { DiskIdentity } from "./disk-identity.js";
import { DatafileCounter } from "./disk-usage.js";
import { IOSERVER_READY_PREFIX } from "./protocol.js";
import { BlobStore } from "./store.js";

// Longer than any keep-alive idle timeout a client uses (undici's default is 4 s, ours 30 s), so the
// client always closes first and never sends a request into a socket the server is closing.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
// A connection silent this long mid-request is a dead peer; uploads and downloads that are merely slow keep moving.
const IDLE_SOCKET_TIMEOUT_MS = 120_000;

function fail(message: string): never {
  process.stderr.write(`ioserver: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { dir: { type: "string" }, port: { type: "string" }, host: { type: "string" } },
  });
  const dir = values.dir ?? process.env.WEFT_IOSERVER_DIR;
  const portText = values.port ?? process.env.WEFT_IOSERVER_PORT ?? "0";
  const host = values.host ?? process.env.WEFT_IOSERVER_HOST ?? "127.0.0.1";
  const secret = process.env.WEFT_CLUSTER_SECRET;
  if (!dir) fail("WEFT_IOSERVER_DIR (or --dir) is required");
  if (!secret) fail("WEFT_CLUSTER_SECRET is required");
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad port ${JSON.stringify(portText)}`);

  // Logs go to stderr: stdout carries only the READY line for the parent process.
  const logger = pino({ name: "ioserver", level: process.env.WEFT_LOG_LEVEL ?? "warn" }, pino.destination(2));
  const store = await BlobStore.open(resolve(dir));
  const identity = await DiskIdentity.open(store.dir);
  const datafiles = new DatafileCounter(store.dir, logger);
  datafiles.current(); // starts the first count, so that early health answers already carry it
  const app = createIoServerApp({ store, identity, datafiles, secret, logger });

  const server = createServer(app.callback());
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  // Whole-request deadlines would cut long multi-gigabyte uploads; the idle timeout catches dead peers.
  server.requestTimeout = 0;
  server.timeout = IDLE_SOCKET_TIMEOUT_MS;

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once("error", rejectListen);
    server.listen(port, host, () => {
      server.off("error", rejectListen);
      resolveListen();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") fail("server has no TCP address");
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${urlHost}:${address.port}`;
  process.stdout.write(`${IOSERVER_READY_PREFIX}${JSON.stringify({ url, diskId: identity.diskId })}\n`);
  logger.info({ url, dir: store.dir, diskId: identity.diskId, claimed: identity.claimed }, "listening");

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    // close() stops accepting and waits for in-flight requests; idle keep-alive sockets would otherwise
    // hold it open until their timeout, so keep closing the ones that finish their request.
    const closeIdle = setInterval(() => server.closeIdleConnections(), 50);
    server.close((error) => {
      clearInterval(closeIdle);
      if (error) logger.error({ err: error }, "close failed");
      logger.flush();
      process.exit(error ? 1 : 0);
    });
    server.closeIdleConnections();
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`ioserver: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
