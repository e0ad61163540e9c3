// The prefix / delimiter / marker algorithm of S3's ListObjectVersions over a seek() primitive, kept free of SQL so it
// can be tested on its own (the SQL seek is meta/src/pg/version-listing.ts). Like listing.ts, except that a position
// in the listing is a version of a key, not a key: keys in UTF-8 byte order, the versions of one key newest first.
import { commonPrefixOf, compareKeys, prefixSuccessor } from "./listing.js";

export interface VersionListRequest {
  prefix?: string;
  delimiter?: string;
  /** Exclusive: alone, every version of this key is skipped; may be a common prefix returned earlier. */
  keyMarker?: string;
  /** With keyMarker: the listing resumes after this version of keyMarker. */
  versionIdMarker?: string;
  maxKeys: number;
}

export interface VersionEntry {
  key: string;
  versionId: string;
  isLatest: boolean;
  isDeleteMarker: boolean;
  size: number;
  /** "" for a delete marker. */
  etag: string;
  lastModified: Date;
  storageClass: string;
}

export interface VersionPage {
  /** Versions and delete markers, in listing order. */
  entries: VersionEntry[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** When truncated: the key (or common prefix) of the last entry returned. */
  nextKeyMarker?: string;
  /** When truncated after a version: its version id. */
  nextVersionIdMarker?: string;
}

/** A version as a seek returns it: seq places it among the versions of its key (higher is newer). */
export interface SeekedVersion extends VersionEntry {
  seq: number;
}

/**
 * The versions a seek may return: those of keys from `from` up to, excluding, `below` (no upper bound if absent),
 * where `fromVersions` says which versions of `from` itself belong to the range. A version id that names no complete
 * version of `from` leaves all of `from` out.
 */
export interface VersionRange {
  from: string;
  fromVersions: "all" | "none" | { olderThanSeq: number } | { olderThanVersionId: string };
  below?: string;
}

/**
 * Returns up to `limit` versions in the range in listing order; fewer only when the range holds no more. Like
 * listing.ts's Seek, it may leave out versions that roll up into the same common prefix as one it returned before
 * them.
 */
export type VersionSeek = (range: VersionRange, limit: number) => Promise<SeekedVersion[]>;

/** Rows read by one seek are capped so a huge max-keys cannot pull an unbounded result into memory at once. */
const MAX_BATCH = 1001;
/** As in listing.ts: a little look-ahead after a batch that ended inside a common prefix. */
const MIN_BATCH_AFTER_SKIP = 8;

/**
 * One page of ListObjectVersions. A continuation seeks from the last version returned (its key and seq), so a page
 * costs O(entries on the page) rows however many versions the keys before it hold; with a delimiter, every common
 * prefix is jumped over with a seek at the prefix's successor, however many versions sit under it.
 */
export async function listVersionPage(seek: VersionSeek, request: VersionListRequest): Promise<VersionPage> {
  const prefix = request.prefix ?? "";
  const delimiter = request.delimiter ? request.delimiter : undefined;
  const maxKeys = Math.floor(request.maxKeys);
  const page: VersionPage = { entries: [], commonPrefixes: [], isTruncated: false };
  if (!(maxKeys > 0)) return page;

  const below = prefix === "" ? undefined : prefixSuccessor(prefix);
  let cursor = firstRange(request, prefix, delimiter, below);
  let entries = 0;
  let last: { key: string; versionId?: string } | undefined;
  let batch = Math.min(maxKeys + 1, MAX_BATCH);
  while (cursor !== undefined) {
    const rows = await seek(cursor, batch);
    let producedInBatch = 0;
    let skippedInBatch = 0;
    let skipping: string | undefined; // the common prefix whose remaining versions this batch still holds
    for (const row of rows) {
      if (skipping !== undefined && row.key.startsWith(skipping)) {
        skippedInBatch++;
        continue;
      }
      skipping = undefined;
      if (entries === maxKeys) {
        // Any further entry means there is another page.
        page.isTruncated = true;
        page.nextKeyMarker = last!.key;
        if (last!.versionId !== undefined) page.nextVersionIdMarker = last!.versionId;
        return page;
      }
      const folder = delimiter === undefined ? undefined : commonPrefixOf(row.key, prefix, delimiter);
      if (folder === undefined) {
        const { seq, ...entry } = row;
        page.entries.push(entry);
        last = { key: row.key, versionId: row.versionId };
        cursor = { from: row.key, fromVersions: { olderThanSeq: seq }, below };
      } else {
        page.commonPrefixes.push(folder);
        last = { key: folder };
        skipping = folder;
        cursor = rangeAfterPrefix(folder, below);
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

/**
 * Where a request starts. A key marker before the prefix is no constraint; one that rolls up into a common prefix
 * (the common prefix itself, returned as the last entry of a page) skips that whole common prefix.
 */
function firstRange(
  request: VersionListRequest,
  prefix: string,
  delimiter: string | undefined,
  below: string | undefined,
): VersionRange | undefined {
  const { keyMarker, versionIdMarker } = request;
  if (keyMarker === undefined || compareKeys(keyMarker, prefix) < 0) return { from: prefix, fromVersions: "all", below };
  if (below !== undefined && compareKeys(keyMarker, below) >= 0) return undefined;
  const folder = delimiter === undefined ? undefined : commonPrefixOf(keyMarker, prefix, delimiter);
  if (folder !== undefined) return rangeAfterPrefix(folder, below);
  return {
    from: keyMarker,
    fromVersions: versionIdMarker === undefined ? "none" : { olderThanVersionId: versionIdMarker },
    below,
  };
}

function rangeAfterPrefix(commonPrefix: string, below: string | undefined): VersionRange | undefined {
  const next = prefixSuccessor(commonPrefix);
  if (next === undefined) return undefined;
  if (below !== undefined && compareKeys(next, below) >= 0) return undefined;
  return { from: next, fromVersions: "all", below };
}
