// Multipart uploads. Parts are reserved, streamed and committed like plain PUTs; completing an upload re-parents the
// chosen parts to a new version in one transaction and moves no bytes.
// Lock order, everywhere: upload row, then object key, then part rows (commitPart, completeUpload, abortUpload).
import { isPostgresError, PG_FOREIGN_KEY_VIOLATION, type Sql } from "../db.js";
import { InvalidPartError, NoSuchBucketError, NoSuchUploadError } from "../errors.js";
import type postgres from "postgres";
import type { ChecksumType, DatafileRef, MultipartUpload, ObjectAccess, ObjectHeaders, ObjectLockRequest, UploadedPart, VersioningState } from "../types.js";
import type { CommittedVersion } from "./versions.js";
import { checkWritePrecondition, type WritePrecondition } from "./conditions.js";
import {
  bytesParameter,
  crcRows,
  insertPartDatafiles,
  discardParts,
  headersFromRow,
  headerValues,
  lockObjectKey,
  optional,
  partFromJson,
  partsJson,
  retireCurrentVersion,
  type HeaderColumns,
  type PartJson,
} from "./common.js";

export async function createUpload(
  sql: Sql,
  upload: {
    bucketId: number;
    key: string;
    uploadId: string;
    storageClass: string;
    headers: ObjectHeaders;
    checksumAlgorithm?: string;
    checksumType?: string;
    owner: string;
    /** From x-amz-tagging; given to the completed object. */
    tags?: { Key: string; Value: string }[];
    /** The ACL and owner the completed object gets, in a bucket with ACLs enabled. */
    access?: ObjectAccess;
    /** The object lock the completed object gets; without a retention, the bucket's default retention at completion. */
    lock?: ObjectLockRequest;
    /** How its parts' data key is wrapped, when they are to be encrypted. */
    encryption?: postgres.JSONValue;
  },
): Promise<void> {
  const headers = headerValues(sql, upload.headers);
  try {
    await sql`
      insert into uploads (
        upload_id, bucket_id, key, owner, storage_class, content_type, content_encoding, content_disposition,
        content_language, cache_control, expires, user_metadata, checksum_algorithm, checksum_type, tags, acl, object_owner,
        retention_mode, retain_until, legal_hold, encryption
      ) values (
        ${upload.uploadId}, ${upload.bucketId}, ${upload.key}, ${upload.owner}, ${upload.storageClass},
        ${headers.content_type}, ${headers.content_encoding}, ${headers.content_disposition},
        ${headers.content_language}, ${headers.cache_control}, ${headers.expires}, ${headers.user_metadata},
        ${upload.checksumAlgorithm ?? null}, ${upload.checksumType ?? null}, ${sql.json(upload.tags ?? [])},
        ${upload.access?.acl === undefined ? null : sql.json(upload.access.acl as postgres.JSONValue)}, ${upload.access?.objectOwner ?? null},
        ${upload.lock?.retention?.mode ?? null}, ${upload.lock?.retention?.retainUntil ?? null}, ${upload.lock?.legalHold ?? null},
        ${upload.encryption === undefined ? null : sql.json(upload.encryption)}
      )`;
  } catch (error) {
    if (isPostgresError(error, PG_FOREIGN_KEY_VIOLATION, "uploads_bucket_id_fkey")) {
      throw new NoSuchBucketError(upload.bucketId);
    }
    throw error;
  }
}

interface UploadRow extends HeaderColumns {
  upload_id: string;
  bucket_id: number;
  key: string;
  owner: string;
  storage_class: string;
  checksum_algorithm: string | null;
  checksum_type: string | null;
  initiated: Date;
  tags?: { Key: string; Value: string }[];
  acl: unknown;
  object_owner: string | null;
  retention_mode: string | null;
  retain_until: Date | null;
  legal_hold: boolean | null;
  encryption: postgres.JSONValue | null;
}

