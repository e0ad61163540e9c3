// Object versions and the commit protocol (DESIGN §3): reserve a pending version, stream the data elsewhere, then
// commit or abort it, each step one short transaction.
import { randomUUID } from "node:crypto";
import { isPostgresError, PG_FOREIGN_KEY_VIOLATION, type Sql } from "../db.js";
import { NoSuchBucketError, VersionNotPendingError } from "../errors.js";
import { listPage, type ListRequest, type Seek } from "../listing.js";
import type { ChecksumType, ListPage, ObjectHeaders, ObjectSummary, ObjectVersion, PartRecord } from "../types.js";
import { checkWritePrecondition, type WritePrecondition } from "./conditions.js";
import {
  crcRows,
  insertPartDatafiles,
  discardVersions,
  headersFromRow,
  headerValues,
  lockObjectKey,
  objectKeyLock,
  optional,
  partFromJson,
  partsJson,
  retireCurrentVersion,
  type HeaderColumns,
  type PartJson,
} from "./common.js";

export type PendingPart = Omit<PartRecord, "etag" | "size" | "checksumAlgorithm" | "checksumValue"> & { size: number };

/** Reserves a version: one statement inserts the pending version, its part and its datafile rows. */
export async function insertPendingVersion(
  sql: Sql,
  pending: { bucketId: number; key: string; versionId: string; storageClass: string; part: PendingPart },
): Promise<number> {
  const { part } = pending;
  try {
    const [row] = await sql<{ id: number }[]>`
      with version as (
        insert into versions (bucket_id, key, version_id, state, storage_class, size)
        values (${pending.bucketId}, ${pending.key}, ${pending.versionId}, 'pending', ${pending.storageClass}, ${part.size})
        returning id
      ), part as (
        insert into parts (version_row_id, part_number, state, size, unit, k, m, inline_data)
        select id, ${part.partNumber}, 'pending', ${part.size}, ${part.unit}, ${part.k}, ${part.m}, ${part.inlineData ?? null}::bytea
        from version
        returning id
      ), ${insertPartDatafiles(sql, part.datafiles)}
      select id from version`;
    return row!.id;
  } catch (error) {
    if (isPostgresError(error, PG_FOREIGN_KEY_VIOLATION, "versions_bucket_id_fkey")) {
      throw new NoSuchBucketError(pending.bucketId);
    }
    throw error;
  }
}

export interface CommitVersion {
  size: number;
  etag: string;
  headers: ObjectHeaders;
  checksumAlgorithm?: string;
  checksumValue?: string;
  checksumType?: ChecksumType;
  partEtag: string;
  /** With `length` when the body's size was unknown at reservation (the part's size then becomes `size`). */
  datafileCrcs: { slot: number; crc32c: string; length?: number }[];
  inlineData?: Buffer;
  versioned: boolean;
  /** Checked under the key lock, atomically with the commit; WriteConditionFailedError when it fails. */
  precondition?: WritePrecondition;
  /** The object's tags (x-amz-tagging); none when absent. */
  tags?: { Key: string; Value: string }[];
}

/**
 * Makes a pending version complete and current. What it replaces (see retireCurrentVersion) is deleted in the same
 * transaction and its blobs queued for collection, so old data is never removed before the new metadata commits.
 * Throws VersionNotPendingError when the version was aborted or reaped meanwhile.
 */
export async function commitVersion(
  sql: Sql,
  versionRowId: number,
  commit: CommitVersion,
): Promise<{ versionId: string; lastModified: Date }> {
  return sql.begin(async (tx) => {
    // Takes the object-key lock in the same round trip as the row lock (the key lock comes first; nothing takes
    // them in the other order).
    const [pending] = await tx<{ bucket_id: number; key: string; version_id: string }[]>`
      select bucket_id, key, version_id, ${objectKeyLock(tx, tx`bucket_id`, tx`key`)}
      from versions where id = ${versionRowId} and state = 'pending'
      for update`;
    if (!pending) throw new VersionNotPendingError(versionRowId);
    await checkWritePrecondition(tx, pending.bucket_id, pending.key, commit.precondition);
    await retireCurrentVersion(tx, {
      bucketId: pending.bucket_id,
      key: pending.key,
      versionId: pending.version_id,
      versioned: commit.versioned,
    });
    const headers = headerValues(tx, commit.headers);
    const [committed] = await tx<{ version_id: string; last_modified: Date }[]>`
      with version as (
        update versions set
          state = 'complete', is_current = true, seq = nextval('versions_seq_seq'),
          size = ${commit.size}, etag = ${commit.etag}, last_modified = now(),
          content_type = ${headers.content_type}, content_encoding = ${headers.content_encoding},
          content_disposition = ${headers.content_disposition}, content_language = ${headers.content_language},
          cache_control = ${headers.cache_control}, expires = ${headers.expires},
          user_metadata = ${headers.user_metadata},
          checksum_algorithm = ${commit.checksumAlgorithm ?? null}, checksum_value = ${commit.checksumValue ?? null},
          checksum_type = ${commit.checksumType ?? null}, tags = ${tx.json(commit.tags ?? [])}
        where id = ${versionRowId}
        returning version_id, last_modified
      ), part as (
        update parts set
          state = 'complete', etag = ${commit.partEtag}, committed_at = now(), size = ${commit.size},
          inline_data = coalesce(${commit.inlineData ?? null}::bytea, inline_data),
          checksum_algorithm = ${commit.checksumAlgorithm ?? null}, checksum_value = ${commit.checksumValue ?? null}
        where version_row_id = ${versionRowId}
        returning id
      ), crcs as (
        update datafiles set crc32c = c.crc32c, length = coalesce(c.length, datafiles.length)
        from jsonb_to_recordset(${crcRows(tx, commit.datafileCrcs)}) as c(slot smallint, crc32c text, length bigint)
        where datafiles.part_id in (select id from part) and datafiles.slot = c.slot
      )
      select version_id, last_modified from version`;
    return { versionId: committed!.version_id, lastModified: committed!.last_modified };
  });
}

