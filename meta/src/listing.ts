// The prefix / delimiter / marker algorithm of S3 listings over a seek() primitive, kept free of SQL so it can be
// tested on its own. Order is UTF-8 byte order (= code point order), never JavaScript's UTF-16 order.

export interface ListRequest {
  prefix?: string;
  delimiter?: string;
  /** Exclusive: a marker, start-after or decoded continuation token. May be a common prefix returned earlier. */
  startAfter?: string;
  maxKeys: number;
}

/** The keys a seek may return: from `from` (inclusive or not) up to, excluding, `below` (no upper bound if absent). */
export interface KeyRange {
  from: string;
  inclusive: boolean;
  below?: string;
}

/**
 * Returns up to `limit` entries in the range, in byte order of their keys; fewer only when the range holds no more. It
 * may leave out keys that roll up into the same common prefix as a key it returned before them (listPage skips those
 * anyway), so a seek that jumps over common prefixes itself saves listPage a seek per prefix.
 */
export type Seek<T extends { key: string }> = (range: KeyRange, limit: number) => Promise<T[]>;

export interface Page<T> {
  contents: T[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextMarker?: string;
}

/** Rows read by one seek are capped so a huge max-keys cannot pull an unbounded result into memory at once. */
const MAX_BATCH = 1001;
/**
 * Smallest batch after a batch that ended inside a common prefix: each seek costs a round trip, each row read a few
 * microseconds, so a few rows of look-ahead are cheap insurance against the next prefix being tiny.
 */
const MIN_BATCH_AFTER_SKIP = 8;

/**
 * The positions of one kind of listing: ListObjects walks keys, ListObjectVersions versions of keys. `Range` is where a
 * seek starts; `at(key)` is a range from that key on (all of it), `after(row)` the range that follows an entry.
 */
export interface ListingWalk<Row extends { key: string }, Range> {
  seek(range: Range, limit: number): Promise<Row[]>;
  /** Where the page starts; undefined when nothing can follow the markers. */
  start: Range | undefined;
  at(key: string): Range;
  after(row: Row): Range;
}

/** One page of entries in listing order; `last` is the page's last entry when it is truncated. */
export interface WalkedPage<Row> {
  rows: Row[];
  commonPrefixes: string[];
  isTruncated: boolean;
  last?: { row: Row } | { commonPrefix: string };
}

/**
 * The prefix / delimiter / max-keys algorithm every listing shares. With a delimiter, every common prefix is jumped over
 * with a new seek at the prefix's successor, so a page costs O(entries on the page) seeks and rows, however many rows
 * sit under each prefix. An entry is listed only after the walk's start; so continuing after a common prefix skips it.
 */
export async function walkPage<Row extends { key: string }, Range>(
  walk: ListingWalk<Row, Range>,
  request: { prefix: string; delimiter?: string; below?: string; maxKeys: number },
): Promise<WalkedPage<Row>> {
  const { prefix, delimiter, below } = request;
  const maxKeys = Math.floor(request.maxKeys);
  const page: WalkedPage<Row> = { rows: [], commonPrefixes: [], isTruncated: false };
  if (!(maxKeys > 0)) return page;

  let cursor = walk.start;
  let entries = 0;
  let last: WalkedPage<Row>["last"];
  let batch = Math.min(maxKeys + 1, MAX_BATCH);
  while (cursor !== undefined) {
    const rows = await walk.seek(cursor, batch);
    let producedInBatch = 0;
    let skippedInBatch = 0;
    let skipping: string | undefined; // the common prefix whose remaining rows this batch still holds
    for (const row of rows) {
      if (skipping !== undefined && row.key.startsWith(skipping)) {
        skippedInBatch++;
        continue;
      }
      skipping = undefined;
      if (entries === maxKeys) {
        // Any further entry means there is another page.
        page.isTruncated = true;
        page.last = last;
        return page;
      }
      const folder = delimiter === undefined ? undefined : commonPrefixOf(row.key, prefix, delimiter);
      if (folder === undefined) {
        page.rows.push(row);
        last = { row };
        cursor = walk.after(row);
      } else {
        page.commonPrefixes.push(folder);
        last = { commonPrefix: folder };
        skipping = folder;
        cursor = rangeAfterPrefix(folder, below, walk.at);
      }
      entries++;
      producedInBatch++;
    }
    if (rows.length < batch) break; // the range is exhausted
    const remaining = maxKeys - entries + 1;
    batch =
      skippedInBatch === 0
        ? Math.min(remaining, MAX_BATCH)
        : Math.min(remaining, MAX_BATCH, Math.max(MIN_BATCH_AFTER_SKIP, 2 * producedInBatch));
  }
  return page;
}

/** One page of ListObjects (v1 or v2) over a seek of keys. */
export async function listPage<T extends { key: string }>(seek: Seek<T>, request: ListRequest): Promise<Page<T>> {
  const prefix = request.prefix ?? "";
  const delimiter = request.delimiter ? request.delimiter : undefined;
  const below = prefix === "" ? undefined : prefixSuccessor(prefix);
  const at = (key: string): KeyRange => ({ from: key, inclusive: true, below });
  let start: KeyRange | undefined = at(prefix);
  const { startAfter } = request;
  if (startAfter !== undefined && compareKeys(startAfter, prefix) >= 0) {
    const folder = delimiter === undefined ? undefined : commonPrefixOf(startAfter, prefix, delimiter);
    start = folder === undefined ? { from: startAfter, inclusive: false, below } : rangeAfterPrefix(folder, below, at);
  }
  const walked = await walkPage({ seek, start, at, after: (row) => ({ from: row.key, inclusive: false, below }) }, {
    prefix,
    delimiter,
    below,
    maxKeys: request.maxKeys,
  });
  const page: Page<T> = { contents: walked.rows, commonPrefixes: walked.commonPrefixes, isTruncated: walked.isTruncated };
  if (walked.last) page.nextMarker = "row" in walked.last ? walked.last.row.key : walked.last.commonPrefix;
  return page;
}

/** The common prefix `key` rolls up into: prefix + text up to and including the first delimiter after the prefix. */
export function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const at = key.indexOf(delimiter, prefix.length);
  return at < 0 ? undefined : key.slice(0, at + delimiter.length);
}