function uploadFromRow(row: UploadRow): MultipartUpload {
  return {
    uploadId: row.upload_id,
    bucketId: row.bucket_id,
    key: row.key,
    initiated: row.initiated,
    storageClass: row.storage_class,
    owner: row.owner,
    ...headersFromRow(row),
    ...optional("checksumAlgorithm", row.checksum_algorithm),
    ...optional("checksumType", row.checksum_type),
    asksForLock: row.retention_mode !== null || row.legal_hold !== null,
    ...optional("encryption", row.encryption),
  };
}

export async function getUpload(
  sql: Sql,
  bucketId: number,
  key: string,
  uploadId: string,
): Promise<MultipartUpload | undefined> {
  const [row] = await sql<UploadRow[]>`
    select * from uploads where upload_id = ${uploadId} and bucket_id = ${bucketId} and key = ${key}`;
  return row ? uploadFromRow(row) : undefined;
}

/** Reserves a part of an upload. Throws NoSuchUploadError if the upload is gone (completed or aborted). */
export async function insertPendingPart(
  sql: Sql,
  part: { uploadId: string; partNumber: number; size: number; unit: number; k: number; m: number; datafiles: DatafileRef[]; encryptionSalt?: Buffer },
): Promise<number> {
  try {
    const [row] = await sql<{ id: number }[]>`
      with part as (
        insert into parts (upload_id, part_number, state, size, unit, k, m, encryption_salt)
        values (${part.uploadId}, ${part.partNumber}, 'pending', ${part.size}, ${part.unit}, ${part.k}, ${part.m}, ${bytesParameter(sql, part.encryptionSalt)})
        returning id
      ), ${insertPartDatafiles(sql, part.datafiles)}
      select id from part`;
    return row!.id;
  } catch (error) {
    if (isPostgresError(error, PG_FOREIGN_KEY_VIOLATION, "parts_upload_id_fkey")) {
      throw new NoSuchUploadError(part.uploadId);
    }
    throw error;
  }
}

/**
 * Commits a reserved part, replacing (and queuing the blobs of) any part committed earlier under the same number.
 * Throws NoSuchUploadError when the part is gone: its upload was completed or aborted meanwhile (the part's blobs
 * were queued then), or the part itself was aborted or reaped.
 */
export async function commitPart(
  sql: Sql,
  partRowId: number,
  commit: {
    etag: string;
    datafileCrcs: { slot: number; crc32c: string }[];
    checksumAlgorithm?: string;
    checksumValue?: string;
    inlineData?: Buffer;
  },
): Promise<void> {
  await sql.begin(async (tx) => {
    const [part] = await tx<{ upload_id: string; part_number: number }[]>`
      select upload_id, part_number from parts where id = ${partRowId} and state = 'pending' and upload_id is not null`;
    if (!part) throw new NoSuchUploadError(undefined, partRowId);
    // Serializes part commits of one upload (two commits of one part number would otherwise both replace the
    // old part), and waits for a completion or abort in progress. Does not block insertPendingPart's key-share lock.
    const [upload] = await tx`select 1 from uploads where upload_id = ${part.upload_id} for no key update`;
    if (!upload) throw new NoSuchUploadError(part.upload_id, partRowId);
    const [stillPending] = await tx`select 1 from parts where id = ${partRowId} and state = 'pending' for update`;
    if (!stillPending) throw new NoSuchUploadError(part.upload_id, partRowId);
    await discardParts(
      tx,
      tx`select id from parts
         where upload_id = ${part.upload_id} and part_number = ${part.part_number} and state = 'complete'
         for update`,
    );
    await tx`
      with part as (
        update parts set
          state = 'complete', etag = ${commit.etag}, committed_at = now(),
          inline_data = coalesce(${bytesParameter(tx, commit.inlineData)}, inline_data),
          checksum_algorithm = ${commit.checksumAlgorithm ?? null}, checksum_value = ${commit.checksumValue ?? null}
        where id = ${partRowId}
        returning id
      )
      update datafiles set crc32c = c.crc32c
      from jsonb_to_recordset(${crcRows(tx, commit.datafileCrcs)}) as c(slot smallint, crc32c text)
      where datafiles.part_id in (select id from part) and datafiles.slot = c.slot`;
  });
}