/** Pending → gone, its blobs queued for collection. Idempotent; never touches a version that got committed. */
export async function abortVersion(sql: Sql, versionRowId: number): Promise<void> {
  await discardVersions(sql, sql`select id from versions where id = ${versionRowId} and state = 'pending' for update`);
}

interface VersionRow extends HeaderColumns {
  id: number;
  bucket_id: number;
  key: string;
  version_id: string;
  is_delete_marker: boolean;
  size: number;
  etag: string | null;
  last_modified: Date;
  storage_class: string;
  checksum_algorithm: string | null;
  checksum_value: string | null;
  checksum_type: ChecksumType | null;
  tag_count: number;
  parts: PartJson[];
}

/**
 * The current version of a key (which may be a delete marker: the caller decides), or the committed version with
 * that version id, with its whole layout, in one round trip.
 */
export async function getObjectVersion(
  sql: Sql,
  bucketId: number,
  key: string,
  versionId?: string,
): Promise<ObjectVersion | undefined> {
  const which =
    versionId === undefined ? sql`v.is_current` : sql`v.version_id = ${versionId} and v.state = 'complete'`;
  const [row] = await sql<VersionRow[]>`
    select v.id, v.bucket_id, v.key, v.version_id, v.is_delete_marker, v.size, v.etag, v.last_modified,
      v.storage_class, v.content_type, v.content_encoding, v.content_disposition, v.content_language,
      v.cache_control, v.expires, v.user_metadata, v.checksum_algorithm, v.checksum_value, v.checksum_type,
      jsonb_array_length(v.tags) as tag_count,
      ${partsJson(sql, sql`p.version_row_id = v.id`)} as parts
    from versions v
    where v.bucket_id = ${bucketId} and v.key = ${key} and ${which}`;
  if (!row) return undefined;
  return {
    id: row.id,
    bucketId: row.bucket_id,
    key: row.key,
    versionId: row.version_id,
    isDeleteMarker: row.is_delete_marker,
    size: row.size,
    etag: row.etag ?? "",
    lastModified: row.last_modified,
    storageClass: row.storage_class,
    ...headersFromRow(row),
    ...optional("checksumAlgorithm", row.checksum_algorithm),
    ...optional("checksumValue", row.checksum_value),
    ...optional("checksumType", row.checksum_type),
    tagCount: row.tag_count,
    parts: row.parts.map(partFromJson),
  };
}

/**
 * Unversioned: removes the current version (blobs queued). Versioned: a new delete marker becomes current and
 * every version is kept (versionId names the marker; one is generated when absent).
 */
export async function deleteObject(
  sql: Sql,
  bucketId: number,
  key: string,
  options: { versioned: boolean; versionId?: string },
): Promise<{ deleted: boolean; deleteMarkerVersionId?: string }> {
  return sql.begin(async (tx) => {
    await lockObjectKey(tx, bucketId, key);
    if (!options.versioned) {
      const count = await discardVersions(
        tx,
        tx`select id from versions where bucket_id = ${bucketId} and key = ${key} and is_current for update`,
      );
      return { deleted: count > 0 };
    }
    const markerVersionId = options.versionId ?? randomUUID().replaceAll("-", "");
    await retireCurrentVersion(tx, { bucketId, key, versionId: markerVersionId, versioned: true });
    try {
      await tx`
        insert into versions (bucket_id, key, version_id, state, is_current, is_delete_marker, storage_class, last_modified)
        values (${bucketId}, ${key}, ${markerVersionId}, 'complete', true, true, 'STANDARD', now())`;
    } catch (error) {
      if (isPostgresError(error, PG_FOREIGN_KEY_VIOLATION)) throw new NoSuchBucketError(bucketId);
      throw error;
    }
    return { deleted: true, deleteMarkerVersionId: markerVersionId };
  });
}

/** Rows for listObjects: current, committed, not delete markers, in byte order; served by index versions_listing. */
export function seekCurrentObjects(sql: Sql, bucketId: number): Seek<ObjectSummary> {
  return async (range, limit) => {
    const lower = range.inclusive ? sql`key >= ${range.from}` : sql`key > ${range.from}`;
    const upper = range.below === undefined ? sql`` : sql`and key < ${range.below}`;
    const rows = await sql<{ key: string; size: number; etag: string; last_modified: Date; storage_class: string }[]>`
      select key, size, etag, last_modified, storage_class
      from versions
      where bucket_id = ${bucketId} and is_current and not is_delete_marker and ${lower} ${upper}
      order by key
      limit ${limit}`;
    return rows.map((row) => ({
      key: row.key,
      size: row.size,
      etag: row.etag,
      lastModified: row.last_modified,
      storageClass: row.storage_class,
    }));
  };
}

export async function listObjects(sql: Sql, bucketId: number, request: ListRequest): Promise<ListPage> {
  return listPage(seekCurrentObjects(sql, bucketId), request);
}
