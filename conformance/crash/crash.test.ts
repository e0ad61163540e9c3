// The randomized crash test: cycles of mixed PUT / GET / DELETE / multipart load during which an ioserver, the
// gateway or PostgreSQL is SIGKILLed at a random moment and restarted; then heal. It asserts that no acknowledged
// object is lost, that no read ever returns wrong bytes, and (after a scrub and the collector) that no datafile is left
// that nothing references. Seeded: the seed is printed, and WEFT_CRASH_SEED=<seed> replays a run's choices (not its
// timing). WEFT_CRASH_CYCLES (default 3) and WEFT_CRASH_SECONDS (load per cycle, default 6) run it longer;
// WEFT_CRASH_VICTIM=ioserver|gateway|postgres kills only that.
import assert from "node:assert/strict";
import { createHash, randomInt } from "node:crypto";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { IoClient } from "../../ioserver/src/client.js";
import { connect, type Sql } from "../../meta/src/db.js";
import { readAll } from "../support/bytes.js";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { nextDiskRound, weftFor } from "../support/weft.js";
import { prng } from "../support/prng.js";

const BUCKET = "crash";
const KiB = 1024;
const MiB = 1024 * KiB;
const SEED = process.env.WEFT_CRASH_SEED ? Number(process.env.WEFT_CRASH_SEED) : randomInt(2 ** 31);
const CYCLES = Number(process.env.WEFT_CRASH_CYCLES ?? 3);
const LOAD_SECONDS = Number(process.env.WEFT_CRASH_SECONDS ?? 6);
const WORKERS = 4;
const KEYS_PER_WORKER = 6;


/** Bytes that name the write that made them, so a wrong answer says whose bytes it is. */
function contentOf(key: string, write: number, size: number): Buffer {
  const seed = createHash("sha256").update(`${key}/${write}`).digest();
  const bytes = Buffer.allocUnsafe(size);
  for (let offset = 0; offset < size; offset += seed.length) seed.copy(bytes, offset, 0, Math.min(seed.length, size - offset));
  return bytes;
}

const digest = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/**
 * What a key may hold. Each key has one worker, so its operations are sequential: an acknowledged write or delete
 * leaves exactly its outcome; one that failed may or may not have happened, so its outcome joins the candidates.
 */
class KeyModel {
  /** sha256 of the possible contents; null: no object. */
  candidates = new Set<string | null>([null]);

  acknowledged(outcome: string | null): void {
    this.candidates = new Set([outcome]);
  }

  uncertain(outcome: string | null): void {
    this.candidates.add(outcome);
  }
}

