// `npm start`: a working local cluster in one terminal. Ctrl-C stops every process; data stays in WEFT_DATA_DIR.
import { resolve } from "node:path";
import { EnvironmentReader, exitWithConfigProblems, readGatewayConfig } from "../gateway/src/config.js";
import { startLocalCluster } from "./local-cluster.js";
import { superviseCluster } from "./supervise.js";

// Everything is checked before anything starts (no folder, no process), every problem on its own line, exit status 2.
const environment = new EnvironmentReader(process.env);
const ioserverCount = environment.integer("WEFT_IOSERVER_COUNT", 6, { min: 1 });
const databaseUrl = environment.text("DATABASE_URL");
const ioserverUrls = environment.text("WEFT_IOSERVERS");
// The gateway inherits this environment, so it is checked by the gateway's own rules: `npm start` and the gateway
// cannot disagree. What the cluster supplies itself when unset (the embedded PostgreSQL, its own ioservers, the secret
// and the master key kept in the data dir) is stood in for by values of the right shape.
const gateway = readGatewayConfig({
  ...process.env,
  DATABASE_URL: databaseUrl ?? "postgres://embedded",
  WEFT_IOSERVERS: ioserverUrls ?? Array.from({ length: ioserverCount }, (_, index) => `http://ioserver-${index + 1}`).join(","),
  WEFT_CLUSTER_SECRET: environment.text("WEFT_CLUSTER_SECRET") ?? "kept-in-the-data-dir",
  ...(environment.text("WEFT_MASTER_KEY") || environment.text("WEFT_MASTER_KEY_FILE") ? {} : { WEFT_MASTER_KEY: "0".repeat(64) }),
});
if (!gateway.ok || environment.problems.length > 0) {
  exitWithConfigProblems("weft start", [...environment.problems, ...(gateway.ok ? [] : gateway.problems)]);
}
const { config } = gateway;

const dataDir = resolve(environment.text("WEFT_DATA_DIR") ?? "data");
const started = Date.now();
const cluster = await startLocalCluster({
  dataDir,
  port: config.port,
  host: config.host,
  ioservers: ioserverCount,
  accessKey: environment.text("WEFT_ACCESS_KEY"),
  secretKey: environment.text("WEFT_SECRET_KEY"),
  region: config.region,
  databaseUrl,
  ioserverUrls: ioserverUrls === undefined ? undefined : config.ioserverUrls,
  gatewayStdout: "inherit",
});

console.log(`Weft is up in ${((Date.now() - started) / 1000).toFixed(1)} s
  endpoint    ${cluster.endpoint}
  region      ${cluster.region}
  access key  ${cluster.accessKey}
  secret key  ${cluster.secretKey}
  data dir    ${dataDir}  (${cluster.ioservers.length} ioservers${databaseUrl ? "" : ", embedded PostgreSQL"})

Try it:
  export AWS_ACCESS_KEY_ID=${cluster.accessKey} AWS_SECRET_ACCESS_KEY=${cluster.secretKey} AWS_DEFAULT_REGION=${cluster.region}
  aws --endpoint-url ${cluster.endpoint} s3 mb s3://photos
  aws --endpoint-url ${cluster.endpoint} s3 cp ./some-file s3://photos/
Ctrl-C stops the cluster.`);

const supervisor = superviseCluster(cluster, (message) => console.log(`[${new Date().toISOString()}] ${message}`));
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping Weft…");
    supervisor.stop();
    void cluster.stop().then(() => process.exit(0));
  });
}
