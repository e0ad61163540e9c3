import type { JSONValue } from "postgres";
import { isPostgresError, PG_FOREIGN_KEY_VIOLATION, type Sql } from "../db.js";
import type { Bucket, VersioningState } from "../types.js";
import { discardVersions } from "./common.js";

export interface BucketRow {
  id: number;
  name: string;
  owner: string;
  region: string;
  versioning: VersioningState;
  created_at: Date;
  /** Absent from the bucket columns a read of an object selects: only writes need it. */
  default_storage_class?: string | null;
}

export function bucketFromRow(row: BucketRow): Bucket {
  return {
    id: row.id,
    name: row.name,
    owner: row.owner,
    createdAt: row.created_at,
    versioning: row.versioning,
    region: row.region,
    ...(row.default_storage_class ? { defaultStorageClass: row.default_storage_class } : {}),
  };
}

export async function createBucket(
  sql: Sql,
  bucket: {
    name: string;
    owner: string;
    region: string;
    publicAccessBlock?: Record<string, boolean>;
    objectOwnership?: string;
    acl?: unknown;
    /** Object lock for good, and with it versioning Enabled for good. */
    objectLockEnabled?: boolean;
  },
): Promise<{ created: true; bucket: Bucket } | { created: false; existing: Bucket }> {
  const block = bucket.publicAccessBlock ? sql.json(bucket.publicAccessBlock) : null;
  const acl = bucket.acl === undefined ? null : sql.json(bucket.acl as JSONValue);
  for (;;) {
    const [inserted] = await sql<BucketRow[]>`
      insert into buckets (name, owner, region, public_access_block, object_ownership, acl, object_lock_enabled, versioning)
      values (${bucket.name}, ${bucket.owner}, ${bucket.region}, ${block}, ${bucket.objectOwnership ?? "BucketOwnerEnforced"}, ${acl},
        ${bucket.objectLockEnabled ?? false}, ${bucket.objectLockEnabled ? "Enabled" : "Unversioned"})
      on conflict (name) do nothing
      returning *`;
    if (inserted) return { created: true, bucket: bucketFromRow(inserted) };
    const existing = await getBucket(sql, bucket.name);
    // Absent only if the holder deleted it between the two statements: try again.
    if (existing) return { created: false, existing };
  }
}

export async function getBucket(sql: Sql, name: string): Promise<Bucket | undefined> {
  const [row] = await sql<BucketRow[]>`select * from buckets where name = ${name}`;
  return row ? bucketFromRow(row) : undefined;
}

export async function listBuckets(sql: Sql, owner: string): Promise<Bucket[]> {
  const rows = await sql<BucketRow[]>`select * from buckets where owner = ${owner} order by name`;
  return rows.map(bucketFromRow);
}

/** Sets (or, with null, clears) a bucket's default storage class; undefined when there is no such bucket. */
export async function setBucketDefaultStorageClass(sql: Sql, name: string, storageClass: string | null): Promise<Bucket | undefined> {
  const [row] = await sql<BucketRow[]>`update buckets set default_storage_class = ${storageClass} where name = ${name} returning *`;
  return row ? bucketFromRow(row) : undefined;
}

/** Gives the bucket to another user; undefined when there is no such bucket. */
export async function setBucketOwner(sql: Sql, name: string, owner: string): Promise<Bucket | undefined> {
  const [row] = await sql<BucketRow[]>`update buckets set owner = ${owner} where name = ${name} returning *`;
  return row ? bucketFromRow(row) : undefined;
}

/** False, changing nothing, when the bucket has object lock and would stop keeping versions: lock needs them all. */
export async function setBucketVersioning(sql: Sql, bucketId: number, versioning: VersioningState): Promise<boolean> {
  const updated = await sql`update buckets set versioning = ${versioning} where id = ${bucketId} and not (object_lock_enabled and ${versioning} <> 'Enabled')`;
  return updated.count > 0;
}

/**
 * Deletes the bucket unless it holds a committed version (delete markers included) or a multipart upload in
 * progress. PUTs still pending are discarded with it (their blobs queued); their commit will then fail.
 */
export async function deleteBucket(sql: Sql, bucketId: number): Promise<"deleted" | "not-empty"> {
  try {
    return await sql.begin(async (tx) => {
      // FOR UPDATE conflicts with the key-share lock each new version, upload or part insert takes on its bucket,
      // so nothing new can appear in the bucket until this transaction ends.
      const [bucket] = await tx`select id from buckets where id = ${bucketId} for update`;
      if (!bucket) return "deleted" as const;
      const [{ busy }] = await tx<{ busy: boolean }[]>`
        select exists (select 1 from versions where bucket_id = ${bucketId} and state = 'complete')
            or exists (select 1 from uploads where bucket_id = ${bucketId}) as busy`;
      if (busy) return "not-empty" as const;
      await discardVersions(
        tx,
        tx`select id from versions where bucket_id = ${bucketId} and state = 'pending' for update`,
      );
      await tx`delete from buckets where id = ${bucketId}`;
      return "deleted" as const;
    });
  } catch (error) {
    // A pending version committed while we looked: it survives, and so does the bucket.
    if (isPostgresError(error, PG_FOREIGN_KEY_VIOLATION)) return "not-empty";
    throw error;
  }
}
