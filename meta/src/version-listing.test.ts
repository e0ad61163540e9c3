import assert from "node:assert/strict";
import { connect, type Sql } from "./db.js";
import { commonPrefixOf, compareKeys } from "./listing.js";
import { createBucket, setBucketVersioning } from "./pg/buckets.js";
import { listObjectVersions } from "./pg/version-listing.js";
import { deleteObject } from "./pg/deletes.js";
import { commitVersion, insertPendingVersion } from "./pg/versions.js";
import { fakeDatafiles, putTestObject, startTestDatabase, type TestDatabase } from "./test-support.js";
import {
  listVersionPage,
  type SeekedVersion,
  type VersionListRequest,
  type VersionPage,
  type VersionSeek,
} from "./version-listing.js";

/** A row of the versions table as the tests insert it. */
interface Row {
  key: string;
  seq: number;
  versionId: string;
  complete: boolean;
  isDeleteMarker: boolean;
  size: number;
}

type Entry = { kind: "version"; row: Row } | { kind: "prefix"; prefix: string };

/**
 * Every entry of a request by the obvious definition: complete rows under the prefix in (key bytes, seq descending)
 * order, rolled up, then those after the markers.
 */
function expectedEntries(rows: Row[], request: Omit<VersionListRequest, "maxKeys">): Entry[] {
  const prefix = request.prefix ?? "";
  const ordered = rows
    .filter((row) => row.complete && row.key.startsWith(prefix))
    .sort((a, b) => compareKeys(a.key, b.key) || b.seq - a.seq);
  const entries: Entry[] = [];
  const seen = new Set<string>();
  for (const row of ordered) {
    const folder = request.delimiter ? commonPrefixOf(row.key, prefix, request.delimiter) : undefined;
    if (folder === undefined) entries.push({ kind: "version", row });
    else if (!seen.has(folder)) {
      seen.add(folder);
      entries.push({ kind: "prefix", prefix: folder });
    }
  }
  const { keyMarker, versionIdMarker } = request;
  if (keyMarker === undefined) return entries;
  const marker = rows.find((row) => row.complete && row.key === keyMarker && row.versionId === versionIdMarker);
  return entries.filter((entry) =>
    entry.kind === "prefix"
      ? compareKeys(entry.prefix, keyMarker) > 0
      : compareKeys(entry.row.key, keyMarker) > 0 ||
        (entry.row.key === keyMarker && marker !== undefined && entry.row.seq < marker.seq),
  );
}

/**
 * A page's versions and common prefixes as one list, named the way expectedEntries names them: the two lists merged
 * by key, each kept in the order the page gave it.
 */
function pageEntries(page: VersionPage): string[] {
  const names: string[] = [];
  let next = 0;
  for (const entry of page.entries) {
    while (next < page.commonPrefixes.length && compareKeys(page.commonPrefixes[next]!, entry.key) < 0) {
      names.push(`prefix ${page.commonPrefixes[next++]}`);
    }
    names.push(versionName(entry));
  }
  return [...names, ...page.commonPrefixes.slice(next).map((prefix) => `prefix ${prefix}`)];
}

const versionName = (version: { key: string; versionId: string }) => `${version.key} @ ${version.versionId}`;
const entryName = (entry: Entry) => (entry.kind === "prefix" ? `prefix ${entry.prefix}` : versionName(entry.row));

/**
 * Pages through a request with its markers, checking every page against the definition, and returns what was seen.
 * `list` is listObjectVersions on PostgreSQL or listVersionPage over an in-memory seek.
 */
