// Degraded writes on a real cluster: with an ioserver down, or dying mid-upload, PUT, multipart and POST still
// succeed as long as k+1 slots of each part can be written; the missing slots are recorded (no datafile row), and
// the objects read back whole, even after one more disk is lost. Below k+1, a quick 503 that leaves nothing behind.
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { connect, type Sql } from "../../meta/src/db.js";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { expectS3Error } from "../support/expect.js";
import { randomData, readAll } from "../support/bytes.js";
import { postForm, uploadInParts } from "../support/writes.js";

const BUCKET = "degraded";
const MiB = 1024 * 1024;

describe("degraded writes (4+2 over six ioservers)", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let s3: S3Client;
  let sql: Sql;
  const objects = new Map<string, Buffer>();

  before(async () => {
    cluster = await startTestCluster({ gatewayEnv: { WEFT_STRIPE_UNIT: String(64 * 1024) } });
    s3 = cluster.client();
    sql = connect(cluster.databaseUrl, { max: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    await sql?.end();
    await cluster?.destroy();
  });

  /** Slots written per part of the current version of `key`, and the disks they are on. */
  async function slotsOf(key: string): Promise<{ k: number; m: number; slots: number[]; disks: string[] }[]> {
    const rows = await sql<{ k: number; m: number; slots: number[]; disks: string[] }[]>`
      select p.k, p.m, array_agg(d.slot order by d.slot) as slots, array_agg(d.ioserver_id order by d.slot) as disks
      from versions v join parts p on p.version_row_id = v.id join datafiles d on d.part_id = p.id
      where v.key = ${key} and v.is_current
      group by p.id, p.part_number, p.k, p.m order by p.part_number`;
    return rows.map((row) => ({ ...row }));
  }

  async function expectReadable(label: string): Promise<void> {
    for (const [key, data] of objects) {
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      assert.ok((await readAll(got.Body)).equals(data), `${label}: ${key}`);
    }
  }

  it("stores PutObject, multipart parts, small replicated objects and POST forms with one ioserver stopped", async () => {
    const stopped = cluster.ioservers[2];
    await stopped.stop();
    // No waiting for the health check: a slot placed on the stopped server fails at once and is left out.
    const putData = randomData(3 * MiB + 17);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "put", Body: putData }));
    objects.set("put", putData);
    const smallData = randomData(30_000);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "small", Body: smallData }));
    objects.set("small", smallData);

    const pieces = [randomData(5 * MiB), randomData(MiB + 3)];
    await uploadInParts(s3, BUCKET, "multipart", pieces);
    objects.set("multipart", Buffer.concat(pieces));

    const postData = randomData(2 * MiB + 5);
    await postForm(s3, BUCKET, "posted", postData);
    objects.set("posted", postData);

    await expectReadable("one down");
    for (const key of objects.keys()) {
      for (const part of await slotsOf(key)) {
        // Five disks were up: a 4+2 part has one slot missing, a 1+2 (replicated) one none; none is on the stopped
        // disk. (Once the gateway knows the disk is down the missing slot is the last, a parity slot; a write placed
        // before that loses the slot it had put there.)
        assert.equal(part.slots.length, Math.min(part.k + part.m, 5), `${key}: slots written ${part.slots}`);
        assert.ok(!part.disks.includes(stopped.diskId), `${key}: a slot on the stopped disk`);
        assert.equal(new Set(part.disks).size, part.disks.length, `${key}: two slots on one disk`);
      }
    }
  });

  it("still reads every degraded object with one more ioserver lost", async () => {
    await cluster.ioservers[4].kill();
    await expectReadable("two down");
  });

  it("answers 503 quickly and leaves nothing behind when fewer than k+1 slots can be written", async () => {
    // Four of six up: a 4+2 part needs five.
    const started = Date.now();
    await expectS3Error(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "put", Body: randomData(MiB) })), "ServiceUnavailable", 503);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    const [{ pending }] = await sql<{ pending: number }[]>`select count(*)::int as pending from versions where state = 'pending'`;
    assert.equal(pending, 0);
    await expectReadable("after the refused PUT");
  });

  it("finishes a PUT whose ioserver dies mid-upload", async () => {
    await cluster.restartIoServer(2);
    await cluster.restartIoServer(4);
    await new Promise((resolve) => setTimeout(resolve, 2500)); // the gateway's health check notices them
    const data = randomData(24 * MiB);
    const victim = cluster.ioservers[0];
    async function* killingBody(): AsyncGenerator<Buffer> {
      for (let offset = 0; offset < data.length; offset += MiB) {
        if (offset === 6 * MiB) victim.kill();
        yield data.subarray(offset, offset + MiB);
      }
    }
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "killed-mid-put", Body: Readable.from(killingBody()), ContentLength: data.length }));
    objects.set("killed-mid-put", data);
    const [part] = await slotsOf("killed-mid-put");
    assert.ok(!part.disks.includes(victim.diskId), "the killed disk holds a slot");
    assert.ok(part.slots.length >= 5, `only ${part.slots.length} slots written`);
    await expectReadable("one killed mid-upload");
  });
});
