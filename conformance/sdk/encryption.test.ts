// Encryption at rest on a real cluster (docs/architecture.md, Encryption at rest): SSE-S3 and SSE-C round trips with
// ranges at package boundaries, multipart uploads, AWS's answers to missing, wrong and malformed keys, bucket default
// encryption, bytes on the disks that are not the plaintext, and a degraded read of encrypted objects.
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketEncryptionCommand,
  GetBucketEncryptionCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { md5Hex, randomData, readAll } from "../support/bytes.js";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { datafilesOf } from "../support/datafiles.js";
import { expectS3Error } from "../support/expect.js";
import { signedFetch } from "../support/raw.js";
import { postForm } from "../support/writes.js";

const BUCKET = "sealed";
const KiB = 1024;
const PACKAGE = 64 * KiB;

/** What the SDK takes as an SSE-C key: its base64 (it sends that and adds the MD5 of the bytes). */
function sdkKey(key: Buffer): string {
  return key.toString("base64");
}

describe("encryption at rest: SSE-S3, SSE-C and bucket default encryption", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let s3: S3Client;
  const customerKey = randomBytes(32);
  const sseC = { SSECustomerAlgorithm: "AES256", SSECustomerKey: sdkKey(customerKey) };
  const objects = new Map<string, { data: Buffer; withKey?: typeof sseC }>();

  before(async () => {
    cluster = await startTestCluster();
    s3 = cluster.client({ maxAttempts: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => cluster?.destroy());

  async function get(key: string, extra: Record<string, unknown> = {}): Promise<{ data: Buffer; output: GetObjectCommandOutput }> {
    const output = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ...extra }));
    return { data: await readAll(output.Body), output };
  }

  /** HEAD answers have no body: the SDK names their errors by status alone. */
  async function expectHeadStatus(key: string, extra: Record<string, unknown>, status: number): Promise<void> {
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ...extra })), (error: { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(error.$metadata?.httpStatusCode, status);
      return true;
    });
  }

  /** First and last byte, package boundaries, a range inside one package and the whole object. */
  async function expectRanges(key: string, data: Buffer, withKey: Record<string, unknown> = {}): Promise<void> {
    const last = data.length - 1;
    const ranges: [number, number][] = [[0, 0], [last, last], [0, last], [Math.min(10, last), Math.min(100, last)]];
    if (data.length > 2 * PACKAGE) ranges.push([PACKAGE - 1, PACKAGE], [PACKAGE, 2 * PACKAGE - 1], [PACKAGE - 3, 2 * PACKAGE + 3], [last - PACKAGE, last]);
    for (const [start, end] of ranges) {
      const { data: got } = await get(key, { Range: `bytes=${start}-${end}`, ...withKey });
      assert.ok(got.equals(data.subarray(start, end + 1)), `${key} bytes ${start}-${end}`);
    }
  }

  it("stores SSE-S3 objects, tiny and large, encrypted, answers AES256 and the plaintext's MD5, and serves ranges", async () => {
    for (const [key, size] of [["s3-empty", 0], ["s3-tiny", 10], ["s3-small", 3000], ["s3-large", 5 * PACKAGE + 1234]] as const) {
      const data = randomData(size);
      const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data, ServerSideEncryption: "AES256" }));
      assert.equal(put.ServerSideEncryption, "AES256", key);
      assert.equal(put.ETag, `"${md5Hex(data)}"`, `${key}: AWS answers the plaintext's MD5 for SSE-S3`);
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      assert.equal(head.ServerSideEncryption, "AES256");
      assert.equal(head.ContentLength, size);
      const { data: got, output } = await get(key);
      assert.ok(got.equals(data), key);
      assert.equal(output.ServerSideEncryption, "AES256");
      if (size > 0) await expectRanges(key, data);
      objects.set(key, { data });
    }
  });

  it("stores SSE-C objects under the customer's key, with an ETag that is not the MD5, and serves ranges with the key", async () => {
    const keyMd5 = createHash("md5").update(customerKey).digest("base64");
    for (const [key, size] of [["c-tiny", 5], ["c-large", 3 * PACKAGE + 99]] as const) {
      const data = randomData(size);
      const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data, ...sseC }));
      assert.equal(put.SSECustomerAlgorithm, "AES256");
      assert.equal(put.SSECustomerKeyMD5, keyMd5);
      assert.equal(put.ServerSideEncryption, undefined);
      assert.notEqual(put.ETag, `"${md5Hex(data)}"`);
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ...sseC }));
      assert.equal(head.SSECustomerKeyMD5, keyMd5);
      assert.equal(head.ETag, put.ETag);
      assert.equal(head.ContentLength, size);
      const { data: got, output } = await get(key, sseC);
      assert.ok(got.equals(data), key);
      assert.equal(output.SSECustomerAlgorithm, "AES256");
      await expectRanges(key, data, sseC);
      objects.set(key, { data, withKey: sseC });
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "c-large" }));
    assert.equal(listed.Contents?.[0]?.ETag, (await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "c-large", ...sseC }))).ETag);
    assert.notEqual(listed.Contents?.[0]?.ETag, `"${md5Hex(objects.get("c-large")!.data)}"`, "a listing tells nothing of the plaintext");
  });

  it("answers a missing, wrong or misplaced customer key as AWS does", async () => {
    const missing = await expectS3Error(get("c-large"), "InvalidRequest", 400);
    assert.match(missing.message, /The object was stored using a form of Server Side Encryption\. The correct parameters must be provided to retrieve the object\./);
    await expectHeadStatus("c-large", {}, 400);
    const wrong = { SSECustomerAlgorithm: "AES256", SSECustomerKey: sdkKey(randomBytes(32)) };
    await expectS3Error(get("c-large", wrong), "AccessDenied", 403);
    await expectHeadStatus("c-large", wrong, 403);
    await expectS3Error(get("s3-small", sseC), "InvalidRequest", 400);
    await expectS3Error(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "copy-of-c", CopySource: `${BUCKET}/c-large` })), "InvalidRequest", 400);
  });

  it("refuses malformed customer keys with AWS's messages, storing nothing", async () => {
    const key = customerKey.toString("base64");
    const md5 = createHash("md5").update(customerKey).digest("base64");
    const cases: [Record<string, string>, RegExp][] = [
      [{ "x-amz-server-side-encryption-customer-algorithm": "AES256", "x-amz-server-side-encryption-customer-key": key, "x-amz-server-side-encryption-customer-key-MD5": md5.replace(/^./, (c) => (c === "A" ? "B" : "A")) },
        /The calculated MD5 hash of the key did not match the hash that was provided\./],
      [{ "x-amz-server-side-encryption-customer-algorithm": "AES256", "x-amz-server-side-encryption-customer-key": randomBytes(16).toString("base64"), "x-amz-server-side-encryption-customer-key-MD5": md5 },
        /The secret key was invalid for the specified algorithm\./],
      [{ "x-amz-server-side-encryption-customer-algorithm": "AES256", "x-amz-server-side-encryption-customer-key": key },
        /must provide the client calculated MD5 of the secret key/],
      [{ "x-amz-server-side-encryption": "AES256", "x-amz-server-side-encryption-customer-algorithm": "AES256", "x-amz-server-side-encryption-customer-key": key, "x-amz-server-side-encryption-customer-key-MD5": md5 },
        /incompatible with the encryption method specified/],
    ];
    for (const [headers, message] of cases) {
      const response = await signedFetch(cluster, "PUT", `/${BUCKET}/malformed`, "bytes", { headers });
      assert.equal(response.status, 400);
      const text = await response.text();
      assert.match(text, /<Code>InvalidArgument<\/Code>/);
      assert.match(text, message);
    }
    await expectS3Error(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "malformed", Body: "x", ServerSideEncryption: "aws:kms" })), "NotImplemented", 501);
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "malformed" })), "NotFound", 404);
  });

  it("applies a bucket's default encryption to writes that ask for none, and says when there is none", async () => {
    const bucket = "sealed-by-default";
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await expectS3Error(s3.send(new GetBucketEncryptionCommand({ Bucket: bucket })), "ServerSideEncryptionConfigurationNotFoundError", 404);
    const plain = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "before", Body: "plain" }));
    assert.equal(plain.ServerSideEncryption, undefined, "no encryption is claimed that is not there");
    const rule = (SSEAlgorithm: "AES256" | "aws:kms") => ({ Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm } }] });
    await expectS3Error(s3.send(new PutBucketEncryptionCommand({ Bucket: bucket, ServerSideEncryptionConfiguration: rule("aws:kms") })), "NotImplemented", 501);
    await s3.send(new PutBucketEncryptionCommand({ Bucket: bucket, ServerSideEncryptionConfiguration: rule("AES256") }));
    const configured = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    assert.equal(configured.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, "AES256");
    for (const [key, size] of [["tiny", 7], ["large", 2 * PACKAGE + 5]] as const) {
      const data = randomData(size);
      const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: data }));
      assert.equal(put.ServerSideEncryption, "AES256", key);
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      assert.equal(got.ServerSideEncryption, "AES256");
      assert.ok((await readAll(got.Body)).equals(data));
    }
    const withKey = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "customer", Body: "mine", ...sseC }));
    assert.equal(withKey.SSECustomerAlgorithm, "AES256", "a write's own encryption wins over the default");
    assert.equal(withKey.ServerSideEncryption, undefined);
    const copied = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "copied", CopySource: `${bucket}/before` }));
    assert.equal(copied.ServerSideEncryption, "AES256", "a copy takes the default too");
    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "multipart" }));
    assert.equal(upload.ServerSideEncryption, "AES256", "a multipart upload takes the default too");
    await s3.send(new DeleteBucketEncryptionCommand({ Bucket: bucket }));
    await expectS3Error(s3.send(new GetBucketEncryptionCommand({ Bucket: bucket })), "ServerSideEncryptionConfigurationNotFoundError", 404);
    const after = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "after", Body: "plain again" }));
    assert.equal(after.ServerSideEncryption, undefined);
  });

  /** A three-part upload (5 MiB, 5 MiB, a tail) with `parameters` on every request; its parts as stored. */
  async function multipart(key: string, create: Record<string, unknown>, perPart: Record<string, unknown>): Promise<Buffer> {
    const parts = [randomData(5 * 1024 * KiB), randomData(5 * 1024 * KiB), randomData(PACKAGE + 77)];
    const { UploadId, ...created } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ...create }));
    const uploaded = [];
    for (const [index, body] of parts.entries()) {
      const part = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: index + 1, Body: body, ...perPart }));
      if (create.ServerSideEncryption) assert.equal(part.ServerSideEncryption, "AES256");
      if (create.SSECustomerKey) assert.equal(part.SSECustomerAlgorithm, "AES256");
      uploaded.push({ PartNumber: index + 1, ETag: part.ETag });
    }
    const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId }));
    assert.deepEqual(listed.Parts?.map((part) => part.Size), parts.map((part) => part.length), "ListParts tells plaintext sizes");
    const completed = await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: uploaded } }));
    if (create.ServerSideEncryption) assert.equal(created.ServerSideEncryption, "AES256");
    if (create.ServerSideEncryption) assert.equal(completed.ServerSideEncryption, "AES256");
    return Buffer.concat(parts);
  }

  it("encrypts multipart uploads part by part, SSE-S3 and SSE-C, and serves ranges across parts and partNumber reads", async () => {
    for (const [key, create, perPart] of [["mp-s3", { ServerSideEncryption: "AES256" }, {}], ["mp-c", sseC, sseC]] as const) {
      const data = await multipart(key, create, perPart);
      const withKey = create === sseC ? sseC : {};
      const { data: got, output } = await get(key, withKey);
      assert.ok(got.equals(data), key);
      assert.equal(output.ContentLength, data.length);
      const boundary = 5 * 1024 * KiB;
      for (const [start, end] of [[boundary - 10, boundary + 10], [boundary - PACKAGE, 2 * boundary + PACKAGE], [data.length - 1, data.length - 1]]) {
        const { data: range } = await get(key, { Range: `bytes=${start}-${end}`, ...withKey });
        assert.ok(range.equals(data.subarray(start, end + 1)), `${key} bytes ${start}-${end}`);
      }
      const { data: second } = await get(key, { PartNumber: 2, ...withKey });
      assert.ok(second.equals(data.subarray(boundary, 2 * boundary)), `${key} part 2`);
      objects.set(key, { data, withKey: create === sseC ? sseC : undefined });
    }
  });

  it("answers GetObjectAttributes of encrypted objects in plaintext sizes, an SSE-C one with its key only", async () => {
    const attributes = (key: string, extra: Record<string, unknown> = {}) =>
      s3.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: key, ObjectAttributes: ["ObjectSize", "ObjectParts", "ETag"], ...extra }));
    const multipartS3 = await attributes("mp-s3");
    assert.equal(multipartS3.ObjectSize, objects.get("mp-s3")!.data.length);
    assert.deepEqual(multipartS3.ObjectParts?.Parts?.map((part) => part.Size), [5 * 1024 * KiB, 5 * 1024 * KiB, PACKAGE + 77]);
    await expectS3Error(attributes("c-large"), "InvalidRequest", 400);
    await expectS3Error(attributes("c-large", { SSECustomerAlgorithm: "AES256", SSECustomerKey: sdkKey(randomBytes(32)) }), "AccessDenied", 403);
    assert.equal((await attributes("c-large", sseC)).ObjectSize, objects.get("c-large")!.data.length);
  });

  it("refuses the parts and part copies of an SSE-C upload without its key or with another", async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "mp-refused", ...sseC }));
    const part = { Bucket: BUCKET, Key: "mp-refused", UploadId, PartNumber: 1, Body: "bytes" };
    await expectS3Error(s3.send(new UploadPartCommand(part)), "InvalidRequest", 400);
    await expectS3Error(s3.send(new UploadPartCommand({ ...part, SSECustomerAlgorithm: "AES256", SSECustomerKey: sdkKey(randomBytes(32)) })), "AccessDenied", 403);
    await expectS3Error(s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: "mp-refused", UploadId, PartNumber: 1, CopySource: `${BUCKET}/s3-small` })), "InvalidRequest", 400);
    const plain = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "mp-plain" }));
    await expectS3Error(s3.send(new UploadPartCommand({ ...part, Key: "mp-plain", UploadId: plain.UploadId, ...sseC })), "InvalidRequest", 400);
  });

  it("copies between SSE-S3, SSE-C and plain objects, with the source's key where it is SSE-C", async () => {
    const source = objects.get("c-large")!.data;
    const sourceKey = { CopySourceSSECustomerAlgorithm: "AES256", CopySourceSSECustomerKey: sdkKey(customerKey) };
    const toS3 = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "c-to-s3", CopySource: `${BUCKET}/c-large`, ServerSideEncryption: "AES256", ...sourceKey }));
    assert.equal(toS3.ServerSideEncryption, "AES256");
    assert.equal(toS3.CopyObjectResult?.ETag, `"${md5Hex(source)}"`);
    assert.ok((await get("c-to-s3")).data.equals(source));
    const otherKey = randomBytes(32);
    const otherSseC = { SSECustomerAlgorithm: "AES256", SSECustomerKey: sdkKey(otherKey) };
    const toC = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "c-to-c", CopySource: `${BUCKET}/c-large`, ...otherSseC, ...sourceKey }));
    assert.equal(toC.SSECustomerKeyMD5, createHash("md5").update(otherKey).digest("base64"));
    assert.ok((await get("c-to-c", otherSseC)).data.equals(source), "re-encrypted under the destination's key");
    await expectS3Error(get("c-to-c", sseC), "AccessDenied", 403);
    const wrongSource = { CopySourceSSECustomerAlgorithm: "AES256", CopySourceSSECustomerKey: sdkKey(randomBytes(32)) };
    await expectS3Error(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "never", CopySource: `${BUCKET}/c-large`, ...wrongSource })), "AccessDenied", 403);
    await expectS3Error(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "never", CopySource: `${BUCKET}/s3-small`, ...sourceKey })), "InvalidRequest", 400);

    // A copy onto itself may change nothing but its encryption.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "to-seal", Body: source }));
    const sealed = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "to-seal", CopySource: `${BUCKET}/to-seal`, ServerSideEncryption: "AES256" }));
    assert.equal(sealed.ServerSideEncryption, "AES256");
    const { data, output } = await get("to-seal");
    assert.ok(data.equals(source));
    assert.equal(output.ServerSideEncryption, "AES256");
  });

  it("copies parts into an SSE-C upload from an SSE-S3 source and a range of an SSE-C one", async () => {
    const key = "mp-copied";
    const s3Source = objects.get("mp-s3")!.data;
    const cSource = objects.get("c-large")!.data;
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ...sseC }));
    const first = await s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, CopySource: `${BUCKET}/mp-s3`, ...sseC }));
    assert.equal(first.SSECustomerAlgorithm, "AES256");
    const range = [PACKAGE - 5, 2 * PACKAGE + 9] as const;
    const second = await s3.send(new UploadPartCopyCommand({
      Bucket: BUCKET, Key: key, UploadId, PartNumber: 2, CopySource: `${BUCKET}/c-large`, CopySourceRange: `bytes=${range[0]}-${range[1]}`,
      ...sseC, CopySourceSSECustomerAlgorithm: "AES256", CopySourceSSECustomerKey: sdkKey(customerKey),
    }));
    await s3.send(new CompleteMultipartUploadCommand({
      Bucket: BUCKET, Key: key, UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: first.CopyPartResult?.ETag }, { PartNumber: 2, ETag: second.CopyPartResult?.ETag }] },
    }));
    const expected = Buffer.concat([s3Source, cSource.subarray(range[0], range[1] + 1)]);
    assert.ok((await get(key, sseC)).data.equals(expected));
  });

  it("encrypts POST form uploads as their fields or their bucket's default say", async () => {
    const data = randomData(2 * PACKAGE + 3);
    const sealed = await postForm(s3, BUCKET, "posted-s3", data, { "x-amz-server-side-encryption": "AES256" });
    assert.equal(sealed.headers.get("x-amz-server-side-encryption"), "AES256");
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "posted-s3" }));
    assert.equal(head.ServerSideEncryption, "AES256");
    assert.ok((await get("posted-s3")).data.equals(data));
    await expectRanges("posted-s3", data);

    const customer = {
      "x-amz-server-side-encryption-customer-algorithm": "AES256",
      "x-amz-server-side-encryption-customer-key": customerKey.toString("base64"),
      "x-amz-server-side-encryption-customer-key-MD5": createHash("md5").update(customerKey).digest("base64"),
    };
    await postForm(s3, BUCKET, "posted-c", data, customer);
    assert.ok((await get("posted-c", sseC)).data.equals(data));
    await expectS3Error(get("posted-c"), "InvalidRequest", 400);

    await s3.send(new PutBucketEncryptionCommand({ Bucket: "sealed-by-default", ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] } }));
    const byDefault = await postForm(s3, "sealed-by-default", "posted", data);
    assert.equal(byDefault.headers.get("x-amz-server-side-encryption"), "AES256");
    objects.set("posted-s3", { data });
    objects.set("posted-c", { data, withKey: sseC });
  });

  it("copies an SSE-S3 object to a plain one, decrypting it", async () => {
    const copied = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "copy-of-s3", CopySource: `${BUCKET}/s3-large` }));
    assert.equal(copied.ServerSideEncryption, undefined);
    const { data, output } = await get("copy-of-s3");
    assert.ok(data.equals(objects.get("s3-large")!.data));
    assert.equal(output.ServerSideEncryption, undefined);
  });

  it("keeps the plaintext off the disks: the datafiles hold only sealed packages", async () => {
    const marker = Buffer.from("WEFT-PLAINTEXT-MARKER-".repeat(4));
    const data = Buffer.concat(Array.from({ length: 3000 }, () => marker));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "marked-s3", Body: data, ServerSideEncryption: "AES256" }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "marked-c", Body: data, ...sseC }));
    const found = async () => {
      let count = 0;
      for (const ioserver of cluster.ioservers) {
        for (const path of await datafilesOf(ioserver.dir)) if ((await readFile(path)).includes(marker)) count++;
      }
      return count;
    };
    assert.equal(await found(), 0, "no datafile holds the plaintext");
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "marked-plain", Body: data }));
    assert.ok((await found()) > 0, "the same bytes stored in plain are found: the search itself works");
  });

  it("reads encrypted objects, whole and in ranges, with an ioserver stopped", async () => {
    await cluster.ioservers[0]!.stop();
    for (const [key, { data, withKey }] of objects) {
      const { data: got } = await get(key, withKey ?? {});
      assert.ok(got.equals(data), `${key} with a disk down`);
      if (data.length > 0) await expectRanges(key, data, withKey ?? {});
    }
  });
});