async function pageThrough(
  list: (request: VersionListRequest) => Promise<VersionPage>,
  rows: Row[],
  request: Omit<VersionListRequest, "maxKeys">,
  maxKeys: number,
): Promise<string[]> {
  const expected = expectedEntries(rows, request).map(entryName);
  const seen: string[] = [];
  let markers = { keyMarker: request.keyMarker, versionIdMarker: request.versionIdMarker };
  const context = JSON.stringify({ request, maxKeys });
  for (let pages = 0; ; pages++) {
    assert.ok(pages <= expected.length, `paging does not terminate: ${context}`);
    const page = await list({ ...request, ...markers, maxKeys });
    const names = pageEntries(page);
    assert.deepEqual(names, expected.slice(seen.length, seen.length + maxKeys), context);
    seen.push(...names);
    assert.equal(page.isTruncated, seen.length < expected.length, context);
    if (!page.isTruncated) {
      assert.equal(page.nextKeyMarker, undefined, context);
      assert.equal(page.nextVersionIdMarker, undefined, context);
      break;
    }
    const last = names.at(-1)!;
    if (last.startsWith("prefix ")) {
      assert.equal(page.nextKeyMarker, last.slice("prefix ".length), context);
      assert.equal(page.nextVersionIdMarker, undefined, context);
    } else {
      assert.equal(`${page.nextKeyMarker} @ ${page.nextVersionIdMarker}`, last, context);
    }
    markers = { keyMarker: page.nextKeyMarker, versionIdMarker: page.nextVersionIdMarker };
  }
  assert.deepEqual(seen, expected, context);
  return seen;
}

/** The in-memory counterpart of the SQL seek, counting its work. */
function arraySeek(rows: Row[]): { seek: VersionSeek; stats: { seeks: number; rows: number } } {
  const ordered = rows.filter((row) => row.complete).sort((a, b) => compareKeys(a.key, b.key) || b.seq - a.seq);
  const stats = { seeks: 0, rows: 0 };
  const seek: VersionSeek = async (range, limit) => {
    stats.seeks++;
    const { fromVersions } = range;
    const olderThan =
      typeof fromVersions !== "object" ? undefined
      : "olderThanSeq" in fromVersions ? fromVersions.olderThanSeq
      : (ordered.find((row) => row.key === range.from && row.versionId === fromVersions.olderThanVersionId)?.seq ?? -Infinity);
    const found: SeekedVersion[] = [];
    for (const row of ordered) {
      if (found.length >= limit) break;
      const order = compareKeys(row.key, range.from);
      if (order < 0) continue;
      if (order === 0 && (fromVersions === "none" || (olderThan !== undefined && row.seq >= olderThan))) continue;
      if (range.below !== undefined && compareKeys(row.key, range.below) >= 0) break;
      found.push({ ...summary(row), seq: row.seq });
    }
    stats.rows += found.length;
    return found;
  };
  return { seek, stats };
}

function summary(row: Row) {
  return {
    key: row.key,
    versionId: row.versionId,
    isLatest: false,
    isDeleteMarker: row.isDeleteMarker,
    size: row.size,
    etag: "",
    lastModified: new Date(0),
    storageClass: "STANDARD",
  };
}

