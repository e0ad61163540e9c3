import assert from "node:assert/strict";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  GetBucketLocationCommand,
  GetBucketLoggingCommand,
  GetBucketWebsiteCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  PutObjectCommand,
  DeleteObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { expectS3Error } from "../support/expect.js";
import { sharedCluster } from "../support/shared.js";
import type { TestCluster } from "../support/cluster.js";

describe("buckets (SDK)", () => {
  let cluster: TestCluster;
  let s3: S3Client;
  before(async () => {
    cluster = await sharedCluster();
    s3 = cluster.client();
  });

  it("creates, heads, lists, locates and deletes a bucket", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "bucket-life" }));
    const head = await s3.send(new HeadBucketCommand({ Bucket: "bucket-life" }));
    assert.equal(head.BucketRegion, cluster.region);
    const { Buckets } = await s3.send(new ListBucketsCommand({}));
    const listed = Buckets?.find((bucket) => bucket.Name === "bucket-life");
    assert.ok(listed, "the new bucket is listed");
    assert.ok(listed.CreationDate instanceof Date && Math.abs(listed.CreationDate.getTime() - Date.now()) < 60_000);
    const location = await s3.send(new GetBucketLocationCommand({ Bucket: "bucket-life" }));
    assert.equal(location.LocationConstraint ?? "", ""); // us-east-1 answers an empty constraint, as AWS does
    await s3.send(new DeleteBucketCommand({ Bucket: "bucket-life" }));
    await expectS3Error(s3.send(new HeadBucketCommand({ Bucket: "bucket-life" })), "NotFound", 404);
  });

  it("answers BucketAlreadyOwnedByYou for a second create", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "twice" }));
    await expectS3Error(s3.send(new CreateBucketCommand({ Bucket: "twice" })), "BucketAlreadyOwnedByYou", 409);
  });

  it("accepts a LocationConstraint body (s3cmd sends US)", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "with-location", CreateBucketConfiguration: { LocationConstraint: "EU" } }));
    await s3.send(new HeadBucketCommand({ Bucket: "with-location" }));
  });

  it("rejects invalid bucket names and creates nothing", async () => {
    for (const name of ["ab", "UpperCase", "has_underscore", "-dash", "dots..dots", "192.168.1.1", "a".repeat(64)]) {
      await expectS3Error(s3.send(new CreateBucketCommand({ Bucket: name })), "InvalidBucketName", 400);
    }
    const { Buckets } = await s3.send(new ListBucketsCommand({}));
    assert.ok(!Buckets?.some((bucket) => bucket.Name === "ab" || bucket.Name === "dots..dots"));
  });

  it("refuses to delete a bucket that holds objects", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "not-empty" }));
    await s3.send(new PutObjectCommand({ Bucket: "not-empty", Key: "k", Body: "x" }));
    await expectS3Error(s3.send(new DeleteBucketCommand({ Bucket: "not-empty" })), "BucketNotEmpty", 409);
    await s3.send(new DeleteObjectCommand({ Bucket: "not-empty", Key: "k" }));
    await s3.send(new DeleteBucketCommand({ Bucket: "not-empty" }));
  });

  it("answers NoSuchBucket for a missing bucket", async () => {
    const error = await expectS3Error(s3.send(new PutObjectCommand({ Bucket: "no-such-bucket", Key: "k", Body: "x" })), "NoSuchBucket", 404);
    assert.ok(error.$metadata.requestId, "errors carry a request id");
  });

  it("answers NotImplemented for sub-resources it does not serve", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "subresources" }));
    await expectS3Error(s3.send(new GetBucketLoggingCommand({ Bucket: "subresources" })), "NotImplemented", 501);
    await expectS3Error(s3.send(new GetBucketWebsiteCommand({ Bucket: "subresources" })), "NotImplemented", 501);
  });
});
