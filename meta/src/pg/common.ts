// Statements shared by the table-family modules: discarding rows together with queuing their blobs, per-key
// serialization, and the row <-> domain mappings used in more than one module.
import type postgres from "postgres";
import { isPostgresError, WEFT_WRITE_CONDITION_FAILED, type Sql, type Tx } from "../db.js";
import { WriteConditionFailedError } from "../errors.js";
import type { DatafileRef, ObjectHeaders, PartRecord, VersioningState } from "../types.js";

export type Queryable = Sql | Tx;
export type Fragment = postgres.PendingQuery<postgres.Row[]>;

/**
 * Bytes as a statement parameter: base64 text that PostgreSQL decodes. postgres.js would send a Buffer as bytea's hex
 * text, twice its size: for a batch of eight 4 KiB objects base64 cost the gateway 144–162 µs against 230–339, and
 * PostgreSQL the same (docs/performance.md).
 */
export function bytesParameter(q: Queryable, data: Buffer | null | undefined): Fragment {
  return data == null ? q`null::bytea` : q`decode(${data.toString("base64")}, 'base64')`;
}

/**
 * Deletes the versions selected by `doomed` (a `select id from versions … for update` fragment) with their parts and
 * datafiles, and queues every datafile's blob for collection, in one statement. The FOR UPDATE in the selection
 * matters: it re-checks the selection's conditions on rows a concurrent transaction changed (a pending version that
 * was committed meanwhile is then no longer selected) instead of deleting them blindly.
 */
export async function discardVersions(q: Queryable, doomed: Fragment): Promise<number> {
  const [result] = await q<{ count: number }[]>`select weft_discard_versions(array(${doomed})) as count`;
  return result?.count ?? 0;
}

/** Like discardVersions, for parts selected by a `select id from parts … for update` fragment. */
export async function discardParts(q: Queryable, doomed: Fragment): Promise<number> {
  const [result] = await q<{ count: number }[]>`
    with doomed as (${doomed}),
      gone_parts as (delete from parts where id in (select id from doomed) returning id),
      gone_files as (delete from datafiles where part_id in (select id from gone_parts) returning ioserver_id, blob_id),
      queued as (insert into gc_queue (ioserver_id, blob_id) select ioserver_id, blob_id from gone_files)
    select count(*)::int as count from gone_parts`;
  return result?.count ?? 0;
}

/**
 * Serializes everything that changes which version of (bucket, key) is current, until the transaction ends.
 * A row lock cannot do this alone: when no current version exists yet there is no row to lock, and two commits
 * would both try to become current. Hash collisions only make unrelated keys wait for each other briefly.
 */
export async function lockObjectKey(tx: Tx, bucketId: number, key: string): Promise<void> {
  await tx`select weft_lock_object_key(${bucketId}, ${key})`;
}

/**
 * Makes room for a new current version of a key stored under `versionId` (caller holds lockObjectKey), in one
 * statement (weft_retire_current_version): a complete version with the same id is replaced (a new "null" version
 * replaces the old one), and so is the current version when the bucket is Unversioned; the replaced rows are discarded
 * with their blobs queued. A current version that is kept stops being current.
 */
export async function retireCurrentVersion(
  tx: Tx,
  target: { bucketId: number; key: string; versionId: string; versioning: VersioningState },
): Promise<void> {
  const { bucketId, key, versionId, versioning } = target;
  await tx`select weft_retire_current_version(${bucketId}, ${key}, ${versionId}, ${versioning !== "Unversioned"})`;
}

/** The typed error for what the commit functions of meta/functions.sql raise; anything else unchanged. */
export function commitError(error: unknown): unknown {
  if (isPostgresError(error, WEFT_WRITE_CONDITION_FAILED)) {
    return new WriteConditionFailedError(error.message as WriteConditionFailedError["reason"]);
  }
  return error;
}

export interface HeaderColumns {
  content_type: string | null;
  content_encoding: string | null;
  content_disposition: string | null;
  content_language: string | null;
  cache_control: string | null;
  expires: string | null;
  user_metadata: Record<string, string>;
}

