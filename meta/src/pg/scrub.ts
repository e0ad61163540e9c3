// Scrub's queries (docs/architecture.md, Scrubbing): which disks are due, a lease per disk, the datafile rows of a
// disk in pages, and what a scrub finds: datafiles missing or corrupt on their disk lose their row (their part is
// queued for heal), and blobs no row knows are queued for collection.
import type { Sql } from "../db.js";

/** Disks not retired whose last scrub ended more than `intervalMs` ago (or never), least recently scrubbed first. */
export async function disksDueForScrub(sql: Sql, intervalMs: number): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    select id from ioservers
    where state <> 'retired' and (scrubbed_at is null or scrubbed_at < now() - make_interval(secs => ${intervalMs / 1000}))
    order by scrubbed_at nulls first, id`;
  return rows.map((row) => row.id);
}

/** Takes or renews the scrub lease of a disk; false when another gateway holds it. */
export async function leaseScrub(sql: Sql, diskId: string, holder: string, leaseMs: number): Promise<boolean> {
  const leased = await sql`
    update ioservers set scrub_leased_until = now() + make_interval(secs => ${leaseMs / 1000}), scrub_lease_holder = ${holder}
    where id = ${diskId} and (scrub_leased_until is null or scrub_leased_until < now() or scrub_lease_holder = ${holder})`;
  return leased.count === 1;
}

export async function finishScrub(sql: Sql, diskId: string, holder: string): Promise<void> {
  await sql`
    update ioservers set scrubbed_at = now(), scrub_leased_until = null, scrub_lease_holder = null
    where id = ${diskId} and scrub_lease_holder = ${holder}`;
}

export async function releaseScrub(sql: Sql, diskId: string, holder: string): Promise<void> {
  await sql`update ioservers set scrub_leased_until = null, scrub_lease_holder = null where id = ${diskId} and scrub_lease_holder = ${holder}`;
}

/** When each disk was last scrubbed through (absent: never). */
export async function lastScrubs(sql: Sql): Promise<Map<string, Date>> {
  const rows = await sql<{ id: string; scrubbed_at: Date }[]>`select id, scrubbed_at from ioservers where scrubbed_at is not null`;
  return new Map(rows.map((row) => [row.id, row.scrubbed_at]));
}

export interface ScrubbedDatafile {
  blobId: string;
  length: number;
  /** Recorded at commit; a part still being written has none yet. */
  crc32c: string | null;
  /** The part is committed: a datafile of a pending one may not be written yet. */
  committed: boolean;
}

/** Up to `limit` datafile rows on a disk with blob ids after `after`, in blob id order (index datafiles_by_blob). */
export async function listDatafilesOnDisk(sql: Sql, diskId: string, after: string, limit: number): Promise<ScrubbedDatafile[]> {
  const rows = await sql<{ blob_id: string; length: number; crc32c: string | null; committed: boolean }[]>`
    select d.blob_id, d.length, d.crc32c, p.state = 'complete' as committed
    from datafiles d join parts p on p.id = d.part_id
    where d.ioserver_id = ${diskId} and d.blob_id > ${after}
    order by d.blob_id limit ${limit}`;
  return rows.map((row) => ({ blobId: row.blob_id, length: row.length, crc32c: row.crc32c, committed: row.committed }));
}

/**
 * Forgets the datafiles of committed parts a scrub found missing or corrupt on `diskId`: their rows go, their blobs are
 * queued for collection (a corrupt file is deleted; a missing one costs an idempotent delete), their parts are queued
 * for heal. Returns the number of rows dropped.
 */
export async function dropBadDatafiles(sql: Sql, diskId: string, blobIds: string[]): Promise<number> {
  if (blobIds.length === 0) return 0;
  const [row] = await sql<{ dropped: number }[]>`
    with bad as (
      delete from datafiles d using parts p
      where d.ioserver_id = ${diskId} and d.blob_id in (select unnest(${blobIds}::text[]))
        and p.id = d.part_id and p.state = 'complete'
      returning d.part_id, d.blob_id
    ), collected as (
      insert into gc_queue (ioserver_id, blob_id) select ${diskId}, blob_id from bad
    ), to_heal as (
      insert into heal_queue (part_id) select distinct part_id from bad on conflict (part_id) do nothing
    )
    select count(*)::int as dropped from bad`;
  return row!.dropped;
}