/** Pending part → gone, blobs queued. Idempotent; never touches a committed part. */
export async function abortPart(sql: Sql, partRowId: number): Promise<void> {
  await discardParts(sql, sql`select id from parts where id = ${partRowId} and state = 'pending' for update`);
}

/** The committed parts of an upload, by part number, with their layouts. */
export async function listUploadParts(sql: Sql, uploadId: string): Promise<UploadedPart[]> {
  const [row] = await sql<{ parts: PartJson[] }[]>`
    select ${partsJson(sql, sql`p.upload_id = ${uploadId} and p.state = 'complete'`)} as parts`;
  return (row?.parts ?? []).map((part) => ({ ...partFromJson(part), lastModified: new Date(part.committedAt!) }));
}

/** What a completed upload became: its version (see CommittedVersion) and what the response repeats of it. */
export interface CompletedUpload extends CommittedVersion {
  etag: string;
  checksumAlgorithm?: string;
  checksumValue?: string;
  checksumType?: ChecksumType;
}

/**
 * Turns the chosen committed parts into a new complete, current version carrying the upload's headers and storage
 * class; unchosen and still-pending parts are discarded (blobs queued) and the upload disappears. The version id and
 * what is replaced follow the bucket's versioning state, as in commitVersion (`versionId` is the minted one). Each
 * part must still be committed with the ETag given (a concurrent re-upload of a part after the caller checked it, or
 * a missing part, throws InvalidPartError and changes nothing). NoSuchUploadError when the upload is gone.
 */
