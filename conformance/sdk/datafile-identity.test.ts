// A datafile of one object copied over a datafile of another (same length, so every block checksum holds) must
// never be served as the second object's bytes: the ioserver refuses it and the gateway rebuilds from parity.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { connect, type Sql } from "../../meta/src/db.js";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { md5Hex, randomData, readAll } from "../support/bytes.js";

const BUCKET = "datafile-identity";
const MiB = 1024 * 1024;

interface Datafile {
  slot: number;
  ioserverId: string;
  blobId: string;
  length: number;
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

describe("datafile identity: another object's datafile in a slot's place is never served", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let s3: S3Client;
  let sql: Sql;

  before(async () => {
    // Suites that corrupt data start their own cluster (conformance/support/shared.ts).
    cluster = await startTestCluster();
    // The SDK's own check of a whole object's x-amz-checksum-crc32 would catch wrong bytes too; turned off, so that
    // the bytes are judged here, as a client that checks nothing (or reads a range) would receive them.
    s3 = cluster.client({ responseChecksumValidation: "WHEN_REQUIRED" });
    sql = connect(cluster.databaseUrl, { max: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    await sql?.end();
    await cluster?.destroy();
  });

  async function datafilesOf(key: string): Promise<Datafile[]> {
    return sql<Datafile[]>`
      select d.slot, d.ioserver_id as "ioserverId", d.blob_id as "blobId", d.length::int as length
      from versions v
      join buckets b on b.id = v.bucket_id
      join parts p on p.version_row_id = v.id
      join datafiles d on d.part_id = p.id
      where b.name = ${BUCKET} and v.key = ${key} and v.is_current
      order by p.part_number, d.slot`;
  }

  async function pathOf(datafile: Datafile): Promise<string> {
    const ioserver = cluster.ioservers.find((candidate) => candidate.diskId === datafile.ioserverId);
    assert.ok(ioserver, `no local ioserver has disk id ${datafile.ioserverId}`);
    const blobsDir = join(ioserver.dir, "blobs");
    for (const fanout of await readdir(blobsDir)) {
      if ((await readdir(join(blobsDir, fanout))).includes(datafile.blobId)) return join(blobsDir, fanout, datafile.blobId);
    }
    throw new Error(`datafile ${datafile.blobId} not found under ${blobsDir}`);
  }

  async function get(key: string, range?: string): Promise<{ body: Buffer; etag: string | undefined }> {
    const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: range }));
    return { body: await readAll(response.Body), etag: response.ETag };
  }

  // 3 MiB + 11 is striped 4+2; 20 000 bytes is replicated (one data slot and two whole copies).
  for (const [label, size] of [
    ["striped", 3 * MiB + 11],
    ["replicated", 20_000],
  ] as const) {
    it(`${label} (${size} bytes): GetObject returns the object's own bytes, never the copied-in ones`, async () => {
      const keyA = `${label}-a`;
      const keyB = `${label}-b`;
      const dataA = randomData(size);
      const dataB = randomData(size);
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: keyA, Body: dataA }));
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: keyB, Body: dataB }));

      const filesA = await datafilesOf(keyA);
      const filesB = await datafilesOf(keyB);
      assert.equal(filesA.length, filesB.length);
      // Overwrite B's first data slot and, for the striped object, its second one too (m = 2 slots may be lost).
      const slotsToReplace = label === "striped" ? [0, 1] : [0];
      for (const slot of slotsToReplace) {
        const [fileA, fileB] = [filesA[slot]!, filesB[slot]!];
        assert.equal(fileA.slot, slot);
        assert.equal(fileB.slot, slot);
        assert.equal(fileA.length, fileB.length, "same size, same layout: the datafiles are equally long");
        await copyFile(await pathOf(fileA), await pathOf(fileB));
      }

      const whole = await get(keyB);
      assert.equal(sha256(whole.body), sha256(dataB), "B's bytes, rebuilt from its other slots");
      assert.notEqual(sha256(whole.body), sha256(dataA));
      assert.equal(whole.etag, `"${md5Hex(dataB)}"`);

      // A range inside the replaced slot's first unit, and one across every slot.
      for (const [start, end] of [
        [10, 5000],
        [Math.floor(size / 3), size - 1],
      ]) {
        const ranged = await get(keyB, `bytes=${start}-${end}`);
        assert.equal(sha256(ranged.body), sha256(dataB.subarray(start, end + 1)), `bytes ${start}-${end}`);
      }

      assert.equal(sha256((await get(keyA)).body), sha256(dataA), "A, whose files were only read, is untouched");
    });
  }
});
