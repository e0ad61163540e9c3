import assert from "node:assert/strict";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { connect, type Sql } from "../../meta/src/db.js";
import { expectS3Error } from "../support/expect.js";
import { sharedCluster } from "../support/shared.js";
import type { TestCluster } from "../support/cluster.js";
import { md5Hex, randomData, readAll } from "../support/bytes.js";
import { signedFetch } from "../support/raw.js";

const BUCKET = "conditional-writes";

describe("conditional writes (If-None-Match: *, If-Match)", () => {
  let cluster: TestCluster;
  let s3: S3Client;
  let sql: Sql;
  before(async () => {
    cluster = await sharedCluster();
    s3 = cluster.client();
    sql = connect(cluster.databaseUrl, { max: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    await sql?.end();
  });

  async function body(key: string): Promise<Buffer> {
    const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return readAll(response.Body);
  }

  async function pendingRows(key: string): Promise<number> {
    const [row] = await sql<{ count: number }[]>`
      select count(*)::int as count from versions v join buckets b on b.id = v.bucket_id
      where b.name = ${BUCKET} and v.key = ${key} and v.state = 'pending'`;
    return row!.count;
  }

  it("If-None-Match: * creates a missing key and refuses an existing one with 412, keeping the first object", async () => {
    const first = randomData(100_000);
    const created = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "create-once", Body: first, IfNoneMatch: "*" }));
    assert.equal(created.ETag, `"${md5Hex(first)}"`);
    const error = await expectS3Error(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "create-once", Body: randomData(100_000), IfNoneMatch: "*" })), "PreconditionFailed", 412);
    assert.ok(error instanceof S3ServiceException);
    assert.deepEqual(await body("create-once"), first);
    assert.equal(await pendingRows("create-once"), 0);
  });

  it("If-None-Match: * succeeds again once the key was deleted", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "recreate", Body: "one" }));
    await signedFetch(cluster, "DELETE", `/${BUCKET}/recreate`);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "recreate", Body: "two", IfNoneMatch: "*" }));
    assert.equal((await body("recreate")).toString(), "two");
  });

  it("If-Match replaces only the object with that ETag; a missing key answers 404 NoSuchKey", async () => {
    const original = randomData(20_000);
    const { ETag } = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "if-match", Body: original }));
    await expectS3Error(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "if-match", Body: "wrong", IfMatch: `"${md5Hex(Buffer.from("nope"))}"` })), "PreconditionFailed", 412);
    assert.deepEqual(await body("if-match"), original);
    assert.equal(await pendingRows("if-match"), 0);
    const replaced = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "if-match", Body: "replaced", IfMatch: ETag }));
    assert.equal(replaced.ETag, `"${md5Hex(Buffer.from("replaced"))}"`);
    assert.equal((await body("if-match")).toString(), "replaced");
    await expectS3Error(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "if-match-missing", Body: "x", IfMatch: ETag })), "NoSuchKey", 404);
  });

  it("If-None-Match with an ETag (not *) on a write is NotImplemented, as in AWS", async () => {
    const response = await signedFetch(cluster, "PUT", `/${BUCKET}/inm-etag`, "data", { headers: { "If-None-Match": '"abc"' } });
    assert.equal(response.status, 501);
    assert.match(await response.text(), /<Code>NotImplemented<\/Code>/);
  });

  it("10 clients racing to create one key with If-None-Match: * — exactly one wins and its bytes are stored", async () => {
    const bodies = Array.from({ length: 10 }, () => randomData(300_000)); // striped, not inline
    const clients = bodies.map(() => cluster.client());
    const results = await Promise.allSettled(
      bodies.map((data, index) => clients[index]!.send(new PutObjectCommand({ Bucket: BUCKET, Key: "race", Body: data, IfNoneMatch: "*" }))),
    );
    const winners = results.flatMap((result, index) => (result.status === "fulfilled" ? [index] : []));
    assert.equal(winners.length, 1, `exactly one winner, got ${winners.length}`);
    for (const result of results) {
      if (result.status === "fulfilled") continue;
      const error = result.reason as S3ServiceException;
      assert.ok(
        (error.name === "PreconditionFailed" && error.$metadata.httpStatusCode === 412) ||
          (error.name === "ConditionalRequestConflict" && error.$metadata.httpStatusCode === 409),
        `loser got ${error.name}`,
      );
    }
    assert.equal(md5Hex(await body("race")), md5Hex(bodies[winners[0]!]!));
    assert.equal(await pendingRows("race"), 0);
    for (const client of clients) client.destroy();
  });

  it("CompleteMultipartUpload honours If-None-Match: * and If-Match; a failed condition leaves the upload to retry", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "mpu", Body: "existing" }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "mpu" }));
    const data = randomData(50_000);
    const part = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "mpu", UploadId, PartNumber: 1, Body: data }));
    const complete = (condition: { IfNoneMatch?: string; IfMatch?: string }) =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "mpu", UploadId, MultipartUpload: { Parts: [{ ETag: part.ETag, PartNumber: 1 }] }, ...condition }));
    await expectS3Error(complete({ IfNoneMatch: "*" }), "PreconditionFailed", 412);
    await expectS3Error(complete({ IfMatch: '"0123456789abcdef0123456789abcdef"' }), "PreconditionFailed", 412);
    assert.equal((await body("mpu")).toString(), "existing");
    const done = await complete({ IfMatch: `"${md5Hex(Buffer.from("existing"))}"` });
    assert.match(done.ETag!, /-1"$/);
    assert.deepEqual(await body("mpu"), data);

    const fresh = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "mpu-new" }));
    const freshPart = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "mpu-new", UploadId: fresh.UploadId, PartNumber: 1, Body: data }));
    await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "mpu-new", UploadId: fresh.UploadId, MultipartUpload: { Parts: [{ ETag: freshPart.ETag, PartNumber: 1 }] }, IfNoneMatch: "*" }),
    );
    assert.deepEqual(await body("mpu-new"), data);
  });
});
