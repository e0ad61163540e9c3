import assert from "node:assert/strict";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { expectS3Error } from "../support/expect.js";
import { sharedClusterWithBucket } from "../support/shared.js";
import type { TestCluster } from "../support/cluster.js";
import { md5Hex } from "../support/bytes.js";
import { signedFetch } from "../support/raw.js";

const BUCKET = "versioning-listing";

// UTF-8 byte order, which differs from JS string (UTF-16) order for astral characters vs U+E000–U+FFFF.
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

const KEYS = [
  "a", "a b", "a+b", "a/b", "b", "d/1", "d/2", "d/e/3", "ünï/ö", "😀", "\uE000", "\uFFFD", "z z",
  ...Array.from({ length: 20 }, (_, i) => `many/${String(i).padStart(3, "0")}`),
];
// Written before versioning is enabled, so each has a "null" version at the bottom of its history.
const NULL_KEYS = ["a", "d/1", "many/005"];

interface Entry {
  kind: "Version" | "DeleteMarker";
  key: string;
  versionId: string;
  isLatest: boolean;
}

interface RawPage {
  entries: Entry[];
  prefixes: string[];
  isTruncated: boolean;
  nextKeyMarker?: string;
  nextVersionIdMarker?: string;
}

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, entity: string) => {
    if (entity.startsWith("#x")) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith("#")) return String.fromCodePoint(parseInt(entity.slice(1), 10));
    return ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" } as Record<string, string>)[entity];
  });
}

function element(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return match ? unescapeXml(match[1]) : undefined;
}

/** A ListVersionsResult in document order: the SDK splits versions and delete markers into two lists and loses it. */
function parseVersions(xml: string): RawPage {
  const entries = [...xml.matchAll(/<(Version|DeleteMarker)>([\s\S]*?)<\/\1>/g)].map(([, kind, body]) => ({
    kind: kind as Entry["kind"],
    key: element(body, "Key")!,
    versionId: element(body, "VersionId")!,
    isLatest: element(body, "IsLatest") === "true",
  }));
  const prefixes = [...xml.matchAll(/<CommonPrefixes>\s*<Prefix>([^<]*)<\/Prefix>\s*<\/CommonPrefixes>/g)].map(([, prefix]) => unescapeXml(prefix));
  return { entries, prefixes, isTruncated: element(xml, "IsTruncated") === "true", nextKeyMarker: element(xml, "NextKeyMarker"), nextVersionIdMarker: element(xml, "NextVersionIdMarker") };
}

