import assert from "node:assert/strict";
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteBucketTaggingCommand,
  DeleteObjectTaggingCommand,
  GetBucketTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { expectS3Error } from "../support/expect.js";
import { sharedClusterWithBucket } from "../support/shared.js";
import type { TestCluster } from "../support/cluster.js";
import { signedFetch } from "../support/raw.js";

const BUCKET = "tagging";

describe("object and bucket tagging", () => {
  let cluster: TestCluster;
  let s3: S3Client;
  before(async () => ({ cluster, s3 } = await sharedClusterWithBucket(BUCKET)));

  it("Put/Get/DeleteObjectTagging, with x-amz-tagging-count on GET and HEAD only while tags exist", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "tagged", Body: "data" }));
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "tagged" }))).TagSet, []);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "tagged" }))).TagCount, undefined);
    const tags = [
      { Key: "project", Value: "weft" },
      { Key: "ünïcode key", Value: "välue with spaces +-=._:/@" },
      { Key: "empty", Value: "" },
    ];
    await s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: "tagged", Tagging: { TagSet: tags } }));
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "tagged" }))).TagSet, tags);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "tagged" }))).TagCount, 3);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "tagged" }));
    assert.equal(got.TagCount, 3);
    await got.Body!.transformToString();
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: BUCKET, Key: "tagged" }));
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "tagged" }))).TagSet, []);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "tagged" }))).TagCount, undefined);
  });

  it("x-amz-tagging on PutObject, and on CreateMultipartUpload carried to the completed object", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "put-tagged", Body: "data", Tagging: "a=1&b%20c=d%3De%2Bf" }));
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "put-tagged" }))).TagSet, [
      { Key: "a", Value: "1" },
      { Key: "b c", Value: "d=e+f" },
    ]);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "mpu-tagged", Tagging: "stage=raw" }));
    const part = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "mpu-tagged", UploadId, PartNumber: 1, Body: "part" }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "mpu-tagged", UploadId, MultipartUpload: { Parts: [{ ETag: part.ETag, PartNumber: 1 }] } }));
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "mpu-tagged" }))).TagSet, [{ Key: "stage", Value: "raw" }]);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "mpu-tagged" }))).TagCount, 1);
    // A plain overwrite without x-amz-tagging leaves the new object untagged.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "put-tagged", Body: "again" }));
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "put-tagged" }))).TagSet, []);
  });

  it("refuses invalid tag sets with InvalidTag: more than 10, long keys or values, duplicates, aws: prefix", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "limits", Body: "x" }));
    const put = (TagSet: { Key: string; Value: string }[]) => s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: "limits", Tagging: { TagSet } }));
    await expectS3Error(put(Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: "v" }))), "InvalidTag", 400);
    await put(Array.from({ length: 10 }, (_, i) => ({ Key: `k${i}`, Value: "v" })));
    await expectS3Error(put([{ Key: "k".repeat(129), Value: "v" }]), "InvalidTag", 400);
    await put([{ Key: "k".repeat(128), Value: "v".repeat(256) }]);
    await expectS3Error(put([{ Key: "k", Value: "v".repeat(257) }]), "InvalidTag", 400);
    await expectS3Error(put([{ Key: "k", Value: "1" }, { Key: "k", Value: "2" }]), "InvalidTag", 400);
    await expectS3Error(put([{ Key: "aws:reserved", Value: "1" }]), "InvalidTag", 400);
    await expectS3Error(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "limits-header", Body: "x", Tagging: "a=1&a=2" })), "InvalidTag", 400);
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "limits" }))).TagSet, [{ Key: "k".repeat(128), Value: "v".repeat(256) }]);
  });

  it("object tagging of a missing key answers NoSuchKey", async () => {
    await expectS3Error(s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "missing" })), "NoSuchKey", 404);
    await expectS3Error(s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: "missing", Tagging: { TagSet: [] } })), "NoSuchKey", 404);
    await expectS3Error(s3.send(new DeleteObjectTaggingCommand({ Bucket: BUCKET, Key: "missing" })), "NoSuchKey", 404);
  });

  it("Put/Get/DeleteBucketTagging; none set answers NoSuchTagSet", async () => {
    await expectS3Error(s3.send(new GetBucketTaggingCommand({ Bucket: BUCKET })), "NoSuchTagSet", 404);
    const TagSet = [{ Key: "team", Value: "storage" }, { Key: "cost-center", Value: "42" }];
    await s3.send(new PutBucketTaggingCommand({ Bucket: BUCKET, Tagging: { TagSet } }));
    assert.deepEqual((await s3.send(new GetBucketTaggingCommand({ Bucket: BUCKET }))).TagSet, TagSet);
    await s3.send(new DeleteBucketTaggingCommand({ Bucket: BUCKET }));
    await expectS3Error(s3.send(new GetBucketTaggingCommand({ Bucket: BUCKET })), "NoSuchTagSet", 404);
  });

  it("refuses a Tagging document that is not well-formed (MalformedXML)", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "malformed", Body: "x" }));
    const response = await signedFetch(cluster, "PUT", `/${BUCKET}/malformed?tagging`, "<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>");
    assert.equal(response.status, 400);
    assert.match(await response.text(), /<Code>MalformedXML<\/Code>/);
  });
});
