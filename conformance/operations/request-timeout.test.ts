// A client that stops sending its body mid-upload gets 400 RequestTimeout after WEFT_REQUEST_IDLE_TIMEOUT_MS, as from
// AWS, and nothing is stored; a slow upload that keeps moving is not cut.
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { stalledUpload } from "../support/raw.js";

const IDLE_MS = 1_500;

describe("a request body that stops arriving", function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let s3: S3Client;
  const bucket = "stalls";

  before(async () => {
    cluster = await startTestCluster({ gatewayEnv: { WEFT_REQUEST_IDLE_TIMEOUT_MS: String(IDLE_MS) } });
    s3 = cluster.client({ maxAttempts: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  after(async () => cluster?.destroy());

  for (const [name, declared, sent] of [
    ["a small object", 4096, 100],
    ["a striped object", 1024 * 1024, 300 * 1024],
  ] as const) {
    it(`is answered 400 RequestTimeout, and stores nothing: ${name}`, async () => {
      const startedAt = Date.now();
      const upload = await stalledUpload(cluster, `/${bucket}/${declared}`, declared, randomBytes(sent));
      const answer = await upload.answer;
      const tookMs = Date.now() - startedAt;
      assert.match(answer, /^HTTP\/1\.1 400 /);
      assert.match(answer, /<Code>RequestTimeout<\/Code>/);
      assert.match(answer, /connection: close/i);
      assert.ok(tookMs >= IDLE_MS && tookMs < IDLE_MS + 3_000, `answered after ${tookMs} ms`);
      await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: String(declared) })), { name: "NotFound" });
    });
  }

  it("leaves alone an upload that is slow but keeps moving", async () => {
    const body = randomBytes(600 * 1024);
    const chunk = 64 * 1024;
    const slowly = Readable.from(
      (async function* () {
        for (let offset = 0; offset < body.length; offset += chunk) {
          yield body.subarray(offset, offset + chunk);
          await new Promise((resolve) => setTimeout(resolve, IDLE_MS / 3));
        }
      })(),
    );
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "slow", Body: slowly, ContentLength: body.length }));
    const stored = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "slow" }));
    assert.ok(Buffer.from(await stored.Body!.transformToByteArray()).equals(body));
  });
});
