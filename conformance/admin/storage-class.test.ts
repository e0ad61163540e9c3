// Storage classes per bucket and per object, on a real cluster: a bucket's default class (set with `weft bucket
// storage-class`) is what every kind of write that names none is stored as, with that class's layout; a class a write
// names wins; and CopyObject onto itself with a new class re-stripes the object in place, its old datafiles collected.
import assert from "node:assert/strict";
import { CopyObjectCommand, CreateBucketCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { IoClient } from "../../ioserver/src/client.js";
import { connect, type Sql } from "../../meta/src/db.js";
import { randomData } from "../support/bytes.js";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { expectObjects, weftFor } from "../support/weft.js";
import { postForm, uploadInParts } from "../support/writes.js";

const BUCKET = "classes";
const MiB = 1024 * 1024;

describe("storage classes: a bucket's default, and a class changed in place", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let s3: S3Client;
  let sql: Sql;
  const objects = new Map<string, Buffer>();

  before(async () => {
    cluster = await startTestCluster({ gatewayEnv: { WEFT_GC_INTERVAL_MS: "300" } });
    s3 = cluster.client();
    sql = connect(cluster.databaseUrl, { max: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new CreateBucketCommand({ Bucket: "elsewhere" }));
  });
  after(async () => {
    await sql?.end();
    await cluster?.destroy();
  });

  const weft = (args: string[]) => weftFor(cluster).run(args);

  async function classOf(key: string): Promise<string> {
    return (await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).StorageClass ?? "STANDARD";
  }

  /** k and m of each part of the current version of `key`, and the datafiles it has. */
  async function layoutOf(key: string): Promise<{ k: number; m: number; datafiles: { ioserverId: string; blobId: string }[] }[]> {
    const parts = await sql<{ id: number; k: number; m: number }[]>`
      select p.id, p.k, p.m from versions v join buckets b on b.id = v.bucket_id join parts p on p.version_row_id = v.id
      where b.name = ${BUCKET} and v.key = ${key} and v.is_current order by p.part_number`;
    return Promise.all(
      parts.map(async (part) => ({
        k: part.k,
        m: part.m,
        datafiles: await sql<{ ioserverId: string; blobId: string }[]>`
          select ioserver_id as "ioserverId", blob_id as "blobId" from datafiles where part_id = ${part.id}`,
      })),
    );
  }

  async function put(key: string, size: number, storageClass?: "STANDARD" | "REDUCED_REDUNDANCY"): Promise<void> {
    const data = randomData(size);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data, StorageClass: storageClass }));
    objects.set(key, data);
  }

  it("has no default at first: writes get the gateway's STANDARD", async () => {
    const shown = await weft(["bucket", "storage-class", BUCKET]);
    assert.equal(shown.code, 0, shown.stdout);
    assert.match(shown.stdout, /no default storage class; writes that name none are stored as the gateway's STANDARD/);
    await put("before", MiB);
    assert.equal(await classOf("before"), "STANDARD");
  });

  it("stores every kind of write that names no class as the bucket's default, with its layout", async () => {
    const set = await weft(["bucket", "storage-class", BUCKET, "REDUCED_REDUNDANCY", "--json"]);
    assert.equal(set.code, 0, set.stdout);
    assert.deepEqual(JSON.parse(set.stdout), { bucket: BUCKET, defaultStorageClass: "REDUCED_REDUNDANCY", gatewayDefault: "STANDARD" });

    await put("striped", MiB + 3);
    await put("inline", 100);
    await put("replicated", 30_000);
    const pieces = [randomData(5 * MiB), randomData(MiB)];
    await uploadInParts(s3, BUCKET, "multipart", pieces);
    objects.set("multipart", Buffer.concat(pieces));
    const posted = randomData(2 * MiB);
    await postForm(s3, BUCKET, "posted", posted);
    objects.set("posted", posted);
    const copied = randomData(MiB);
    await s3.send(new PutObjectCommand({ Bucket: "elsewhere", Key: "source", Body: copied }));
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "copied", CopySource: "elsewhere/source" }));
    objects.set("copied", copied);

    for (const key of ["striped", "inline", "replicated", "multipart", "posted", "copied"]) assert.equal(await classOf(key), "REDUCED_REDUNDANCY", key);
    // 4+1: five datafiles per striped part, two copies of a replicated one, none for an inline object.
    for (const key of ["striped", "multipart", "posted", "copied"]) {
      for (const part of await layoutOf(key)) assert.deepEqual([part.k, part.m, part.datafiles.length], [4, 1, 5], key);
    }
    assert.deepEqual((await layoutOf("replicated")).map((part) => [part.k, part.m, part.datafiles.length]), [[1, 1, 2]]);
    await expectObjects(s3, BUCKET, objects, "written with the bucket's default class");
  });

  it("lets a write's own class win over the bucket's", async () => {
    await put("explicit", MiB, "STANDARD");
    assert.equal(await classOf("explicit"), "STANDARD");
    assert.deepEqual((await layoutOf("explicit")).map((part) => [part.k, part.m]), [[4, 2]]);
  });

  it("re-stripes an object in place when it is copied onto itself with another class; the old datafiles are collected", async () => {
    const before = await layoutOf("before");
    assert.deepEqual(before.map((part) => [part.k, part.m, part.datafiles.length]), [[4, 2, 6]]);
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "before", CopySource: `${BUCKET}/before`, StorageClass: "REDUCED_REDUNDANCY" }));
    assert.equal(await classOf("before"), "REDUCED_REDUNDANCY");
    assert.deepEqual((await layoutOf("before")).map((part) => [part.k, part.m, part.datafiles.length]), [[4, 1, 5]]);
    await expectObjects(s3, BUCKET, objects, "after the re-stripe");
    // The six old datafiles leave their disks once the collector has been by.
    const deadline = Date.now() + 20_000;
    for (const datafile of before[0]!.datafiles) {
      const ioserver = cluster.ioservers.find((candidate) => candidate.diskId === datafile.ioserverId)!;
      const client = new IoClient(ioserver.url, cluster.clusterSecret);
      try {
        while ((await client.headBlob(datafile.blobId)) !== undefined) {
          assert.ok(Date.now() < deadline, `old datafile ${datafile.blobId} still on disk`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      } finally {
        await client.close();
      }
    }
  });

  it("clears the default, and refuses unknown classes and buckets", async () => {
    const cleared = await weft(["bucket", "storage-class", BUCKET, "--clear"]);
    assert.equal(cleared.code, 0, cleared.stdout);
    await put("after-clear", MiB);
    assert.equal(await classOf("after-clear"), "STANDARD");
    const unknownClass = await weft(["bucket", "storage-class", BUCKET, "GLACIER"]);
    assert.equal(unknownClass.code, 1);
    assert.match(unknownClass.stdout, /InvalidStorageClass/);
    const unknownBucket = await weft(["bucket", "storage-class", "no-such-bucket", "STANDARD"]);
    assert.equal(unknownBucket.code, 1);
    assert.match(unknownBucket.stdout, /NoSuchBucket/);
  });
});
