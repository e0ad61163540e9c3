// Test hosts on one machine: network namespaces on a private bridge, so that a multi-host cluster's processes talk
// over real interfaces that a test can cut (`ip link set … down`) without Docker and without touching any other
// network. Needs root and iproute2; `namespacesUnavailable` says why not, for the test to skip.
import { execFile, spawn } from "node:child_process";
import { createServer, type Server } from "node:net";
import { createInterface } from "node:readline";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** Every namespace and link made here is named with this prefix, so that a crashed run's leftovers can be found. */
const NAME_PREFIX = "weftmh-";
const BRIDGE = `${NAME_PREFIX}br`;
/** The test network, a /24 nobody else uses here: the bridge (the test process's side) is .1, host i is .11+i. */
const SUBNET_PREFIX = "10.77.0.";
const BRIDGE_ADDRESS = `${SUBNET_PREFIX}1`;
const READY_TIMEOUT_MS = 60_000;
/**
 * Held while a test network exists, so that runs take turns and none takes another's namespaces for leftovers: an
 * abstract unix socket, whose name binding is atomic and which the kernel frees when its holder dies, even by SIGKILL.
 */
const LOCK_SOCKET = "\0weft-test-network";
const LOCK_WAIT_MS = 150_000;
/** What a script run by `runScriptOn` prints, followed by JSON, once it is ready. */
export const SCRIPT_READY_PREFIX = "READY ";

export interface TestHost {
  name: string;
  namespace: string;
  address: string;
  /** Runs a command on this host: `ip netns exec <namespace>`, to put before the command and its arguments. */
  commandPrefix: string[];
  /** Pulls the host's cable: its link to the bridge goes down, and packets to and from it are dropped. */
  disconnect(): Promise<void>;
  reconnect(): Promise<void>;
}

export interface TestNetwork {
  host(name: string): TestHost;
  /** Kills whatever still runs on the hosts, then removes the namespaces, their links and the bridge. */
  destroy(): Promise<void>;
}

async function ip(...args: string[]): Promise<string> {
  return (await execFileAsync("ip", args)).stdout;
}

/** Why network namespaces cannot be made here (not root, no `ip`, not permitted), or undefined. */
export async function namespacesUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return "network namespaces need root";
  try {
    await ip("-V");
  } catch {
    return "the `ip` command (iproute2) is not installed";
  }
  // Not named with NAME_PREFIX: another run's clean-up must not take it for a leftover.
  const probe = `weft-probe-${process.pid}`;
  try {
    await ip("netns", "add", probe);
    await ip("netns", "del", probe);
  } catch (error) {
    return `cannot create a network namespace: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}`;
  }
  return undefined;
}

