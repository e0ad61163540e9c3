// ListObjectVersions over the versions table: the seek that meta/src/version-listing.ts pages with.
import type { Sql } from "../db.js";
import {
  listVersionPage,
  type SeekedVersion,
  type VersionListRequest,
  type VersionPage,
  type VersionSeek,
} from "../version-listing.js";

interface VersionListingRow {
  key: string;
  seq: number;
  version_id: string;
  is_current: boolean;
  is_delete_marker: boolean;
  size: number;
  etag: string | null;
  last_modified: Date;
  storage_class: string;
}

/**
 * Committed versions and delete markers in listing order (key, then seq descending), served by index versions_by_key.
 * A range that starts inside a key is two range scans, the rest of that key and then the keys after it, merged in
 * index order: the index's mixed directions (key up, seq down) rule out one row comparison. Each scan stops at the
 * limit, so a seek reads at most `limit` rows plus one per scan, however many versions come before or after.
 */
export function seekVersions(sql: Sql, bucketId: number, rollup?: { prefix: string; delimiter: string }): VersionSeek {
  return async (range, limit) => {
    const { from, fromVersions } = range;
    const upper = range.below === undefined ? sql`` : sql`and key < ${range.below}`;
    let rows: VersionListingRow[];
    if (rollup && fromVersions === "all") {
      // Where a delimiter page starts and after every common prefix: PostgreSQL jumps over the next ones itself.
      rows = await sql<VersionListingRow[]>`
        select * from weft_seek_versions_rollup(${bucketId}, ${from}, ${range.below ?? null}, ${rollup.prefix},
          ${rollup.delimiter}, ${limit})`;
    } else if (fromVersions === "all" || fromVersions === "none") {
      const lower = fromVersions === "all" ? sql`key >= ${from}` : sql`key > ${from}`;
      rows = await sql<VersionListingRow[]>`
        select key, seq, version_id, is_current, is_delete_marker, size, etag, last_modified, storage_class
        from versions
        where bucket_id = ${bucketId} and ${lower} ${upper} and state = 'complete'
        order by key, seq desc
        limit ${limit}`;
    } else {
      // A version id is looked up in the statement itself; when it names no complete version the comparison is null
      // and the rest of the key is skipped, which is where a vanished marker version would have been.
      const olderThan =
        "olderThanSeq" in fromVersions
          ? sql`${fromVersions.olderThanSeq}::bigint`
          : sql`(select seq from versions
              where bucket_id = ${bucketId} and key = ${from} and version_id = ${fromVersions.olderThanVersionId}
                and state = 'complete')`;
      rows = await sql<VersionListingRow[]>`
        select * from (
          (select key, seq, version_id, is_current, is_delete_marker, size, etag, last_modified, storage_class
          from versions
          where bucket_id = ${bucketId} and key = ${from} ${upper} and seq < ${olderThan} and state = 'complete'
          order by key, seq desc
          limit ${limit})
          union all
          (select key, seq, version_id, is_current, is_delete_marker, size, etag, last_modified, storage_class
          from versions
          where bucket_id = ${bucketId} and key > ${from} ${upper} and state = 'complete'
          order by key, seq desc
          limit ${limit})
        ) page
        order by key, seq desc
        limit ${limit}`;
    }
    return rows.map(versionFromRow);
  };
}

function versionFromRow(row: VersionListingRow): SeekedVersion {
  return {
    key: row.key,
    seq: row.seq,
    versionId: row.version_id,
    isLatest: row.is_current,
    isDeleteMarker: row.is_delete_marker,
    size: row.size,
    etag: row.etag ?? "",
    lastModified: row.last_modified,
    storageClass: row.storage_class,
  };
}

/**
 * One page of ListObjectVersions for a bucket; the caller has validated the request's parameters. With a delimiter,
 * the common prefixes are jumped over inside PostgreSQL (weft_seek_versions_rollup), so a page of common prefixes is
 * one round trip, not one each.
 */
export async function listObjectVersions(sql: Sql, bucketId: number, request: VersionListRequest): Promise<VersionPage> {
  const rollup = request.delimiter ? { prefix: request.prefix ?? "", delimiter: request.delimiter } : undefined;
  return listVersionPage(seekVersions(sql, bucketId, rollup), request);
}
