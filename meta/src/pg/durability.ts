// The durability report: how many object versions of each bucket have every slot, how many are missing some (and how
// many more lost disks they survive), and how many cannot be read. A slot is missing when its part has no datafile
// row for it (docs/architecture.md, Degraded writes) or when its disk is among `unavailableDisks` (down, as the asking
// gateway sees it). It reads every part and datafile row: a report for an operator, not for a request path.
import type { Sql } from "../db.js";

export interface DurabilityRow {
  bucket: string;
  /** "full": every part has all k+m slots; "degraded": some part misses slots but has at least k; "unreadable": fewer. */
  health: "full" | "degraded" | "unreadable";
  /** For degraded versions, how many more lost disks the weakest part survives. */
  survives?: number;
  versions: number;
  bytes: number;
}

export async function durabilityReport(sql: Sql, unavailableDisks: string[]): Promise<DurabilityRow[]> {
  const rows = await sql<{ bucket: string; health: DurabilityRow["health"]; survives: number | null; versions: number; bytes: number }[]>`
    with part_health as (
      select p.version_row_id,
             p.k = 0 or count(d.slot) filter (where d.ioserver_id <> all(${unavailableDisks}::text[])) = p.k + p.m as whole,
             case when p.k = 0 then null
                  else count(d.slot) filter (where d.ioserver_id <> all(${unavailableDisks}::text[])) - p.k end as margin
      from parts p left join datafiles d on d.part_id = p.id
      where p.version_row_id is not null and p.state = 'complete'
      group by p.id
    ), version_health as (
      select v.bucket_id, v.size, bool_and(coalesce(ph.whole, true)) as whole, min(ph.margin) as margin
      from versions v left join part_health ph on ph.version_row_id = v.id
      where v.state = 'complete' and not v.is_delete_marker
      group by v.id
    )
    select b.name as bucket,
           case when vh.whole then 'full' when vh.margin < 0 then 'unreadable' else 'degraded' end as health,
           case when not vh.whole and vh.margin >= 0 then vh.margin end as survives,
           count(*)::int as versions,
           coalesce(sum(vh.size), 0)::bigint as bytes
    from version_health vh join buckets b on b.id = vh.bucket_id
    group by 1, 2, 3
    order by 1, 2, 3`;
  return rows.map((row) => ({ bucket: row.bucket, health: row.health, ...(row.survives === null ? {} : { survives: row.survives }), versions: row.versions, bytes: row.bytes }));
}

/** Datafile rows per disk id and the bytes they hold: the slots the metadata places on each disk. */
export async function datafilesByDisk(sql: Sql): Promise<Map<string, { slots: number; bytes: number }>> {
  const rows = await sql<{ ioserver_id: string; slots: number; bytes: number }[]>`
    select ioserver_id, count(*)::bigint as slots, coalesce(sum(length), 0)::bigint as bytes from datafiles group by ioserver_id`;
  return new Map(rows.map((row) => [row.ioserver_id, { slots: row.slots, bytes: row.bytes }]));
}