export function headersFromRow(row: HeaderColumns): ObjectHeaders {
  return {
    ...optional("contentType", row.content_type),
    ...optional("contentEncoding", row.content_encoding),
    ...optional("contentDisposition", row.content_disposition),
    ...optional("contentLanguage", row.content_language),
    ...optional("cacheControl", row.cache_control),
    ...optional("expires", row.expires),
    userMetadata: row.user_metadata ?? {},
  };
}

/** `{ [name]: value }` when value is present, `{}` otherwise, so optional fields stay absent rather than undefined. */
export function optional<K extends string, V>(name: K, value: V | null | undefined): { [P in K]?: V } {
  return (value === null || value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}

/**
 * A json array of the parts (alias p) that `ownerCondition` selects, by part number, each with its datafiles
 * (weft_part_json, migration 0007): loads a whole layout in the same round trip as its owner.
 */
export function partsJson(q: Queryable, ownerCondition: Fragment): Fragment {
  return q`coalesce((select json_agg(weft_part_json(p) order by p.part_number) from parts p where ${ownerCondition}), '[]'::json)`;
}

export interface PartJson {
  partNumber: number;
  size: number;
  etag: string | null;
  unit: number;
  k: number;
  m: number;
  checksumAlgorithm: string | null;
  checksumValue: string | null;
  committedAt: string | null;
  /** Base64. */
  encryptionSalt: string | null;
  datafiles: { slot: number; ioserverId: string; blobId: string; length: number; crc32c: string | null }[];
}

export function partFromJson(part: PartJson): PartRecord {
  return {
    partNumber: part.partNumber,
    size: part.size,
    etag: part.etag ?? "",
    unit: part.unit,
    k: part.k,
    m: part.m,
    datafiles: part.datafiles.map(
      (datafile): DatafileRef => ({
        slot: datafile.slot,
        ioserverId: datafile.ioserverId,
        blobId: datafile.blobId,
        length: datafile.length,
        ...optional("crc32c", datafile.crc32c),
      }),
    ),
    ...optional("checksumAlgorithm", part.checksumAlgorithm),
    ...optional("checksumValue", part.checksumValue),
    ...optional("encryptionSalt", part.encryptionSalt === null ? null : Buffer.from(part.encryptionSalt, "base64")),
  };
}

/** Datafile rows as one jsonb parameter, unpacked with jsonb_to_recordset: one statement for all k+m slots. */
function datafileRows(q: Queryable, datafiles: DatafileRef[]): postgres.Parameter {
  return q.json(
    datafiles.map((datafile) => ({
      slot: datafile.slot,
      ioserver_id: datafile.ioserverId,
      blob_id: datafile.blobId,
      length: datafile.length,
      crc32c: datafile.crc32c ?? null,
    })),
  );
}

/**
 * The CTE step `files as (...)` that inserts a reserved part's datafile rows, for a statement that has just
 * inserted that part in a CTE named `part` (a plain PUT's version or an upload's part: one statement either way).
 */
export function insertPartDatafiles(q: Queryable, datafiles: DatafileRef[]) {
  return q`files as (
        insert into datafiles (part_id, slot, ioserver_id, blob_id, length, crc32c)
        select part.id, d.slot, d.ioserver_id, d.blob_id, d.length, d.crc32c
        from part, jsonb_to_recordset(${datafileRows(q, datafiles)})
          as d(slot smallint, ioserver_id text, blob_id text, length bigint, crc32c text)
      )`;
}

/** `length` only where the datafile's length was unknown at reservation (a POST form's file). */
export function crcRows(q: Queryable, crcs: { slot: number; crc32c: string; length?: number }[]): postgres.Parameter {
  return q.json(crcs.map((crc) => ({ slot: crc.slot, crc32c: crc.crc32c, length: crc.length ?? null })));
}

export function headerValues(
  q: Queryable,
  headers: ObjectHeaders,
): Omit<HeaderColumns, "user_metadata"> & { user_metadata: postgres.Parameter } {
  return {
    content_type: headers.contentType ?? null,
    content_encoding: headers.contentEncoding ?? null,
    content_disposition: headers.contentDisposition ?? null,
    content_language: headers.contentLanguage ?? null,
    cache_control: headers.cacheControl ?? null,
    expires: headers.expires ?? null,
    user_metadata: q.json({ ...headers.userMetadata }),
  };
}
