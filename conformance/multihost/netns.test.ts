// Weft over four hosts on one machine: network namespaces on a private bridge (conformance/support/netns.ts), real
// processes in each. Gateways run on hosts a and b, PostgreSQL on c, and six ioservers are spread a:2, b:2, c:1, d:1
// (STANDARD = 4+2). Clients write through one gateway and read through the other; then, while PUTs and GETs run,
// host d is cut off the network. Why d: a 4+2 write is acknowledged with k+1 = 5 slots on disk at least
// (docs/architecture.md, Degraded writes), so the host that goes may hold one disk of the six, and it holds neither a
// gateway nor PostgreSQL, so what is lost is a disk and nothing else. Reads and writes must go on, every acknowledged
// PUT must read back byte-exact, and once d is back both gateways must see its disk up and heal must make every
// object whole.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { AdminClient } from "../../cli/admin-client.js";
import { spawnGateway, type GatewayProcess } from "../../cluster/local-cluster.js";
import { newMasterKeyText } from "../../gateway/src/auth/master-keys.js";
import { DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY } from "../../gateway/src/config.js";
import type { ClusterStatus } from "../../gateway/src/admin/status.js";
import { spawnIoServer, type IoServerProcess } from "../../ioserver/src/spawn.js";
import { randomData, readAll } from "../support/bytes.js";
import { createTestNetwork, namespacesUnavailable, runScriptOn, type HostedProcess, type TestNetwork } from "../support/netns.js";
import { prng } from "../support/prng.js";
import { weftFor } from "../support/weft.js";

const BUCKET = "multihost";
const REGION = "us-east-1";
const KiB = 1024;
const MiB = 1024 * KiB;
const IOSERVERS_PER_HOST: Record<string, number> = { a: 2, b: 2, c: 1, d: 1 };
const GATEWAY_HOSTS = ["a", "b"];
const DATABASE_HOST = "c";
const CUT_HOST = "d";
const GATEWAY_PORT = 9000;
const POSTGRES_PORT = 5432;
const POSTGRES_HOST_SCRIPT = fileURLToPath(new URL("./postgres-host.ts", import.meta.url));
/** A request stuck on the cut host is given up by the client after this long (it is then not acknowledged). */
const REQUEST_TIMEOUT_MS = 20_000;
/** A new PUT-then-GET round starts this often, while fewer than LOAD_CONCURRENCY run. */
const LOAD_INTERVAL_MS = 150;
const LOAD_CONCURRENCY = 6;
const LOAD_OBJECT_SIZES = { min: 200 * KiB, max: 3 * MiB };
const SECONDS_UNDER_CUT = 8;

