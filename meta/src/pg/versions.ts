// Object versions and the commit protocol (docs/architecture.md): reserve a pending version, stream the data
// elsewhere, then commit or abort it, each step one statement (the commit's steps run in meta/functions.sql).
import type postgres from "postgres";
import { Batcher } from "../batcher.js";
import {
  isPostgresError,
  PG_FOREIGN_KEY_VIOLATION,
  WEFT_NOT_BUCKET_OWNER,
  WEFT_VERSION_NOT_PENDING,
  WEFT_WRITE_CONDITION_FAILED,
  type Sql,
} from "../db.js";
import { NoSuchBucketError, NotBucketOwnerError, VersionNotPendingError, WriteConditionFailedError } from "../errors.js";
import { listPage, type ListRequest, type Seek } from "../listing.js";
import type { Bucket, ChecksumType, ListPage, ObjectAccess, ObjectHeaders, ObjectLockRequest, ObjectSummary, ObjectVersion, PartRecord, RetentionMode, VersioningState } from "../types.js";
import { bucketFromRow, type BucketRow } from "./buckets.js";
import type { WritePrecondition } from "./conditions.js";
import {
  bytesParameter,
  commitError,
  insertPartDatafiles,
  discardVersions,
  headersFromRow,
  optional,
  partFromJson,
  type Fragment,
  type HeaderColumns,
  type PartJson,
} from "./common.js";

export type PendingPart = Omit<PartRecord, "etag" | "size" | "checksumAlgorithm" | "checksumValue"> & { size: number };

