// Gateway entry point: configuration, PostgreSQL, the ioserver pool, the object layer, the S3 app, the collector,
// the healer, the scrubber, the lifecycle worker and the heartbeat.
import type { ServerResponse } from "node:http";
import { createListener } from "../../ioserver/src/listener.js";
import pino from "pino";
import { connect, migrate } from "../../meta/src/db.js";
import { adoptAdminUser } from "../../meta/src/pg/users.js";
import { MetaStore } from "../../meta/src/store.js";
import { BucketAccessStore } from "./access/bucket-access.js";
import { GatewayHeartbeat } from "./admin/heartbeat.js";
import { createApp } from "./app.js";
import { ADMIN_USER_NAME, newCanonicalId, PgKeyStore, sealStoredSecrets } from "./auth/key-store.js";
import { MasterKeys } from "./auth/master-keys.js";
import { exitWithConfigProblems, loadConfigOrExit } from "./config.js";
import { IoPool } from "./data/io-pool.js";
import { ObjectKeys } from "./encryption/object-keys.js";
import { rewrapDataKeys } from "./encryption/rewrap.js";
import { Sweeper } from "./gc/sweeper.js";
import { Healer } from "./heal/healer.js";
import { Scrubber } from "./heal/scrubber.js";
import { disksNeededForReadiness, Readiness } from "./http/health.js";
import { GatewayMetrics } from "./http/metrics.js";
import { LifecycleWorker } from "./lifecycle/worker.js";
import { MemoryReducer } from "./memory-reducer.js";
import { ObjectStore } from "./objects/object-store.js";

const config = loadConfigOrExit();
const log = pino({ level: config.logLevel, base: { service: "gateway" } });
const sql = connect(config.databaseUrl, { max: config.databasePoolSize });
await migrate(sql);
const masterKeys = new MasterKeys(config.masterKeys.current, config.masterKeys.previous);
const adminUser = await adoptAdminUser(sql, ADMIN_USER_NAME, Object.keys(config.accessKeys), newCanonicalId());
try {
  await sealStoredSecrets(sql, masterKeys, log);
} catch (error) {
  exitWithConfigProblems("weft gateway", [(error as Error).message]);
}
const credentials = new PgKeyStore(sql, masterKeys, config.accessKeys, adminUser, log);
await credentials.listen();
const bucketAccess = new BucketAccessStore(sql, log);
await bucketAccess.listen();

const io = new IoPool(config.ioserverUrls, config.clusterSecret, sql, log, { reserveBytes: config.diskReserveBytes });
await io.start();
const metrics = new GatewayMetrics({ sql, io, config });
const objectKeys = new ObjectKeys(masterKeys);
// Not awaited: a rotation's re-wrapping may take a while, and reads open previous keys' data keys meanwhile.
rewrapDataKeys(sql, objectKeys, log).catch((error) => log.error({ err: error }, "could not wrap SSE-S3 data keys again under the current master key"));
const objects = new ObjectStore({ config, meta: metrics.timeMetadataCalls(new MetaStore(sql)), io, log, objectKeys, onDegradedRead: metrics.countDegradedRead });
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
const readiness = new Readiness(sql, io, disksNeededForReadiness(config.storageClasses, config.minParityWritten));
const app = createApp({ config, objects, credentials, bucketAccess, log, admin: { sql, io, healer, scrubber, masterKeys }, metrics, readiness });
const sweeper = new Sweeper(sql, io, log, { intervalMs: config.gcIntervalMs, pendingGraceMs: config.pendingGraceMs });
sweeper.start();
const lifecycle = new LifecycleWorker(sql, log, { intervalMs: config.lifecycleIntervalMs, daySeconds: config.lifecycleDaySeconds });
lifecycle.start();
const memoryReducer = new MemoryReducer({ growthBytes: config.memoryReducerGrowthBytes, log });
memoryReducer.start();

const server = createListener(app.callback(), config.tls);
server.requestTimeout = 0; // uploads of many GiB take as long as they take
server.headersTimeout = 60_000;
server.keepAliveTimeout = 65_000;
let heartbeat: GatewayHeartbeat | undefined;
server.listen(config.port, config.host, () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const url = `${config.tls ? "https" : "http"}://${config.host}:${port}`;
  heartbeat = new GatewayHeartbeat(sql, url, log);
  void heartbeat.start().catch((error: unknown) => log.warn({ err: error }, "gateway heartbeat failed"));
  process.stdout.write(`WEFT_GATEWAY_READY ${JSON.stringify({ url, pid: process.pid })}\n`);
});

let stopping = false;
/**
 * SIGTERM: stop accepting, let requests under way finish (every answer from now on closes its connection, so clients
 * take their next request elsewhere), cut what is still running after WEFT_SHUTDOWN_GRACE_MS, then stop the background
 * work and close PostgreSQL. An upload that commits before the cut gets its answer.
 */
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal, graceMs: config.shutdownGraceMs }, "draining: no new connections, finishing requests under way");
  readiness.shutDown();
  const drained = new Promise<void>((resolve) => server.close(() => resolve()));
  const closeIdle = setInterval(() => server.closeIdleConnections(), 100);
  server.closeIdleConnections();
  let graceTimer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<"cut">((resolve) => (graceTimer = setTimeout(() => resolve("cut"), config.shutdownGraceMs)));
  if ((await Promise.race([drained, graceOver])) === "cut") {
    log.warn({ graceMs: config.shutdownGraceMs }, "requests still under way at the end of the grace period: cutting them");
    server.closeAllConnections();
  }
  clearTimeout(graceTimer);
  clearInterval(closeIdle);
  memoryReducer.stop();
  await heartbeat?.stop();
  await healer.stop();
  await scrubber.stop();
  await sweeper.stop();
  await lifecycle.stop();
  await io.close();
  await sql.end({ timeout: 5 });
  log.info("stopped");
  log.flush();
  process.exit(0);
}
server.on("request", (_request, response: ServerResponse) => {
  if (stopping) response.setHeader("connection", "close");
});
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
