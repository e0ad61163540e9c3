import assert from "node:assert/strict";
import { commonPrefixOf, compareKeys, listPage, prefixSuccessor, type ListRequest, type Seek } from "./listing.js";

interface Entry {
  key: string;
}

/** A seek over a sorted in-memory key list (the pure algorithm's counterpart of the SQL seek), counting its work. */
function arraySeek(keys: string[]): { seek: Seek<Entry>; stats: { seeks: number; rows: number } } {
  const sorted = [...new Set(keys)].sort(compareKeys);
  const stats = { seeks: 0, rows: 0 };
  const seek: Seek<Entry> = async (range, limit) => {
    stats.seeks++;
    const rows: Entry[] = [];
    for (const key of sorted) {
      if (rows.length >= limit) break;
      const fromOrder = compareKeys(key, range.from);
      if (fromOrder < 0 || (fromOrder === 0 && !range.inclusive)) continue;
      if (range.below !== undefined && compareKeys(key, range.below) >= 0) break;
      rows.push({ key });
    }
    stats.rows += rows.length;
    return rows;
  };
  return { seek, stats };
}

/** The listing defined the slow, obvious way: every entry, rolled up and filtered, then cut to one page. */
function referenceListing(keys: string[], request: ListRequest) {
  const prefix = request.prefix ?? "";
  const entries = new Map<string, "key" | "prefix">();
  for (const key of new Set(keys)) {
    if (!key.startsWith(prefix)) continue;
    const folder = request.delimiter ? commonPrefixOf(key, prefix, request.delimiter) : undefined;
    entries.set(folder ?? key, folder === undefined ? "key" : "prefix");
  }
  const ordered = [...entries.keys()]
    .sort(compareKeys)
    .filter((entry) => request.startAfter === undefined || compareKeys(entry, request.startAfter) > 0);
  const page = ordered.slice(0, Math.max(0, request.maxKeys));
  return {
    contents: page.filter((entry) => entries.get(entry) === "key"),
    commonPrefixes: page.filter((entry) => entries.get(entry) === "prefix"),
    isTruncated: request.maxKeys > 0 && ordered.length > page.length,
    nextMarker: request.maxKeys > 0 && ordered.length > page.length ? page.at(-1) : undefined,
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

const ALPHABET = ["a", "b", "/", " ", "+", "%", "é", "中", "😀", "\uFFFD", "\uE000", "~", "0"];

describe("listing: prefixSuccessor and compareKeys", () => {
  it("gives the smallest string above every string with the prefix", () => {
    assert.equal(prefixSuccessor("a/"), "a0");
    assert.equal(prefixSuccessor("photos/2024"), "photos/2025");
    assert.equal(prefixSuccessor(""), undefined);
    assert.equal(prefixSuccessor("\u{10FFFF}"), undefined);
    assert.equal(prefixSuccessor("a\u{10FFFF}"), "b");
    assert.equal(prefixSuccessor("\uD7FF"), "\uE000", "skips the surrogate range, which UTF-8 cannot encode");
    assert.equal(prefixSuccessor("x😀"), "x😁");
    assert.equal(prefixSuccessor("\uFFFF"), "\u{10000}");
  });

  it("orders by UTF-8 bytes, not UTF-16 code units", () => {
    // UTF-16 puts the astral 😀 (surrogate 0xD83D) before U+FFFD; UTF-8 (F0… vs EF…) puts it after.
    assert.ok("😀" < "\uFFFD");
    assert.ok(compareKeys("😀", "\uFFFD") > 0);
    assert.ok(compareKeys("\uE000", "😀") < 0);
    assert.ok(compareKeys("a/", "a/b") < 0);
    assert.ok(compareKeys("a b", "a+b") < 0);
    assert.equal(compareKeys("é", "é"), 0);
  });
});

describe("listing: listPage over a seek", () => {
  it("matches the obvious definition on random keys and requests, and paging visits every entry once", async () => {
    const next = random(7);
    const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)]!;
    // By code points: keys and prefixes arrive as decoded UTF-8 and never hold a lone surrogate.
    const head = (key: string, length: number) => Array.from(key).slice(0, length).join("");
    for (let round = 0; round < 150; round++) {
      const keys = Array.from({ length: 1 + Math.floor(next() * 60) }, () =>
        Array.from({ length: 1 + Math.floor(next() * 6) }, () => pick(ALPHABET)).join(""),
      );
      const prefix = next() < 0.3 ? "" : next() < 0.5 ? head(pick(keys), Math.floor(next() * 3)) : pick(ALPHABET);
      const delimiter = pick([undefined, "/", "a", "😀", "/a", " "]);
      const startAfter = next() < 0.5 ? undefined : next() < 0.5 ? head(pick(keys), 1 + Math.floor(next() * 4)) : pick(ALPHABET);
      const maxKeys = pick([0, 1, 2, 3, 5, 1000]);
      const request: ListRequest = { prefix, delimiter, startAfter, maxKeys };
      const { seek } = arraySeek(keys);
      const page = await listPage(seek, request);
      const expected = referenceListing(keys, request);
      const context = JSON.stringify({ round, request, keys });
      assert.deepEqual(page.contents.map((entry) => entry.key), expected.contents, context);
      assert.deepEqual(page.commonPrefixes, expected.commonPrefixes, context);
      assert.equal(page.isTruncated, expected.isTruncated, context);
      assert.equal(page.nextMarker, expected.nextMarker, context);

      if (maxKeys === 0) continue;
      const all = referenceListing(keys, { prefix, delimiter, maxKeys: Number.MAX_SAFE_INTEGER });
      const seen: string[] = [];
      let marker: string | undefined;
      for (let pages = 0; ; pages++) {
        assert.ok(pages <= keys.length + 1, `paging does not terminate: ${context}`);
        const current = await listPage(seek, { prefix, delimiter, startAfter: marker, maxKeys });
        seen.push(...current.contents.map((entry) => entry.key), ...current.commonPrefixes);
        if (!current.isTruncated) break;
        marker = current.nextMarker;
      }
      assert.deepEqual(seen.sort(compareKeys), [...all.contents, ...all.commonPrefixes].sort(compareKeys), context);
    }
  });

  it("returns an empty, untruncated page for maxKeys 0 without seeking", async () => {
    const { seek, stats } = arraySeek(["a", "b"]);
    assert.deepEqual(await listPage(seek, { maxKeys: 0 }), { contents: [], commonPrefixes: [], isTruncated: false });
    assert.equal(stats.seeks, 0);
  });

  it("continuing after a common prefix skips that prefix's keys", async () => {
    const { seek } = arraySeek(["a/1", "a/2", "a/3", "b", "c/1"]);
    const first = await listPage(seek, { delimiter: "/", maxKeys: 1 });
    assert.deepEqual(first.commonPrefixes, ["a/"]);
    assert.equal(first.nextMarker, "a/");
    const second = await listPage(seek, { delimiter: "/", startAfter: "a/", maxKeys: 10 });
    assert.deepEqual(second.contents.map((entry) => entry.key), ["b"]);
    assert.deepEqual(second.commonPrefixes, ["c/"]);
    assert.equal(second.isTruncated, false);
  });

  it("costs O(page) seeks and rows with a delimiter, however many keys each folder holds", async () => {
    const keys: string[] = [];
    for (let folder = 0; folder < 200; folder++) {
      for (let file = 0; file < 100; file++) keys.push(`logs/${String(folder).padStart(3, "0")}/${file}`);
    }
    const { seek, stats } = arraySeek(keys);
    const page = await listPage(seek, { prefix: "logs/", delimiter: "/", maxKeys: 1000 });
    assert.equal(page.commonPrefixes.length, 200);
    assert.equal(page.isTruncated, false);
    assert.ok(stats.seeks <= 201, `seeks ${stats.seeks}`);
    assert.ok(stats.rows <= 1001 + 200 * 8, `rows ${stats.rows} of ${keys.length}`);

    const small = arraySeek(keys);
    const firstTen = await listPage(small.seek, { prefix: "logs/", delimiter: "/", maxKeys: 10 });
    assert.equal(firstTen.commonPrefixes.length, 10);
    assert.equal(firstTen.isTruncated, true);
    assert.equal(firstTen.nextMarker, "logs/009/");
    assert.ok(small.stats.seeks <= 12 && small.stats.rows <= 11 + 11 * 8, JSON.stringify(small.stats));
  });

  it("reads one batch for a flat listing", async () => {
    const { seek, stats } = arraySeek(Array.from({ length: 5000 }, (_, i) => `k${String(i).padStart(5, "0")}`));
    const page = await listPage(seek, { maxKeys: 1000, delimiter: "/" });
    assert.equal(page.contents.length, 1000);
    assert.equal(page.nextMarker, "k00999");
    assert.equal(stats.seeks, 1);
    assert.equal(stats.rows, 1001);
  });
});