export async function completeUpload(
  sql: Sql,
  completion: {
    uploadId: string;
    versionId: string;
    parts: { partNumber: number; etag: string }[];
    size: number;
    etag: string;
    checksumAlgorithm?: string;
    checksumValue?: string;
    checksumType?: ChecksumType;
    /** Checked under the key lock, atomically with the completion; a failure leaves the upload as it was. */
    precondition?: WritePrecondition;
  },
): Promise<CompletedUpload> {
  const { uploadId } = completion;
  return sql.begin(async (tx) => {
    const [upload] = await tx<UploadRow[]>`select * from uploads where upload_id = ${uploadId} for update`;
    if (!upload) throw new NoSuchUploadError(uploadId);
    await lockObjectKey(tx, upload.bucket_id, upload.key);
    await checkWritePrecondition(tx, upload.bucket_id, upload.key, completion.precondition);
    const requestedRetention = upload.retention_mode === null ? null : tx.json({ mode: upload.retention_mode, retainUntil: upload.retain_until!.toISOString() });
    const [bucket] = await tx<{ versioning: VersioningState; stored_version_id: string; retention_mode: string | null; retain_until: Date | null }[]>`
      select b.versioning, weft_stored_version_id(b.versioning, ${completion.versionId}) as stored_version_id,
        r.mode as retention_mode, r.retain_until
      from buckets b, weft_new_retention(${requestedRetention}, b.default_retention) r
      where b.id = ${upload.bucket_id}`;
    const versionId = bucket!.stored_version_id;
    await retireCurrentVersion(tx, { bucketId: upload.bucket_id, key: upload.key, versionId, versioning: bucket!.versioning });
    const [version] = await tx<{ id: number; last_modified: Date }[]>`
      insert into versions (
        bucket_id, key, version_id, state, is_current, size, etag, storage_class, content_type, content_encoding,
        content_disposition, content_language, cache_control, expires, user_metadata, checksum_algorithm,
        checksum_value, checksum_type, last_modified, tags, completed_upload_id, acl, object_owner, retention_mode,
        retain_until, legal_hold, encryption
      ) values (
        ${upload.bucket_id}, ${upload.key}, ${versionId}, 'complete', true, ${completion.size},
        ${completion.etag}, ${upload.storage_class}, ${upload.content_type}, ${upload.content_encoding},
        ${upload.content_disposition}, ${upload.content_language}, ${upload.cache_control}, ${upload.expires},
        ${tx.json({ ...upload.user_metadata })}, ${completion.checksumAlgorithm ?? null},
        ${completion.checksumValue ?? null}, ${completion.checksumType ?? null}, now(), ${tx.json(upload.tags ?? [])},
        ${uploadId}, ${upload.acl === null ? null : tx.json(upload.acl as postgres.JSONValue)}, ${upload.object_owner},
        ${bucket!.retention_mode}, ${bucket!.retain_until}, ${upload.legal_hold},
        ${upload.encryption === null ? null : tx.json(upload.encryption)}
      )
      returning id, last_modified`;
    const chosen = tx.json(completion.parts.map((part) => ({ part_number: part.partNumber, etag: part.etag })));
    const moved = await tx<{ part_number: number }[]>`
      update parts set version_row_id = ${version!.id}, upload_id = null
      from jsonb_to_recordset(${chosen}) as c(part_number integer, etag text)
      where parts.upload_id = ${uploadId} and parts.state = 'complete' and parts.part_number = c.part_number
        and parts.etag = c.etag
      returning parts.part_number`;
    if (moved.length !== completion.parts.length) {
      const movedNumbers = new Set(moved.map((part) => part.part_number));
      const missing = completion.parts.find((part) => !movedNumbers.has(part.partNumber)) ?? completion.parts[0];
      throw new InvalidPartError(uploadId, missing?.partNumber ?? 0);
    }
    await discardParts(tx, tx`select id from parts where upload_id = ${uploadId} for update`);
    await tx`delete from uploads where upload_id = ${uploadId}`;
    return {
      versionId,
      lastModified: version!.last_modified,
      versioning: bucket!.versioning,
      etag: completion.etag,
      ...optional("checksumAlgorithm", completion.checksumAlgorithm),
      ...optional("checksumValue", completion.checksumValue),
      ...optional("checksumType", completion.checksumType),
    };
  });
}

/**
 * The version an upload of this key was completed into, while that version exists (a repeated
 * CompleteMultipartUpload is answered from it); undefined otherwise.
 */
export async function findCompletedUpload(sql: Sql, bucketId: number, key: string, uploadId: string): Promise<CompletedUpload | undefined> {
  const [row] = await sql<
    {
      version_id: string;
      last_modified: Date;
      versioning: VersioningState;
      etag: string;
      checksum_algorithm: string | null;
      checksum_value: string | null;
      checksum_type: ChecksumType | null;
    }[]
  >`
    select v.version_id, v.last_modified, b.versioning, v.etag, v.checksum_algorithm, v.checksum_value, v.checksum_type
    from versions v join buckets b on b.id = v.bucket_id
    where v.completed_upload_id = ${uploadId} and v.bucket_id = ${bucketId} and v.key = ${key} and v.state = 'complete'`;
  if (!row) return undefined;
  return {
    versionId: row.version_id,
    lastModified: row.last_modified,
    versioning: row.versioning,
    etag: row.etag,
    ...optional("checksumAlgorithm", row.checksum_algorithm),
    ...optional("checksumValue", row.checksum_value),
    ...optional("checksumType", row.checksum_type),
  };
}

/** Discards the upload and all its parts, committed or pending (blobs queued). False if there is no such upload. */
export async function abortUpload(sql: Sql, uploadId: string): Promise<boolean> {
  return sql.begin(async (tx) => {
    const [upload] = await tx`select 1 from uploads where upload_id = ${uploadId} for update`;
    if (!upload) return false;
    await discardParts(tx, tx`select id from parts where upload_id = ${uploadId} for update`);
    await tx`delete from uploads where upload_id = ${uploadId}`;
    return true;
  });
}

