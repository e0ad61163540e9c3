import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  type ChecksumAlgorithm,
  type ChecksumType,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { crc32, crc64 } from "hash-wasm";
import { expectS3Error } from "../support/expect.js";
import { sharedClusterWithBucket } from "../support/shared.js";
import type { TestCluster } from "../support/cluster.js";
import { md5Hex, randomData, readAll } from "../support/bytes.js";

const BUCKET = "multipart-checksums";
const MiB = 1024 * 1024;

// An oracle independent of the gateway's own checksum code: hash-wasm for the CRCs, node:crypto for the SHAs.
async function digest(algorithm: ChecksumAlgorithm, data: Uint8Array): Promise<Buffer> {
  switch (algorithm) {
    case "CRC32":
      return Buffer.from(await crc32(data), "hex");
    case "CRC32C":
      return Buffer.from(await crc32(data, 0x82f63b78), "hex");
    case "CRC64NVME":
      return Buffer.from(await crc64(data, "9a6c9329ac4bc9b5"), "hex");
    case "SHA1":
      return createHash("sha1").update(data).digest();
    case "SHA256":
      return createHash("sha256").update(data).digest();
    default:
      throw new Error(`no oracle for ${algorithm}`);
  }
}

const field = (algorithm: ChecksumAlgorithm) => `Checksum${algorithm}` as "ChecksumCRC32";

