import assert from "node:assert/strict";
import { DeleteBucketCorsCommand, GetBucketCorsCommand, PutBucketCorsCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { expectS3Error } from "../support/expect.js";
import { sharedClusterWithBucket } from "../support/shared.js";
import type { TestCluster } from "../support/cluster.js";

const BUCKET = "cors";
const ORIGIN = "https://app.example.com";

describe("bucket CORS: configuration, preflight and response headers", () => {
  let cluster: TestCluster;
  let s3: S3Client;
  before(async () => ({ cluster, s3 } = await sharedClusterWithBucket(BUCKET)));

  const rules = [
    { ID: "uploads", AllowedOrigins: [ORIGIN, "https://*.example.org"], AllowedMethods: ["PUT", "GET"], AllowedHeaders: ["content-type", "x-amz-*"], ExposeHeaders: ["ETag"], MaxAgeSeconds: 600 },
    { AllowedOrigins: ["*"], AllowedMethods: ["GET", "HEAD"] },
  ];

  function preflight(path: string, headers: Record<string, string>): Promise<Response> {
    return fetch(`${cluster.endpoint}${path}`, { method: "OPTIONS", headers });
  }

  it("Put/Get/DeleteBucketCors; none set answers NoSuchCORSConfiguration", async () => {
    await expectS3Error(s3.send(new GetBucketCorsCommand({ Bucket: BUCKET })), "NoSuchCORSConfiguration", 404);
    await s3.send(new PutBucketCorsCommand({ Bucket: BUCKET, CORSConfiguration: { CORSRules: rules } }));
    const got = await s3.send(new GetBucketCorsCommand({ Bucket: BUCKET }));
    assert.deepEqual(got.CORSRules, [
      { ...rules[0], ID: "uploads" },
      { AllowedOrigins: ["*"], AllowedMethods: ["GET", "HEAD"] },
    ]);
    await s3.send(new DeleteBucketCorsCommand({ Bucket: BUCKET }));
    await expectS3Error(s3.send(new GetBucketCorsCommand({ Bucket: BUCKET })), "NoSuchCORSConfiguration", 404);
  });

  it("validates rules: methods among GET PUT POST DELETE HEAD, at most one * in an origin", async () => {
    await expectS3Error(s3.send(new PutBucketCorsCommand({ Bucket: BUCKET, CORSConfiguration: { CORSRules: [{ AllowedOrigins: ["*"], AllowedMethods: ["PATCH"] }] } })), "InvalidRequest", 400);
    await expectS3Error(s3.send(new PutBucketCorsCommand({ Bucket: BUCKET, CORSConfiguration: { CORSRules: [{ AllowedOrigins: ["https://*.*.com"], AllowedMethods: ["GET"] }] } })), "InvalidRequest", 400);
  });

  it("answers an unauthenticated preflight from the first matching rule, and 403 CORSResponse when none matches", async () => {
    await s3.send(new PutBucketCorsCommand({ Bucket: BUCKET, CORSConfiguration: { CORSRules: rules } }));
    const allowed = await preflight(`/${BUCKET}/some/key.txt`, { Origin: ORIGIN, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "Content-Type, X-Amz-Meta-Owner" });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get("access-control-allow-origin"), ORIGIN);
    assert.equal(allowed.headers.get("access-control-allow-methods"), "PUT, GET");
    assert.equal(allowed.headers.get("access-control-allow-headers"), "content-type, x-amz-meta-owner");
    assert.equal(allowed.headers.get("access-control-max-age"), "600");
    assert.equal(allowed.headers.get("access-control-expose-headers"), "ETag");

    const wildcardSubdomain = await preflight(`/${BUCKET}/k`, { Origin: "https://cdn.example.org", "Access-Control-Request-Method": "GET" });
    assert.equal(wildcardSubdomain.status, 200);
    assert.equal(wildcardSubdomain.headers.get("access-control-allow-origin"), "https://cdn.example.org");

    const anyOrigin = await preflight(`/${BUCKET}/k`, { Origin: "https://elsewhere.net", "Access-Control-Request-Method": "HEAD" });
    assert.equal(anyOrigin.status, 200);
    assert.equal(anyOrigin.headers.get("access-control-allow-origin"), "*");

    const refusals: Record<string, string>[] = [
      { Origin: "https://elsewhere.net", "Access-Control-Request-Method": "PUT" },
      { Origin: ORIGIN, "Access-Control-Request-Method": "DELETE" },
      { Origin: ORIGIN, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization-not-listed" },
    ];
    for (const headers of refusals) {
      const refused = await preflight(`/${BUCKET}/k`, headers);
      assert.equal(refused.status, 403);
      const text = await refused.text();
      assert.match(text, /<Code>CORSResponse<\/Code>/);
      assert.match(text, /This CORS request is not allowed/);
    }
  });

  it("adds Access-Control-* headers to ordinary responses whose Origin matches, so a page can PUT to a presigned URL", async () => {
    await s3.send(new PutBucketCorsCommand({ Bucket: BUCKET, CORSConfiguration: { CORSRules: rules } }));
    const url = await getSignedUrl(cluster.client({ requestChecksumCalculation: "WHEN_REQUIRED" }), new PutObjectCommand({ Bucket: BUCKET, Key: "from-browser" }), { expiresIn: 300 });
    const put = await fetch(url, { method: "PUT", body: "uploaded by a page", headers: { Origin: ORIGIN } });
    assert.equal(put.status, 200);
    assert.equal(put.headers.get("access-control-allow-origin"), ORIGIN);
    assert.equal(put.headers.get("access-control-expose-headers"), "ETag");
    const foreign = await fetch(url.replace("from-browser", "other"), { method: "PUT", body: "x", headers: { Origin: "https://evil.test" } });
    assert.equal(foreign.headers.get("access-control-allow-origin"), null);
    await foreign.arrayBuffer();
  });
});
