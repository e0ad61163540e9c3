// PostgreSQL lost under a running gateway: every request answers 503 (which the SDKs retry) within seconds, never a
// 4xx that blames the client, and the gateway serves again by itself once PostgreSQL is back.
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { pacedBody } from "../support/writes.js";

async function untilServing(s3: S3Client, bucket: string, key: string, expected: Buffer): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray();
      assert.ok(Buffer.from(body).equals(expected));
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function failureOf(attempt: Promise<unknown>): Promise<{ status: number | undefined; code: string; ms: number }> {
  const started = Date.now();
  try {
    await attempt;
  } catch (error) {
    const s3 = error as S3ServiceException;
    return { status: s3.$metadata?.httpStatusCode, code: s3.name, ms: Date.now() - started };
  }
  assert.fail("the request succeeded while PostgreSQL was down");
}

describe("PostgreSQL lost under a running gateway", function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  let s3: S3Client;
  const bucket = "db-loss";
  const small = randomBytes(1000);
  const large = randomBytes(3 * 1024 * 1024);

  before(async () => {
    cluster = await startTestCluster();
    s3 = cluster.client({ maxAttempts: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "small", Body: small }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "large", Body: large }));
  });
  after(async () => cluster?.destroy());

  it("answers 503 to reads and writes within seconds, then serves again once PostgreSQL is back", async () => {
    await cluster.killPostgres();
    const outcomes = {
      get: await failureOf(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "large" }))),
      head: await failureOf(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "small" }))),
      list: await failureOf(s3.send(new ListObjectsV2Command({ Bucket: bucket }))),
      putSmall: await failureOf(s3.send(new PutObjectCommand({ Bucket: bucket, Key: "new-small", Body: small }))),
      putLarge: await failureOf(s3.send(new PutObjectCommand({ Bucket: bucket, Key: "new-large", Body: large }))),
    };
    for (const [name, outcome] of Object.entries(outcomes)) {
      assert.equal(outcome.status, 503, `${name}: ${JSON.stringify(outcome)}`);
      assert.ok(outcome.ms < 5_000, `${name} took ${outcome.ms} ms to fail`);
    }
    await cluster.restartPostgres();
    await untilServing(s3, bucket, "large", large);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "after", Body: large }));
  });

  it("answers 503 to an upload under way when PostgreSQL goes, and a read under way still completes", async () => {
    const body = randomBytes(12 * 1024 * 1024);
    const upload = failureOf(s3.send(new PutObjectCommand({ Bucket: bucket, Key: "during", Body: pacedBody(body, 3_000), ContentLength: body.length })));
    const read = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "large" }));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await cluster.killPostgres();
    const killedAt = Date.now();
    assert.ok(Buffer.from(await read.Body!.transformToByteArray()).equals(large), "the read under way returned other bytes");
    const outcome = await upload;
    assert.equal(outcome.status, 503, JSON.stringify(outcome));
    assert.ok(Date.now() - killedAt < 8_000, `the upload failed ${Date.now() - killedAt} ms after PostgreSQL went`);
    await cluster.restartPostgres();
    await untilServing(s3, bucket, "large", large);
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "during" })), { name: "NotFound" });
  });
});