describe("ListObjectVersions, and listings of versioned buckets (SDK and raw)", () => {
  let cluster: TestCluster;
  let s3: S3Client;
  /** Every entry of BUCKET as ListObjectVersions must answer it: keys in byte order, newest first within a key. */
  let expected: Entry[];
  const bodies = new Map<string, Buffer>();

  async function enable(bucket: string): Promise<void> {
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }));
  }

  async function raw(bucket: string, query: Record<string, string | number | undefined>): Promise<{ xml: string; page: RawPage }> {
    const params = Object.entries(query)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => `&${name}=${encodeURIComponent(String(value))}`)
      .join("");
    const response = await signedFetch(cluster, "GET", `/${bucket}?versions${params}`);
    const xml = await response.text();
    assert.equal(response.status, 200, xml);
    return { xml, page: parseVersions(xml) };
  }

  /** Every page of a raw listing, following NextKeyMarker / NextVersionIdMarker. */
  async function allPages(query: Record<string, string | number | undefined>): Promise<RawPage[]> {
    const pages: RawPage[] = [];
    let markers: Record<string, string | undefined> = {};
    for (;;) {
      const { page } = await raw(BUCKET, { ...query, ...markers });
      pages.push(page);
      if (!page.isTruncated) return pages;
      assert.ok(page.nextKeyMarker, "a truncated page has a NextKeyMarker");
      assert.ok(pages.length <= expected.length + 1, "paging ends");
      markers = { "key-marker": page.nextKeyMarker, "version-id-marker": page.nextVersionIdMarker };
    }
  }

  before(async function () {
    this.timeout(300_000);
    ({ cluster, s3 } = await sharedClusterWithBucket(BUCKET));
    const history = new Map<string, Entry[]>(KEYS.map((key) => [key, []]));
    const record = (key: string, kind: Entry["kind"], versionId: string) => history.get(key)!.unshift({ kind, key, versionId, isLatest: false });
    for (const key of NULL_KEYS) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `${key} null` }));
      bodies.set(`${key}@null`, Buffer.from(`${key} null`));
      record(key, "Version", "null");
    }
    await enable(BUCKET);
    for (const [index, key] of KEYS.entries()) {
      const steps: ("put" | "delete")[] = Array(1 + (index % 3)).fill("put");
      if (index % 4 === 1) steps.push("delete");
      if (index % 5 === 2) steps.push("delete", "put");
      for (const [step, action] of steps.entries()) {
        if (action === "put") {
          const body = Buffer.from(`${key} #${step}`.repeat(step + 1));
          const { VersionId } = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
          bodies.set(`${key}@${VersionId}`, body);
          record(key, "Version", VersionId!);
        } else {
          const { VersionId } = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
          record(key, "DeleteMarker", VersionId!);
        }
      }
    }
    expected = [...KEYS].sort(byteOrder).flatMap((key) => history.get(key)!.map((entry, index) => ({ ...entry, isLatest: index === 0 })));
  });

  it("lists every version and delete marker: keys in UTF-8 byte order, newest first within a key, IsLatest on the newest only", async () => {
    const { page } = await raw(BUCKET, {});
    assert.equal(page.isTruncated, false);
    assert.deepEqual(page.entries, expected);

    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET }));
    assert.equal(listed.Name, BUCKET);
    assert.equal(listed.IsTruncated, false);
    assert.equal((listed.Versions?.length ?? 0) + (listed.DeleteMarkers?.length ?? 0), expected.length);
    for (const version of listed.Versions ?? []) {
      const body = bodies.get(`${version.Key}@${version.VersionId}`);
      assert.ok(body, `${version.Key} ${version.VersionId} was written`);
      assert.equal(version.ETag, `"${md5Hex(body)}"`);
      assert.equal(version.Size, body.length);
      assert.equal(version.StorageClass, "STANDARD");
      assert.ok(version.LastModified instanceof Date && Math.abs(version.LastModified.getTime() - Date.now()) < 600_000);
    }
    for (const marker of listed.DeleteMarkers ?? []) {
      assert.ok(marker.LastModified instanceof Date);
      assert.ok(expected.some((entry) => entry.kind === "DeleteMarker" && entry.key === marker.Key && entry.versionId === marker.VersionId));
    }
  });

  it("pages with KeyMarker and VersionIdMarker through every entry exactly once, whatever MaxKeys", async () => {
    for (const maxKeys of [1, 2, 3, 7, 50]) {
      const pages = await allPages({ "max-keys": maxKeys });
      for (const page of pages) assert.ok(page.entries.length <= maxKeys, `at most ${maxKeys} a page`);
      assert.deepEqual(pages.flatMap((page) => page.entries), expected, `max-keys ${maxKeys}`);
      assert.equal(pages.length, Math.ceil(expected.length / maxKeys), `max-keys ${maxKeys}: full pages`);
    }

    // Through the SDK one entry a page, so the order of versions and markers survives the SDK's two lists.
    const seen: Entry[] = [];
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    do {
      const page = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, MaxKeys: 1, KeyMarker, VersionIdMarker }));
      assert.equal(page.MaxKeys, 1);
      assert.equal(page.KeyMarker ?? "", KeyMarker ?? "");
      for (const version of page.Versions ?? []) seen.push({ kind: "Version", key: version.Key!, versionId: version.VersionId!, isLatest: version.IsLatest! });
      for (const marker of page.DeleteMarkers ?? []) seen.push({ kind: "DeleteMarker", key: marker.Key!, versionId: marker.VersionId!, isLatest: marker.IsLatest! });
      KeyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      VersionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
      if (page.IsTruncated) assert.ok(VersionIdMarker, "a page ending on a version names it in NextVersionIdMarker");
    } while (KeyMarker);
    assert.deepEqual(seen, expected);

    const capped = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, MaxKeys: 5000 }));
    assert.equal(capped.MaxKeys, 1000);
  });

  it("starts after every version of KeyMarker alone, after the named version with VersionIdMarker; VersionIdMarker alone is InvalidArgument", async () => {
    const afterKey = await raw(BUCKET, { "key-marker": "d/1" });
    assert.deepEqual(afterKey.page.entries, expected.filter((entry) => byteOrder(entry.key, "d/1") > 0));

    // d/1: a delete marker on top of three versions on top of the null version.
    const history = expected.filter((entry) => entry.key === "d/1");
    assert.deepEqual(history.map((entry) => entry.kind), ["DeleteMarker", "Version", "Version", "Version", "Version"]);
    const afterMarker = await raw(BUCKET, { "key-marker": "d/1", "version-id-marker": history[0].versionId });
    assert.deepEqual(afterMarker.page.entries, expected.slice(expected.indexOf(history[1])));
    const afterVersion = await raw(BUCKET, { "key-marker": "d/1", "version-id-marker": history[2].versionId });
    assert.deepEqual(afterVersion.page.entries, expected.slice(expected.indexOf(history[3])));
    // Here the null version is the oldest of its key: starting after it moves on to the next key.
    assert.equal(history[4].versionId, "null");
    const afterNull = await raw(BUCKET, { "key-marker": "d/1", "version-id-marker": "null" });
    assert.deepEqual(afterNull.page.entries, afterKey.page.entries);

    await expectS3Error(s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, VersionIdMarker: history[0].versionId })), "InvalidArgument", 400);
  });

  it("filters by Prefix and groups by Delimiter into CommonPrefixes, each once across pages", async () => {
    const byPrefix = await raw(BUCKET, { prefix: "d/" });
    assert.deepEqual(byPrefix.page.entries, expected.filter((entry) => entry.key.startsWith("d/")));
    assert.deepEqual(byPrefix.page.prefixes, []);

    const root = await raw(BUCKET, { delimiter: "/" });
    assert.deepEqual(root.page.prefixes, ["a/", "d/", "many/", "ünï/"]);
    assert.deepEqual(root.page.entries, expected.filter((entry) => !entry.key.includes("/")));

    const nested = await raw(BUCKET, { prefix: "d/", delimiter: "/" });
    assert.deepEqual(nested.page.prefixes, ["d/e/"]);
    assert.deepEqual(nested.page.entries, expected.filter((entry) => ["d/1", "d/2"].includes(entry.key)));

    for (const maxKeys of [1, 2, 5]) {
      const pages = await allPages({ delimiter: "/", "max-keys": maxKeys });
      for (const page of pages) assert.ok(page.entries.length + page.prefixes.length <= maxKeys, "common prefixes count toward max-keys");
      assert.deepEqual(pages.flatMap((page) => page.prefixes), ["a/", "d/", "many/", "ünï/"], `max-keys ${maxKeys}`);
      assert.deepEqual(pages.flatMap((page) => page.entries), root.page.entries, `max-keys ${maxKeys}`);
    }
  });

  it("lists only each key's latest version in ListObjects v1 and v2, never a delete marker or a prefix holding only markers", async () => {
    const bucket = "versioning-latest";
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const put = async (key: string, body: string) => (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))).VersionId;
    const remove = async (key: string, VersionId?: string) => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId }));
    await put("show/d", "written unversioned");
    await enable(bucket);
    await put("show/a", "a1");
    await put("show/a", "a-22");
    await put("show/b", "b1");
    await remove("show/b");
    await put("show/c", "c1");
    await remove("show/c");
    await put("show/c", "c-back");
    await remove("show/e", await put("show/e", "e1"));
    await put("show/f", "f-1");
    await remove("show/f", await put("show/f", "f-two"));
    await put("show/gone/k", "hidden");
    await remove("show/gone/k");
    await put("show/dir/k", "dir");
    const latest: Record<string, string> = { "show/a": "a-22", "show/c": "c-back", "show/d": "written unversioned", "show/dir/k": "dir", "show/f": "f-1" };

    const v2 = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "show/" }));
    assert.deepEqual(v2.Contents?.map((object) => [object.Key, object.Size, object.ETag]), Object.entries(latest).map(([key, body]) => [key, body.length, `"${md5Hex(Buffer.from(body))}"`]));
    assert.equal(v2.KeyCount, 5);
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: bucket, Prefix: "show/" }));
    assert.deepEqual(v1.Contents?.map((object) => object.Key), Object.keys(latest));

    const grouped = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "show/", Delimiter: "/" }));
    assert.deepEqual(grouped.Contents?.map((object) => object.Key), ["show/a", "show/c", "show/d", "show/f"]);
    assert.deepEqual(grouped.CommonPrefixes?.map((prefix) => prefix.Prefix), ["show/dir/"]);

    // Paged one key at a time, the hidden versions never show up as entries or as empty truncated pages' keys.
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1, ContinuationToken: token }));
      seen.push(...(page.Contents ?? []).map((object) => object.Key!));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    assert.deepEqual(seen, Object.keys(latest));
    const seenV1: string[] = [];
    let marker: string | undefined;
    do {
      const page = await s3.send(new ListObjectsCommand({ Bucket: bucket, MaxKeys: 1, Marker: marker }));
      seenV1.push(...(page.Contents ?? []).map((object) => object.Key!));
      marker = page.IsTruncated ? page.NextMarker : undefined;
    } while (marker);
    assert.deepEqual(seenV1, Object.keys(latest));
  });

  it("lists each key once, with its latest bytes, in ListObjects v1 and v2 of a bucket that never kept versions", async () => {
    const bucket = "versioning-never-listed";
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const [key, body] of [["k1", "first"], ["k1", "overwritten"], ["k2", "only"]]) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const v2 = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    assert.deepEqual(v2.Contents?.map((object) => [object.Key, object.Size]), [["k1", 11], ["k2", 4]]);
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: bucket }));
    assert.deepEqual(v1.Contents?.map((object) => [object.Key, object.Size]), [["k1", 11], ["k2", 4]]);
  });

  it("lists the objects of a bucket that never kept versions as the latest version \"null\", with no delete markers", async () => {
    const bucket = "versioning-never-versions";
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const [key, body] of [["k1", "first"], ["k1", "overwritten"], ["k2", "only"]]) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "k2" }));
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    assert.deepEqual(listed.Versions?.map((version) => [version.Key, version.VersionId, version.IsLatest, version.Size]), [["k1", "null", true, 11]]);
    assert.equal(listed.DeleteMarkers, undefined);
  });

  describe("encoding-type=url, as AWS: '+' → %2B, space → %20, non-ASCII as UTF-8 %XX, '/' kept", () => {
    const KEYS_ODD = ["a b/c+d", "a+b", "x y", "ü/é", "plain"];

    it("ListObjectsV2 encodes Key, Prefix, StartAfter and CommonPrefixes, leaving '/' as is", async () => {
      const bucket = "versioning-encoding";
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      for (const key of KEYS_ODD) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
      const list = async (query: string) => {
        const response = await signedFetch(cluster, "GET", `/${bucket}?list-type=2&encoding-type=url${query}`);
        const xml = await response.text();
        assert.equal(response.status, 200, xml);
        assert.match(xml, /<EncodingType>url<\/EncodingType>/);
        return xml;
      };
      const grouped = await list("&delimiter=%2F");
      assert.deepEqual([...grouped.matchAll(/<Prefix>([^<]*)<\/Prefix>/g)].map(([, prefix]) => prefix).filter(Boolean), ["a%20b/", "%C3%BC/"]);
      assert.deepEqual([...grouped.matchAll(/<Key>([^<]*)<\/Key>/g)].map(([, key]) => key), ["a%2Bb", "plain", "x%20y"]);
      assert.match(grouped, /<Delimiter>\/<\/Delimiter>/);
      const flat = await list("");
      assert.deepEqual([...flat.matchAll(/<Key>([^<]*)<\/Key>/g)].map(([, key]) => key), ["a%20b/c%2Bd", "a%2Bb", "plain", "x%20y", "%C3%BC/%C3%A9"]);
      const after = await list(`&prefix=${encodeURIComponent("a b/")}&start-after=${encodeURIComponent("a b/c")}`);
      assert.match(after, /<Prefix>a%20b\/<\/Prefix>/);
      assert.match(after, /<StartAfter>a%20b\/c<\/StartAfter>/);
      assert.deepEqual([...after.matchAll(/<Key>([^<]*)<\/Key>/g)].map(([, key]) => key), ["a%20b/c%2Bd"]);
    });

    it("ListObjectVersions encodes Key (of versions and delete markers), Prefix, KeyMarker, NextKeyMarker and CommonPrefixes", async () => {
      const bucket = "versioning-encoding-v";
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      await enable(bucket);
      for (const key of KEYS_ODD) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "x y" }));

      const grouped = await raw(bucket, { "encoding-type": "url", delimiter: "/" });
      assert.match(grouped.xml, /<EncodingType>url<\/EncodingType>/);
      assert.match(grouped.xml, /<Delimiter>\/<\/Delimiter>/);
      assert.deepEqual(grouped.page.prefixes, ["a%20b/", "%C3%BC/"]);
      assert.deepEqual(grouped.page.entries.map((entry) => [entry.kind, entry.key]), [["Version", "a%2Bb"], ["Version", "plain"], ["DeleteMarker", "x%20y"], ["Version", "x%20y"]]);

      const flat = await raw(bucket, { "encoding-type": "url" });
      assert.deepEqual([...new Set(flat.page.entries.map((entry) => entry.key))], ["a%20b/c%2Bd", "a%2Bb", "plain", "x%20y", "%C3%BC/%C3%A9"]);

      const paged = await raw(bucket, { "encoding-type": "url", prefix: "a", "key-marker": "a b/c+d", "max-keys": 1 });
      assert.match(paged.xml, /<Prefix>a<\/Prefix>/);
      assert.match(paged.xml, /<KeyMarker>a%20b\/c%2Bd<\/KeyMarker>/);
      assert.deepEqual(paged.page.entries.map((entry) => entry.key), ["a%2Bb"]);
      const last = await raw(bucket, { "encoding-type": "url", "key-marker": "a", "max-keys": 1 });
      assert.equal(last.page.isTruncated, true);
      assert.equal(last.page.nextKeyMarker, "a%20b/c%2Bd");
    });
  });
});
