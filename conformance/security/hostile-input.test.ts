// Hostile request bodies and keys: declarations and entities, nesting deep enough to exhaust a recursive parser, and
// NUL characters, which no key may hold here (PostgreSQL text cannot). Each is a 400 that changes nothing.
import assert from "node:assert/strict";
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetBucketCorsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketCorsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";
import { expectS3Error } from "../support/expect.js";
import { signedFetch } from "../support/raw.js";
import { sharedClusterWithBucket } from "../support/shared.js";
import type { TestCluster } from "../support/cluster.js";

const BUCKET = "hostile-input";

/** The classic "billion laughs": ten levels of ten references, a few hundred bytes expanding to 10⁹ characters. */
function billionLaughs(root: string, inner: (entity: string) => string): string {
  const levels = Array.from({ length: 9 }, (_, level) => `<!ENTITY lol${level + 1} "${`&lol${level};`.repeat(10)}">`);
  return `<?xml version="1.0"?><!DOCTYPE ${root} [<!ENTITY lol0 "lol">${levels.join("")}]>${inner("&lol9;")}`;
}

function nested(depth: number, root: string): string {
  return `<${root}>${"<a>".repeat(depth)}${"</a>".repeat(depth)}</${root}>`;
}

describe("hostile input", () => {
  let cluster: TestCluster;
  let s3: S3Client;
  before(async () => ({ cluster, s3 } = await sharedClusterWithBucket(BUCKET)));

  async function put(key: string): Promise<void> {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
  }

  async function keysUnder(prefix: string): Promise<string[]> {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    return (listed.Contents ?? []).map((object) => object.Key!);
  }

  async function expectRefused(response: Response, code: string, what: string): Promise<void> {
    const text = await response.text();
    assert.equal(response.status, 400, `${what}: ${text.slice(0, 300)}`);
    assert.match(text, new RegExp(`<Code>${code}</Code>`), what);
  }

  describe("XML declarations and entities", () => {
    it("DeleteObjects with a document type is MalformedXML and deletes nothing, whatever its entities expand to", async () => {
      await Promise.all(["laughs/aaaaaaaaaa", "laughs/lollollol", "laughs/plain"].map(put));
      const bodies = [
        billionLaughs("Delete", (entity) => `<Delete><Object><Key>laughs/${entity}</Key></Object></Delete>`),
        // Small expansions into the key of an object that exists: a parser expanding them would delete it.
        '<!DOCTYPE Delete [<!ENTITY a "aaaaa"><!ENTITY b "&a;&a;">]><Delete><Object><Key>laughs/&b;</Key></Object></Delete>',
        '<?xml version="1.0"?>\n<!doctype Delete [ <!entity l "lol"> ]>\n<Delete><Object><Key>laughs/&l;&l;&l;</Key></Object></Delete>',
        '<!DOCTYPE  Delete\tSYSTEM "file:///etc/passwd"><Delete><Object><Key>laughs/plain</Key></Object></Delete>',
        '<Delete><!ENTITY x "laughs/plain"><Object><Key>laughs/plain</Key></Object></Delete>',
      ];
      for (const body of bodies) await expectRefused(await signedFetch(cluster, "POST", `/${BUCKET}?delete`, body), "MalformedXML", body.slice(0, 60));
      assert.deepEqual(await keysUnder("laughs/"), ["laughs/aaaaaaaaaa", "laughs/lollollol", "laughs/plain"]);
    });

    it("a CORS configuration with entities is MalformedXML and the configuration in place stays", async () => {
      const rules = [{ AllowedOrigins: ["https://app.example.com"], AllowedMethods: ["GET"] }];
      await s3.send(new PutBucketCorsCommand({ Bucket: BUCKET, CORSConfiguration: { CORSRules: rules } }));
      const rule = (origin: string) => `<CORSRule><AllowedOrigin>${origin}</AllowedOrigin><AllowedMethod>PUT</AllowedMethod></CORSRule>`;
      const bodies = [
        `<!DOCTYPE CORSConfiguration [<!ENTITY any "*">]><CORSConfiguration>${rule("&any;")}</CORSConfiguration>`,
        billionLaughs("CORSConfiguration", (entity) => `<CORSConfiguration>${rule(entity)}</CORSConfiguration>`),
      ];
      for (const body of bodies) await expectRefused(await signedFetch(cluster, "PUT", `/${BUCKET}?cors`, body), "MalformedXML", body.slice(0, 60));
      const stored = await s3.send(new GetBucketCorsCommand({ Bucket: BUCKET }));
      assert.deepEqual(stored.CORSRules, rules);
    });

    it("declaration-like text inside a CDATA section is a key like any other", async () => {
      await put("cdata/<!DOCTYPE x>");
      const body = "<Delete><Object><Key><![CDATA[cdata/<!DOCTYPE x>]]></Key></Object></Delete>";
      const response = await signedFetch(cluster, "POST", `/${BUCKET}?delete`, body);
      assert.equal(response.status, 200, await response.text());
      assert.deepEqual(await keysUnder("cdata/"), []);
    });
  });

  describe("deep nesting", () => {
    it("200 000 levels are MalformedXML, not a server error, in every XML body", async () => {
      await put("deep/kept");
      const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "deep/upload" }));
      const requests: Array<[method: string, path: string, body: string]> = [
        ["POST", `/${BUCKET}?delete`, nested(200_000, "Delete")],
        ["POST", `/${BUCKET}/deep/upload?uploadId=${upload.UploadId}`, nested(200_000, "CompleteMultipartUpload")],
        ["PUT", `/${BUCKET}/deep/kept?tagging`, nested(200_000, "Tagging")],
        // PutBucketCors reads at most 64 KiB: as deep as fits.
        ["PUT", `/${BUCKET}?cors`, nested(9_000, "CORSConfiguration")],
      ];
      for (const [method, path, body] of requests) await expectRefused(await signedFetch(cluster, method, path, body), "MalformedXML", `${method} ${path}`);
      assert.deepEqual(await keysUnder("deep/"), ["deep/kept"]);
    });
  });

  describe("a NUL in a key", () => {
    const NUL_KEY = "nul/a\u0000b";

    it("in the request path is InvalidURI for every object operation, through the SDK and raw", async () => {
      await expectS3Error(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: NUL_KEY, Body: "x" })), "InvalidURI", 400);
      await expectS3Error(s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: NUL_KEY })), "InvalidURI", 400);
      const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "nul/upload" }));
      const uploadId = upload.UploadId!;
      await expectS3Error(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: NUL_KEY, UploadId: uploadId, PartNumber: 1, Body: "x" })), "InvalidURI", 400);
      const complete = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>";
      const requests: Array<[method: string, path: string, body?: string]> = [
        ["GET", `/${BUCKET}/nul/a%00b`],
        ["DELETE", `/${BUCKET}/nul/a%00b`],
        ["PUT", `/${BUCKET}/nul/a%00b?tagging`, "<Tagging><TagSet/></Tagging>"],
        ["POST", `/${BUCKET}/nul/a%00b?uploadId=${uploadId}`, complete],
      ];
      for (const [method, path, body] of requests) await expectRefused(await signedFetch(cluster, method, path, body), "InvalidURI", `${method} ${path}`);
      assert.equal((await signedFetch(cluster, "HEAD", `/${BUCKET}/nul/a%00b`)).status, 400);
    });

    it("in a DeleteObjects <Key> or a CompleteMultipartUpload body, raw or as &#0;, is MalformedXML and changes nothing", async () => {
      // The parser would drop the NUL and name this key instead.
      await put("nul/ab");
      for (const key of ["nul/a&#0;b", "nul/a&#x00;b", "nul/a\u0000b"]) {
        const body = `<Delete><Object><Key>${key}</Key></Object></Delete>`;
        await expectRefused(await signedFetch(cluster, "POST", `/${BUCKET}?delete`, body), "MalformedXML", JSON.stringify(key));
      }
      const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "nul/completed" }));
      const part = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "nul/completed", UploadId: upload.UploadId, PartNumber: 1, Body: "x" }));
      const complete = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.ETag}&#0;</ETag></Part></CompleteMultipartUpload>`;
      await expectRefused(await signedFetch(cluster, "POST", `/${BUCKET}/nul/completed?uploadId=${upload.UploadId}`, complete), "MalformedXML", "complete");
      assert.deepEqual(await keysUnder("nul/"), ["nul/ab"]);
    });

    it("in a copy source is InvalidArgument and copies nothing", async () => {
      await put("nul/ab");
      for (const source of [`${BUCKET}/nul/a%00b`, `/${BUCKET}/nul/a%00b`, `${BUCKET}%00/nul/ab`]) {
        await expectS3Error(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "nul/copy", CopySource: source })), "InvalidArgument", 400);
      }
      await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "nul/copy" })), "NotFound", 404);
    });

    it("in a POST form's key is InvalidArgument and stores nothing", async () => {
      const cases = [
        { key: NUL_KEY, filename: "upload.bin", code: "InvalidArgument" },
        // Through ${filename}: a part header cannot carry a NUL, so the form itself is malformed.
        { key: "nul/${filename}", filename: "up\u0000load.bin", code: "MalformedPOSTRequest" },
      ];
      for (const { key, filename, code } of cases) {
        const { url, fields } = await createPresignedPost(s3, { Bucket: BUCKET, Key: key });
        const form = new FormData();
        for (const [name, value] of Object.entries(fields)) form.append(name, value);
        form.append("file", new Blob([new Uint8Array(Buffer.from("x"))]), filename);
        await expectRefused(await fetch(url, { method: "POST", body: form, redirect: "manual" }), code, key);
      }
      assert.deepEqual((await keysUnder("nul/")).filter((key) => key.includes("\u0000") || key.startsWith("nul/up")), []);
    });
  });
});
