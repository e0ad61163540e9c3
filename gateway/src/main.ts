// Gateway entry point: configuration, PostgreSQL, the ioserver pool, the object layer, the S3 app, the collector.
import { createServer } from "node:http";
import pino from "pino";
import { connect, migrate } from "../../meta/src/db.js";
import { upsertAccessKey } from "../../meta/src/pg/keys.js";
import { MetaStore } from "../../meta/src/store.js";
import { createApp } from "./app.js";
import { PgCredentialStore } from "./auth/pg-credentials.js";
import { loadConfig } from "./config.js";
import { IoPool } from "./data/io-pool.js";
import { Sweeper } from "./gc/sweeper.js";
import { MemoryReducer } from "./memory-reducer.js";
import { ObjectStore } from "./objects/object-store.js";

const config = loadConfig();
const log = pino({ level: config.logLevel, base: { service: "gateway" } });
const sql = connect(config.databaseUrl, { max: config.databasePoolSize });
await migrate(sql);
for (const [accessKeyId, secret] of Object.entries(config.accessKeys)) await upsertAccessKey(sql, accessKeyId, secret);

const io = new IoPool(config.ioserverUrls, config.clusterSecret, sql, log);
await io.start();
const objects = new ObjectStore({ config, meta: new MetaStore(sql), io, log });
const app = createApp({ config, objects, credentials: new PgCredentialStore(sql), log });
const sweeper = new Sweeper(sql, io, log, { intervalMs: config.gcIntervalMs, pendingGraceMs: config.pendingGraceMs });
sweeper.start();
const memoryReducer = new MemoryReducer({ growthBytes: config.memoryReducerGrowthBytes, log });
memoryReducer.start();

const server = createServer(app.callback());
server.requestTimeout = 0; // uploads of many GiB take as long as they take
server.headersTimeout = 60_000;
server.keepAliveTimeout = 65_000;
server.listen(config.port, config.host, () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  process.stdout.write(`WEFT_GATEWAY_READY ${JSON.stringify({ url: `http://${config.host}:${port}`, pid: process.pid })}\n`);
});

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  server.close();
  server.closeIdleConnections();
  memoryReducer.stop();
  await sweeper.stop();
  await io.close();
  await sql.end({ timeout: 5 });
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown());
process.on("SIGINT", () => void shutdown());