/** Deterministic pseudo-random numbers so a failure reproduces. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe("version listing: listVersionPage over a seek", () => {
  const ALPHABET = ["a", "b", "/", " ", "é", "😀", "\uFFFD", "0"];

  it("matches the obvious definition on random versions and requests, paging with its own markers", async () => {
    const next = random(11);
    const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)]!;
    for (let round = 0; round < 200; round++) {
      const keys = Array.from({ length: 1 + Math.floor(next() * 12) }, () =>
        Array.from({ length: 1 + Math.floor(next() * 4) }, () => pick(ALPHABET)).join(""),
      );
      let seq = 0;
      const rows: Row[] = [...new Set(keys)].flatMap((key) =>
        Array.from({ length: 1 + Math.floor(next() * 4) }, (_, index) => ({
          key,
          seq: (seq += 1 + Math.floor(next() * 3)),
          versionId: `v${index}`,
          complete: next() < 0.85,
          isDeleteMarker: next() < 0.2,
          size: index,
        })),
      );
      const marked = pick(rows);
      const prefix = next() < 0.5 ? "" : pick(ALPHABET);
      const delimiter = pick([undefined, "/", "a", "😀"]);
      const keyMarker = next() < 0.5 ? undefined : next() < 0.7 ? marked.key : pick(ALPHABET);
      const versionIdMarker = keyMarker === undefined || next() < 0.4 ? undefined : next() < 0.8 ? marked.versionId : "missing";
      const { seek } = arraySeek(rows);
      for (const maxKeys of [1, 2, 5, 1000]) {
        await pageThrough((request) => listVersionPage(seek, request), rows, { prefix, delimiter, keyMarker, versionIdMarker }, maxKeys);
      }
    }
  });

  it("returns an empty, untruncated page for maxKeys 0 without seeking", async () => {
    const { seek, stats } = arraySeek([{ key: "a", seq: 1, versionId: "v", complete: true, isDeleteMarker: false, size: 1 }]);
    assert.deepEqual(await listVersionPage(seek, { maxKeys: 0 }), { entries: [], commonPrefixes: [], isTruncated: false });
    assert.equal(stats.seeks, 0);
  });

  it("reads one batch for a page of versions, and one small seek per common prefix", async () => {
    const deep: Row[] = Array.from({ length: 5000 }, (_, index) => ({
      key: `k${Math.floor(index / 1000)}`,
      seq: 5000 - index,
      versionId: `v${index}`,
      complete: true,
      isDeleteMarker: false,
      size: 1,
    }));
    const flat = arraySeek(deep);
    const page = await listVersionPage(flat.seek, { keyMarker: "k1", versionIdMarker: "v1500", maxKeys: 1000 });
    assert.equal(page.entries.length, 1000);
    assert.deepEqual([page.nextKeyMarker, page.nextVersionIdMarker], ["k2", "v2500"]);
    assert.deepEqual(flat.stats, { seeks: 1, rows: 1001 });

    const folders = arraySeek(deep.map((row) => ({ ...row, key: `d${row.key}/${row.seq % 10}` })));
    const rolled = await listVersionPage(folders.seek, { delimiter: "/", maxKeys: 1000 });
    assert.deepEqual(rolled.commonPrefixes, ["dk0/", "dk1/", "dk2/", "dk3/", "dk4/"]);
    assert.ok(folders.stats.seeks <= 6 && folders.stats.rows <= 1001 + 5 * 8, JSON.stringify(folders.stats));
  });
});

// Keys chosen where byte order, UTF-16 order and "natural" order disagree.
const ODD_KEYS = [
  "a", "a b", "a+b", "a/b", "a/b/c", "a/c", "a//double", "a0", "photos/2024/jan/1.jpg", "photos/2024/feb/2.jpg",
  "photos/readme", "é", "中文/文件", "\uFFFD", "\uE000", "😀", "😀/smile", "~tilde", "Z",
];

describe("meta: listObjectVersions on PostgreSQL", () => {
  let db: TestDatabase;

  before(async () => {
    db = await startTestDatabase();
  });
  after(async () => {
    await db?.stop();
  });

  async function bucketWith(name: string, rows: Row[]): Promise<number> {
    const bucket = await createBucket(db.sql, { name, owner: "alice", region: "r" });
    assert.ok(bucket.created);
    const bucketId = bucket.bucket.id;
    // The newest complete version of each key is its current one.
    const current = new Map<string, Row>();
    for (const row of rows) {
      const newest = current.get(row.key);
      if (row.complete && (newest === undefined || row.seq > newest.seq)) current.set(row.key, row);
    }
    await db.sql`
      insert into versions ${db.sql(
        rows.map((row) => ({
          bucket_id: bucketId,
          key: row.key,
          seq: row.seq,
          version_id: row.versionId,
          state: row.complete ? "complete" : "pending",
          is_current: current.get(row.key) === row,
          is_delete_marker: row.isDeleteMarker,
          size: row.isDeleteMarker ? 0 : row.size,
          etag: row.complete && !row.isDeleteMarker ? `etag-${row.versionId}` : null,
          storage_class: row.isDeleteMarker ? "STANDARD" : "REDUCED_REDUNDANCY",
          last_modified: row.complete ? new Date(Date.UTC(2024, 0, 1) + row.seq * 1000) : null,
        })),
      )}`;
    return bucketId;
  }

  describe("odd keys, several versions each", () => {
    let rows: Row[];
    let bucketId: number;

    before(async () => {
      // seq, not insertion order, row id or version id, orders a key's versions.
      const next = random(3);
      const seqs = Array.from({ length: ODD_KEYS.length * 4 }, (_, index) => 1000 + index * 7).sort(() => next() - 0.5);
      rows = ODD_KEYS.flatMap((key, keyIndex) =>
        Array.from({ length: 1 + (keyIndex % 4) }, (_, index) => {
          const seq = seqs[keyIndex * 4 + index]!;
          return {
            key,
            seq,
            versionId: index === 0 && keyIndex % 3 === 0 ? "null" : `${(seq * 7919) % 10007}`,
            // A pending version is never listed, even when it is the newest of its key.
            complete: !(keyIndex % 5 === 1 && index === 0),
            isDeleteMarker: keyIndex % 4 === 2 && index === 1,
            size: keyIndex * 10 + index,
          };
        }),
      );
      bucketId = await bucketWith("odd-versions", rows);
    });

    it("lists every complete version and delete marker: keys in byte order, each key newest first", async () => {
      const page = await listObjectVersions(db.sql, bucketId, { maxKeys: 1000 });
      assert.deepEqual(pageEntries(page), expectedEntries(rows, {}).map(entryName));
      assert.equal(page.isTruncated, false);
      assert.deepEqual(page.commonPrefixes, []);
      const keys = [...new Set(page.entries.map((entry) => entry.key))];
      assert.deepEqual(keys, [...new Set(rows.filter((row) => row.complete).map((row) => row.key))].sort(compareKeys));
      assert.ok(keys.indexOf("\uFFFD") < keys.indexOf("😀"), "byte order, not UTF-16 order");

      for (const key of keys) {
        const versions = page.entries.filter((entry) => entry.key === key);
        assert.deepEqual(
          versions.map((entry) => entry.lastModified.getTime()),
          versions.map((entry) => entry.lastModified.getTime()).sort((a, b) => b - a),
          `newest first: ${key}`,
        );
        assert.deepEqual(versions.map((entry) => entry.isLatest), versions.map((_, index) => index === 0), `only the newest is latest: ${key}`);
      }
      const marker = page.entries.find((entry) => entry.isDeleteMarker)!;
      assert.equal(marker.etag, "");
      assert.equal(marker.size, 0);
      const version = page.entries.find((entry) => !entry.isDeleteMarker)!;
      assert.equal(version.etag, `etag-${version.versionId}`);
      assert.equal(version.storageClass, "REDUCED_REDUNDANCY");
      assert.ok(version.lastModified instanceof Date);
      assert.equal(typeof version.size, "number");
    });

    it("agrees with the obvious definition for prefixes, delimiters and markers, and pages through every entry once", async () => {
      const pending = rows.find((row) => !row.complete)!;
      const requests: Omit<VersionListRequest, "maxKeys">[] = [
        {},
        { delimiter: "/" },
        { prefix: "a", delimiter: "/" },
        { prefix: "a/", delimiter: "/" },
        { prefix: "photos/", delimiter: "/" },
        { prefix: "photos/2024/", delimiter: "/" },
        { prefix: "😀" },
        { delimiter: "b" },
        { delimiter: "😀" },
        { keyMarker: "a/b" },
        { keyMarker: "a/b/c", versionIdMarker: rows.find((row) => row.key === "a/b/c")!.versionId },
        { keyMarker: "a/c", versionIdMarker: "no-such-version" },
        { keyMarker: pending.key, versionIdMarker: pending.versionId },
        { keyMarker: "null-less", versionIdMarker: "null" },
        { keyMarker: "a", versionIdMarker: "null" },
        { delimiter: "/", keyMarker: "a/" },
        { delimiter: "/", keyMarker: "a/b/c", versionIdMarker: rows.find((row) => row.key === "a/b/c")!.versionId },
        { prefix: "photos/", delimiter: "/", keyMarker: "photos/2024/" },
        { prefix: "a", keyMarker: "0" },
        { prefix: "a", keyMarker: "b" },
        { keyMarker: "\uFFFD" },
        { prefix: "zzz" },
      ];
      for (const request of requests) {
        for (const maxKeys of [1, 2, 3, 1000]) {
          await pageThrough((paged) => listObjectVersions(db.sql, bucketId, paged), rows, request, maxKeys);
        }
      }
    });

    it("resumes after exactly the marker version, or after the whole key when the version is not there", async () => {
      const key = ODD_KEYS[3]!; // four versions
      const versions = rows.filter((row) => row.key === key).sort((a, b) => b.seq - a.seq);
      assert.equal(versions.length, 4);
      const after = await listObjectVersions(db.sql, bucketId, { keyMarker: key, versionIdMarker: versions[1]!.versionId, maxKeys: 2 });
      assert.deepEqual(after.entries.map((entry) => entry.versionId), [versions[2]!.versionId, versions[3]!.versionId]);
      assert.equal(after.isTruncated, true);
      assert.deepEqual([after.nextKeyMarker, after.nextVersionIdMarker], [key, versions[3]!.versionId]);

      const nextKey = expectedEntries(rows, { keyMarker: key })[0]!;
      for (const request of [{ keyMarker: key }, { keyMarker: key, versionIdMarker: "gone" }]) {
        const page = await listObjectVersions(db.sql, bucketId, { ...request, maxKeys: 1 });
        assert.deepEqual(pageEntries(page), [entryName(nextKey)]);
      }
    });

    it("counts each common prefix as one entry and continues after a common prefix it returned", async () => {
      const expected = expectedEntries(rows, { prefix: "a", delimiter: "/" }).map(entryName);
      const maxKeys = expected.indexOf("prefix a/") + 1;
      assert.ok(maxKeys > 1);
      const first = await listObjectVersions(db.sql, bucketId, { prefix: "a", delimiter: "/", maxKeys });
      assert.deepEqual(pageEntries(first), expected.slice(0, maxKeys));
      assert.deepEqual(first.commonPrefixes, ["a/"]);
      assert.equal(first.isTruncated, true);
      assert.equal(first.nextKeyMarker, "a/");
      assert.equal(first.nextVersionIdMarker, undefined);
      const second = await listObjectVersions(db.sql, bucketId, { prefix: "a", delimiter: "/", keyMarker: "a/", maxKeys: 1000 });
      assert.deepEqual(second.entries.map((entry) => entry.key), rows.filter((row) => row.key === "a0" && row.complete).map((row) => row.key));
      assert.equal(second.isTruncated, false);
    });

    it("returns an empty, untruncated page for maxKeys 0", async () => {
      assert.deepEqual(await listObjectVersions(db.sql, bucketId, { maxKeys: 0 }), { entries: [], commonPrefixes: [], isTruncated: false });
    });
  });

  it("lists what the commit path wrote: versions in commit order, the delete marker latest, no pending PUT", async () => {
    const bucket = await createBucket(db.sql, { name: "committed", owner: "alice", region: "r" });
    assert.ok(bucket.created);
    const bucketId = bucket.bucket.id;
    await setBucketVersioning(db.sql, bucketId, "Enabled");
    const reserve = (versionId: string) =>
      insertPendingVersion(db.sql, {
        bucketId,
        key: "doc",
        versionId,
        storageClass: "STANDARD",
        part: { partNumber: 1, size: 7, unit: 1024, k: 1, m: 0, datafiles: fakeDatafiles(1, 0, 7) },
      });
    // Reserved before the others and committed after them: its place among the key's versions is its commit's.
    const late = await reserve("late");
    await reserve("abandoned");
    await putTestObject(db.sql, bucketId, "doc", { versionId: "first", size: 5 });
    await putTestObject(db.sql, bucketId, "doc", { versionId: "second", size: 6 });
    const etag = "0".repeat(32);
    await commitVersion(db.sql, late, {
      size: 7,
      etag,
      headers: { userMetadata: {} },
      partEtag: etag,
      datafileCrcs: [{ slot: 0, crc32c: "00000000" }],
    });
    const { markerVersionId } = await deleteObject(db.sql, { id: bucketId, versioning: "Enabled" }, "doc");
    await putTestObject(db.sql, bucketId, "other", { versionId: "only" });

    const page = await listObjectVersions(db.sql, bucketId, { maxKeys: 1000 });
    assert.deepEqual(
      page.entries.map((entry) => [entry.key, entry.versionId, entry.isLatest, entry.isDeleteMarker, entry.size]),
      [
        ["doc", markerVersionId, true, true, 0],
        ["doc", "late", false, false, 7],
        ["doc", "second", false, false, 6],
        ["doc", "first", false, false, 5],
        ["other", "only", true, false, 10],
      ],
    );
    assert.equal(page.entries[0]!.etag, "");
    assert.equal(page.entries[1]!.etag, etag);
  });

  describe("100,000 versions of 100 keys, and 200 folders of 100 versions", () => {
    let bucketId: number;
    let statements: string[];
    let counted: Sql;

    before(async () => {
      const bucket = await createBucket(db.sql, { name: "deep", owner: "alice", region: "r" });
      assert.ok(bucket.created);
      bucketId = bucket.bucket.id;
      await db.sql`
        insert into versions (bucket_id, key, version_id, state, is_current, is_delete_marker, size, etag, storage_class, last_modified)
        select ${bucketId}, 'deep/k' || lpad(k::text, 3, '0'), 'v' || v, 'complete', v = 999, v % 10 = 9, 1,
          case when v % 10 = 9 then null else 'etag' end, 'STANDARD', now()
        from generate_series(0, 99) k, generate_series(0, 999) v
        order by k, v`;
      await db.sql`
        insert into versions (bucket_id, key, version_id, state, is_current, size, etag, storage_class, last_modified)
        select ${bucketId}, 'wide/d' || lpad(folder::text, 3, '0') || '/f' || file, 'v' || v, 'complete', v = 19, 1, 'etag',
          'STANDARD', now()
        from generate_series(0, 199) folder, generate_series(0, 4) file, generate_series(0, 19) v
        order by folder, file, v`;
      await db.sql`analyze versions`;
      statements = [];
      // One connection: the statistics read below are this backend's, flushed on demand.
      counted = connect(db.url, { max: 1, onQuery: (query) => statements.push(query) });
      await counted`select 1`;
    });
    after(async () => {
      await counted?.end();
    });

    /** Index entries and heap rows of versions read so far, and how many sequential scans of it. */
    const reads = async () => {
      await counted`select pg_stat_force_next_flush()`;
      const [row] = await counted<{ scans: string; rows: string }[]>`
        select seq_scan::text as scans,
          (seq_tup_read + (select sum(idx_tup_read) from pg_stat_user_indexes where relname = 'versions'))::text as rows
        from pg_stat_user_tables where relname = 'versions'`;
      return { scans: Number(row!.scans), rows: Number(row!.rows) };
    };

    async function measured(request: VersionListRequest): Promise<{ page: VersionPage; rows: number; statements: number }> {
      const before = await reads();
      statements.length = 0;
      const page = await listObjectVersions(counted, bucketId, request);
      const count = statements.filter((statement) => /from versions|weft_seek_versions_rollup/.test(statement)).length;
      const after = await reads();
      assert.equal(after.scans, before.scans, "a sequential scan of versions");
      return { page, rows: after.rows - before.rows, statements: count };
    }

    it("pages through 1,000 versions a page in one statement reading the page and a few index entries", async () => {
      // A dozen pages: the statements' plans are cached as generic ones by the sixth.
      let request: VersionListRequest = { prefix: "deep/", keyMarker: "deep/k050", versionIdMarker: "v500", maxKeys: 1000 };
      for (let pages = 0; pages < 12; pages++) {
        const { page, rows, statements: count } = await measured(request);
        assert.equal(page.entries.length, 1000);
        assert.equal(page.isTruncated, true);
        assert.deepEqual([page.entries[0]!.key, page.entries[0]!.versionId], [`deep/k${String(50 + pages).padStart(3, "0")}`, "v499"]);
        assert.deepEqual([page.nextKeyMarker, page.nextVersionIdMarker], [`deep/k${String(51 + pages).padStart(3, "0")}`, "v500"]);
        assert.equal(count, 1);
        assert.ok(rows <= 1000 + 5, `a page of 1,000 read ${rows} rows and index entries of versions`);
        request = { ...request, keyMarker: page.nextKeyMarker, versionIdMarker: page.nextVersionIdMarker };
      }
      for (let pages = 0; pages < 8; pages++) {
        const { page, rows } = await measured({ prefix: "deep/", keyMarker: `deep/k0${10 + pages}`, maxKeys: 1000 });
        assert.deepEqual([page.entries[0]!.key, page.entries[0]!.versionId], [`deep/k0${11 + pages}`, "v999"]);
        assert.ok(rows <= 1000 + 5, `a page of 1,000 after a key marker read ${rows}`);
      }
      const last = await measured({ prefix: "deep/", keyMarker: "deep/k099", versionIdMarker: "v2", maxKeys: 1000 });
      assert.deepEqual(last.page.entries.map((entry) => entry.versionId), ["v1", "v0"]);
      assert.equal(last.page.isTruncated, false);
      assert.ok(last.rows <= 2 + 5, `the last page read ${last.rows}`);
    });

    it("jumps over each common prefix inside PostgreSQL: one statement for the page, not a read of each folder's versions", async () => {
      const { page, rows, statements: count } = await measured({ prefix: "wide/", delimiter: "/", maxKeys: 1000 });
      assert.equal(page.commonPrefixes.length, 200);
      assert.deepEqual([page.commonPrefixes[0], page.commonPrefixes[199]], ["wide/d000/", "wide/d199/"]);
      assert.equal(page.isTruncated, false);
      assert.equal(count, 1, "one statement for 200 common prefixes");
      assert.ok(rows <= 1001 + 200 * 8, `${rows} rows read for 200 common prefixes over 20,000 versions`);

      const small = await measured({ prefix: "wide/", delimiter: "/", keyMarker: "wide/d009/", maxKeys: 3 });
      assert.deepEqual(small.page.commonPrefixes, ["wide/d010/", "wide/d011/", "wide/d012/"]);
      assert.equal(small.page.nextKeyMarker, "wide/d012/");
      assert.ok(small.rows <= 4 * 8 + 5, `${small.rows} rows read for a page of 3 common prefixes`);

      // Without a delimiter the same folders are plain versions, read in one range scan.
      const flat = await measured({ prefix: "wide/d1", maxKeys: 1000 });
      assert.equal(flat.page.entries.length, 1000);
      assert.equal(flat.statements, 1);
      assert.ok(flat.rows <= 1001 + 5, `${flat.rows}`);
    });
  });
});
