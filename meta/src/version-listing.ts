// The prefix / delimiter / marker algorithm of S3's ListObjectVersions over a seek() primitive, kept free of SQL so it
// can be tested on its own (the SQL seek is meta/src/pg/version-listing.ts). Like listing.ts, except that a position
// in the listing is a version of a key, not a key: keys in UTF-8 byte order, the versions of one key newest first.
import { commonPrefixOf, compareKeys, prefixSuccessor, rangeAfterPrefix, walkPage } from "./listing.js";

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

/**
 * One page of ListObjectVersions (walkPage over versions). A continuation seeks from the last version returned (its
 * key and seq), so a page costs O(entries on the page) rows however many versions the keys before it hold.
 */
export async function listVersionPage(seek: VersionSeek, request: VersionListRequest): Promise<VersionPage> {
  const prefix = request.prefix ?? "";
  const delimiter = request.delimiter ? request.delimiter : undefined;
  const below = prefix === "" ? undefined : prefixSuccessor(prefix);
  const at = (key: string): VersionRange => ({ from: key, fromVersions: "all", below });
  const walked = await walkPage(
    {
      seek,
      start: firstRange(request, prefix, delimiter, below, at),
      at,
      after: (row: SeekedVersion): VersionRange => ({ from: row.key, fromVersions: { olderThanSeq: row.seq }, below }),
    },
    { prefix, delimiter, below, maxKeys: request.maxKeys },
  );
  const page: VersionPage = {
    entries: walked.rows.map(({ seq: _seq, ...entry }) => entry),
    commonPrefixes: walked.commonPrefixes,
    isTruncated: walked.isTruncated,
  };
  if (walked.last && "row" in walked.last) {
    page.nextKeyMarker = walked.last.row.key;
    page.nextVersionIdMarker = walked.last.row.versionId;
  } else if (walked.last) {
    page.nextKeyMarker = walked.last.commonPrefix;
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
  at: (key: string) => VersionRange,
): VersionRange | undefined {
  const { keyMarker, versionIdMarker } = request;
  if (keyMarker === undefined || compareKeys(keyMarker, prefix) < 0) return at(prefix);
  if (below !== undefined && compareKeys(keyMarker, below) >= 0) return undefined;
  const folder = delimiter === undefined ? undefined : commonPrefixOf(keyMarker, prefix, delimiter);
  if (folder !== undefined) return rangeAfterPrefix(folder, below, at);
  return {
    from: keyMarker,
    fromVersions: versionIdMarker === undefined ? "none" : { olderThanVersionId: versionIdMarker },
    below,
  };
}
