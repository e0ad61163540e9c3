// A whole Weft cluster on one machine: embedded PostgreSQL, N ioservers on folders under one data dir, and a
// gateway process. `npm start`, the tests and the benchmark all start clusters through this one function.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../meta/src/embedded.js";
import { compiledEntry, NODE_FLAGS, spawnIoServer, withMallocTunables, type IoServerProcess } from "../ioserver/src/spawn.js";
import { newMasterKeyText } from "../gateway/src/auth/master-keys.js";
import { DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY } from "../gateway/src/config.js";

const liveGateways = new Set<ChildProcess>();
// A test runner that exits without stopping its cluster (mocha --exit) must not leave a gateway running.
process.once("exit", () => {
  for (const child of liveGateways) child.kill("SIGKILL");
});

export interface LocalClusterOptions {
  dataDir: string;
  /** Gateway port; 0 picks a free one. */
  port?: number;
  host?: string;
  ioservers?: number;
  accessKey?: string;
  secretKey?: string;
  region?: string;
  /** Use this PostgreSQL instead of starting an embedded one. */
  databaseUrl?: string;
  /** Use these ioservers instead of starting local ones. */
  ioserverUrls?: string[];
  /** Extra environment for the gateway (WEFT_STRIPE_UNIT, WEFT_LOG_LEVEL, ...). */
  gatewayEnv?: Record<string, string>;
  /** Where the gateway's log lines go (a function is given each line); default: discarded. */
  gatewayStdout?: GatewayStdout;
  /** pino level of the ioservers (default: WEFT_LOG_LEVEL, else theirs). */
  ioserverLogLevel?: string;
  /** Extra environment for every ioserver (e.g. WEFT_METRICS_TOKEN). */
  ioserverEnv?: Record<string, string>;
  /** Extra node flags for the gateway process, e.g. ["--cpu-prof"] to profile it. */
  gatewayNodeArgs?: string[];
}

export type GatewayStdout = "inherit" | "ignore" | ((line: string) => void);

export interface GatewayProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
  kill(): Promise<void>;
  /** Settles when the process has exited, for whatever reason. */
  exited: Promise<void>;
}

export interface LocalCluster {
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
  databaseUrl: string;
  clusterSecret: string;
  ioservers: IoServerProcess[];
  gateway: GatewayProcess;
  /** The embedded PostgreSQL; undefined when the cluster uses `databaseUrl`. */
  postgres: EmbeddedPostgres | undefined;
  /** Starts ioserver `index` again on its folder and port (after stop() or kill()). */
  restartIoServer(index: number): Promise<IoServerProcess>;
  /** Starts the gateway again with the same settings, changed by `env` from now on (after gateway.stop() or kill()). */
  restartGateway(env?: Record<string, string>): Promise<GatewayProcess>;
  /** SIGKILLs the embedded PostgreSQL's postmaster, as a crash would (fault tests; not with `databaseUrl`). */
  killPostgres(): Promise<void>;
  /** Starts the embedded PostgreSQL again on its folder and port (after killPostgres). */
  restartPostgres(): Promise<void>;
  stop(): Promise<void>;
}

/** The cluster secret lives in the data dir so that a restarted cluster still trusts its own ioservers. */
async function clusterSecretFor(dataDir: string): Promise<string> {
  if (process.env.WEFT_CLUSTER_SECRET) return process.env.WEFT_CLUSTER_SECRET;
  const file = join(dataDir, "cluster-secret");
  try {
    return (await readFile(file, "utf8")).trim();
  } catch {
    const secret = randomBytes(32).toString("hex");
    await writeFile(file, `${secret}\n`, { mode: 0o600 });
    return secret;
  }
}

/**
 * The master key that seals access key secrets (gateway/src/auth/master-keys.ts), kept in the data dir beside
 * PostgreSQL's files; WEFT_MASTER_KEY or WEFT_MASTER_KEY_FILE in the environment take its place.
 */
async function masterKeyEnvironment(dataDir: string): Promise<Record<string, string>> {
  if (process.env.WEFT_MASTER_KEY) return { WEFT_MASTER_KEY: process.env.WEFT_MASTER_KEY };
  if (process.env.WEFT_MASTER_KEY_FILE) return { WEFT_MASTER_KEY_FILE: process.env.WEFT_MASTER_KEY_FILE };
  const file = join(dataDir, "master-key");
  try {
    await readFile(file, "utf8");
  } catch {
    await writeFile(file, `${newMasterKeyText()}\n`, { mode: 0o600 });
  }
  return { WEFT_MASTER_KEY_FILE: file };
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once("exit", () => resolve()));
}

