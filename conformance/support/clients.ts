// Helpers for the client suites (conformance/clients/): running real client programs against a test cluster,
// installing the Debian ones when missing, and temp file trees to sync.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { pipeline } from "node:stream/promises";
import { patternStream } from "./bytes.js";
import type { TestCluster } from "./cluster.js";

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  input?: string | Buffer;
  /** Resolve with the exit code instead of rejecting when the program fails. */
  allowFailure?: boolean;
}

/** Runs a program to completion; rejects with its command line, exit code and output tail when it fails. */
export function runProgram(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries({ ...process.env, ...options.env })) if (value !== undefined) env[name] = value;
    const child = spawn(command, args, { env, cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const result = { stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), code: code ?? 128 };
      if (result.code === 0 || options.allowFailure) return resolve(result);
      const tail = (text: string) => text.slice(-4000);
      reject(new Error(`${command} ${args.join(" ")} exited ${code ?? signal}\n--- stdout\n${tail(result.stdout)}\n--- stderr\n${tail(result.stderr)}`));
    });
    child.stdin.end(options.input);
  });
}

function onPath(binary: string): boolean {
  return (process.env.PATH ?? "").split(":").some((dir) => dir && existsSync(join(dir, binary)));
}

/**
 * The aws cli v2 from Debian's `awscli` lives at /usr/bin/aws; v1 (pip) is run as `python3 -m awscli`, so the
 * two stay callable side by side whichever `aws` comes first on PATH.
 */
export const AWS_CLI_V2 = "/usr/bin/aws";

const DEBIAN_CLIENTS: { package: string; present: () => boolean }[] = [
  { package: "rclone", present: () => onPath("rclone") },
  { package: "s3cmd", present: () => onPath("s3cmd") },
  { package: "awscli", present: () => existsSync(AWS_CLI_V2) },
];

let installing: Promise<void> | undefined;

/** Installs the Debian client packages that are missing (once per process; a no-op when all are there). */
export function ensureDebianClients(): Promise<void> {
  installing ??= (async () => {
    const missing = DEBIAN_CLIENTS.filter((client) => !client.present()).map((client) => client.package);
    if (missing.length === 0) return;
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    await runProgram("apt-get", ["update", "-q"], { env });
    await runProgram("apt-get", ["install", "-y", "-q", ...missing], { env });
  })();
  return installing;
}

const versionsLogged = new Set<string>();

/** Prints a client's version once per process, for the closing compatibility table. */
export function logClientVersion(client: string, version: string): void {
  if (versionsLogged.has(client)) return;
  versionsLogged.add(client);
  console.log(`      [client] ${client}: ${version.trim().split("\n")[0]}`);
}

/** Environment for the AWS-family clients: the cluster's key pair and region, and no user config files. */
export function awsEnv(cluster: TestCluster): Record<string, string | undefined> {
  return {
    AWS_ACCESS_KEY_ID: cluster.accessKey,
    AWS_SECRET_ACCESS_KEY: cluster.secretKey,
    AWS_DEFAULT_REGION: cluster.region,
    AWS_REGION: cluster.region,
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_PAGER: "",
  };
}

/**
 * The Python interpreter's real path (which skips the pyenv shim, a second per call) and the `__version__` of each
 * of `modules`, or undefined when one of them cannot be imported: boto3, botocore and the aws cli v1 come from pip
 * on the developer image; Debian's awscli (v2) brings none of them.
 */
export async function pipPython(modules: string[]): Promise<{ executable: string; versions: string[] } | undefined> {
  const script = `import sys, ${modules.join(", ")}; print(sys.executable); print(${modules.map((name) => `${name}.__version__`).join(", ")})`;
  const probe = await runProgram("python3", ["-c", script], { allowFailure: true });
  if (probe.code !== 0) return undefined;
  const [executable, versions] = probe.stdout.trim().split("\n");
  return { executable: executable!, versions: versions!.split(" ") };
}

/**
 * Runs a Python script (boto3 and friends) with awsEnv: `args` and the cluster's endpoint go as JSON on argv, and the
 * last line the script prints comes back parsed as JSON.
 */
export async function runPythonJson(python: string, script: string, cluster: TestCluster, args: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const { stdout } = await runProgram(python, ["-c", script, JSON.stringify({ endpoint: cluster.endpoint, ...args })], { env: awsEnv(cluster) });
  return JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, any>;
}

/** A temp dir removed by the returned cleanup. */
export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `weft-${prefix}-`));
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/** Writes `files` (relative path → content) under `root`, creating folders on the way. */
export async function writeTree(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, name)), { recursive: true });
    await writeFile(join(root, name), content);
  }
}

/** Writes patternStream(size, seed) to a file and returns its MD5 (files too big to hold in memory twice). */
export async function writePatternFile(path: string, size: number, seed: number): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  const hash = createHash("md5");
  const source = patternStream(size, seed);
  source.on("data", (chunk: Buffer) => hash.update(chunk));
  await pipeline(source, createWriteStream(path));
  return hash.digest("hex");
}

export async function fileMd5(path: string): Promise<string> {
  const hash = createHash("md5");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Every file under `root`, as sorted paths relative to it. */
export async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(root, join(entry.parentPath, entry.name))).sort();
}
