import assert from "node:assert/strict";
import { connect, type Sql } from "./db.js";
import postgres from "postgres";
import { commonPrefixOf, compareKeys, listPage, prefixSuccessor, type ListRequest } from "./listing.js";
import { createBucket } from "./pg/buckets.js";
import { deleteObject } from "./pg/deletes.js";
import { listObjects, seekCurrentObjects } from "./pg/versions.js";
import { putTestObject, startTestDatabase, type TestDatabase } from "./test-support.js";

// Keys chosen where byte order, UTF-16 order and "natural" order disagree.
const ODD_KEYS = [
  "a", "a b", "a+b", "a%2Fb", "a/b", "a/b/c", "a/b/d", "a/c", "a//double", "a/ space/x", "a0",
  "photos/2024/jan/1.jpg", "photos/2024/feb/2.jpg", "photos/2025/x.jpg", "photos/readme",
  "é", "e\u0301", "中文/文件", "中文/目录/文件", "\uFFFD", "\uE000", "😀", "😀/smile", "𝄞music", "~tilde", "Z", "+plus", "%percent",
];

/** All entries for a request, by the obvious definition (no paging), for comparison. */
function expectedEntries(keys: string[], request: Omit<ListRequest, "maxKeys">): string[] {
  const prefix = request.prefix ?? "";
  const entries = new Set<string>();
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    entries.add((request.delimiter && commonPrefixOf(key, prefix, request.delimiter)) || key);
  }
  return [...entries]
    .sort(compareKeys)
    .filter((entry) => request.startAfter === undefined || compareKeys(entry, request.startAfter) > 0);
}

