// Starts an ioserver as a child process (tests, `npm start`, the benchmark) and waits until it listens.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { IOSERVER_READY_PREFIX } from "./protocol.js";

export interface IoServerProcess {
  url: string;
  /** The folder's disk id when the server started; a fresh folder may take over a registered disk's id later. */
  diskId: string;
  dir: string;
  pid: number;
  /** SIGTERM, then wait for the exit (the server finishes in-flight requests first). */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would. */
  kill(): void;
  /** Settles when the process has exited, for whatever reason. */
  exited: Promise<void>;
}

const READY_TIMEOUT_MS = 20_000;
const STDERR_TAIL_BYTES = 8 * 1024;

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function killChildrenOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test runner that exits without stopping its servers (mocha --exit) must not leave them running.
  process.once("exit", () => {
    for (const child of liveChildren) child.kill("SIGKILL");
  });
}

// How every Weft process is started (the spawners here and in cluster/, the Dockerfile and compose.yaml).
// Both settings below cut the CPU a byte costs; docs/performance.md has the measurements.

/**
 * glibc malloc settings. By default glibc serves each buffer over 128 KiB (a 1 MiB disk read, a stripe) with a
 * fresh mmap and hands freed heap back to the kernel, so every such buffer is paid again in page faults, and on
 * a virtual machine a fault is dear: reading 1 GiB from the page cache into fresh 1 MiB buffers took 1.2–1.6 s
 * of kernel time, 0.2–0.4 s with these settings. Freed memory up to the trim threshold stays in the process for
 * the next buffer; two arenas instead of one per thread keep that from multiplying (20 MiB less gateway RSS).
 */
export const MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=4194304:glibc.malloc.trim_threshold=33554432:glibc.malloc.arena_max=2";

/**
 * V8 flags. Every socket read is a new Buffer, and V8 counts that memory against a small old-generation limit
 * (32 MB for a 16 MB heap): a streaming gateway ran a full mark-compact every 15–30 MB of body, 40–75 a second.
 * A 64 MB initial old space leaves room for a heap this size, and full collections become rare. Semi-spaces of
 * 8 MB: 2 MB lowered a streaming gateway's RSS before it had its memory reducer (gateway/src/memory-reducer.ts)
 * but cost 4 KiB PUTs ~25% more gateway CPU in scavenges; V8's default 16 MB saved no more CPU than 8 and kept
 * ~27 MiB more RSS in a full benchmark run (docs/performance.md).
 */
export const NODE_FLAGS = ["--initial-old-space-size=64", "--max-semi-space-size=8"];

/** The repository's root, found from this file whether it runs from source or from dist/. */
const REPO_ROOT = (() => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, "package-lock.json"))) return dir;
  }
  throw new Error("cannot find the repository root (package-lock.json) above ioserver/src/spawn");
})();

/**
 * The compiled entry point of a Weft process (`npm run build` writes dist/): its processes run as plain JavaScript,
 * not through tsx, whose loader thread and in-memory sources cost each process memory (docs/performance.md: an idle gateway
 * 107–113 MiB RSS under tsx, 90–93 compiled; streaming 5 GiB, 142–149 against 131–135). The test runner, `npm start`
 * and the benchmark build first; a missing build fails loudly.
 */
export function compiledEntry(source: string): string {
  const entry = join(REPO_ROOT, "dist", source.replace(/\.ts$/, ".js"));
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  return entry;
}

/** `env` with GLIBC_TUNABLES set to MALLOC_TUNABLES, unless the caller chose its own. */
export function withMallocTunables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return env.GLIBC_TUNABLES === undefined ? { ...env, GLIBC_TUNABLES: MALLOC_TUNABLES } : env;
}

/** WEFT_IOSERVER_NODE_ARGS: extra node flags for every ioserver, space-separated (e.g. `--cpu-prof --cpu-prof-dir=DIR`). */
function extraNodeArgs(): string[] {
  return (process.env.WEFT_IOSERVER_NODE_ARGS ?? "").split(" ").filter((arg) => arg !== "");
}

export async function spawnIoServer(options: {
  dir: string;
  secret: string;
  port?: number;
  host?: string;
  /** pino level for the child; defaults to WEFT_LOG_LEVEL, else the server's own default ("warn"). */
  logLevel?: string;
  /** A command that runs node for us, e.g. `ip netns exec NS` to start the server in a network namespace. */
  commandPrefix?: string[];
  /** Extra environment (e.g. WEFT_METRICS_TOKEN). */
  env?: Record<string, string>;
}): Promise<IoServerProcess> {
  const dir = resolve(options.dir);
  const [command, ...args] = [...(options.commandPrefix ?? []), process.execPath, ...NODE_FLAGS, ...extraNodeArgs(), compiledEntry("ioserver/src/main.ts")];
  const child = spawn(command!, args, {
    cwd: REPO_ROOT,
    env: withMallocTunables({
      ...process.env,
      ...options.env,
      WEFT_IOSERVER_DIR: dir,
      WEFT_IOSERVER_PORT: String(options.port ?? 0),
      WEFT_IOSERVER_HOST: options.host ?? "127.0.0.1",
      WEFT_CLUSTER_SECRET: options.secret,
      ...(options.logLevel ? { WEFT_LOG_LEVEL: options.logLevel } : {}),
    }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  killChildrenOnExit();
  liveChildren.add(child);
  const exited = new Promise<void>((resolveExit) => {
    child.once("exit", () => {
      liveChildren.delete(child);
      resolveExit();
    });
  });

  let stderrTail = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    process.stderr.write(chunk);
    stderrTail = (stderrTail + chunk.toString("utf8")).slice(-STDERR_TAIL_BYTES);
  });

  const ready = await new Promise<{ url: string; diskId: string }>((resolveReady, rejectReady) => {
    const lines = createInterface({ input: child.stdout! });
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      rejectReady(new Error(`ioserver on ${dir} ${why}; stderr:\n${stderrTail}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    child.once("exit", (code, signal) => fail(`exited (code ${code}, signal ${signal}) before it was ready`));
    child.once("error", (error) => fail(`could not start: ${error.message}`));
    lines.on("line", (line) => {
      if (settled || !line.startsWith(IOSERVER_READY_PREFIX)) return;
      settled = true;
      clearTimeout(timer);
      resolveReady(JSON.parse(line.slice(IOSERVER_READY_PREFIX.length)) as { url: string; diskId: string });
    });
  });

  return {
    url: ready.url,
    diskId: ready.diskId,
    dir,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
    kill() {
      child.kill("SIGKILL");
    },
    exited,
  };
}