export interface PartSummary {
  partNumber: number;
  /** What it stores: for an encrypted part, its sealed size (the gateway reports the plaintext's). */
  size: number;
  encrypted: boolean;
  etag: string;
  lastModified: Date;
  checksumAlgorithm?: string;
  checksumValue?: string;
}

/** ListParts: up to `limit` committed parts numbered above `after`, by part number (index parts_of_upload_committed). */
export async function listPartsPage(sql: Sql, uploadId: string, after: number, limit: number): Promise<PartSummary[]> {
  const rows = await sql<
    { part_number: number; size: number; etag: string; committed_at: Date; checksum_algorithm: string | null; checksum_value: string | null; encrypted: boolean }[]
  >`
    select part_number, size, etag, committed_at, checksum_algorithm, checksum_value, encryption_salt is not null as encrypted
    from parts
    where upload_id = ${uploadId} and state = 'complete' and part_number > ${after}
    order by part_number
    limit ${limit}`;
  return rows.map((row) => ({
    partNumber: row.part_number,
    size: row.size,
    encrypted: row.encrypted,
    etag: row.etag,
    lastModified: row.committed_at,
    ...optional("checksumAlgorithm", row.checksum_algorithm),
    ...optional("checksumValue", row.checksum_value),
  }));
}

/** Where a page of ListMultipartUploads starts: after an upload (key + upload id), after a key, or at a key. */
export type UploadCursor =
  | { kind: "afterUpload"; key: string; uploadId: string }
  | { kind: "afterKey"; key: string }
  | { kind: "atKey"; key: string };

/**
 * Up to `limit` uploads of a bucket in ListMultipartUploads order (key, then initiation, then id), from `cursor`,
 * below key `below` (unbounded if absent); served by index uploads_by_key. An upload cursor whose upload is gone
 * continues after its key, as the initiation time it sorted by is unknown.
 */
export async function seekUploads(
  sql: Sql,
  bucketId: number,
  cursor: UploadCursor,
  below: string | undefined,
  limit: number,
): Promise<MultipartUpload[]> {
  const upper = below === undefined ? sql`` : sql`and key < ${below}`;
  let from;
  switch (cursor.kind) {
    case "atKey":
      from = sql`key >= ${cursor.key}`;
      break;
    case "afterKey":
      from = sql`key > ${cursor.key}`;
      break;
    case "afterUpload":
      // Initiation times have microseconds that a JS Date would round away: compare against the stored row.
      from = sql`(
        key > ${cursor.key}
        or (key = ${cursor.key} and (initiated, upload_id) > (
          select initiated, upload_id from uploads where bucket_id = ${bucketId} and upload_id = ${cursor.uploadId} and key = ${cursor.key})))`;
      break;
  }
  const rows = await sql<UploadRow[]>`
    select * from uploads
    where bucket_id = ${bucketId} and ${from} ${upper}
    order by key, initiated, upload_id
    limit ${limit}`;
  return rows.map(uploadFromRow);
}

/** Multipart uploads neither completed nor aborted: how many, their committed parts and bytes, the oldest's start. */
export async function uploadsInProgress(sql: Sql): Promise<{ uploads: number; parts: number; bytes: number; oldestInitiated: Date | undefined }> {
  const [row] = await sql<{ uploads: number; parts: number; bytes: number; oldest: Date | null }[]>`
    select
      (select count(*) from uploads)::bigint as uploads,
      count(p.id)::bigint as parts,
      coalesce(sum(p.size), 0)::bigint as bytes,
      (select min(initiated) from uploads) as oldest
    from parts p where p.upload_id is not null and p.state = 'complete'`;
  return { uploads: row!.uploads, parts: row!.parts, bytes: row!.bytes, oldestInitiated: row!.oldest ?? undefined };
}