describe("meta: listObjects on PostgreSQL", () => {
  let db: TestDatabase;
  let bucketId: number;

  before(async () => {
    db = await startTestDatabase();
    const bucket = await createBucket(db.sql, { name: "listing", owner: "alice", region: "r" });
    assert.ok(bucket.created);
    bucketId = bucket.bucket.id;
    for (const key of ODD_KEYS) await putTestObject(db.sql, bucketId, key, { size: key.length });
    // Neither a deleted object nor a pending one is listed.
    await putTestObject(db.sql, bucketId, "deleted/object");
    await deleteObject(db.sql, { id: bucketId, versioning: "Unversioned" }, "deleted/object");
    await putTestObject(db.sql, bucketId, "a/marked");
    await deleteObject(db.sql, { id: bucketId, versioning: "Enabled" }, "a/marked");
  });
  after(async () => {
    await db?.stop();
  });

  it("lists every key in UTF-8 byte order (astral after U+FFFD), with its summary", async () => {
    const page = await listObjects(db.sql, bucketId, { maxKeys: 1000 });
    assert.deepEqual(page.contents.map((entry) => entry.key), [...ODD_KEYS].sort(compareKeys));
    assert.equal(page.isTruncated, false);
    const keys = page.contents.map((entry) => entry.key);
    assert.ok(keys.indexOf("\uFFFD") < keys.indexOf("😀"), "byte order, not UTF-16 order");
    assert.ok(keys.indexOf("a b") < keys.indexOf("a+b") && keys.indexOf("a+b") < keys.indexOf("a/b"));
    const first = page.contents[0]!;
    assert.equal(first.size, first.key.length);
    assert.equal(first.storageClass, "STANDARD");
    assert.ok(first.lastModified instanceof Date);
  });

  it("agrees with the obvious definition for prefixes, delimiters and start-after, and pages through every entry once", async () => {
    const requests: Omit<ListRequest, "maxKeys">[] = [
      {},
      { delimiter: "/" },
      { prefix: "a", delimiter: "/" },
      { prefix: "a/", delimiter: "/" },
      { prefix: "a/b", delimiter: "/" },
      { prefix: "photos/", delimiter: "/" },
      { prefix: "photos/2024/", delimiter: "/" },
      { prefix: "中文/", delimiter: "/" },
      { prefix: "😀" },
      { delimiter: "b" },
      { delimiter: "😀" },
      { prefix: "a", startAfter: "a/b" },
      { delimiter: "/", startAfter: "a/" },
      { delimiter: "/", startAfter: "a/b/c" },
      { prefix: "photos/", delimiter: "/", startAfter: "photos/2024/" },
      { startAfter: "\uFFFD" },
      { prefix: "zzz" },
    ];
    for (const request of requests) {
      const expected = expectedEntries(ODD_KEYS, request);
      for (const maxKeys of [1, 2, 3, 1000]) {
        const seen: string[] = [];
        let startAfter = request.startAfter;
        for (let pages = 0; ; pages++) {
          assert.ok(pages <= ODD_KEYS.length, "paging terminates");
          const page = await listObjects(db.sql, bucketId, { ...request, startAfter, maxKeys });
          const entries = [...page.contents.map((entry) => entry.key), ...page.commonPrefixes].sort(compareKeys);
          assert.ok(entries.length <= maxKeys);
          seen.push(...entries);
          if (!page.isTruncated) break;
          assert.equal(page.nextMarker, entries.at(-1));
          startAfter = page.nextMarker;
        }
        assert.deepEqual(seen, expected, JSON.stringify({ request, maxKeys }));
      }
    }
  });

  it("returns an empty, untruncated page for maxKeys 0", async () => {
    assert.deepEqual(await listObjects(db.sql, bucketId, { maxKeys: 0 }), {
      contents: [],
      commonPrefixes: [],
      isTruncated: false,
    });
  });

  describe("20,000 keys in 200 folders", () => {
    let bigBucketId: number;
    let statements: { query: string; parameters: unknown[] }[];
    let counted: Sql;

    before(async () => {
      const bucket = await createBucket(db.sql, { name: "big", owner: "alice", region: "r" });
      assert.ok(bucket.created);
      bigBucketId = bucket.bucket.id;
      await db.sql`
        insert into versions (bucket_id, key, version_id, state, is_current, size, etag, storage_class, last_modified)
        select ${bigBucketId}, 'logs/' || lpad(folder::text, 3, '0') || '/' || lpad(file::text, 5, '0'),
          'null', 'complete', true, 1, 'etag', 'STANDARD', now()
        from generate_series(0, 199) folder, generate_series(0, 99) file`;
      await db.sql`analyze versions`;
      statements = [];
      counted = connect(db.url, { max: 1, onQuery: (query, parameters) => statements.push({ query, parameters }) });
      await counted`select 1`; // connection set-up statements are not the listing's
    });
    after(async () => {
      await counted?.end();
    });

    it("lists a delimiter page in one statement reading one row per common prefix, not O(keys)", async () => {
      statements.length = 0;
      const page = await listObjects(counted, bigBucketId, { prefix: "logs/", delimiter: "/", maxKeys: 1000 });
      assert.equal(page.commonPrefixes.length, 200);
      assert.equal(page.commonPrefixes[0], "logs/000/");
      assert.equal(page.commonPrefixes[199], "logs/199/");
      assert.equal(page.isTruncated, false);
      assert.equal(statements.length, 1, `${statements.length} statements for 200 common prefixes`);

      let rows = 0;
      const seek = seekCurrentObjects(db.sql, bigBucketId, { prefix: "logs/", delimiter: "/" });
      await listPage(async (range, limit) => {
        const batch = await seek(range, limit);
        rows += batch.length;
        return batch;
      }, { prefix: "logs/", delimiter: "/", maxKeys: 1000 });
      assert.equal(rows, 200, `${rows} rows read of 20,000`);

      statements.length = 0;
      const small = await listObjects(counted, bigBucketId, { prefix: "logs/", delimiter: "/", maxKeys: 5 });
      assert.deepEqual(small.commonPrefixes, ["logs/000/", "logs/001/", "logs/002/", "logs/003/", "logs/004/"]);
      assert.equal(small.isTruncated, true);
      assert.equal(small.nextMarker, "logs/004/");
      assert.equal(statements.length, 1);

      statements.length = 0;
      const next = await listObjects(counted, bigBucketId, {
        prefix: "logs/", delimiter: "/", maxKeys: 2, startAfter: small.nextMarker,
      });
      assert.deepEqual(next.commonPrefixes, ["logs/005/", "logs/006/"]);
      assert.equal(statements.length, 1);
    });

    it("lists a flat page in one statement", async () => {
      statements.length = 0;
      const page = await listObjects(counted, bigBucketId, { prefix: "logs/1", maxKeys: 1000 });
      assert.equal(page.contents.length, 1000);
      assert.equal(page.contents[0]!.key, "logs/100/00000");
      assert.equal(page.nextMarker, "logs/109/00099");
      assert.equal(statements.length, 1);
    });

    it("serves both seeks from the versions_listing index in key order, without a sort", async () => {
      statements.length = 0;
      await listObjects(counted, bigBucketId, { prefix: "logs/", startAfter: "logs/010/", maxKeys: 3 });
      const seekStatement = statements.find((statement) => /from versions/.test(statement.query));
      assert.ok(seekStatement);
      const plan = (
        await db.sql.unsafe(`explain ${seekStatement.query}`, seekStatement.parameters as never[])
      ).map((row) => String(row["QUERY PLAN"])).join("\n");
      assert.match(plan, /Index (Only )?Scan using versions_listing on versions/, plan);
      assert.doesNotMatch(plan, /Sort|Seq Scan/, plan);

      // The rollup seek's statements run inside weft_seek_current_rollup: auto_explain shows their plans.
      const plans: string[] = [];
      const explained = postgres(db.url, { max: 1, onnotice: (notice) => plans.push(notice.message) });
      try {
        await explained`load 'auto_explain'`;
        for (const setting of ["log_min_duration = 0", "log_nested_statements = on", "log_level = notice"]) {
          await explained.unsafe(`set auto_explain.${setting}`);
        }
        await listObjects(explained as unknown as Sql, bigBucketId, { prefix: "logs/", delimiter: "/", startAfter: "logs/010/", maxKeys: 3 });
        await listObjects(explained as unknown as Sql, bigBucketId, { delimiter: "/", maxKeys: 3 });
      } finally {
        await explained.end();
      }
      const inner = plans.filter((text) => /from versions v/.test(text));
      assert.ok(inner.length >= 2, plans.join("\n---\n"));
      for (const text of inner) {
        // Either index gives key order; inside the function the planner may prefer the full one by cost.
        assert.match(text, /Index (Only )?Scan using versions_(listing|by_key) on versions/, text);
        assert.doesNotMatch(text, /Sort|Seq Scan/, text);
      }
    });

    it("computes the same prefix successors in SQL as in TypeScript", async () => {
      const prefixes = ["a", "logs/", "a/b/", "z\u{10FFFF}", "\u{D7FF}", "\u{10FFFF}\u{10FFFF}", "中文/", "😀/", "\uFFFF", "\u007F"];
      for (const prefix of prefixes) {
        const [row] = await db.sql<{ next: string | null }[]>`select weft_prefix_successor(${prefix}) as next`;
        assert.equal(row!.next ?? undefined, prefixSuccessor(prefix), JSON.stringify(prefix));
      }
    });
  });
});
