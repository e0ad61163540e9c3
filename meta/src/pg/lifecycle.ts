// Bucket lifecycle: the configuration (buckets.lifecycle, the gateway's validated rules as jsonb; null when the bucket
// has none) and the worker's statements. Each finder returns a bounded batch in key order after a cursor, and each
// action is one statement over such a batch (meta/functions.sql, weft_lifecycle_*), so a round that stops anywhere
// has committed whole batches and the next round finds what is still due.
import type { Sql } from "../db.js";
import { prefixSuccessor } from "../listing.js";
import type { VersioningState } from "../types.js";
import type { Tag } from "./tags.js";

/** A rule as PutBucketLifecycleConfiguration gave it (gateway/src/lifecycle/configuration.ts validates it). */
export interface LifecycleRule {
  id: string;
  status: "Enabled" | "Disabled";
  /** The legacy top-level Prefix; absent when the rule has a Filter. */
  prefix?: string;
  filter?: LifecycleFilter;
  expiration?: { days?: number; date?: string; expiredObjectDeleteMarker?: boolean };
  noncurrentVersionExpiration?: { noncurrentDays: number; newerNoncurrentVersions?: number };
  abortIncompleteMultipartUpload?: { daysAfterInitiation: number };
}

/** A Filter as given: at most one of its members (an empty Filter matches every object). */
export interface LifecycleFilter {
  prefix?: string;
  tag?: Tag;
  objectSizeGreaterThan?: number;
  objectSizeLessThan?: number;
  and?: { prefix?: string; tags: Tag[]; objectSizeGreaterThan?: number; objectSizeLessThan?: number };
}

/** What a rule's filter selects, flattened: every condition must hold. */
export interface LifecycleScope {
  prefix: string;
  tags: Tag[];
  sizeAbove?: number;
  sizeBelow?: number;
}

/**
 * When something counted in days is due: `days` whole days after `since`, rounded up to the next multiple of the day
 * length since the epoch (with 86400-second days, AWS's next midnight UTC). As SQL: the latest `since` that is due
 * now, `floor(now / day) · day − days · day`, so the finders compare a column with it and use their index.
 */
function dueSinceAtMost(sql: Sql, days: number, daySeconds: number) {
  return sql`to_timestamp(floor(extract(epoch from now()) / ${daySeconds}) * ${daySeconds} - ${days * daySeconds})`;
}

export async function getBucketLifecycle(sql: Sql, bucketId: number): Promise<LifecycleRule[] | undefined> {
  const [row] = await sql<{ lifecycle: LifecycleRule[] | null }[]>`select lifecycle from buckets where id = ${bucketId}`;
  return row?.lifecycle ?? undefined;
}

/** Sets (or, with undefined, removes) the bucket's lifecycle rules. */
export async function putBucketLifecycle(sql: Sql, bucketId: number, rules: LifecycleRule[] | undefined): Promise<void> {
  const value = rules === undefined ? null : sql.json(JSON.parse(JSON.stringify(rules)));
  await sql`update buckets set lifecycle = ${value} where id = ${bucketId}`;
}

export interface LifecycleBucket {
  id: number;
  name: string;
  versioning: VersioningState;
  rules: LifecycleRule[];
}

/** Up to `limit` buckets with lifecycle rules, by id after `afterId`. */
export async function bucketsWithLifecycle(sql: Sql, afterId: number, limit: number): Promise<LifecycleBucket[]> {
  const rows = await sql<{ id: number; name: string; versioning: VersioningState; lifecycle: LifecycleRule[] }[]>`
    select id, name, versioning, lifecycle from buckets
    where lifecycle is not null and id > ${afterId}
    order by id limit ${limit}`;
  return rows.map((row) => ({ id: row.id, name: row.name, versioning: row.versioning, rules: row.lifecycle }));
}

/** The keys under `prefix` after the cursor `afterKey` (exclusive; "" starts at the beginning), as an index range. */
function keysOf(sql: Sql, prefix: string, afterKey: string) {
  const successor = prefixSuccessor(prefix);
  return sql`key > ${afterKey} and key >= ${prefix} ${successor === undefined ? sql`` : sql`and key < ${successor}`}`;
}

/** Tags as stored (an ordered array of {Key, Value}), for a containment test. */
function tagsJson(sql: Sql, tags: Tag[]) {
  return sql.json(tags.map((tag) => ({ Key: tag.Key, Value: tag.Value })));
}

export interface DueRow {
  id: number;
  key: string;
}

/**
 * Current objects (not delete markers) in the scope whose expiration is due: last modified `days` days ago (see
 * dueSinceAtMost), or any object once `date` has passed.
 */
export async function findExpiringObjects(
  sql: Sql,
  bucketId: number,
  scope: LifecycleScope,
  due: { days: number; daySeconds: number } | { date: Date },
  afterKey: string,
  limit: number,
): Promise<DueRow[]> {
  const dueCondition = "date" in due ? sql`${due.date} <= now()` : sql`last_modified <= ${dueSinceAtMost(sql, due.days, due.daySeconds)}`;
  return sql<DueRow[]>`
    select id, key from versions
    where bucket_id = ${bucketId} and is_current and not is_delete_marker and ${keysOf(sql, scope.prefix, afterKey)}
      and ${dueCondition} and tags @> ${tagsJson(sql, scope.tags)}
      ${scope.sizeAbove === undefined ? sql`` : sql`and size > ${scope.sizeAbove}`}
      ${scope.sizeBelow === undefined ? sql`` : sql`and size < ${scope.sizeBelow}`}
    order by key limit ${limit}`;
}

