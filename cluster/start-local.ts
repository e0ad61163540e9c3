// `npm start`: a working local cluster in one terminal. Ctrl-C stops every process; data stays in WEFT_DATA_DIR.
import { resolve } from "node:path";
import { startLocalCluster } from "./local-cluster.js";

const dataDir = resolve(process.env.WEFT_DATA_DIR ?? "data");
const started = Date.now();
const cluster = await startLocalCluster({
  dataDir,
  port: Number(process.env.WEFT_PORT ?? 9000),
  host: process.env.WEFT_HOST ?? "127.0.0.1",
  ioservers: Number(process.env.WEFT_IOSERVER_COUNT ?? 6),
  accessKey: process.env.WEFT_ACCESS_KEY,
  secretKey: process.env.WEFT_SECRET_KEY,
  region: process.env.WEFT_REGION,
  databaseUrl: process.env.DATABASE_URL,
  ioserverUrls: process.env.WEFT_IOSERVERS ? process.env.WEFT_IOSERVERS.split(",").map((url) => url.trim()) : undefined,
  gatewayStdout: "inherit",
});

console.log(`Weft is up in ${((Date.now() - started) / 1000).toFixed(1)} s
  endpoint    ${cluster.endpoint}
  region      ${cluster.region}
  access key  ${cluster.accessKey}
  secret key  ${cluster.secretKey}
  data dir    ${dataDir}  (${cluster.ioservers.length} ioservers${process.env.DATABASE_URL ? "" : ", embedded PostgreSQL"})

Try it:
  export AWS_ACCESS_KEY_ID=${cluster.accessKey} AWS_SECRET_ACCESS_KEY=${cluster.secretKey} AWS_DEFAULT_REGION=${cluster.region}
  aws --endpoint-url ${cluster.endpoint} s3 mb s3://photos
  aws --endpoint-url ${cluster.endpoint} s3 cp ./some-file s3://photos/
Ctrl-C stops the cluster.`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping Weft…");
    void cluster.stop().then(() => process.exit(0));
  });
}
