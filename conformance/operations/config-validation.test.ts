// A bad environment stops the gateway, an ioserver and `npm start` before they start anything: every problem on its
// own line naming the variable, exit status 2.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const LOG_LEVELS = "trace, debug, info, warn, error, fatal, silent";

interface Run {
  status: number | null;
  stdout: string;
  stderrLines: string[];
}

/**
 * Runs an entry point from source with only `env` (and PATH) in its environment. With `until`, the process is
 * killed once `until` resolves, for a start that is meant to get past the checks.
 */
function run(entry: string, env: Record<string, string>, args: string[] = [], until?: Promise<void>): Promise<Run> {
  const child = spawn(process.execPath, ["--import", "tsx", entry, ...args], { cwd: ROOT, env: { PATH: process.env.PATH!, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  void until?.then(() => child.kill("SIGKILL"));
  return new Promise((resolve) => {
    child.once("close", (status) => resolve({ status, stdout, stderrLines: stderr.split("\n").filter(Boolean) }));
  });
}

const PROGRAMS: Record<string, string> = {
  "gateway/src/main.ts": "weft gateway",
  "ioserver/src/main.ts": "weft ioserver",
  "cluster/start-local.ts": "weft start",
};

/** Runs the entry point, which must exit with status 2 after printing exactly these problems, and print nothing else. */
async function expectProblems(entry: string, env: Record<string, string>, problems: string[], args: string[] = []): Promise<void> {
  const result = await run(entry, env, args);
  assert.deepEqual(result.stderrLines, problems.map((problem) => `${PROGRAMS[entry]}: ${problem}`));
  assert.equal(result.status, 2);
  assert.equal(result.stdout, "");
}

/** A TCP listener that counts connections: whether a process reached for PostgreSQL or an ioserver at all. */
class Sentinel {
  connections = 0;
  readonly reached: Promise<void>;
  private readonly server: Server;

  constructor() {
    let reached!: () => void;
    this.reached = new Promise((resolve) => (reached = resolve));
    this.server = createServer((socket) => {
      this.connections++;
      reached();
      socket.destroy();
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as { port: number }).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe("configuration checked before anything starts", function () {
  this.timeout(60_000);
  let scratch: string;
  const postgres = new Sentinel();
  const ioserver = new Sentinel();
  let goodGatewayEnv: Record<string, string>;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), "weft-config-"));
    const [postgresPort, ioserverPort] = await Promise.all([postgres.listen(), ioserver.listen()]);
    goodGatewayEnv = {
      DATABASE_URL: `postgres://weft:weft@127.0.0.1:${postgresPort}/weft`,
      // Six URLs for STANDARD=4+2 (the gateway counts them, it does not ask whether they are distinct).
      WEFT_IOSERVERS: Array.from({ length: 6 }, (_, index) => `http://127.0.0.1:${ioserverPort}/${index}`).join(","),
      WEFT_CLUSTER_SECRET: "secret",
      WEFT_MASTER_KEY: "ab".repeat(32),
      WEFT_PORT: "0",
    };
  });
  after(async () => {
    await Promise.all([postgres.close(), ioserver.close()]);
    await rm(scratch, { recursive: true, force: true });
  });

  it("the gateway lists every problem and exits 2 without touching PostgreSQL or an ioserver", async () => {
    await expectProblems("gateway/src/main.ts", { ...goodGatewayEnv, WEFT_PORT: "abc", WEFT_STORAGE_CLASSES: "STANDARD=9+9", WEFT_PG_POOL: "x", WEFT_LOG_LEVEL: "loud" }, [
      "WEFT_STORAGE_CLASSES=STANDARD=9+9: STANDARD=9+9: the erasure code takes 1 to 24 data slots (k) and 0 to 6 parity slots (m)",
      "WEFT_PORT=abc: not a port number (0 to 65535)",
      "WEFT_PG_POOL=x: not a whole number",
      `WEFT_LOG_LEVEL=loud: must be one of ${LOG_LEVELS}`,
    ]);
    assert.equal(postgres.connections + ioserver.connections, 0);
  });

  it("the gateway refuses a port out of range, a database URL of another kind and classes wider than its ioservers", async () => {
    const twoIoservers = goodGatewayEnv.WEFT_IOSERVERS.split(",").slice(0, 2).join(",");
    await expectProblems("gateway/src/main.ts", { ...goodGatewayEnv, WEFT_PORT: "70000", DATABASE_URL: "mysql://root:hunter2@db/weft", WEFT_IOSERVERS: twoIoservers }, [
      "DATABASE_URL: not a postgres:// or postgresql:// URL",
      "WEFT_STORAGE_CLASSES: STANDARD=4+2 puts each part on 6 disks, but only 2 ioservers are configured",
      "WEFT_STORAGE_CLASSES: REDUCED_REDUNDANCY=4+1 puts each part on 5 disks, but only 2 ioservers are configured",
      "WEFT_PORT=70000: not a port number (0 to 65535)",
    ]);
    assert.equal(postgres.connections + ioserver.connections, 0);
  });

  it("with those problems fixed the same environment gets past the checks and reaches for PostgreSQL", async () => {
    const result = await run("gateway/src/main.ts", goodGatewayEnv, [], postgres.reached);
    assert.ok(postgres.connections > 0, `the gateway never reached PostgreSQL: ${result.stderrLines.join("\n")}`);
    assert.notEqual(result.status, 2);
    postgres.connections = 0;
  });

  it("an ioserver lists every problem, flags named as flags, and creates no folder", async () => {
    const dir = join(scratch, "disk");
    await expectProblems("ioserver/src/main.ts", { WEFT_IOSERVER_DIR: dir, WEFT_IOSERVER_PORT: "99999", WEFT_LOG_LEVEL: "loud" }, [
      "WEFT_IOSERVER_PORT=99999: not a port number (0 to 65535)",
      "WEFT_CLUSTER_SECRET: required (the secret shared with the gateways)",
      `WEFT_LOG_LEVEL=loud: must be one of ${LOG_LEVELS}`,
    ]);
    await expectProblems(
      "ioserver/src/main.ts",
      { WEFT_CLUSTER_SECRET: "secret", WEFT_IOSERVER_PORT: "9100" },
      ["WEFT_IOSERVER_DIR: required (the folder this ioserver keeps its datafiles in)", "--port=http: not a port number (0 to 65535)"],
      ["--port", "http"],
    );
    assert.equal(existsSync(dir), false);
  });

  it("npm start checks its own variables and the gateway's by the gateway's rules, before any folder or process", async () => {
    const dataDir = join(scratch, "data");
    await expectProblems("cluster/start-local.ts", { WEFT_DATA_DIR: dataDir, WEFT_IOSERVER_COUNT: "3", WEFT_PORT: "abc", WEFT_LOG_LEVEL: "loud", WEFT_STRIPE_UNIT: "1000" }, [
      "WEFT_STORAGE_CLASSES: STANDARD=4+2 puts each part on 6 disks, but only 3 ioservers are configured",
      "WEFT_STORAGE_CLASSES: REDUCED_REDUNDANCY=4+1 puts each part on 5 disks, but only 3 ioservers are configured",
      "WEFT_STRIPE_UNIT=1000: must be at least 4096",
      "WEFT_PORT=abc: not a port number (0 to 65535)",
      `WEFT_LOG_LEVEL=loud: must be one of ${LOG_LEVELS}`,
    ]);
    await expectProblems("cluster/start-local.ts", { WEFT_DATA_DIR: dataDir, WEFT_IOSERVER_COUNT: "six", DATABASE_URL: "http://db/weft" }, [
      "WEFT_IOSERVER_COUNT=six: not a whole number",
      "DATABASE_URL: not a postgres:// or postgresql:// URL",
    ]);
    assert.equal(existsSync(dataDir), false, "no data dir, so no PostgreSQL and no ioserver folder either");
  });
});
