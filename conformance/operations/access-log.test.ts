// The gateway's access log on a real cluster, read from its stdout: one line per request, with the client, the access
// key, the operation, bucket and key, status, S3 error code, bytes in and out and duration; expected refusals (403,
// 404) at info, 503 at warn with its cause and no stack, and no second line from anywhere else about the same request.
import assert from "node:assert/strict";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3ServiceException, type S3Client } from "@aws-sdk/client-s3";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { randomData, readAll } from "../support/bytes.js";
import { expectS3Error } from "../support/expect.js";
import { nextDiskRound } from "../support/weft.js";

const BUCKET = "logged";
const MiB = 1024 * 1024;
const INFO = 30;
const WARN = 40;

type LogLine = Record<string, unknown> & { level: number; msg: string };

describe("access log", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let s3: S3Client;
  const lines: LogLine[] = [];

  before(async () => {
    cluster = await startTestCluster({
      gatewayEnv: { WEFT_LOG_LEVEL: "info" },
      gatewayStdout: (line) => {
        if (line.startsWith("{")) lines.push(JSON.parse(line) as LogLine);
      },
    });
    s3 = cluster.client({ maxAttempts: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => cluster?.destroy());

  /** The one line about request `requestId`, once the gateway has written it. */
  async function lineOf(requestId: string | undefined): Promise<LogLine> {
    assert.ok(requestId, "the answer carries x-amz-request-id");
    const deadline = Date.now() + 5000;
    for (;;) {
      const about = lines.filter((line) => line.requestId === requestId || JSON.stringify(line).includes(requestId));
      if (about.length > 0) {
        // Give a second line, if the gateway wrote one, the time to arrive.
        await new Promise((resolve) => setTimeout(resolve, 200));
        const all = lines.filter((line) => line.requestId === requestId || JSON.stringify(line).includes(requestId));
        assert.equal(all.length, 1, `one line for request ${requestId}: ${JSON.stringify(all)}`);
        return all[0]!;
      }
      assert.ok(Date.now() < deadline, `no log line for request ${requestId}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function failedRequestId(attempt: Promise<unknown>, code: string, status: number): Promise<string | undefined> {
    const error = await expectS3Error(attempt, code, status);
    return (error as S3ServiceException).$metadata.requestId;
  }

  /** The fields of `line` that `expected` names have those values. */
  function assertFields(line: LogLine, expected: Record<string, unknown>): void {
    assert.deepEqual(Object.fromEntries(Object.keys(expected).map((name) => [name, line[name]])), expected);
  }

  function assertNoStack(line: LogLine): void {
    assert.equal(line.err, undefined, "no error object");
    assert.doesNotMatch(JSON.stringify(line), /\n\s+at /, "no stack trace");
  }

  it("logs a PUT and a GET with the client, the access key and the bytes actually moved", async () => {
    const data = randomData(MiB);
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "object", Body: data }));
    const putLine = await lineOf(put.$metadata.requestId);
    assertFields(putLine, { level: INFO, msg: "request", op: "PutObject", bucket: BUCKET, key: "object", method: "PUT", status: 200, client: "127.0.0.1", accessKeyId: cluster.accessKey, errorCode: undefined });
    assert.ok((putLine.bytesIn as number) >= MiB, `bytesIn ${putLine.bytesIn}`);
    assert.ok((putLine.bytesOut as number) > 0);
    assert.equal(typeof putLine.ms, "number");

    const get = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "object" }));
    assert.ok((await readAll(get.Body)).equals(data));
    const getLine = await lineOf(get.$metadata.requestId);
    assert.equal(getLine.status, 200);
    assert.ok((getLine.bytesOut as number) >= MiB, `bytesOut ${getLine.bytesOut}`);
    assert.ok((getLine.bytesIn as number) < 4096, `a GET reads its headers only: bytesIn ${getLine.bytesIn}`);
  });

  it("logs a 403 and a 404 at info with their S3 codes, without a stack", async () => {
    await cluster.admin().call("POST", "user/create", { name: "logstranger" });
    const stranger = await cluster.createKey("logstranger");
    const denied = await lineOf(await failedRequestId(stranger.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "object" })), "AccessDenied", 403));
    assertFields(denied, { level: INFO, status: 403, errorCode: "AccessDenied", accessKeyId: stranger.accessKeyId, user: "logstranger", op: "GetObject", key: "object", client: "127.0.0.1" });
    assertNoStack(denied);

    const missing = await lineOf(await failedRequestId(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "no-such-key" })), "NoSuchKey", 404));
    assertFields(missing, { level: INFO, status: 404, errorCode: "NoSuchKey", accessKeyId: cluster.accessKey, user: "admin", op: "GetObject", key: "no-such-key", client: "127.0.0.1" });
    assertNoStack(missing);
  });

  it("logs a 503 at warn with its cause, once, without a stack", async () => {
    for (const ioserver of cluster.ioservers.slice(0, 3)) await ioserver.stop();
    await nextDiskRound();
    const unavailable = await lineOf(await failedRequestId(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "object" })), "ServiceUnavailable", 503));
    assertFields(unavailable, { level: WARN, status: 503, errorCode: "ServiceUnavailable", op: "GetObject", key: "object" });
    assert.match(unavailable.cause as string, /needs 4 readable slots/);
    assertNoStack(unavailable);
    assert.deepEqual(
      lines.filter((line) => line.msg === "storage unavailable" || line.msg === "internal error"),
      [],
      "the access line is the only one about a failed request",
    );
  });
});