describe("multipart upload checksums (COMPOSITE and FULL_OBJECT)", () => {
  let cluster: TestCluster;
  let s3: S3Client;
  // 4 full-size parts and a short last one, shared by every case (uploaded once per algorithm).
  const parts = [randomData(5 * MiB), randomData(5 * MiB + 3), randomData(5 * MiB), randomData(5 * MiB + 1), randomData(777_777)];
  const whole = Buffer.concat(parts);

  before(async () => ({ cluster, s3 } = await sharedClusterWithBucket(BUCKET)));

  async function uploadParts(key: string, algorithm: ChecksumAlgorithm, type?: ChecksumType): Promise<{ uploadId: string; completed: CompletedPart[] }> {
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ChecksumAlgorithm: algorithm, ChecksumType: type }));
    assert.equal(created.ChecksumAlgorithm, algorithm);
    const completed: CompletedPart[] = [];
    for (const [index, data] of parts.entries()) {
      const response = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: created.UploadId, PartNumber: index + 1, Body: data, ChecksumAlgorithm: algorithm }));
      const partDigest = (await digest(algorithm, data)).toString("base64");
      assert.equal(response[field(algorithm)], partDigest, `part ${index + 1} checksum`);
      completed.push({ ETag: response.ETag, PartNumber: index + 1, [field(algorithm)]: partDigest });
    }
    return { uploadId: created.UploadId!, completed };
  }

  const cases: { algorithm: ChecksumAlgorithm; type?: ChecksumType; expectedType: ChecksumType }[] = [
    { algorithm: "CRC32", expectedType: "COMPOSITE" },
    { algorithm: "CRC32C", expectedType: "COMPOSITE" },
    { algorithm: "SHA1", expectedType: "COMPOSITE" },
    { algorithm: "SHA256", expectedType: "COMPOSITE" },
    { algorithm: "CRC64NVME", expectedType: "FULL_OBJECT" },
    { algorithm: "CRC32", type: "FULL_OBJECT", expectedType: "FULL_OBJECT" },
    { algorithm: "CRC32C", type: "FULL_OBJECT", expectedType: "FULL_OBJECT" },
  ];
  for (const { algorithm, type, expectedType } of cases) {
    it(`5 parts with ${algorithm} (${type ?? "default type"}): completion reports the ${expectedType} checksum, and GET returns it`, async () => {
      const key = `mpu-${algorithm}-${expectedType}`;
      const { uploadId, completed } = await uploadParts(key, algorithm, type);
      const expected =
        expectedType === "COMPOSITE"
          ? `${(await digest(algorithm, Buffer.concat(await Promise.all(parts.map((part) => digest(algorithm, part)))))).toString("base64")}-${parts.length}`
          : (await digest(algorithm, whole)).toString("base64");
      const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, MultipartUpload: { Parts: completed } }));
      assert.equal(done[field(algorithm)], expected);
      assert.equal(done.ChecksumType, expectedType);

      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: "ENABLED" }));
      assert.equal(got[field(algorithm)], expected);
      assert.equal(got.ChecksumType, expectedType);
      // For FULL_OBJECT the SDK verifies the body against the checksum while reading it.
      assert.equal(md5Hex(await readAll(got.Body)), md5Hex(whole));
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: "ENABLED" }));
      assert.equal(head[field(algorithm)], expected);
    });
  }

  it("a full-object checksum given on completion must match (BadDigest), and the right one is accepted", async () => {
    const { uploadId, completed } = await uploadParts("mpu-claimed", "CRC64NVME");
    const complete = (claimed: string) =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "mpu-claimed", UploadId: uploadId, MultipartUpload: { Parts: completed }, ChecksumCRC64NVME: claimed, ChecksumType: "FULL_OBJECT" }));
    await expectS3Error(complete(Buffer.alloc(8).toString("base64")), "BadDigest", 400);
    const right = (await digest("CRC64NVME", whole)).toString("base64");
    const done = await complete(right);
    assert.equal(done.ChecksumCRC64NVME, right);
  });

  it("refuses a part checksum in the completion that is not the stored one (InvalidPart) and a missing one for COMPOSITE (InvalidRequest)", async () => {
    const { uploadId, completed } = await uploadParts("mpu-wrong-part", "SHA256");
    const send = (partsList: CompletedPart[]) => s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "mpu-wrong-part", UploadId: uploadId, MultipartUpload: { Parts: partsList } }));
    const wrong = completed.map((part, index) => (index === 2 ? { ...part, ChecksumSHA256: createHash("sha256").update("other").digest("base64") } : part));
    await expectS3Error(send(wrong), "InvalidPart", 400);
    const missing = completed.map((part, index) => (index === 1 ? { ETag: part.ETag, PartNumber: part.PartNumber } : part));
    await expectS3Error(send(missing), "InvalidRequest", 400);
    const done = await send(completed);
    assert.match(done.ChecksumSHA256!, /-5$/);
  });

  it("refuses a part sent with another algorithm than the upload's, and impossible algorithm/type pairs", async () => {
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "mpu-mismatch", ChecksumAlgorithm: "CRC32C" }));
    await expectS3Error(
      s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "mpu-mismatch", UploadId: created.UploadId, PartNumber: 1, Body: randomData(1000), ChecksumAlgorithm: "SHA1" })),
      "InvalidRequest",
      400,
    );
    await expectS3Error(s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "bad", ChecksumAlgorithm: "SHA256", ChecksumType: "FULL_OBJECT" })), "InvalidRequest", 400);
    await expectS3Error(s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "bad", ChecksumAlgorithm: "CRC64NVME", ChecksumType: "COMPOSITE" })), "InvalidRequest", 400);
  });

  it("a part sent without a checksum in an upload with an algorithm gets one computed by the gateway", async () => {
    const plain = cluster.client({ requestChecksumCalculation: "WHEN_REQUIRED" });
    const created = await plain.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "mpu-computed", ChecksumAlgorithm: "CRC32", ChecksumType: "FULL_OBJECT" }));
    const data = randomData(100_000);
    const part = await plain.send(new UploadPartCommand({ Bucket: BUCKET, Key: "mpu-computed", UploadId: created.UploadId, PartNumber: 1, Body: data }));
    assert.equal(part.ChecksumCRC32, (await digest("CRC32", data)).toString("base64"));
    const done = await plain.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "mpu-computed", UploadId: created.UploadId, MultipartUpload: { Parts: [{ ETag: part.ETag, PartNumber: 1 }] } }));
    assert.equal(done.ChecksumCRC32, (await digest("CRC32", data)).toString("base64"));
  });
});
