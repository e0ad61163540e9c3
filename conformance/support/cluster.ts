// Test clusters: a real embedded PostgreSQL, real ioserver processes on temp dirs and a real gateway process on
// an ephemeral port, driven through real clients.
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalCluster, type LocalCluster, type LocalClusterOptions } from "../../cluster/local-cluster.js";
import { AdminClient } from "../../cli/admin-client.js";

export interface TestCluster extends LocalCluster {
  dataDir: string;
  /** An SDK client with its defaults (aws-chunked + CRC32 trailer uploads), path-style addressing. */
  client(overrides?: Partial<S3ClientConfig>): S3Client;
  /** An SDK client for another user: a new user `name` (created through the admin API) with a new key. */
  strangerClient(name: string): Promise<S3Client>;
  /** The admin API's client, with the cluster's admin key. */
  admin(): AdminClient;
  /** A new access key of user `user` (admin API), and an SDK client using it. */
  createKey(user: string, scope?: { readOnly?: boolean; buckets?: string[] }): Promise<{ accessKeyId: string; secretAccessKey: string; client: S3Client }>;
  /** An SDK client using virtual-hosted addressing: `<bucket>.localhost:<port>`, resolved to 127.0.0.1 here. */
  virtualHostedClient(): S3Client;
  destroy(): Promise<void>;
  stopKeepingData(): Promise<void>;
}

/** Resolves every name to loopback, so `<bucket>.localhost` reaches the test gateway without touching DNS. */
const loopbackAgent = new Agent({
  keepAlive: true,
  lookup: (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: "127.0.0.1", family: 4 }]);
    else (callback as (e: null, a: string, f: number) => void)(null, "127.0.0.1", 4);
  },
});

/** Starts a cluster on a new temp dir, or on `options.dataDir` to restart one that was stopped. */
export async function startTestCluster(options: Partial<LocalClusterOptions> = {}): Promise<TestCluster> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "weft-test-")));
  const cluster = await startLocalCluster({
    dataDir,
    port: 0,
    // Fault tests make the ioservers log every checksum failure they catch; WEFT_LOG_LEVEL=info shows them.
    ioserverLogLevel: process.env.WEFT_LOG_LEVEL ?? "fatal",
    ...options,
    gatewayEnv: { WEFT_GC_INTERVAL_MS: "500", ...options.gatewayEnv },
  });
  const clients: S3Client[] = [];
  const make = (config: S3ClientConfig) => {
    const client = new S3Client({
      region: cluster.region,
      credentials: { accessKeyId: cluster.accessKey, secretAccessKey: cluster.secretKey },
      ...config,
    });
    clients.push(client);
    return client;
  };
  const admin = () => new AdminClient({ endpoint: cluster.endpoint, accessKeyId: cluster.accessKey, secretAccessKey: cluster.secretKey, region: cluster.region });
  const createKey = async (user: string, scope: { readOnly?: boolean; buckets?: string[] } = {}) => {
    const key = await admin().call<{ accessKeyId: string; secretAccessKey: string }>("POST", "key/create", { user, ...scope });
    const client = make({ endpoint: cluster.endpoint, forcePathStyle: true, credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey } });
    return { ...key, client };
  };
  return Object.assign(cluster, {
    dataDir,
    client: (overrides = {}) => make({ endpoint: cluster.endpoint, forcePathStyle: true, ...overrides }),
    async strangerClient(name: string) {
      await admin().call("POST", "user/create", { name });
      return (await createKey(name)).client;
    },
    admin,
    createKey,
    virtualHostedClient: () =>
      make({
        endpoint: cluster.endpoint.replace("127.0.0.1", "localhost"),
        forcePathStyle: false,
        requestHandler: new NodeHttpHandler({ httpAgent: loopbackAgent }),
      }),
    async destroy() {
      for (const client of clients) client.destroy();
      await cluster.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
    /** Stops every process and keeps the data dir, for a restart with startTestCluster({ dataDir }). */
    async stopKeepingData() {
      for (const client of clients) client.destroy();
      await cluster.stop();
    },
  });
}