describe("randomized crashes under load", function () {
  this.timeout(0);
  let cluster: TestCluster;
  let s3: S3Client;
  let sql: Sql;
  const random = prng(SEED);
  const models = new Map<string, KeyModel>();
  const wrongBytes: string[] = [];

  before(async () => {
    console.log(`      crash test seed ${SEED} (WEFT_CRASH_SEED=${SEED} replays it), ${CYCLES} cycles of ${LOAD_SECONDS} s`);
    cluster = await startTestCluster({
      gatewayStdout: process.env.WEFT_LOG_LEVEL ? "inherit" : "ignore",
      gatewayEnv: { WEFT_HEAL_INTERVAL_MS: "1000", WEFT_HEAL_BYTES_PER_SECOND: "0", WEFT_PENDING_GRACE_MS: "3000", WEFT_SCRUB_BYTES_PER_SECOND: "0" },
    });
    // One attempt per request: a retry would hide which requests were acknowledged.
    s3 = cluster.client({ maxAttempts: 1, requestHandler: { requestTimeout: 20_000 } as never });
    sql = connect(cluster.databaseUrl, { max: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    await sql?.end();
    await cluster?.destroy();
  });

  async function putSingle(key: string, write: number, size: number): Promise<void> {
    const body = contentOf(key, write, size);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  }

  async function putMultipart(key: string, write: number): Promise<Buffer> {
    const whole = contentOf(key, write, 5 * MiB + 300 * KiB);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const parts = [];
    for (const [index, piece] of [whole.subarray(0, 5 * MiB), whole.subarray(5 * MiB)].entries()) {
      const { ETag } = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: index + 1, Body: piece }));
      parts.push({ ETag, PartNumber: index + 1 });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
    return whole;
  }

  /** Reads a key; a 200 must hold one of its candidate contents, whatever happens around it. */
  async function check(key: string, mustAnswer: boolean): Promise<void> {
    const model = models.get(key)!;
    let got: string | null;
    try {
      const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      got = digest(await readAll(response.Body));
    } catch (error) {
      const name = (error as Error).name;
      if (name === "NoSuchKey") got = null;
      else if (mustAnswer) throw new Error(`${key}: read failed after heal: ${name} ${(error as Error).message}`);
      else return;
    }
    if (!model.candidates.has(got)) wrongBytes.push(`${key}: got ${got ?? "no object"}, expected one of ${[...model.candidates].join(", ")}`);
  }

  async function worker(index: number, until: number, choose: () => number): Promise<void> {
    let write = 0;
    while (Date.now() < until) {
      const key = `worker-${index}/key-${Math.floor(choose() * KEYS_PER_WORKER)}`;
      if (!models.has(key)) models.set(key, new KeyModel());
      const model = models.get(key)!;
      const roll = choose();
      write++;
      if (roll < 0.35) {
        await check(key, false);
        continue;
      }
      const sizes = [700, 30 * KiB, 300 * KiB, 3 * MiB + 17];
      let outcome: string | null;
      let operation: () => Promise<unknown>;
      if (roll < 0.8) {
        const size = sizes[Math.floor(choose() * sizes.length)]!;
        outcome = digest(contentOf(key, write, size));
        operation = () => putSingle(key, write, size);
      } else if (roll < 0.9) {
        outcome = digest(contentOf(key, write, 5 * MiB + 300 * KiB));
        operation = () => putMultipart(key, write);
      } else {
        outcome = null;
        operation = () => s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
      }
      try {
        await operation();
        model.acknowledged(outcome);
      } catch {
        model.uncertain(outcome);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  type Victim = { kind: "ioserver"; index: number } | { kind: "gateway" } | { kind: "postgres" };

  async function crash(victim: Victim): Promise<void> {
    if (victim.kind === "ioserver") cluster.ioservers[victim.index]!.kill();
    else if (victim.kind === "gateway") await cluster.gateway.kill();
    else await cluster.killPostgres();
    await new Promise((resolve) => setTimeout(resolve, 300 + random() * 1500));
    if (victim.kind === "ioserver") await cluster.restartIoServer(victim.index);
    else if (victim.kind === "gateway") await cluster.restartGateway();
    else await cluster.restartPostgres();
  }

  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    it(`cycle ${cycle}: load, a SIGKILL, restart, heal: nothing acknowledged lost, no wrong bytes`, async () => {
      const roll = random();
      const index = Math.floor(random() * 6);
      const kind = (process.env.WEFT_CRASH_VICTIM as Victim["kind"] | undefined) ?? (roll < 0.5 ? "ioserver" : roll < 0.75 ? "gateway" : "postgres");
      const victim: Victim = kind === "ioserver" ? { kind, index } : { kind };
      const crashAfterMs = (0.2 + random() * 0.5) * LOAD_SECONDS * 1000;
      console.log(`      cycle ${cycle}: killing ${victim.kind === "ioserver" ? `ioserver ${victim.index}` : victim.kind} after ${(crashAfterMs / 1000).toFixed(1)} s`);
      const until = Date.now() + LOAD_SECONDS * 1000;
      const seeds = Array.from({ length: WORKERS }, () => Math.floor(random() * 2 ** 31));
      const load = Promise.all(seeds.map((seed, index) => worker(index, until, prng(seed))));
      await new Promise((resolve) => setTimeout(resolve, crashAfterMs));
      await crash(victim);
      await load;

      await nextDiskRound();
      // A heal pass that the crash interrupted holds its part for a 30 s lease; a part whose heal failed is retried a
      // minute later: heal until a pass leaves nothing queued.
      const deadline = Date.now() + 150_000;
      for (;;) {
        const healed = await weftFor(cluster).run(["heal", "--wait"]);
        if (healed.code === 0) break;
        assert.ok(Date.now() < deadline, `heal never finished: ${healed.stdout}${healed.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
      for (const key of models.keys()) await check(key, true);
      assert.deepEqual(wrongBytes, []);
      const report = await weftFor(cluster).status();
      assert.deepEqual([report.durability.totals.degraded.versions, report.durability.totals.unreadable.versions], [0, 0]);
    });
  }

  it("leaves no datafile that nothing references, once scrubbed and collected", async () => {
    const scrubbed = await weftFor(cluster).run(["scrub", "--wait"]);
    assert.equal(scrubbed.code, 0, scrubbed.stdout);
    // Orphans are queued with the grace period (3 s here); the collector then deletes them, and items a collector
    // held when PostgreSQL died come back when their 30 s lease lapses.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const [{ queued }] = await sql<{ queued: number }[]>`select count(*)::int as queued from gc_queue`;
      if (queued === 0) break;
      assert.ok(Date.now() < deadline, `${queued} blobs still queued for collection`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    for (const ioserver of cluster.ioservers) {
      const client = new IoClient(ioserver.url, cluster.clusterSecret);
      try {
        const onDisk: string[] = [];
        let after: string | undefined;
        do {
          const page = await client.listBlobs(after, 10_000);
          onDisk.push(...page.ids);
          after = page.next;
        } while (after !== undefined);
        const rows = await sql<{ blob_id: string }[]>`select blob_id from datafiles where ioserver_id = ${ioserver.diskId} order by blob_id`;
        assert.deepEqual(onDisk.sort(), rows.map((row) => row.blob_id).sort(), `disk ${ioserver.diskId}: blobs on disk and datafile rows`);
      } finally {
        await client.close();
      }
    }
  });
});
