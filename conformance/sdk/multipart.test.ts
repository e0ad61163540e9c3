import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { expectS3Error } from "../support/expect.js";
import { sharedClusterWithBucket } from "../support/shared.js";
import type { TestCluster } from "../support/cluster.js";
import { md5Hex, patternMd5, patternStream, randomData, readAll } from "../support/bytes.js";
import { signedFetch } from "../support/raw.js";

const BUCKET = "multipart";
const MiB = 1024 * 1024;

function multipartEtag(parts: Buffer[]): string {
  const joined = Buffer.concat(parts.map((part) => Buffer.from(md5Hex(part), "hex")));
  return `"${createHash("md5").update(joined).digest("hex")}-${parts.length}"`;
}

describe("multipart uploads (SDK)", () => {
  let cluster: TestCluster;
  let s3: S3Client;
  before(async () => ({ cluster, s3 } = await sharedClusterWithBucket(BUCKET)));

  async function create(key: string): Promise<string> {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ContentType: "application/x-test", Metadata: { origin: "multipart" } }));
    assert.match(UploadId!, /^[0-9a-f]{32}$/);
    return UploadId!;
  }

  it("uploads three parts, completes with ETag md5(part md5s)-N, and reads back", async () => {
    const parts = [randomData(5 * MiB), randomData(5 * MiB + 7), randomData(123_457)];
    const uploadId = await create("three-parts");
    const etags: string[] = [];
    // Parts may arrive in any order; the last one is uploaded first here.
    for (const index of [2, 0, 1]) {
      const response = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "three-parts", UploadId: uploadId, PartNumber: index + 1, Body: parts[index] }));
      assert.equal(response.ETag, `"${md5Hex(parts[index])}"`);
      etags[index] = response.ETag!;
    }
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: "three-parts",
        UploadId: uploadId,
        MultipartUpload: { Parts: etags.map((ETag, index) => ({ ETag, PartNumber: index + 1 })) },
      }),
    );
    assert.equal(done.ETag, multipartEtag(parts));
    const whole = Buffer.concat(parts);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "three-parts" }));
    assert.equal(got.ContentType, "application/x-test");
    assert.deepEqual(got.Metadata, { origin: "multipart" });
    assert.equal(got.ETag, multipartEtag(parts));
    assert.ok((await readAll(got.Body)).equals(whole));
    // A range that crosses the first part boundary.
    const ranged = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "three-parts", Range: `bytes=${5 * MiB - 10}-${5 * MiB + 9}` }));
    assert.ok((await readAll(ranged.Body)).equals(whole.subarray(5 * MiB - 10, 5 * MiB + 10)));
    await expectS3Error(s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: "three-parts", UploadId: uploadId })), "NoSuchUpload", 404);
  });

  it("replaces a re-uploaded part", async () => {
    const uploadId = await create("replaced-part");
    const first = randomData(1000);
    const second = randomData(2000);
    await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "replaced-part", UploadId: uploadId, PartNumber: 1, Body: first }));
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "replaced-part", UploadId: uploadId, PartNumber: 1, Body: second }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "replaced-part", UploadId: uploadId, MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] } }));
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "replaced-part" }));
    assert.ok((await readAll(got.Body)).equals(second));
  });

  it("rejects bad completions with InvalidPart, InvalidPartOrder, EntityTooSmall and MalformedXML", async () => {
    const uploadId = await create("bad-complete");
    const small = randomData(1000);
    const p1 = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "bad-complete", UploadId: uploadId, PartNumber: 1, Body: small }));
    const p2 = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "bad-complete", UploadId: uploadId, PartNumber: 2, Body: small }));
    const complete = (Parts: { ETag?: string; PartNumber: number }[]) =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "bad-complete", UploadId: uploadId, MultipartUpload: { Parts } }));
    await expectS3Error(complete([{ ETag: '"00000000000000000000000000000000"', PartNumber: 1 }]), "InvalidPart", 400);
    await expectS3Error(complete([{ ETag: p1.ETag, PartNumber: 3 }]), "InvalidPart", 400);
    await expectS3Error(complete([{ ETag: p2.ETag, PartNumber: 2 }, { ETag: p1.ETag, PartNumber: 1 }]), "InvalidPartOrder", 400);
    await expectS3Error(complete([{ ETag: p1.ETag, PartNumber: 1 }, { ETag: p2.ETag, PartNumber: 2 }]), "EntityTooSmall", 400);
    const malformed = await signedFetch(cluster, "POST", `/${BUCKET}/bad-complete?uploadId=${uploadId}`, "<CompleteMultipartUpload><Part>");
    assert.equal(malformed.status, 400);
    assert.match(await malformed.text(), /<Code>MalformedXML<\/Code>/);
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "bad-complete" })), "NotFound", 404);
    // The upload survives failed completions and can still be completed properly.
    const done = await complete([{ ETag: p2.ETag, PartNumber: 2 }]);
    assert.equal(done.ETag, multipartEtag([small]));
  });

  it("rejects part numbers outside 1..10000 and unknown upload ids", async () => {
    const uploadId = await create("part-numbers");
    await expectS3Error(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "part-numbers", UploadId: uploadId, PartNumber: 10001, Body: "x" })), "InvalidArgument", 400);
    await expectS3Error(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "part-numbers", UploadId: "0".repeat(32), PartNumber: 1, Body: "x" })), "NoSuchUpload", 404);
  });

  it("aborts an upload: its parts are gone and completing fails", async () => {
    const uploadId = await create("aborted");
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "aborted", UploadId: uploadId, PartNumber: 1, Body: randomData(100_000) }));
    const aborted = await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: "aborted", UploadId: uploadId }));
    assert.equal(aborted.$metadata.httpStatusCode, 204);
    await expectS3Error(
      s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "aborted", UploadId: uploadId, MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] } })),
      "NoSuchUpload",
      404,
    );
  });

  it("round-trips 200 MiB through lib-storage's Upload (multipart, streamed, parts in parallel)", async function () {
    this.timeout(300_000);
    const size = 200 * MiB;
    const upload = new Upload({ client: s3, params: { Bucket: BUCKET, Key: "big-200", Body: patternStream(size, 7) }, partSize: 16 * MiB, queueSize: 4 });
    const result = await upload.done();
    assert.match(result.ETag!, /^"[0-9a-f]{32}-13"$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "big-200" }));
    assert.equal(got.ContentLength, size);
    const hash = createHash("md5");
    let length = 0;
    for await (const chunk of got.Body as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      length += chunk.length;
    }
    assert.equal(length, size);
    assert.equal(hash.digest("hex"), await patternMd5(size, 7));
  });
});