/** Expires these current objects as DeleteObject would (weft_lifecycle_expire_current); returns how many. */
export async function expireCurrentObjects(sql: Sql, bucketId: number, rowIds: number[]): Promise<number> {
  const [row] = await sql<{ expired: number }[]>`select weft_lifecycle_expire_current(${bucketId}, ${rowIds}) as expired`;
  return row!.expired;
}

/**
 * Current delete markers under `prefix` with no other version of their key (expired object delete markers), last
 * modified `days` days ago when `days` is given.
 */
export async function findExpiredDeleteMarkers(
  sql: Sql,
  bucketId: number,
  prefix: string,
  due: { days: number; daySeconds: number } | undefined,
  afterKey: string,
  limit: number,
): Promise<DueRow[]> {
  return sql<DueRow[]>`
    select id, key from versions m
    where bucket_id = ${bucketId} and is_current and is_delete_marker and ${keysOf(sql, prefix, afterKey)}
      and ${due ? sql`last_modified <= ${dueSinceAtMost(sql, due.days, due.daySeconds)}` : sql`true`}
      and not exists (select 1 from versions o where o.bucket_id = m.bucket_id and o.key = m.key and o.state = 'complete' and o.id <> m.id)
    order by key limit ${limit}`;
}

/** Removes these expired object delete markers (weft_lifecycle_remove_expired_markers); returns how many. */
export async function removeExpiredDeleteMarkers(sql: Sql, bucketId: number, rowIds: number[]): Promise<number> {
  const [row] = await sql<{ removed: number }[]>`select weft_lifecycle_remove_expired_markers(${bucketId}, ${rowIds}) as removed`;
  return row!.removed;
}

/** Up to `limit` keys under `prefix`, after `afterKey`, that have noncurrent versions (index versions_noncurrent). */
export async function findKeysWithNoncurrentVersions(sql: Sql, bucketId: number, prefix: string, afterKey: string, limit: number): Promise<string[]> {
  const rows = await sql<{ key: string }[]>`
    select distinct key from versions
    where bucket_id = ${bucketId} and state = 'complete' and not is_current and ${keysOf(sql, prefix, afterKey)}
    order by key limit ${limit}`;
  return rows.map((row) => row.key);
}

/**
 * NoncurrentVersionExpiration on these keys (weft_lifecycle_expire_noncurrent): versions noncurrent for `days` days,
 * beyond the `keep` newest noncurrent ones, in the scope, not under object lock. Returns how many went.
 */
export async function expireNoncurrentVersions(
  sql: Sql,
  bucketId: number,
  keys: string[],
  rule: { days: number; daySeconds: number; keep: number; scope: LifecycleScope },
): Promise<number> {
  const tags = tagsJson(sql, rule.scope.tags);
  const [row] = await sql<{ removed: number }[]>`
    select weft_lifecycle_expire_noncurrent(
      ${bucketId}, ${keys}, ${dueSinceAtMost(sql, rule.days, rule.daySeconds)}, ${rule.keep}, ${tags},
      ${rule.scope.sizeAbove ?? null}, ${rule.scope.sizeBelow ?? null}
    ) as removed`;
  return row!.removed;
}

/** Multipart uploads under `prefix` initiated `days` days ago (index uploads_by_key), after (key, upload id). */
export async function findStaleUploads(
  sql: Sql,
  bucketId: number,
  prefix: string,
  due: { days: number; daySeconds: number },
  after: { key: string; uploadId: string },
  limit: number,
): Promise<{ key: string; uploadId: string }[]> {
  const rows = await sql<{ key: string; upload_id: string }[]>`
    select key, upload_id from uploads
    where bucket_id = ${bucketId} and (key, upload_id) > (${after.key}, ${after.uploadId}) and ${keysOf(sql, prefix, "")}
      and initiated <= ${dueSinceAtMost(sql, due.days, due.daySeconds)}
    order by key, upload_id limit ${limit}`;
  return rows.map((row) => ({ key: row.key, uploadId: row.upload_id }));
}

/** Two-int advisory lock key, in the "Weft" space of the migration and registry locks: one lifecycle worker at a time. */
const WORKER_LOCK: [number, number] = [0x57656674, 3];

/**
 * Runs `round` while holding the cluster-wide lifecycle lock, on a connection of its own (a session lock, released
 * with the connection if the gateway dies); returns false without running it when another gateway holds the lock.
 */
export async function withLifecycleLock(sql: Sql, round: () => Promise<void>): Promise<boolean> {
  const reserved = await sql.reserve();
  try {
    const [row] = await reserved<{ locked: boolean }[]>`select pg_try_advisory_lock(${WORKER_LOCK[0]}, ${WORKER_LOCK[1]}) as locked`;
    if (!row!.locked) return false;
    try {
      await round();
    } finally {
      await reserved`select pg_advisory_unlock(${WORKER_LOCK[0]}, ${WORKER_LOCK[1]})`;
    }
    return true;
  } finally {
    reserved.release();
  }
}