interface Operation {
  kind: "PUT" | "GET";
  key: string;
  startedAt: number;
  endedAt: number;
  error?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not seen within ${timeoutMs} ms: ${what}`);
    await sleep(250);
  }
}

describe("a cluster over four hosts on a private network (network namespaces)", function () {
  this.timeout(180_000);
  let dataDir: string | undefined;
  let network: TestNetwork | undefined;
  let postgres: HostedProcess | undefined;
  const ioservers: IoServerProcess[] = [];
  const gateways: GatewayProcess[] = [];
  const clients: S3Client[] = [];
  const admins: AdminClient[] = [];
  let cutDiskId: string;
  /** Every PUT answered 200, with the bytes it sent. */
  const acknowledged = new Map<string, Buffer>();

  before(async function () {
    // Another run's test network may have to be torn down first (createTestNetwork waits its turn).
    this.timeout(240_000);
    const unavailable = await namespacesUnavailable();
    // Skipped, and said so: network namespaces need root, the `ip` command and a kernel that lets this process make them.
    if (unavailable) {
      console.log(`      skipped: ${unavailable}`);
      this.skip();
    }
    dataDir = await mkdtemp(join(tmpdir(), "weft-multihost-"));
    network = await createTestNetwork(Object.keys(IOSERVERS_PER_HOST));
    const databaseHost = network.host(DATABASE_HOST);
    postgres = await runScriptOn(databaseHost, POSTGRES_HOST_SCRIPT, [join(dataDir, "postgres"), databaseHost.address, String(POSTGRES_PORT)]);
    const secret = randomBytes(32).toString("hex");
    const starting: Promise<IoServerProcess>[] = [];
    for (const [name, count] of Object.entries(IOSERVERS_PER_HOST)) {
      const host = network.host(name);
      for (let index = 1; index <= count; index++) {
        const dir = join(dataDir, `ioserver-${name}${index}`);
        await mkdir(dir);
        starting.push(spawnIoServer({ dir, secret, host: host.address, commandPrefix: host.commandPrefix, logLevel: process.env.WEFT_LOG_LEVEL ?? "fatal" }));
      }
    }
    ioservers.push(...(await Promise.all(starting)));
    cutDiskId = ioservers.find((ioserver) => new URL(ioserver.url).hostname === network!.host(CUT_HOST).address)!.diskId;

    const databaseUrl = (postgres.ready as { url: string }).url;
    // Every gateway of a cluster seals and opens access key secrets with the same master key.
    const masterKey = newMasterKeyText();
    // Both gateways start at once, as a deployment's do: migrations and disk registration take their locks.
    gateways.push(
      ...(await Promise.all(
        GATEWAY_HOSTS.map((name) => {
          const host = network!.host(name);
          const env = {
            DATABASE_URL: databaseUrl,
            WEFT_CLUSTER_SECRET: secret,
            WEFT_MASTER_KEY: masterKey,
            WEFT_IOSERVERS: ioservers.map((ioserver) => ioserver.url).join(","),
            WEFT_HOST: host.address,
            WEFT_PORT: String(GATEWAY_PORT),
            WEFT_ACCESS_KEY: DEFAULT_ACCESS_KEY,
            WEFT_SECRET_KEY: DEFAULT_SECRET_KEY,
            WEFT_REGION: REGION,
            WEFT_LOG_LEVEL: process.env.WEFT_LOG_LEVEL ?? "warn",
            // Heal runs only when the test asks, so that the writes made while a disk was away can be seen first.
            WEFT_HEAL_INTERVAL_MS: String(3_600_000),
          };
          return spawnGateway(env, process.env.WEFT_LOG_LEVEL ? "inherit" : "ignore", [], host.commandPrefix);
        }),
      )),
    );
    for (const gateway of gateways) {
      clients.push(
        new S3Client({
          endpoint: gateway.url,
          region: REGION,
          forcePathStyle: true,
          credentials: { accessKeyId: DEFAULT_ACCESS_KEY, secretAccessKey: DEFAULT_SECRET_KEY },
          // One attempt: a request that fails is reported as failed, not hidden by a retry.
          maxAttempts: 1,
          // The test compares every byte itself, so a wrong byte is reported as one, not as a checksum error.
          responseChecksumValidation: "WHEN_REQUIRED",
          requestHandler: new NodeHttpHandler({ connectionTimeout: 3_000, requestTimeout: REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true }),
        }),
      );
      admins.push(new AdminClient({ endpoint: gateway.url, accessKeyId: DEFAULT_ACCESS_KEY, secretAccessKey: DEFAULT_SECRET_KEY, region: REGION }));
    }
    await clients[0]!.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  after(async function () {
    this.timeout(60_000);
    for (const client of clients) client.destroy();
    // A test that failed mid-cut must not leave requests hanging on the way out.
    await network?.host(CUT_HOST).reconnect().catch(() => undefined);
    const stopping = [...gateways.map((gateway) => gateway.stop()), ...ioservers.map((ioserver) => ioserver.stop()), postgres?.stop()];
    await Promise.race([Promise.allSettled(stopping), sleep(15_000)]);
    // Whatever did not stop in time is killed with its namespace.
    await network?.destroy();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const status = (gateway: number) => admins[gateway]!.call<ClusterStatus>("GET", "status");
  const cutDiskStateSeenBy = async (gateway: number) => (await status(gateway)).disks.find((disk) => disk.id === cutDiskId)?.state;
  const everyGatewaySees = (state: "up" | "down") => async () =>
    (await Promise.all(gateways.map((_, gateway) => cutDiskStateSeenBy(gateway)))).every((seen) => seen === state);

  async function put(gateway: number, key: string, data: Buffer): Promise<void> {
    await clients[gateway]!.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data }));
    acknowledged.set(key, data);
  }

  async function expectBytes(gateway: number, key: string, expected: Buffer): Promise<void> {
    const got = await clients[gateway]!.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const bytes = await readAll(got.Body);
    assert.ok(bytes.equals(expected), `${key} through gateway ${GATEWAY_HOSTS[gateway]}: ${bytes.length} bytes, not the ${expected.length} written`);
  }

  it("reads back through one gateway, byte-exact, what was written through the other", async () => {
    // Inline (PostgreSQL), replicated small parts and striped 4+2 parts.
    for (const [writer, reader] of [[0, 1], [1, 0]] as const) {
      for (const size of [1_000, 40 * KiB, 3 * MiB + 5]) {
        const key = `across/${GATEWAY_HOSTS[writer]}-${size}`;
        await put(writer, key, randomData(size));
        await expectBytes(reader, key, acknowledged.get(key)!);
      }
    }
    const listed = await clients[1]!.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "across/" }));
    assert.deepEqual(listed.Contents?.map((entry) => entry.Key).sort(), [...acknowledged.keys()].sort());
  });

  it("keeps reading and writing while an ioserver host is cut off, loses nothing acknowledged, and sees the disk again", async () => {
    const seed = Number(process.env.WEFT_MULTIHOST_SEED ?? Date.now() % 1_000_000);
    console.log(`      load seed ${seed} (WEFT_MULTIHOST_SEED replays it)`);
    const random = prng(seed);
    const operations: Operation[] = [];
    const wrongBytes: string[] = [];
    let loadRunning = true;

    async function timed(kind: Operation["kind"], key: string, work: () => Promise<void>): Promise<void> {
      const operation: Operation = { kind, key, startedAt: Date.now(), endedAt: 0 };
      try {
        await work();
      } catch (error) {
        operation.error = `${(error as Error).name}: ${(error as Error).message}`;
        if (error instanceof assert.AssertionError) wrongBytes.push(operation.error);
      }
      operation.endedAt = Date.now();
      operations.push(operation);
    }

    async function loadRound(round: number): Promise<void> {
      const writer = round % 2;
      const key = `load/${round}`;
      const size = LOAD_OBJECT_SIZES.min + Math.floor(random() * (LOAD_OBJECT_SIZES.max - LOAD_OBJECT_SIZES.min));
      await timed("PUT", key, () => put(writer, key, randomData(size)));
      const written = [...acknowledged.keys()];
      const readKey = written[Math.floor(random() * written.length)]!;
      await timed("GET", readKey, () => expectBytes(1 - writer, readKey, acknowledged.get(readKey)!));
    }

    // Rounds start on a clock, as requests of many independent clients do: one stuck on the cut host holds up only itself.
    const rounds = new Set<Promise<void>>();
    const clock = (async () => {
      for (let round = 0; loadRunning; await sleep(LOAD_INTERVAL_MS)) {
        if (rounds.size >= LOAD_CONCURRENCY) continue;
        const running: Promise<void> = loadRound(round++).finally(() => rounds.delete(running));
        rounds.add(running);
      }
    })();
    const stopLoad = async () => {
      loadRunning = false;
      await clock;
      await Promise.all(rounds);
    };
    try {
      await until("a few PUTs before the cut", async () => operations.filter((operation) => operation.kind === "PUT" && !operation.error).length >= 4, 30_000);
      const cutAt = Date.now();
      await network!.host(CUT_HOST).disconnect();
      await until(`both gateways see disk ${cutDiskId} down`, everyGatewaySees("down"), 20_000);
      const seenDownAt = Date.now();
      await sleep(SECONDS_UNDER_CUT * 1000);
      const reconnectedAt = Date.now();
      await network!.host(CUT_HOST).reconnect();
      await until(`both gateways see disk ${cutDiskId} up again`, everyGatewaySees("up"), 20_000);
      const seenUpAt = Date.now();
      await sleep(2_000);
      await stopLoad();

      // Requests started before both gateways knew the disk was gone may wait on it (a connect timeout, a stalled
      // stream) or fail; they are reported, not judged.
      const inFlightAtCut = operations.filter((operation) => operation.startedAt < seenDownAt && operation.endedAt > cutAt);
      console.log(
        `      ${operations.length} operations; the disk was seen down ${seenDownAt - cutAt} ms after the cut and up ` +
          `${seenUpAt - reconnectedAt} ms after the reconnect; running across the cut:`,
      );
      for (const operation of inFlightAtCut) {
        const outcome = operation.error ?? "ok";
        console.log(`        ${operation.kind} ${operation.key}, ${operation.endedAt - operation.startedAt} ms (from ${operation.startedAt - cutAt} ms after the cut): ${outcome}`);
      }

      assert.deepEqual(wrongBytes, [], "no read returns wrong bytes");
      const others = operations.filter((operation) => !inFlightAtCut.includes(operation));
      assert.deepEqual(others.filter((operation) => operation.error).map((operation) => `${operation.kind} ${operation.key}: ${operation.error}`), [], "every operation not running across the cut succeeds");
      const underCut = others.filter((operation) => operation.startedAt >= seenDownAt && operation.endedAt <= reconnectedAt);
      assert.ok(underCut.filter((operation) => operation.kind === "PUT").length >= 3, "PUTs succeeded while the host was cut off");
      assert.ok(underCut.filter((operation) => operation.kind === "GET").length >= 3, "GETs succeeded while the host was cut off");
    } finally {
      await stopLoad();
    }

    // The writes made while the disk was away lack its slot; heal puts it back.
    const weft = weftFor({ endpoint: gateways[1]!.url, accessKey: DEFAULT_ACCESS_KEY, secretKey: DEFAULT_SECRET_KEY });
    const beforeHeal = await weft.status();
    assert.equal(beforeHeal.disks.find((disk) => disk.id === cutDiskId)?.state, "up", "weft status shows the disk up");
    assert.ok(beforeHeal.durability.totals.degraded.versions > 0, "writes under the cut were stored without the cut disk's slot");
    const healed = await weft.run(["heal", "--wait"]);
    assert.equal(healed.code, 0, healed.stdout + healed.stderr);
    const afterHeal = await weft.status();
    assert.deepEqual(afterHeal.durability.totals.degraded, { versions: 0, bytes: 0 });
    assert.deepEqual(afterHeal.durability.totals.unreadable, { versions: 0, bytes: 0 });

    // Nothing acknowledged is lost: every PUT that got 200 reads back byte-exact, through either gateway.
    let reader = 0;
    for (const [key, data] of acknowledged) await expectBytes(reader++ % 2, key, data);
  });
});