/** The range from the successor of a common prefix on (`at`), unless that is past `below`. */
export function rangeAfterPrefix<Range>(commonPrefix: string, below: string | undefined, at: (key: string) => Range): Range | undefined {
  const next = prefixSuccessor(commonPrefix);
  if (next === undefined) return undefined;
  if (below !== undefined && compareKeys(next, below) >= 0) return undefined;
  return at(next);
}

const MAX_CODE_POINT = 0x10ffff;
const FIRST_SURROGATE = 0xd800;
const AFTER_SURROGATES = 0xe000;

/**
 * The smallest string greater than every string that starts with `prefix`, or undefined when there is none (empty
 * prefix, or only U+10FFFF). Works on code points, not bytes, so the result is always valid UTF-8 that PostgreSQL
 * accepts as a parameter; code point order equals UTF-8 byte order, so it is also the bytewise successor range.
 */
export function prefixSuccessor(prefix: string): string | undefined {
  const codePoints = Array.from(prefix);
  while (codePoints.length > 0) {
    const last = codePoints.pop()!.codePointAt(0)!;
    if (last < MAX_CODE_POINT) {
      const next = last + 1 === FIRST_SURROGATE ? AFTER_SURROGATES : last + 1;
      return codePoints.join("") + String.fromCodePoint(next);
    }
  }
  return undefined;
}

/** UTF-8 byte order (what PostgreSQL's COLLATE "C" and S3 use). JavaScript's < compares UTF-16 code units instead. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
