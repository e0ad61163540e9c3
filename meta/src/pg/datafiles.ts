// Datafile rows on their own: the slots a degraded write could not store, dropped from its reservation before the
// commit (docs/architecture.md, Degraded writes). A part whose row set lacks a slot is missing that slot, and is
// queued for heal at once (heal waits for the commit: it leaves pending parts alone).
import type { Sql } from "../db.js";

/**
 * Drops the datafile rows of `slots` from a still-pending part (of a pending version, or an upload's pending part)
 * and queues their blobs (a failed slot PUT may have left a whole or partial datafile behind) and the part for heal. Returns the number of
 * rows dropped; 0 when the reservation is no longer pending.
 */
export async function dropUnwrittenSlots(sql: Sql, reservation: { versionRowId: number } | { partRowId: number }, slots: number[]): Promise<number> {
  if (slots.length === 0) return 0;
  const part =
    "versionRowId" in reservation
      ? sql`select id from parts where version_row_id = ${reservation.versionRowId} and state = 'pending'`
      : sql`select id from parts where id = ${reservation.partRowId} and state = 'pending'`;
  const [row] = await sql<{ dropped: number }[]>`
    with gone as (
      delete from datafiles where part_id in (${part}) and slot in (select unnest(${slots}::smallint[]))
      returning ioserver_id, blob_id
    ), queued as (
      insert into gc_queue (ioserver_id, blob_id) select ioserver_id, blob_id from gone returning 1
    ), to_heal as (
      insert into heal_queue (part_id) select id from (${part}) as pending_part on conflict (part_id) do nothing
    )
    select count(*)::int as dropped from queued`;
  return row!.dropped;
}
