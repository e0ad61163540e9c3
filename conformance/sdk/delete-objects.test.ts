import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { expectS3Error } from "../support/expect.js";
import { sharedClusterWithBucket } from "../support/shared.js";
import type { TestCluster } from "../support/cluster.js";
import { signedFetch } from "../support/raw.js";

const BUCKET = "multi-delete";

describe("DeleteObjects (SDK and raw)", () => {
  let cluster: TestCluster;
  let s3: S3Client;
  before(async () => ({ cluster, s3 } = await sharedClusterWithBucket(BUCKET)));

  async function putKeys(keys: string[]): Promise<void> {
    await Promise.all(keys.map((key) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }))));
  }

  async function remaining(prefix: string): Promise<string[]> {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    return (listed.Contents ?? []).map((object) => object.Key!);
  }

  it("deletes several keys, reporting each as Deleted (a missing key too, as AWS)", async () => {
    await putKeys(["verbose/a", "verbose/b", "verbose/c"]);
    const result = await s3.send(
      new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: "verbose/a" }, { Key: "verbose/missing" }, { Key: "verbose/c" }] } }),
    );
    assert.deepEqual(result.Deleted?.map((entry) => entry.Key), ["verbose/a", "verbose/missing", "verbose/c"]);
    assert.equal(result.Errors, undefined);
    assert.deepEqual(await remaining("verbose/"), ["verbose/b"]);
  });

  it("Quiet mode answers only errors", async () => {
    await putKeys(["quiet/a", "quiet/b"]);
    const result = await s3.send(
      new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Quiet: true, Objects: [{ Key: "quiet/a" }, { Key: "quiet/missing" }, { Key: "quiet/b", VersionId: "no-such-version" }] } }),
    );
    assert.equal(result.Deleted, undefined);
    assert.equal(result.Errors?.length, 1);
    assert.equal(result.Errors![0].Key, "quiet/b");
    assert.equal(result.Errors![0].VersionId, "no-such-version");
    assert.equal(result.Errors![0].Code, "NoSuchVersion");
    assert.deepEqual(await remaining("quiet/"), ["quiet/b"]);
    // The version id "null" names the object itself in a bucket that never kept versions.
    const nullVersion = await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: "quiet/b", VersionId: "null" }] } }));
    assert.equal(nullVersion.Deleted?.[0].VersionId, "null");
    assert.deepEqual(await remaining("quiet/"), []);
  });

  it("deletes 1000 keys in one request; 1001 is MalformedXML", async () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `many/${String(i).padStart(4, "0")}`);
    for (let i = 0; i < keys.length; i += 100) await putKeys(keys.slice(i, i + 100));
    const tooMany = [...keys, "many/extra"].map((Key) => ({ Key }));
    await expectS3Error(s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: tooMany } })), "MalformedXML", 400);
    const result = await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
    assert.equal(result.Deleted?.length, 1000);
    assert.deepEqual(await remaining("many/"), []);
  });

  it("takes keys written with XML character references, and escapes them on the way out", async () => {
    const keys = ["refs/a&b", "refs/<tag>", "refs/quote\"'", "refs/ünï", "refs/cr\rlf", "refs/trailing ", " refs/leading"];
    await putKeys(keys);
    const escaped = (key: string) => key.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;").replace(/\r/g, "&#13;").replace(/ü/g, "&#xFC;");
    const body = `<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${keys.map((key) => `<Object><Key>${escaped(key)}</Key></Object>`).join("")}</Delete>`;
    const md5 = createHash("md5").update(body).digest("base64");
    const response = await signedFetch(cluster, "POST", `/${BUCKET}?delete`, body, { headers: { "content-md5": md5, "content-type": "application/xml" } });
    const text = await response.text();
    assert.equal(response.status, 200, text);
    assert.equal((text.match(/<Deleted>/g) ?? []).length, keys.length, text);
    assert.ok(text.includes("<Key>refs/a&amp;b</Key>"), text);
    assert.deepEqual(await remaining("refs/"), []);
    assert.deepEqual(await remaining(" refs/"), []);
  });

  it("deletes keys that begin or end with whitespace exactly, never their trimmed neighbours", async () => {
    await putKeys(["space/k", "space/k ", "space/ k"]);
    const body = `<Delete>\n  <Object>\n    <Key>space/k </Key>\n  </Object>\n  <Object><Key>space/ k</Key></Object>\n  <Quiet> true </Quiet>\n</Delete>`;
    const response = await signedFetch(cluster, "POST", `/${BUCKET}?delete`, body);
    const text = await response.text();
    assert.equal(response.status, 200, text);
    assert.doesNotMatch(text, /<Deleted>/);
    assert.deepEqual(await remaining("space/"), ["space/k"]);
  });

  it("needs neither Content-MD5 nor a checksum header, but checks one when sent", async () => {
    await putKeys(["plain/a"]);
    const body = `<Delete><Object><Key>plain/a</Key></Object></Delete>`;
    const bare = await signedFetch(cluster, "POST", `/${BUCKET}?delete`, body);
    assert.equal(bare.status, 200, await bare.text());
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "plain/a" })), "NotFound", 404);
    const wrong = await signedFetch(cluster, "POST", `/${BUCKET}?delete`, body, { headers: { "content-md5": createHash("md5").update("other").digest("base64") } });
    assert.equal(wrong.status, 400);
    assert.match(await wrong.text(), /<Code>BadDigest<\/Code>/);
  });

  it("answers MalformedXML for bodies that are not a Delete document with objects", async () => {
    for (const body of ["", "<Delete></Delete>", "<Delete><Object></Object></Delete>", "<Other><Object><Key>k</Key></Object></Other>", "<Delete><Object><Key>k</Key>"]) {
      const response = await signedFetch(cluster, "POST", `/${BUCKET}?delete`, body);
      assert.equal(response.status, 400, body);
      assert.match(await response.text(), /<Code>MalformedXML<\/Code>/, body);
    }
    await expectS3Error(s3.send(new DeleteObjectsCommand({ Bucket: "no-such-bucket-multi", Delete: { Objects: [{ Key: "k" }] } })), "NoSuchBucket", 404);
  });

  it("refuses a body with a document type, entities, deep nesting or a NUL, and deletes nothing", async () => {
    await putKeys(["hostile/aaaaaaaaaa", "hostile/ab"]);
    const bodies = [
      // "Billion laughs": the entities would expand into the key of an existing object.
      '<!DOCTYPE Delete [<!ENTITY a "aaaaa"><!ENTITY b "&a;&a;">]><Delete><Object><Key>hostile/&b;</Key></Object></Delete>',
      '<!DOCTYPE Delete SYSTEM "file:///etc/passwd"><Delete><Object><Key>hostile/ab</Key></Object></Delete>',
      // The parser would drop the NUL and name another existing key.
      "<Delete><Object><Key>hostile/a&#0;b</Key></Object></Delete>",
      `<Delete>${"<Object>".repeat(100_000)}${"</Object>".repeat(100_000)}</Delete>`,
    ];
    for (const body of bodies) {
      const response = await signedFetch(cluster, "POST", `/${BUCKET}?delete`, body);
      assert.equal(response.status, 400, body.slice(0, 80));
      assert.match(await response.text(), /<Code>MalformedXML<\/Code>/);
    }
    assert.deepEqual(await remaining("hostile/"), ["hostile/aaaaaaaaaa", "hostile/ab"]);
  });

  it("answers a key or query parameter holding a NUL with 400 InvalidURI, not a server error", async () => {
    for (const path of [`/${BUCKET}/nul%00key`, `/${BUCKET}?prefix=a%00b`, `/${BUCKET}?list-type=2&start-after=%00`]) {
      const response = await signedFetch(cluster, path.includes("?") ? "GET" : "PUT", path, path.includes("?") ? undefined : "x");
      assert.equal(response.status, 400, path);
      assert.match(await response.text(), /<Code>InvalidURI<\/Code>/, path);
    }
  });
});
