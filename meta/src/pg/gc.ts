// The collector's queries: lease queued blobs, forget deleted ones, reap reservations nobody will commit.
import type { Sql } from "../db.js";
import type { GarbageItem } from "../types.js";
import { discardParts, discardVersions } from "./common.js";

// Short: a collector that dies (or loses PostgreSQL) mid-batch holds its items only this long; a delete is idempotent,
// so one that outlasts its lease and is done twice costs nothing.
const DEFAULT_LEASE_MS = 30_000;

/**
 * Leases up to `limit` queued blobs to this collector for leaseMs: other collectors skip them meanwhile, and if this
 * one dies before forgetGarbage they become available again. Deleting a blob twice must therefore be harmless.
 */
export async function takeGarbage(sql: Sql, limit: number, leaseMs = DEFAULT_LEASE_MS): Promise<GarbageItem[]> {
  const rows = await sql<{ id: number; ioserver_id: string; blob_id: string }[]>`
    update gc_queue set not_before = now() + make_interval(secs => ${leaseMs / 1000})
    where id in (
      select id from gc_queue where not_before <= now() order by not_before, id limit ${limit}
      for update skip locked
    )
    returning id, ioserver_id, blob_id`;
  return rows
    .map((row) => ({ id: row.id, ioserverId: row.ioserver_id, blobId: row.blob_id }))
    .sort((a, b) => a.id - b.id);
}

/** Items whose delete failed (their ioserver is down): due again after `delayMs` rather than when the lease lapses. */
export async function deferGarbage(sql: Sql, ids: number[], delayMs: number): Promise<void> {
  if (ids.length === 0) return;
  await sql`update gc_queue set not_before = now() + make_interval(secs => ${delayMs / 1000}) where id in (select unnest(${ids}::bigint[]))`;
}

/** The blobs are deleted from their ioservers (or were already missing). */
export async function forgetGarbage(sql: Sql, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await sql`delete from gc_queue where id in (select unnest(${ids}::bigint[]))`;
}

/**
 * Discards pending versions and pending multipart parts reserved more than olderThanMs ago (their gateway crashed
 * or gave up), queuing their blobs. Returns how many versions and parts were reaped. A gateway that commits one
 * afterwards gets VersionNotPendingError / NoSuchUploadError, never a half-collected object.
 */
export async function reapStalePending(sql: Sql, olderThanMs: number): Promise<number> {
  const cutoff = sql`now() - make_interval(secs => ${olderThanMs / 1000})`;
  const versions = await discardVersions(
    sql,
    sql`select id from versions where state = 'pending' and created_at < ${cutoff} for update skip locked`,
  );
  const parts = await discardParts(
    sql,
    sql`select id from parts
        where state = 'pending' and upload_id is not null and created_at < ${cutoff}
        for update skip locked`,
  );
  return versions + parts;
}

/**
 * Queues for collection, after `delayMs`, the blobs found on an ioserver's disk that no datafile row or queued deletion
 * knows (a scrub's orphans), and returns them. Every writer references a blob before its first byte is written (a
 * reservation's row, or heal's delayed queue entry), so these are orphans: a deletion the ioserver lost in a crash,
 * or garbage of a collector that forgot too early. The delay is a grace period all the same, so that a clock or
 * ordering surprise never costs a live object.
 */
export async function queueUnreferencedBlobs(sql: Sql, ioserverId: string, blobIds: string[], delayMs: number): Promise<string[]> {
  if (blobIds.length === 0) return [];
  const rows = await sql<{ blob_id: string }[]>`
    insert into gc_queue (ioserver_id, blob_id, not_before)
    select ${ioserverId}, b.blob_id, now() + make_interval(secs => ${delayMs / 1000})
    from unnest(${blobIds}::text[]) as b(blob_id)
    where not exists (select 1 from datafiles d where d.ioserver_id = ${ioserverId} and d.blob_id = b.blob_id)
      and not exists (select 1 from gc_queue g where g.ioserver_id = ${ioserverId} and g.blob_id = b.blob_id)
    returning blob_id`;
  return rows.map((row) => row.blob_id);
}
