// No silent success: a header asking for encryption or object lock where Weft does not do it (SSE-KMS, SSE-S3 on a
// part copy, a lock on a part or a form) or for a website redirect is refused with 501 and stores nothing; a request signed for another region is refused as AWS refuses it; a stranger asking for a sub-resource
// Weft does not serve gets 403, not 501.
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import assert from "node:assert/strict";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { expectS3Error } from "../support/expect.js";
import { signedFetch } from "../support/raw.js";

describe("no silent success", function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let s3: S3Client;
  const bucket = "honest";

  before(async () => {
    cluster = await startTestCluster();
    s3 = cluster.client({ maxAttempts: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "plain", Body: "plain" }));
  });
  after(async () => cluster?.destroy());

  const absent = async (key: string) => expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })), "NotFound", 404);

  const refusedWrites: [string, Record<string, unknown>][] = [
    ["SSE-KMS", { ServerSideEncryption: "aws:kms", SSEKMSKeyId: "some-key" }],
    ["website redirect", { WebsiteRedirectLocation: "/elsewhere" }],
  ];
  for (const [what, parameters] of refusedWrites) {
    it(`refuses PutObject, CopyObject and CreateMultipartUpload with ${what}, storing nothing`, async () => {
      const key = `with ${what}`;
      await expectS3Error(s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "bytes", ...parameters })), "NotImplemented", 501);
      await expectS3Error(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${bucket}/plain`, ...parameters })), "NotImplemented", 501);
      await expectS3Error(s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...parameters })), "NotImplemented", 501);
      await absent(key);
    });
  }

  it("refuses x-amz-server-side-encryption on a part copy, whose part takes its upload's encryption", async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "sealed-part" }));
    const response = await signedFetch(cluster, "PUT", `/${bucket}/sealed-part?partNumber=1&uploadId=${UploadId}`, undefined, {
      headers: { "x-amz-copy-source": `${bucket}/plain`, "x-amz-server-side-encryption": "AES256" },
    });
    assert.equal(response.status, 501);
    assert.match(await response.text(), /<Code>NotImplemented<\/Code>.*<Header>x-amz-server-side-encryption<\/Header>/s);
  });

  it("creates a bucket that asks for no object lock", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "unlocked", ObjectLockEnabledForBucket: false }));
    await s3.send(new HeadBucketCommand({ Bucket: "unlocked" }));
  });

  for (const [field, value] of [["x-amz-server-side-encryption", "aws:kms"], ["x-amz-object-lock-mode", "COMPLIANCE"]]) {
    it(`refuses a POST form asking for ${field}: ${value}`, async () => {
      const { url, fields } = await createPresignedPost(s3, { Bucket: bucket, Key: "form", Fields: { [field]: value } });
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) form.append(name, value);
      form.append("file", new Blob([new Uint8Array(Buffer.from("bytes"))]), "file.bin");
      const response = await fetch(url, { method: "POST", body: form });
      assert.equal(response.status, 501);
      assert.match(await response.text(), new RegExp(`<Code>NotImplemented</Code>.*<Header>${field}</Header>`, "s"));
      await absent("form");
    });
  }

  it("refuses an object lock header on an operation that cannot apply it (UploadPart)", async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "parted" }));
    const response = await signedFetch(cluster, "PUT", `/${bucket}/parted?partNumber=1&uploadId=${UploadId}`, "part", {
      headers: { "x-amz-object-lock-legal-hold": "ON" },
    });
    assert.equal(response.status, 501);
    assert.match(await response.text(), /<Header>x-amz-object-lock-legal-hold<\/Header>/);
  });

  it("refuses a request signed for another region, with the region it expects", async () => {
    const elsewhere = cluster.client({ maxAttempts: 1, region: "eu-west-1" });
    const error = await expectS3Error(elsewhere.send(new PutObjectCommand({ Bucket: bucket, Key: "elsewhere", Body: "x" })), "AuthorizationHeaderMalformed", 400);
    assert.match(error.message, /the region 'eu-west-1' is wrong; expecting 'us-east-1'/);
    await absent("elsewhere");
    const url = await getSignedUrl(elsewhere, new GetObjectCommand({ Bucket: bucket, Key: "plain" }), { expiresIn: 60 });
    const response = await fetch(url);
    assert.equal(response.status, 400);
    assert.match(await response.text(), /<Code>AuthorizationQueryParametersError<\/Code>.*<Region>us-east-1<\/Region>/s);
    const { url: formUrl, fields } = await createPresignedPost(elsewhere, { Bucket: bucket, Key: "form-elsewhere" });
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append("file", new Blob([new Uint8Array(Buffer.from("bytes"))]), "file.bin");
    const posted = await fetch(formUrl, { method: "POST", body: form });
    assert.equal(posted.status, 400);
    assert.match(await posted.text(), /<Code>AuthorizationQueryParametersError<\/Code>.*<Region>us-east-1<\/Region>/s);
    await absent("form-elsewhere");
  });

  it("answers a stranger asking for a sub-resource Weft does not serve 403, and its owner 501", async () => {
    for (const path of [`/${bucket}?website`, `/${bucket}/plain?torrent`, `/${bucket}?logging`, `/${bucket}?policy`, `/${bucket}?acl`, "/?unknown-service-thing&acl"]) {
      const anonymous = await fetch(`${cluster.endpoint}${path}`);
      assert.equal(anonymous.status, 403, `${path}: ${anonymous.status}`);
      assert.match(await anonymous.text(), /<Code>AccessDenied<\/Code>/);
    }
    for (const path of [`/${bucket}?website`, `/${bucket}/plain?torrent`, `/${bucket}?logging`]) {
      const owner = await signedFetch(cluster, "GET", path);
      assert.equal(owner.status, 501, `${path}: ${owner.status}`);
      assert.match(await owner.text(), /<Code>NotImplemented<\/Code>/);
    }
  });
});
