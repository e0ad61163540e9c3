// Gateway entry point: configuration, PostgreSQL, the ioserver pool, the object layer, the S3 app, the collector,
// the healer, the scrubber and the heartbeat.
import { createServer } from "node:http";
import pino from "pino";
import { connect, migrate } from "../../meta/src/db.js";
import { upsertAccessKey } from "../../meta/src/pg/keys.js";
import { MetaStore } from "../../meta/src/store.js";
import { GatewayHeartbeat } from "./admin/heartbeat.js";
import { createApp } from "./app.js";
import { PgCredentialStore } from "./auth/pg-credentials.js";
import { loadConfig } from "./config.js";
import { IoPool } from "./data/io-pool.js";
import { Sweeper } from "./gc/sweeper.js";
import { Healer } from "./heal/healer.js";
import { Scrubber } from "./heal/scrubber.js";
import { MemoryReducer } from "./memory-reducer.js";
import { ObjectStore } from "./objects/object-store.js";

const config = loadConfig();
const log = pino({ level: config.logLevel, base: { service: "gateway" } });
const sql = connect(config.databaseUrl, { max: config.databasePoolSize });
await migrate(sql);
for (const [accessKeyId, secret] of Object.entries(config.accessKeys)) await upsertAccessKey(sql, accessKeyId, secret);

const io = new IoPool(config.ioserverUrls, config.clusterSecret, sql, log, { reserveBytes: config.diskReserveBytes });
await io.start();
const objects = new ObjectStore({ config, meta: new MetaStore(sql), io, log });
const healer = new Healer(sql, io, log, {
  intervalMs: config.healIntervalMs,
  bytesPerSecond: config.healBytesPerSecond,
  unclaimedBlobGraceMs: config.pendingGraceMs,
});
healer.start();
const scrubber = new Scrubber(sql, io, log, {
  intervalMs: config.scrubIntervalMs,
  checkEveryMs: 60_000,
  bytesPerSecondPerDisk: config.scrubBytesPerSecond,
  orphanGraceMs: config.pendingGraceMs,
});
scrubber.start();
const app = createApp({ config, objects, credentials: new PgCredentialStore(sql), log, admin: { sql, io, healer, scrubber } });
const sweeper = new Sweeper(sql, io, log, { intervalMs: config.gcIntervalMs, pendingGraceMs: config.pendingGraceMs });
sweeper.start();
const memoryReducer = new MemoryReducer({ growthBytes: config.memoryReducerGrowthBytes, log });
memoryReducer.start();

const server = createServer(app.callback());
server.requestTimeout = 0; // uploads of many GiB take as long as they take
server.headersTimeout = 60_000;
server.keepAliveTimeout = 65_000;
let heartbeat: GatewayHeartbeat | undefined;
server.listen(config.port, config.host, () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const url = `http://${config.host}:${port}`;
  heartbeat = new GatewayHeartbeat(sql, url, log);
  void heartbeat.start().catch((error: unknown) => log.warn({ err: error }, "gateway heartbeat failed"));
  process.stdout.write(`WEFT_GATEWAY_READY ${JSON.stringify({ url, pid: process.pid })}\n`);
});

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  server.close();
  server.closeIdleConnections();
  memoryReducer.stop();
  await heartbeat?.stop();
  await healer.stop();
  await scrubber.stop();
  await sweeper.stop();
  await io.close();
  await sql.end({ timeout: 5 });
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown());
process.on("SIGINT", () => void shutdown());
