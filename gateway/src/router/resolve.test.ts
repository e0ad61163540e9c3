import assert from "node:assert/strict";
import { parseRequestTarget } from "../http/request-target.js";
import { resolveOperation } from "./resolve.js";
import { S3Error } from "../s3/errors.js";

function resolve(method: string, url: string, headers: Record<string, string> = {}, host = "127.0.0.1:9000") {
  return resolveOperation(method, parseRequestTarget(url, host, ["localhost"]), headers);
}

describe("request target and operation resolution", () => {
  it("parses path-style bucket and key from the raw target, keeping '+' and decoding %XX once", () => {
    const target = parseRequestTarget("/photos/a%20b/c+d%2Be%2525?x-id=GetObject", "127.0.0.1:9000", ["localhost"]);
    assert.equal(target.bucket, "photos");
    assert.equal(target.key, "a b/c+d+e%25");
    assert.equal(target.query.get("x-id"), "GetObject");
  });

  it("parses virtual-hosted bucket names under a configured domain", () => {
    const target = parseRequestTarget("/dir//file", "photos.localhost:9000", ["localhost"]);
    assert.equal(target.bucket, "photos");
    assert.equal(target.key, "dir//file");
    assert.equal(target.virtualHosted, true);
    assert.equal(parseRequestTarget("/", "localhost:9000", ["localhost"]).bucket, undefined);
  });

  it("maps methods and sub-resources to AWS action names", () => {
    assert.equal(resolve("GET", "/").name, "ListBuckets");
    assert.equal(resolve("PUT", "/b").name, "CreateBucket");
    assert.equal(resolve("GET", "/b?location").name, "GetBucketLocation");
    assert.equal(resolve("GET", "/b?list-type=2&prefix=x").name, "ListObjectsV2");
    assert.equal(resolve("GET", "/b?prefix=x").name, "ListObjects");
    assert.equal(resolve("PUT", "/b/k").name, "PutObject");
    assert.equal(resolve("PUT", "/b/k?partNumber=1&uploadId=u").name, "UploadPart");
    assert.equal(resolve("POST", "/b/k?uploads").name, "CreateMultipartUpload");
    assert.equal(resolve("POST", "/b/k?uploadId=u").name, "CompleteMultipartUpload");
    assert.equal(resolve("DELETE", "/b/k?uploadId=u").name, "AbortMultipartUpload");
    assert.equal(resolve("GET", "/b/k?versionId=v&x-id=GetObject").name, "GetObject");
    assert.equal(resolve("GET", "/b/k?partNumber=2").name, "GetObject");
    assert.equal(resolve("HEAD", "/b/k?partNumber=1").name, "HeadObject");
    assert.equal(resolve("PUT", "/b/k", { "x-amz-copy-source": "/b/other" }).name, "CopyObject");
    assert.equal(resolve("PUT", "/b/k?partNumber=1&uploadId=u", { "x-amz-copy-source": "/b/other" }).name, "UploadPartCopy");
    assert.equal(resolve("POST", "/b?delete").name, "DeleteObjects");
    assert.equal(resolve("GET", "/b/k?uploadId=u").name, "ListParts");
    assert.equal(resolve("GET", "/b?uploads&prefix=p").name, "ListMultipartUploads");
    assert.equal(resolve("PUT", "/b?policy").name, "PutBucketPolicy");
    assert.equal(resolve("GET", "/b?policyStatus").name, "GetBucketPolicyStatus");
    assert.equal(resolve("DELETE", "/b?publicAccessBlock").name, "DeletePublicAccessBlock");
    assert.equal(resolve("GET", "/b/k?acl").name, "GetObjectAcl");
    assert.equal(resolve("PUT", "/b?ownershipControls").name, "PutBucketOwnershipControls");
    assert.equal(resolve("PUT", "/b?lifecycle").name, "PutBucketLifecycleConfiguration");
    assert.equal(resolve("GET", "/b?lifecycle").name, "GetBucketLifecycleConfiguration");
    assert.equal(resolve("DELETE", "/b?lifecycle").name, "DeleteBucketLifecycle");
  });

  it("answers NotImplemented for sub-resources it does not serve, never another operation", () => {
    for (const [method, url, headers] of [
      ["DELETE", "/b/k?retention", {}],
      ["GET", "/b?website", {}],
      ["PUT", "/b/k?lifecycle", {}],
      ["POST", "/b?lifecycle", {}],
      ["PUT", "/b?policy&tagging", {}],
      ["PUT", "/b/k?uploads", { "x-amz-copy-source": "/b/other" }],
      ["GET", "/b/k?partNumber=2&uploadId=u", {}],
      ["POST", "/b/k?delete", {}],
    ] as const) {
      assert.throws(() => resolve(method, url, headers), (error: unknown) => error instanceof S3Error && error.code === "NotImplemented", `${method} ${url}`);
    }
  });
});