/** `commandPrefix` runs node through another command, e.g. `ip netns exec NS` to start it in a network namespace. */
export async function spawnGateway(env: Record<string, string>, stdout: GatewayStdout, nodeArgs: string[] = [], commandPrefix: string[] = []): Promise<GatewayProcess> {
  const [command, ...args] = [...commandPrefix, process.execPath, ...NODE_FLAGS, ...nodeArgs, compiledEntry("gateway/src/main.ts")];
  const child = spawn(command!, args, {
    env: withMallocTunables({ ...process.env, ...env }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  liveGateways.add(child);
  child.once("exit", () => liveGateways.delete(child));
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
    process.stderr.write(chunk);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in 30 s:\n${stderr}`)), 30_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      if (line.startsWith("WEFT_GATEWAY_READY ")) {
        clearTimeout(timer);
        resolve((JSON.parse(line.slice("WEFT_GATEWAY_READY ".length)) as { url: string }).url);
      } else if (stdout === "inherit") {
        process.stdout.write(`${line}\n`);
      } else if (stdout !== "ignore") {
        stdout(line);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with code ${code}:\n${stderr}`));
    });
  });
  return {
    url,
    pid: child.pid!,
    async stop() {
      child.kill("SIGTERM");
      await exited(child);
    },
    async kill() {
      child.kill("SIGKILL");
      await exited(child);
    },
    exited: exited(child),
  };
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const { dataDir } = options;
  await mkdir(dataDir, { recursive: true });
  const clusterSecret = await clusterSecretFor(dataDir);
  const accessKey = options.accessKey ?? DEFAULT_ACCESS_KEY;
  const secretKey = options.secretKey ?? DEFAULT_SECRET_KEY;
  const region = options.region ?? "us-east-1";
  const host = options.host ?? "127.0.0.1";

  let postgres: EmbeddedPostgres | undefined;
  const ioservers: IoServerProcess[] = [];
  const ioserverDirs: string[] = [];
  const ioserverPorts: number[] = [];
  let gateway: GatewayProcess | undefined;

  const stop = async () => {
    await gateway?.stop().catch(() => undefined);
    await Promise.all(ioservers.map((ioserver) => ioserver.stop().catch(() => undefined)));
    await postgres?.stop().catch(() => undefined);
  };

  try {
    const postgresStarting = options.databaseUrl ? undefined : startEmbeddedPostgres({ dataDir: join(dataDir, "postgres") });
    let ioserverUrls = options.ioserverUrls;
    if (!ioserverUrls) {
      const count = options.ioservers ?? 6;
      for (let index = 0; index < count; index++) ioserverDirs.push(join(dataDir, `ioserver-${index + 1}`));
      await Promise.all(ioserverDirs.map((dir) => mkdir(dir, { recursive: true })));
      ioservers.push(...(await Promise.all(ioserverDirs.map((dir) => spawnIoServer({ dir, secret: clusterSecret, host, logLevel: options.ioserverLogLevel, env: options.ioserverEnv })))));
      for (const ioserver of ioservers) ioserverPorts.push(Number(new URL(ioserver.url).port));
      ioserverUrls = ioservers.map((ioserver) => ioserver.url);
    }
    postgres = await postgresStarting;
    const databaseUrl = options.databaseUrl ?? postgres!.url;

    const gatewayEnv: Record<string, string> = {
      DATABASE_URL: databaseUrl,
      WEFT_CLUSTER_SECRET: clusterSecret,
      ...(await masterKeyEnvironment(dataDir)),
      WEFT_IOSERVERS: ioserverUrls.join(","),
      WEFT_HOST: host,
      WEFT_PORT: String(options.port ?? 9000),
      WEFT_ACCESS_KEY: accessKey,
      WEFT_SECRET_KEY: secretKey,
      WEFT_REGION: region,
      WEFT_LOG_LEVEL: process.env.WEFT_LOG_LEVEL ?? "warn",
      ...options.gatewayEnv,
    };
    const stdout = options.gatewayStdout ?? "ignore";
    gateway = await spawnGateway(gatewayEnv, stdout, options.gatewayNodeArgs);

    const cluster: LocalCluster = {
      endpoint: gateway.url,
      region,
      accessKey,
      secretKey,
      databaseUrl,
      clusterSecret,
      ioservers,
      gateway,
      postgres,
      async restartIoServer(index) {
        const ioserver = await spawnIoServer({ dir: ioserverDirs[index], secret: clusterSecret, host, port: ioserverPorts[index], logLevel: options.ioserverLogLevel, env: options.ioserverEnv });
        ioservers[index] = ioserver;
        return ioserver;
      },
      async restartGateway(env = {}) {
        Object.assign(gatewayEnv, env);
        gatewayEnv.WEFT_PORT = String(new URL(cluster.endpoint).port);
        gateway = await spawnGateway(gatewayEnv, stdout, options.gatewayNodeArgs);
        cluster.gateway = gateway;
        return gateway;
      },
      async killPostgres() {
        if (!postgres) throw new Error("this cluster's PostgreSQL is not embedded");
        // The backends exit once they notice their postmaster is gone; the next start clears what remains.
        process.kill(postgres.pid, "SIGKILL");
        await postgres.exited;
      },
      async restartPostgres() {
        if (!postgres) throw new Error("this cluster's PostgreSQL is not embedded");
        postgres = await startEmbeddedPostgres({ dataDir: join(dataDir, "postgres"), port: Number(new URL(databaseUrl).port) });
        cluster.postgres = postgres;
      },
      stop,
    };
    return cluster;
  } catch (error) {
    await stop();
    throw error;
  }
}
