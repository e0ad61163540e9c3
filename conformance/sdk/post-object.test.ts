import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { createPresignedPost, type PresignedPostOptions } from "@aws-sdk/s3-presigned-post";
import { connect } from "../../meta/src/db.js";
import { md5Hex, randomData } from "../support/bytes.js";
import { expectS3Error } from "../support/expect.js";
import { sharedCluster, sharedClusterWithBucket } from "../support/shared.js";
import type { TestCluster } from "../support/cluster.js";

const BUCKET = "post-forms";
const MiB = 1024 * 1024;

describe("POST Object (browser form upload)", () => {
  let cluster: TestCluster;
  let s3: S3Client;
  before(async () => ({ cluster, s3 } = await sharedClusterWithBucket(BUCKET)));

  async function presign(options: Omit<PresignedPostOptions, "Bucket">) {
    return createPresignedPost(s3, { Bucket: BUCKET, ...options });
  }

  /** Posts the form with the file last, as a browser does. */
  function post(url: string, fields: Record<string, string>, file: Buffer, filename = "upload.bin"): Promise<Response> {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append("file", new Blob([new Uint8Array(file)]), filename);
    return fetch(url, { method: "POST", body: form, redirect: "manual" });
  }

  async function expectFormError(response: Response, code: string, status: number, message?: RegExp): Promise<void> {
    const text = await response.text();
    assert.equal(response.status, status, text);
    assert.match(text, new RegExp(`<Code>${code}</Code>`));
    if (message) assert.match(text, message);
  }

  async function expectNothingStored(key: string): Promise<void> {
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })), "NotFound", 404);
    const sql = connect(cluster.databaseUrl, { max: 1 });
    try {
      const rows = await sql`select state from versions where key = ${key}`;
      assert.equal(rows.length, 0, "no version row, pending or complete, may remain");
    } finally {
      await sql.end();
    }
  }

  it("stores the file with the form's metadata; ETag is the MD5; 204 by default", async () => {
    const data = randomData(300_000);
    const { url, fields } = await presign({
      Key: "forms/plain.bin",
      Fields: { "Content-Type": "image/png", "Cache-Control": "max-age=60", "x-amz-meta-owner": "alice" },
    });
    const response = await post(url, fields, data);
    assert.equal(response.status, 204, await response.text());
    assert.equal(response.headers.get("etag"), `"${md5Hex(data)}"`);
    assert.match(response.headers.get("location") ?? "", /\/post-forms\/forms\/plain\.bin$/);

    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "forms/plain.bin" }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    assert.ok(bytes.equals(data));
    assert.equal(got.ETag, `"${md5Hex(data)}"`);
    assert.equal(got.ContentType, "image/png");
    assert.equal(got.CacheControl, "max-age=60");
    assert.deepEqual(got.Metadata, { owner: "alice" });
    assert.equal(got.ContentLength, data.length);
  });

  it("stores empty and tiny files (never inline, lengths learned at the end)", async () => {
    for (const size of [0, 1, 4097]) {
      const data = randomData(size);
      const { url, fields } = await presign({ Key: `forms/tiny-${size}` });
      const response = await post(url, fields, data);
      assert.equal(response.status, 204, await response.text());
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `forms/tiny-${size}` }));
      assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data));
    }
  });

  it("success_action_status 201 answers PostResponse XML; 200 an empty body", async () => {
    const data = randomData(1000);
    const created = await presign({ Key: "forms/created", Fields: { success_action_status: "201" } });
    const response = await post(created.url, created.fields, data);
    assert.equal(response.status, 201);
    const xml = await response.text();
    assert.match(xml, /<PostResponse>/);
    assert.match(xml, /<Bucket>post-forms<\/Bucket>/);
    assert.match(xml, /<Key>forms\/created<\/Key>/);
    assert.match(xml, new RegExp(`<ETag>&quot;${md5Hex(data)}&quot;</ETag>|<ETag>"${md5Hex(data)}"</ETag>`));
    assert.match(xml, /<Location>http:\/\/[^<]+\/post-forms\/forms\/created<\/Location>/);

    const ok = await presign({ Key: "forms/ok", Fields: { success_action_status: "200" } });
    const okResponse = await post(ok.url, ok.fields, data);
    assert.equal(okResponse.status, 200);
    assert.equal(await okResponse.text(), "");
  });

  it("success_action_redirect answers 303 to the URL with bucket, key and etag", async () => {
    const data = randomData(2000);
    const { url, fields } = await presign({ Key: "forms/redirected", Fields: { success_action_redirect: "https://app.example.com/done?from=form" } });
    const response = await post(url, fields, data);
    assert.equal(response.status, 303);
    const location = new URL(response.headers.get("location")!);
    assert.equal(location.origin + location.pathname, "https://app.example.com/done");
    assert.equal(location.searchParams.get("from"), "form");
    assert.equal(location.searchParams.get("bucket"), BUCKET);
    assert.equal(location.searchParams.get("key"), "forms/redirected");
    assert.equal(location.searchParams.get("etag"), `"${md5Hex(data)}"`);
  });

  it("substitutes ${filename} and checks a starts-with condition", async () => {
    const { url, fields } = await presign({ Key: "user-7/${filename}" });
    const response = await post(url, fields, Buffer.from("hello"), "photo.jpg");
    assert.equal(response.status, 204, await response.text());
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "user-7/photo.jpg" }));
    assert.equal(await got.Body!.transformToString(), "hello");

    // The key must start with the signed prefix.
    const outside = await post(url, { ...fields, key: "user-8/${filename}" }, Buffer.from("x"), "photo.jpg");
    await expectFormError(outside, "AccessDenied", 403, /Policy Condition failed/);
    await expectNothingStored("user-8/photo.jpg");
  });

  it("enforces content-length-range: EntityTooLarge and EntityTooSmall store nothing", async () => {
    const { url, fields } = await presign({ Key: "forms/ranged", Conditions: [["content-length-range", 10, 100_000]] });
    await expectFormError(await post(url, fields, randomData(100_001)), "EntityTooLarge", 400);
    await expectNothingStored("forms/ranged");
    await expectFormError(await post(url, fields, randomData(9)), "EntityTooSmall", 400);
    await expectNothingStored("forms/ranged");
    // A too-large file far beyond the limit is refused while streaming, not after.
    await expectFormError(await post(url, fields, randomData(6 * MiB)), "EntityTooLarge", 400);
    await expectNothingStored("forms/ranged");
    const response = await post(url, fields, randomData(100_000));
    assert.equal(response.status, 204, await response.text());
  });

  it("refuses an expired policy", async () => {
    const { url, fields } = await presign({ Key: "forms/expired", Expires: -60 });
    await expectFormError(await post(url, fields, Buffer.from("late")), "AccessDenied", 403, /Policy expired/);
    await expectNothingStored("forms/expired");
  });

  it("refuses a tampered policy (SignatureDoesNotMatch) and a field that contradicts it (AccessDenied)", async () => {
    const { url, fields } = await presign({ Key: "forms/signed", Fields: { "Content-Type": "text/plain" } });
    const policy = JSON.parse(Buffer.from(fields.Policy, "base64").toString("utf8")) as { expiration: string; conditions: unknown[] };
    policy.conditions.push(["content-length-range", 0, 10 * 1024 ** 3]);
    const tampered = { ...fields, Policy: Buffer.from(JSON.stringify(policy)).toString("base64") };
    await expectFormError(await post(url, tampered, Buffer.from("x")), "SignatureDoesNotMatch", 403);
    await expectNothingStored("forms/signed");

    await expectFormError(await post(url, { ...fields, "Content-Type": "text/html" }, Buffer.from("<script>")), "AccessDenied", 403, /Policy Condition failed/);
    await expectFormError(await post(url, { ...fields, key: "forms/elsewhere" }, Buffer.from("x")), "AccessDenied", 403, /Policy Condition failed/);
    await expectNothingStored("forms/elsewhere");
    await expectNothingStored("forms/signed");
  });

  it("refuses a form field no policy condition covers; x-ignore-* fields are free", async () => {
    const { url, fields } = await presign({ Key: "forms/extra" });
    await expectFormError(await post(url, { ...fields, "x-amz-meta-sneaky": "1" }, Buffer.from("x")), "AccessDenied", 403, /Extra input fields: x-amz-meta-sneaky/);
    await expectNothingStored("forms/extra");
    const response = await post(url, { ...fields, "x-ignore-tracking": "abc" }, Buffer.from("x"));
    assert.equal(response.status, 204, await response.text());
  });

  it("refuses a form without a key or without a policy", async () => {
    const { url, fields } = await presign({ Key: "forms/missing" });
    const { key: _key, ...withoutKey } = fields;
    await expectFormError(await post(url, withoutKey, Buffer.from("x")), "InvalidArgument", 400);
    await expectFormError(await post(url, { key: "forms/missing" }, Buffer.from("x")), "AccessDenied", 403);
    await expectNothingStored("forms/missing");
  });

  it("streams a 20 MiB file", async () => {
    const data = randomData(20 * MiB + 123);
    const { url, fields } = await presign({ Key: "forms/big.bin" });
    const response = await post(url, fields, data);
    assert.equal(response.status, 204, await response.text());
    assert.equal(response.headers.get("etag"), `"${md5Hex(data)}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "forms/big.bin" }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    assert.equal(bytes.length, data.length);
    assert.equal(createHash("md5").update(bytes).digest("hex"), md5Hex(data));
    // A range in the middle reads through the layout learned at the end of the upload.
    const ranged = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "forms/big.bin", Range: "bytes=7340000-7340099" }));
    assert.ok(Buffer.from(await ranged.Body!.transformToByteArray()).equals(data.subarray(7340000, 7340100)));
  });

  it("carries CORS headers for a matching Origin", async () => {
    const cors = (await import("@aws-sdk/client-s3")).PutBucketCorsCommand;
    await s3.send(new cors({ Bucket: BUCKET, CORSConfiguration: { CORSRules: [{ AllowedOrigins: ["https://app.example.com"], AllowedMethods: ["POST"] }] } }));
    const { url, fields } = await presign({ Key: "forms/cors" });
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append("file", new Blob(["hi"]), "hi.txt");
    const response = await fetch(url, { method: "POST", body: form, headers: { Origin: "https://app.example.com" } });
    assert.equal(response.status, 204, await response.text());
    assert.equal(response.headers.get("access-control-allow-origin"), "https://app.example.com");
  });

  it("makes a new version in a bucket that keeps versions, and answers its id", async () => {
    const versioned = "post-forms-versioned";
    await s3.send(new CreateBucketCommand({ Bucket: versioned }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: "Enabled" } }));
    const versionIds: string[] = [];
    for (const text of ["first", "second"]) {
      const { url, fields } = await createPresignedPost(s3, { Bucket: versioned, Key: "forms/kept" });
      const response = await post(url, fields, Buffer.from(text));
      assert.equal(response.status, 204, await response.text());
      versionIds.push(response.headers.get("x-amz-version-id") ?? "");
    }
    assert.ok(versionIds.every((id) => /^[0-9a-f]{32}$/.test(id)) && versionIds[0] !== versionIds[1], versionIds.join());
    const first = await s3.send(new GetObjectCommand({ Bucket: versioned, Key: "forms/kept", VersionId: versionIds[0] }));
    assert.equal(await first.Body!.transformToString(), "first");
    const current = await s3.send(new GetObjectCommand({ Bucket: versioned, Key: "forms/kept" }));
    assert.equal(current.VersionId, versionIds[1]);
    assert.equal(await current.Body!.transformToString(), "second");
  });
});

describe("GetObjectAttributes", () => {
  const ATTRS_BUCKET = "object-attributes";
  let s3: S3Client;
  before(async () => {
    const cluster = await sharedCluster();
    s3 = cluster.client();
    await s3.send(new CreateBucketCommand({ Bucket: ATTRS_BUCKET }));
  });

  it("describes a plain object: ETag unquoted, checksum, storage class, size, no parts", async () => {
    const data = randomData(12_345);
    const put = await s3.send(new PutObjectCommand({ Bucket: ATTRS_BUCKET, Key: "plain", Body: data, ChecksumAlgorithm: "CRC32" }));
    const got = await s3.send(
      new GetObjectAttributesCommand({ Bucket: ATTRS_BUCKET, Key: "plain", ObjectAttributes: ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"] }),
    );
    assert.equal(got.ETag, md5Hex(data));
    assert.equal(got.Checksum?.ChecksumCRC32, put.ChecksumCRC32);
    assert.equal(got.Checksum?.ChecksumType, "FULL_OBJECT");
    assert.equal(got.ObjectParts, undefined);
    assert.equal(got.StorageClass, "STANDARD");
    assert.equal(got.ObjectSize, data.length);
    assert.ok(got.LastModified instanceof Date);

    const some = await s3.send(new GetObjectAttributesCommand({ Bucket: ATTRS_BUCKET, Key: "plain", ObjectAttributes: ["ObjectSize"] }));
    assert.equal(some.ObjectSize, data.length);
    assert.equal(some.ETag, undefined);
    await expectS3Error(s3.send(new GetObjectAttributesCommand({ Bucket: ATTRS_BUCKET, Key: "missing", ObjectAttributes: ["ETag"] })), "NoSuchKey", 404);
  });

  it("describes a multipart object's parts, paged with max-parts and part-number-marker", async () => {
    const key = "multi";
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: ATTRS_BUCKET, Key: key, ChecksumAlgorithm: "SHA256" }));
    const sizes = [5 * MiB, 5 * MiB, 1234];
    const parts = [];
    for (let index = 0; index < sizes.length; index++) {
      const uploaded = await s3.send(
        new UploadPartCommand({ Bucket: ATTRS_BUCKET, Key: key, UploadId, PartNumber: index + 1, Body: randomData(sizes[index]), ChecksumAlgorithm: "SHA256" }),
      );
      parts.push({ PartNumber: index + 1, ETag: uploaded.ETag, ChecksumSHA256: uploaded.ChecksumSHA256 });
    }
    const completed = await s3.send(new CompleteMultipartUploadCommand({ Bucket: ATTRS_BUCKET, Key: key, UploadId, MultipartUpload: { Parts: parts } }));

    const first = await s3.send(new GetObjectAttributesCommand({ Bucket: ATTRS_BUCKET, Key: key, ObjectAttributes: ["ETag", "ObjectParts", "Checksum"], MaxParts: 2 }));
    assert.equal(`"${first.ETag}"`, completed.ETag);
    assert.equal(first.Checksum?.ChecksumSHA256, completed.ChecksumSHA256);
    assert.equal(first.Checksum?.ChecksumType, "COMPOSITE");
    assert.equal(first.ObjectParts?.TotalPartsCount, 3);
    assert.equal(first.ObjectParts?.MaxParts, 2);
    assert.equal(first.ObjectParts?.IsTruncated, true);
    assert.equal(first.ObjectParts?.NextPartNumberMarker, "2");
    assert.deepEqual(
      first.ObjectParts?.Parts?.map((part) => [part.PartNumber, part.Size, part.ChecksumSHA256]),
      [
        [1, sizes[0], parts[0].ChecksumSHA256],
        [2, sizes[1], parts[1].ChecksumSHA256],
      ],
    );
    const rest = await s3.send(
      new GetObjectAttributesCommand({ Bucket: ATTRS_BUCKET, Key: key, ObjectAttributes: ["ObjectParts"], MaxParts: 2, PartNumberMarker: first.ObjectParts!.NextPartNumberMarker }),
    );
    assert.equal(rest.ObjectParts?.IsTruncated, false);
    assert.equal(rest.ObjectParts?.PartNumberMarker, "2");
    assert.deepEqual(rest.ObjectParts?.Parts?.map((part) => [part.PartNumber, part.Size]), [[3, sizes[2]]]);
  });
});