async function takeNetworkLock(): Promise<Server> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    const lock = createServer();
    const taken = await new Promise<boolean>((resolve, reject) => {
      lock.once("error", (error: NodeJS.ErrnoException) => (error.code === "EADDRINUSE" ? resolve(false) : reject(error)));
      lock.listen({ path: LOCK_SOCKET }, () => resolve(true));
    });
    if (taken) return lock.unref();
    if (Date.now() > deadline) throw new Error(`another run has held the test network for ${LOCK_WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Removes what an earlier run that crashed left: its processes, namespaces and links (all named NAME_PREFIX…). */
async function removeLeftovers(): Promise<void> {
  const namespaces = (await ip("netns", "list")).split("\n").map((line) => line.split(" ")[0]!).filter((name) => name.startsWith(NAME_PREFIX));
  for (const namespace of namespaces) await removeNamespace(namespace);
  const links = (await ip("-o", "link", "show"))
    .split("\n")
    .map((line) => /^\d+: ([^:@]+)/.exec(line)?.[1])
    .filter((name): name is string => name?.startsWith(NAME_PREFIX) ?? false);
  for (const link of links) await ip("link", "del", link).catch(() => undefined);
}

async function removeNamespace(namespace: string): Promise<void> {
  // A namespace outlives `ip netns del` while a process is in it, so its processes go first.
  const pids = (await ip("netns", "pids", namespace).catch(() => "")).split("\n").filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const pid of pids) while (isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 20));
  await ip("netns", "del", namespace).catch(() => undefined);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates one namespace per name, each with loopback and an `eth0` on a bridge in the root namespace; the bridge has
 * the network's first address, so the test process reaches every host directly.
 */
export async function createTestNetwork(names: string[]): Promise<TestNetwork> {
  const lock = await takeNetworkLock();
  const hosts = new Map<string, TestHost>();
  const destroy = async () => {
    for (const host of hosts.values()) await removeNamespace(host.namespace);
    await ip("link", "del", BRIDGE).catch(() => undefined);
    await new Promise((resolve) => lock.close(resolve));
  };
  try {
    await removeLeftovers();
    const taken = (await ip("-4", "-o", "addr", "show")).split("\n").find((line) => line.includes(` ${SUBNET_PREFIX}`));
    if (taken) throw new Error(`the test subnet ${SUBNET_PREFIX}0/24 is already in use here: ${taken.trim()}`);
    await ip("link", "add", BRIDGE, "type", "bridge");
    await ip("addr", "add", `${BRIDGE_ADDRESS}/24`, "dev", BRIDGE);
    await ip("link", "set", BRIDGE, "up");
    for (const [index, name] of names.entries()) {
      const namespace = `${NAME_PREFIX}${name}`;
      const address = `${SUBNET_PREFIX}${11 + index}`;
      // The root side of the host's cable carries the namespace's name; cutting it is what disconnect does.
      const cable = namespace;
      await ip("netns", "add", namespace);
      hosts.set(name, {
        name,
        namespace,
        address,
        commandPrefix: ["ip", "netns", "exec", namespace],
        disconnect: async () => void (await ip("link", "set", cable, "down")),
        reconnect: async () => void (await ip("link", "set", cable, "up")),
      });
      await ip("-n", namespace, "link", "set", "lo", "up");
      await ip("link", "add", cable, "type", "veth", "peer", "name", "eth0", "netns", namespace);
      await ip("link", "set", cable, "master", BRIDGE, "up");
      await ip("-n", namespace, "addr", "add", `${address}/24`, "dev", "eth0");
      await ip("-n", namespace, "link", "set", "eth0", "up");
    }
  } catch (error) {
    await destroy();
    throw error;
  }
  return {
    host(name) {
      const host = hosts.get(name);
      if (!host) throw new Error(`no test host ${name}`);
      return host;
    },
    destroy,
  };
}

export interface HostedProcess {
  /** What the process printed after its ready prefix, parsed as JSON. */
  ready: unknown;
  stop(): Promise<void>;
}

/**
 * Runs `node --import tsx <script> <args…>` on `host` and waits for its SCRIPT_READY_PREFIX line: for the processes
 * Weft has no spawner of its own for (ioservers and gateways have one, with a command prefix).
 */
export async function runScriptOn(host: TestHost, script: string, args: string[]): Promise<HostedProcess> {
  const [command, ...commandArgs] = [...host.commandPrefix, process.execPath, "--import", "tsx", script, ...args];
  const child = spawn(command!, commandArgs, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8000)));
  const ready = await new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} on ${host.name} not ready in ${READY_TIMEOUT_MS} ms:\n${stderr}`)), READY_TIMEOUT_MS);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!line.startsWith(SCRIPT_READY_PREFIX)) return;
      clearTimeout(timer);
      resolve(JSON.parse(line.slice(SCRIPT_READY_PREFIX.length)));
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} on ${host.name} exited with code ${code}:\n${stderr}`));
    });
  }).catch(async (error: unknown) => {
    child.kill("SIGKILL");
    await exited;
    throw error;
  });
  return {
    ready,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
