import assert from "node:assert/strict";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type ListMultipartUploadsCommandOutput,
} from "@aws-sdk/client-s3";
import { expectS3Error } from "../support/expect.js";
import { sharedCluster } from "../support/shared.js";
import type { TestCluster } from "../support/cluster.js";
import { md5Hex, randomData, readAll } from "../support/bytes.js";
import { signedFetch } from "../support/raw.js";

const BUCKET = "mp-listing";
const UPLOADS_BUCKET = "mp-uploads-listing";
const PARTS_BUCKET = "mp-parts-get";
const MiB = 1024 * 1024;

describe("ListParts, ListMultipartUploads and GET ?partNumber (SDK)", function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  let s3: S3Client;
  /** The admin user as S3 names an owner: its canonical id and name. */
  const adminOwner = async () => ({ ...(await s3.send(new ListBucketsCommand({}))).Owner });
  before(async () => {
    cluster = await sharedCluster();
    s3 = cluster.client();
    for (const Bucket of [BUCKET, UPLOADS_BUCKET, PARTS_BUCKET]) await s3.send(new CreateBucketCommand({ Bucket }));
  });

  describe("ListParts", () => {
    it("pages through parts with max-parts and part-number-marker", async () => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "paged", StorageClass: "REDUCED_REDUNDANCY" }));
      const bodies = new Map<number, Buffer>();
      // Numbers with gaps, uploaded out of order; part 3 is uploaded twice (the second replaces the first).
      for (const number of [7, 1, 3, 12, 5, 3]) {
        const body = randomData(1000 + number);
        bodies.set(number, body);
        await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "paged", UploadId, PartNumber: number, Body: body }));
      }
      const seen: number[] = [];
      let marker: string | undefined;
      let pages = 0;
      for (;;) {
        const page = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: "paged", UploadId, MaxParts: 2, PartNumberMarker: marker }));
        pages++;
        assert.equal(page.MaxParts, 2);
        assert.equal(page.StorageClass, "REDUCED_REDUNDANCY");
        assert.deepEqual(page.Initiator, await adminOwner());
        assert.deepEqual(page.Owner, await adminOwner());
        assert.equal(page.UploadId, UploadId);
        for (const part of page.Parts ?? []) {
          seen.push(part.PartNumber!);
          assert.equal(part.ETag, `"${md5Hex(bodies.get(part.PartNumber!)!)}"`);
          assert.equal(part.Size, bodies.get(part.PartNumber!)!.length);
          assert.ok(part.LastModified instanceof Date);
        }
        if (!page.IsTruncated) break;
        assert.equal(page.NextPartNumberMarker, String(page.Parts!.at(-1)!.PartNumber));
        marker = page.NextPartNumberMarker;
      }
      assert.deepEqual(seen, [1, 3, 5, 7, 12]);
      assert.equal(pages, 3);
      await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: "paged", UploadId }));
    });

    it("lists an upload without parts, reports part checksums, and answers NoSuchUpload / InvalidArgument", async () => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "empty", ChecksumAlgorithm: "SHA256" }));
      const empty = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: "empty", UploadId }));
      assert.equal(empty.Parts, undefined);
      assert.equal(empty.IsTruncated, false);
      const uploaded = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "empty", UploadId, PartNumber: 1, Body: randomData(100), ChecksumAlgorithm: "SHA256" }));
      const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: "empty", UploadId }));
      assert.equal(listed.Parts?.[0].ChecksumSHA256, uploaded.ChecksumSHA256);
      assert.equal(listed.ChecksumAlgorithm, "SHA256");
      await expectS3Error(s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: "empty", UploadId: "no-such-upload" })), "NoSuchUpload", 404);
      await expectS3Error(s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: "other-key", UploadId })), "NoSuchUpload", 404);
      const bad = await signedFetch(cluster, "GET", `/${BUCKET}/empty?uploadId=${UploadId}&max-parts=abc`);
      assert.equal(bad.status, 400);
      assert.match(await bad.text(), /<Code>InvalidArgument<\/Code>/);
      await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: "empty", UploadId }));
    });
  });

  describe("ListMultipartUploads", () => {
    const created: { key: string; uploadId: string }[] = [];
    before(async () => {
      // Two uploads of "a/1" (same key, initiated one after the other), keys under two folders, and top-level keys.
      for (const key of ["a/1", "a/1", "a/2", "b/1", "c", "d", "ü/x"]) {
        const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: UPLOADS_BUCKET, Key: key }));
        created.push({ key, uploadId: UploadId! });
      }
    });

    async function pageAll(parameters: { Prefix?: string; Delimiter?: string; MaxUploads: number }) {
      const pages: ListMultipartUploadsCommandOutput[] = [];
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      for (;;) {
        const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: UPLOADS_BUCKET, ...parameters, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
        pages.push(page);
        if (!page.IsTruncated) break;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
        assert.ok(keyMarker, "a truncated page names the next key marker");
      }
      return pages;
    }

    it("lists every upload in key then initiation order, one at a time with max-uploads=1", async () => {
      const pages = await pageAll({ MaxUploads: 1 });
      const listed = pages.flatMap((page) => (page.Uploads ?? []).map((upload) => ({ key: upload.Key!, uploadId: upload.UploadId! })));
      assert.deepEqual(listed, created);
      assert.equal(pages.length, created.length);
      const first = pages[0].Uploads![0];
      assert.deepEqual(first.Initiator, await adminOwner());
      assert.equal(first.StorageClass, "STANDARD");
      assert.ok(first.Initiated instanceof Date);
      // The second page continues inside key "a/1" thanks to the upload-id marker.
      assert.equal(pages[0].NextKeyMarker, "a/1");
      assert.equal(pages[0].NextUploadIdMarker, created[0].uploadId);
    });

    it("rolls keys up into CommonPrefixes with a delimiter, and pages across them", async () => {
      const all = await s3.send(new ListMultipartUploadsCommand({ Bucket: UPLOADS_BUCKET, Delimiter: "/" }));
      assert.deepEqual(all.CommonPrefixes?.map((prefix) => prefix.Prefix), ["a/", "b/", "ü/"]);
      assert.deepEqual(all.Uploads?.map((upload) => upload.Key), ["c", "d"]);
      assert.equal(all.IsTruncated, false);
      const pages = await pageAll({ Delimiter: "/", MaxUploads: 2 });
      const entries = pages.flatMap((page) => [...(page.CommonPrefixes ?? []).map((prefix) => prefix.Prefix!), ...(page.Uploads ?? []).map((upload) => upload.Key!)].sort());
      assert.deepEqual(entries, ["a/", "b/", "c", "d", "ü/"]);
      assert.equal(pages[0].NextKeyMarker, "b/");
      assert.equal(pages[0].NextUploadIdMarker, undefined);
    });

    it("filters by prefix, with and without a delimiter", async () => {
      const under = await s3.send(new ListMultipartUploadsCommand({ Bucket: UPLOADS_BUCKET, Prefix: "a/" }));
      assert.deepEqual(under.Uploads?.map((upload) => upload.Key), ["a/1", "a/1", "a/2"]);
      assert.equal(under.Prefix, "a/");
      const none = await s3.send(new ListMultipartUploadsCommand({ Bucket: UPLOADS_BUCKET, Prefix: "zzz" }));
      assert.equal(none.Uploads, undefined);
      const folders = await s3.send(new ListMultipartUploadsCommand({ Bucket: UPLOADS_BUCKET, Prefix: "a", Delimiter: "/" }));
      assert.deepEqual(folders.CommonPrefixes?.map((prefix) => prefix.Prefix), ["a/"]);
    });

    it("starts after key-marker alone (every upload of that key skipped)", async () => {
      const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: UPLOADS_BUCKET, KeyMarker: "a/1" }));
      assert.deepEqual(page.Uploads?.map((upload) => upload.Key), ["a/2", "b/1", "c", "d", "ü/x"]);
      assert.equal(page.KeyMarker, "a/1");
    });

    it("percent-encodes names with encoding-type=url", async () => {
      const response = await signedFetch(cluster, "GET", `/${UPLOADS_BUCKET}?uploads&prefix=%C3%BC&encoding-type=url`);
      const text = await response.text();
      assert.equal(response.status, 200, text);
      assert.match(text, /<EncodingType>url<\/EncodingType>/);
      assert.match(text, /<Key>%C3%BC\/x<\/Key>/, "as AWS, '/' is not encoded");
      assert.match(text, /<Prefix>%C3%BC<\/Prefix>/);
      const bad = await signedFetch(cluster, "GET", `/${UPLOADS_BUCKET}?uploads&max-uploads=-1`);
      assert.equal(bad.status, 400);
    });

    it("no longer lists a completed or aborted upload", async () => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "gone" }));
      const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: "gone" }));
      assert.deepEqual(listed.Uploads?.map((upload) => upload.UploadId), [UploadId]);
      await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: "gone", UploadId }));
      assert.equal((await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: "gone" }))).Uploads, undefined);
    });
  });

  describe("GET and HEAD ?partNumber", () => {
    const parts = [randomData(5 * MiB), randomData(5 * MiB + 1), randomData(4321)];
    before(async () => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: PARTS_BUCKET, Key: "three" }));
      const etags: string[] = [];
      for (const [index, body] of parts.entries()) {
        etags.push((await s3.send(new UploadPartCommand({ Bucket: PARTS_BUCKET, Key: "three", UploadId, PartNumber: index + 1, Body: body }))).ETag!);
      }
      await s3.send(
        new CompleteMultipartUploadCommand({ Bucket: PARTS_BUCKET, Key: "three", UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }),
      );
      await s3.send(new PutObjectCommand({ Bucket: PARTS_BUCKET, Key: "single", Body: parts[2] }));
    });

    it("returns each part with 206, Content-Range and x-amz-mp-parts-count", async () => {
      let offset = 0;
      const total = parts.reduce((sum, part) => sum + part.length, 0);
      for (const [index, body] of parts.entries()) {
        const got = await s3.send(new GetObjectCommand({ Bucket: PARTS_BUCKET, Key: "three", PartNumber: index + 1 }));
        assert.equal(got.$metadata.httpStatusCode, 206);
        assert.equal(got.PartsCount, 3);
        assert.equal(got.ContentLength, body.length);
        assert.equal(got.ContentRange, `bytes ${offset}-${offset + body.length - 1}/${total}`);
        assert.ok((await readAll(got.Body)).equals(body));
        const head = await s3.send(new HeadObjectCommand({ Bucket: PARTS_BUCKET, Key: "three", PartNumber: index + 1 }));
        assert.equal(head.PartsCount, 3);
        assert.equal(head.ContentLength, body.length);
        offset += body.length;
      }
    });

    it("serves part 1 of a non-multipart object as the whole object, without a parts count", async () => {
      const got = await s3.send(new GetObjectCommand({ Bucket: PARTS_BUCKET, Key: "single", PartNumber: 1 }));
      assert.equal(got.PartsCount, undefined);
      assert.equal(got.ContentLength, parts[2].length);
      assert.ok((await readAll(got.Body)).equals(parts[2]));
      await expectS3Error(s3.send(new GetObjectCommand({ Bucket: PARTS_BUCKET, Key: "single", PartNumber: 2 })), "InvalidPartNumber", 416);
    });

    it("answers InvalidPartNumber past the count, InvalidRequest with a Range, InvalidArgument for a bad number", async () => {
      const beyond = await expectS3Error(s3.send(new GetObjectCommand({ Bucket: PARTS_BUCKET, Key: "three", PartNumber: 4 })), "InvalidPartNumber", 416);
      assert.match(beyond.message, /The requested partnumber is not satisfiable/);
      await expectS3Error(s3.send(new GetObjectCommand({ Bucket: PARTS_BUCKET, Key: "three", PartNumber: 1, Range: "bytes=0-9" })), "InvalidRequest", 400);
      const zero = await signedFetch(cluster, "GET", `/${PARTS_BUCKET}/three?partNumber=0`);
      assert.equal(zero.status, 400);
      assert.match(await zero.text(), /<Code>InvalidArgument<\/Code>/);
      const head = await signedFetch(cluster, "HEAD", `/${PARTS_BUCKET}/three?partNumber=9`);
      assert.equal(head.status, 416);
    });
  });
});