/** Reserves a version: one statement inserts the pending version, its part and its datafile rows. */
export async function insertPendingVersion(
  sql: Sql,
  pending: { bucketId: number; key: string; versionId: string; storageClass: string; part: PendingPart; encryption?: postgres.JSONValue },
): Promise<number> {
  const { part } = pending;
  try {
    const [row] = await sql<{ id: number }[]>`
      with version as (
        insert into versions (bucket_id, key, version_id, state, storage_class, size, encryption)
        values (${pending.bucketId}, ${pending.key}, ${pending.versionId}, 'pending', ${pending.storageClass}, ${part.size},
          ${pending.encryption === undefined ? null : sql.json(pending.encryption)})
        returning id
      ), part as (
        insert into parts (version_row_id, part_number, state, size, unit, k, m, inline_data, encryption_salt)
        select id, ${part.partNumber}, 'pending', ${part.size}, ${part.unit}, ${part.k}, ${part.m}, ${bytesParameter(sql, part.inlineData)},
          ${bytesParameter(sql, part.encryptionSalt)}
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
  /** The object's size, as S3 reports it. */
  size: number;
  /** What its part stores, when that differs from `size` (an encrypted part's sealed bytes). */
  partSize?: number;
  etag: string;
  headers: ObjectHeaders;
  checksumAlgorithm?: string;
  checksumValue?: string;
  checksumType?: ChecksumType;
  partEtag: string;
  /** With `length` when the body's size was unknown at reservation (the part's size then becomes `size`). */
  datafileCrcs: { slot: number; crc32c: string; length?: number }[];
  /** Checked under the key lock, atomically with the commit; WriteConditionFailedError when it fails. */
  precondition?: WritePrecondition;
  /** The object's tags (x-amz-tagging); none when absent. */
  tags?: { Key: string; Value: string }[];
  /** Its ACL and owner, in a bucket with ACLs enabled. */
  access?: ObjectAccess;
  /** Object lock; without a retention the bucket's default retention applies (weft_new_retention). */
  lock?: ObjectLockRequest;
}

/** Where a commit put a new version: its stored id ("null" unless the bucket keeps versions) and when. */
export interface CommittedVersion {
  versionId: string;
  lastModified: Date;
  /** The bucket's versioning state the commit went by. */
  versioning: VersioningState;
}

/**
 * Makes a pending version complete and current, in one statement (weft_commit_version). The bucket's versioning state
 * at commit decides its version id: the one reserved in a bucket that keeps versions, else "null". What it replaces
 * (see retireCurrentVersion) is deleted in the same transaction and its blobs queued for collection, so old data is
 * never removed before the new metadata commits. Throws VersionNotPendingError when the version was aborted or reaped
 * meanwhile, WriteConditionFailedError when the precondition fails under the key lock.
 */
export async function commitVersion(sql: Sql, versionRowId: number, commit: CommitVersion): Promise<CommittedVersion> {
  try {
    const [committed] = await sql<{ version_id: string; last_modified: Date; versioning: VersioningState }[]>`
      select * from weft_commit_version(${versionRowId}, ${commitJson(sql, commit)})`;
    return { versionId: committed!.version_id, lastModified: committed!.last_modified, versioning: committed!.versioning };
  } catch (error) {
    if (isPostgresError(error, WEFT_VERSION_NOT_PENDING)) throw new VersionNotPendingError(versionRowId);
    throw commitError(error);
  }
}

export interface InlineVersion {
  bucketName: string;
  owner: string;
  key: string;
  /** Minted: the version's id if the bucket keeps versions (see commitVersion). */
  versionId: string;
  /** The class the write asked for; undefined: the bucket's default class, else `defaultStorageClass` (then required). */
  storageClass: string | undefined;
  defaultStorageClass?: string;
}

interface InlinePut {
  version: InlineVersion;
  commit: CommitVersion;
  inlineData: Buffer;
}

/**
 * Gathers the small PUTs that arrive while earlier ones commit (see Batcher). One batch at a time per gateway: at
 * concurrency 16 that cost ~400 µs of PostgreSQL CPU per PUT against ~550 with two at a time, for the same rate
 * (docs/performance.md); more gateways commit in parallel. 64 items bound a statement's size and how long it holds its key locks.
 */
const INLINE_PUT_BATCHING = { maxInFlight: 1, maxBatch: 64, gatherMs: 2 };
const inlinePutBatchers = new WeakMap<Sql, Batcher<InlinePut, CommittedVersion>>();

/**
 * A whole object small enough to live in its part row: the bucket is found by name and its owner checked, and the
 * version is inserted complete and current (no datafile is written in between, so nothing needs reserving).
 * Concurrent calls on one pool are committed together, in one statement (weft_put_inline_versions), each with its own
 * outcome. Same guarantees and errors as commitVersion, and NoSuchBucketError / NotBucketOwnerError.
 */
export function putInlineVersion(sql: Sql, version: InlineVersion, commit: CommitVersion, inlineData: Buffer): Promise<CommittedVersion> {
  let batcher = inlinePutBatchers.get(sql);
  if (batcher === undefined) {
    batcher = new Batcher((puts) => putInlineVersions(sql, puts), INLINE_PUT_BATCHING);
    inlinePutBatchers.set(sql, batcher);
  }
  return batcher.submit({ version, commit, inlineData });
}

async function putInlineVersions(sql: Sql, puts: InlinePut[]): Promise<(CommittedVersion | Error)[]> {
  // The data of all items travels as one bytea, each item naming its slice: one parameter whatever the batch size.
  let offset = 0;
  const items = puts.map(({ version, commit, inlineData }) => {
    const item = { ...version, commit: commitObject(commit), dataOffset: offset, dataLength: inlineData.length };
    offset += inlineData.length;
    return item;
  });
  const data = Buffer.concat(puts.map((put) => put.inlineData), offset);
  const rows = await sql<
    { item: number; version_id: string; last_modified: Date; versioning: VersioningState; error_code: string | null; error_message: string }[]
  >`select * from weft_put_inline_versions(${sql.json(items)}, ${bytesParameter(sql, data)})`;
  const outcomes = new Array<CommittedVersion | Error>(puts.length);
  for (const row of rows) {
    const { bucketName } = puts[row.item - 1]!.version;
    outcomes[row.item - 1] =
      row.error_code === WEFT_VERSION_NOT_PENDING ? new NoSuchBucketError(bucketName)
      : row.error_code === WEFT_NOT_BUCKET_OWNER ? new NotBucketOwnerError(bucketName)
      : row.error_code === WEFT_WRITE_CONDITION_FAILED ? new WriteConditionFailedError(row.error_message as WriteConditionFailedError["reason"])
      : { versionId: row.version_id, lastModified: row.last_modified, versioning: row.versioning };
  }
  return outcomes;
}

/** CommitVersion as the jsonb argument of weft_commit_version (inline data travels as its own bytea argument). */
function commitJson(sql: Sql, commit: CommitVersion): postgres.Parameter {
  return sql.json(commitObject(commit));
}

function commitObject(commit: CommitVersion): postgres.JSONValue {
  return {
    size: commit.size,
    partSize: commit.partSize ?? null,
    etag: commit.etag,
    partEtag: commit.partEtag,
    contentType: commit.headers.contentType ?? null,
    contentEncoding: commit.headers.contentEncoding ?? null,
    contentDisposition: commit.headers.contentDisposition ?? null,
    contentLanguage: commit.headers.contentLanguage ?? null,
    cacheControl: commit.headers.cacheControl ?? null,
    expires: commit.headers.expires ?? null,
    userMetadata: { ...commit.headers.userMetadata },
    checksumAlgorithm: commit.checksumAlgorithm ?? null,
    checksumValue: commit.checksumValue ?? null,
    checksumType: commit.checksumType ?? null,
    datafileCrcs: commit.datafileCrcs.map((crc) => ({ slot: crc.slot, crc32c: crc.crc32c, length: crc.length ?? null })),
    precondition: commit.precondition ? { ifNoneMatch: commit.precondition.ifNoneMatch ?? false, ifMatch: commit.precondition.ifMatch ?? null } : null,
    tags: commit.tags ?? [],
    acl: (commit.access?.acl as postgres.JSONValue | undefined) ?? null,
    objectOwner: commit.access?.objectOwner ?? null,
    retention: commit.lock?.retention ? { mode: commit.lock.retention.mode, retainUntil: commit.lock.retention.retainUntil.toISOString() } : null,
    legalHold: commit.lock?.legalHold ?? null,
  };
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
  tags: { Key: string; Value: string }[] | null;
  acl: unknown;
  object_owner: string | null;
  retention_mode: RetentionMode | null;
  retain_until: Date | null;
  legal_hold: boolean | null;
  encryption: unknown;
  /** Null when the object is one inline part: that part comes as the inline_* columns instead. */
  parts: PartJson[] | null;
  /**
   * The object, when it is small enough to live in its one part's row, with that part's other columns. As columns,
   * not json: building json, with base64 inside, cost PostgreSQL ~40 µs and the gateway ~40 µs more per 4 KiB GET
   * (docs/performance.md). As base64 text, not bytea: postgres.js reads results as text only, and bytea's text is hex, twice the
   * object; a 4 KiB object's row then outgrew PostgreSQL's 8 KiB send buffer and went out in two socket writes, and
   * decoding hex cost the gateway twice what base64 does (PostgreSQL's base64 has line breaks; Buffer skips them).
   */
  inline_data_base64: string | null;
  inline_size: number | null;
  inline_etag: string | null;
  inline_unit: number | null;
  inline_k: number | null;
  inline_m: number | null;
  inline_checksum_algorithm: string | null;
  inline_checksum_value: string | null;
}

/**
 * The lookup's fragments that carry no parameter, built once per pool: every `sql` call makes a postgres.js Query (a
 * Promise and its closures), and a GET built four of them per request (~5 µs of the gateway's CPU).
 */
interface LookupFragments {
  columnsWithInlineData: Fragment;
  columnsWithoutInlineData: Fragment;
  versionsWithInlinePart: Fragment;
  currentVersion: Fragment;
}
const lookupFragments = new WeakMap<Sql, LookupFragments>();

function lookupFragmentsOf(sql: Sql): LookupFragments {
  let fragments = lookupFragments.get(sql);
  if (!fragments) {
    fragments = {
      columnsWithInlineData: versionColumns(sql, sql`encode(inline_part.inline_data, 'base64')`),
      columnsWithoutInlineData: versionColumns(sql, sql`null`),
      versionsWithInlinePart: versionsWithInlinePart(sql),
      currentVersion: sql`v.is_current`,
    };
    lookupFragments.set(sql, fragments);
  }
  return fragments;
}

/**
 * The columns versionFromRow reads, for a statement over versionsWithInlinePart. The layout json is built by a
 * function only for objects that are not inline (migration 0007); inline data travels in a column of its own
 * (`inlineDataBase64`: the base64 expression, or null where the caller sends no body), not inside it.
 */
function versionColumns(sql: Sql, inlineDataBase64: Fragment): Fragment {
  return sql`v.id, v.bucket_id, v.key, v.version_id, v.is_delete_marker, v.size, v.etag, v.last_modified,
      v.storage_class, v.content_type, v.content_encoding, v.content_disposition, v.content_language,
      v.cache_control, v.expires, v.user_metadata, v.checksum_algorithm, v.checksum_value, v.checksum_type,
      jsonb_array_length(v.tags) as tag_count, nullif(v.tags, '[]'::jsonb) as tags, v.acl, v.object_owner,
      v.retention_mode, v.retain_until, v.legal_hold, v.encryption,
      case when inline_part.id is null then weft_version_parts_json(v.id) end as parts,
      ${inlineDataBase64} as inline_data_base64, inline_part.size as inline_size, inline_part.etag as inline_etag, inline_part.unit as inline_unit,
      inline_part.k as inline_k, inline_part.m as inline_m, inline_part.checksum_algorithm as inline_checksum_algorithm,
      inline_part.checksum_value as inline_checksum_value`;
}

/**
 * `versions v`, with its one part when that part is stored inline (alias inline_part). The part is looked up by the
 * version's id in a lateral subquery that OFFSET 0 keeps from being merged into a join: as a join, a plan cached
 * while parts was empty read the whole table for every lookup once it had filled again (meta/src/versions.test.ts).
 */
function versionsWithInlinePart(sql: Sql): Fragment {
  return sql`versions v
      left join lateral (
        select p.id, p.inline_data, p.size, p.etag, p.unit, p.k, p.m, p.checksum_algorithm, p.checksum_value from parts p
        where p.version_row_id = v.id and p.part_number = 1 and p.inline_data is not null
        offset 0
      ) inline_part on true`;
}

/** The current version of a key, or the committed version with that version id. */
function whichVersion(sql: Sql, versionId: string | undefined): Fragment {
  return versionId === undefined
    ? lookupFragmentsOf(sql).currentVersion
    : sql`v.version_id = ${versionId} and v.state = 'complete'`;
}

function inlinePartFromRow(row: VersionRow): PartRecord {
  return {
    partNumber: 1,
    size: row.inline_size!,
    etag: row.inline_etag ?? "",
    unit: row.inline_unit!,
    k: row.inline_k!,
    m: row.inline_m!,
    datafiles: [],
    ...optional("inlineData", row.inline_data_base64 === null ? null : Buffer.from(row.inline_data_base64, "base64")),
    ...optional("checksumAlgorithm", row.inline_checksum_algorithm),
    ...optional("checksumValue", row.inline_checksum_value),
  };
}

function versionFromRow(row: VersionRow): ObjectVersion {
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
    tags: row.tags ?? [],
    parts: row.parts === null ? [inlinePartFromRow(row)] : row.parts.map(partFromJson),
    ...optional("acl", row.acl),
    ...optional("objectOwner", row.object_owner),
    ...optional("retention", row.retention_mode === null ? null : { mode: row.retention_mode, retainUntil: row.retain_until! }),
    ...optional("legalHold", row.legal_hold),
    ...optional("encryption", row.encryption),
  };
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
  const fragments = lookupFragmentsOf(sql);
  const [row] = await sql<VersionRow[]>`
    select ${fragments.columnsWithInlineData}
    from ${fragments.versionsWithInlinePart}
    where v.bucket_id = ${bucketId} and v.key = ${key} and ${whichVersion(sql, versionId)}`;
  return row ? versionFromRow(row) : undefined;
}

/**
 * getObjectVersion by bucket name, with the bucket, in one round trip (the read path of GET and HEAD, where a
 * second round trip costs more than the whole lookup). Undefined when the bucket does not exist. Without
 * `withInlineData` an inline part comes without its bytes (HEAD sends none: ~8 KB less per 4 KiB object).
 */
export async function getBucketAndObjectVersion(
  sql: Sql,
  bucketName: string,
  key: string,
  versionId: string | undefined,
  withInlineData: boolean,
): Promise<{ bucket: Bucket; version?: ObjectVersion } | undefined> {
  const fragments = lookupFragmentsOf(sql);
  const [row] = await sql<(VersionRow & BucketColumns)[]>`
    select b.id as bucket_row_id, b.name as bucket_name, b.owner as bucket_owner, b.region as bucket_region,
      b.versioning as bucket_versioning, b.created_at as bucket_created_at, v.*
    from buckets b
    left join lateral (
      select ${withInlineData ? fragments.columnsWithInlineData : fragments.columnsWithoutInlineData}
      from ${fragments.versionsWithInlinePart}
      where v.bucket_id = b.id and v.key = ${key} and ${whichVersion(sql, versionId)}
      offset 0
    ) v on true
    where b.name = ${bucketName}`;
  if (!row) return undefined;
  const bucket = bucketFromRow({
    id: row.bucket_row_id,
    name: row.bucket_name,
    owner: row.bucket_owner,
    region: row.bucket_region,
    versioning: row.bucket_versioning,
    created_at: row.bucket_created_at,
  });
  return row.id === null ? { bucket } : { bucket, version: versionFromRow(row) };
}

/** The bucket's columns beside a version's, prefixed (plain columns: a json object cost more to build and parse). */
interface BucketColumns {
  bucket_row_id: number;
  bucket_name: string;
  bucket_owner: string;
  bucket_region: string;
  bucket_versioning: BucketRow["versioning"];
  bucket_created_at: Date;
}

type SummaryRow = { key: string; size: number; etag: string; last_modified: Date; storage_class: string };

/**
 * Rows for listObjects: current, committed, not delete markers, in byte order; served by index versions_listing.
 * With `rollup` (a listing's prefix and delimiter), the keys after the first of each common prefix are left out by
 * PostgreSQL itself (weft_seek_current_rollup), so a page of common prefixes costs one round trip, not one each.
 */
export function seekCurrentObjects(sql: Sql, bucketId: number, rollup?: { prefix: string; delimiter: string }): Seek<ObjectSummary> {
  return async (range, limit) => {
    let rows: SummaryRow[];
    if (rollup) {
      rows = await sql<SummaryRow[]>`
        select * from weft_seek_current_rollup(${bucketId}, ${range.from}, ${range.inclusive}, ${range.below ?? null},
          ${rollup.prefix}, ${rollup.delimiter}, ${limit})`;
    } else {
      const lower = range.inclusive ? sql`key >= ${range.from}` : sql`key > ${range.from}`;
      const upper = range.below === undefined ? sql`` : sql`and key < ${range.below}`;
      rows = await sql<SummaryRow[]>`
        select key, size, etag, last_modified, storage_class
        from versions
        where bucket_id = ${bucketId} and is_current and not is_delete_marker and ${lower} ${upper}
        order by key
        limit ${limit}`;
    }
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
  const rollup = request.delimiter ? { prefix: request.prefix ?? "", delimiter: request.delimiter } : undefined;
  return listPage(seekCurrentObjects(sql, bucketId, rollup), request);
}
