// The disk registry: one row per disk, named by the id in its folder's marker (ioserver/src/disk-identity.ts).
// Every datafile row names its disk by that id, so a row is never deleted and an id never changes its meaning.
import type { Sql, Tx } from "../db.js";

export type DiskState = "active" | "draining" | "retired";

export interface IoServerRecord {
  /** The disk id. */
  id: string;
  url: string;
}

export interface DiskRecord extends IoServerRecord {
  state: DiskState;
  /** The last time an empty folder took over this disk's id (docs/architecture.md, Disks); undefined: never. */
  emptiedAt: Date | undefined;
}

/**
 * Changes of the registry are rare (a new disk, a replacement, a move) and each depends on rows another gateway may be
 * changing at the same moment, so they take one cluster-wide lock: each decision sees every earlier one. Two ints, as
 * the migration lock (meta/src/db.ts), in the same "Weft" space.
 */
const REGISTRY_LOCK: [number, number] = [0x57656674, 2];

async function lockRegistry(tx: Tx): Promise<void> {
  await tx`select pg_advisory_xact_lock(${REGISTRY_LOCK[0]}, ${REGISTRY_LOCK[1]})`;
}

/** Registers `id` at `url` unconditionally, or moves it there. Gateways use registerDisk and moveDisk instead. */
export async function upsertIoServer(sql: Sql, server: IoServerRecord): Promise<void> {
  await sql`
    insert into ioservers (id, url) values (${server.id}, ${server.url})
    on conflict (id) do update set url = excluded.url, updated_at = now()`;
}

export async function listIoServers(sql: Sql): Promise<IoServerRecord[]> {
  const rows = await sql<IoServerRecord[]>`select id, url from ioservers order by id`;
  return rows.map((row) => ({ id: row.id, url: row.url }));
}

export async function listDisks(sql: Sql): Promise<DiskRecord[]> {
  const rows = await sql<{ id: string; url: string; state: DiskState; emptied_at: Date | null }[]>`
    select id, url, state, emptied_at from ioservers order by id`;
  return rows.map((row) => ({ id: row.id, url: row.url, state: row.state, emptiedAt: row.emptied_at ?? undefined }));
}

export type RegisterDiskOutcome = "registered" | "known" | "url-taken";

/**
 * Adds a new disk. "known": the id is registered already (nothing changes). "url-taken": a disk that is not retired
 * is registered at `url`; a folder appearing there is that disk's replacement or an intruder, never a new disk.
 */
export async function registerDisk(sql: Sql, disk: IoServerRecord): Promise<RegisterDiskOutcome> {
  return sql.begin(async (tx) => {
    await lockRegistry(tx);
    const [known] = await tx`select 1 from ioservers where id = ${disk.id}`;
    if (known) return "known" as const;
    const [taken] = await tx`select 1 from ioservers where url = ${disk.url} and state <> 'retired'`;
    if (taken) return "url-taken" as const;
    await tx`insert into ioservers (id, url) values (${disk.id}, ${disk.url})`;
    return "registered" as const;
  });
}

export type EmptyReplacementOutcome =
  | { recorded: true; emptiedAt: Date; /** false: another gateway recorded this same replacement first */ first: boolean }
  | { recorded: false; reason: string };

/**
 * Records that disk `id`, registered at `url`, came back as the empty folder `folderId` (the id that folder created for
 * itself), which is to take over `id`, and forgets the datafile rows of committed parts on it (queuing those parts for
 * heal). Idempotent per folder: gateways racing to record one replacement get the same emptiedAt. Refused when the registry no longer says `url` is this disk's alone, or `folderId` is a disk of its own.
 */
export async function recordEmptyReplacement(sql: Sql, replacement: { id: string; url: string; folderId: string }): Promise<EmptyReplacementOutcome> {
  const { id, url, folderId } = replacement;
  return sql.begin(async (tx) => {
    await lockRegistry(tx);
    const [disk] = await tx<{ url: string; state: DiskState; emptied_at: Date | null; replaced_by_folder: string | null }[]>`
      select url, state, emptied_at, replaced_by_folder from ioservers where id = ${id}`;
    if (!disk) return { recorded: false as const, reason: `disk ${id} is not registered` };
    if (disk.url !== url) return { recorded: false as const, reason: `disk ${id} is registered at ${disk.url}, not ${url}` };
    if (disk.state === "retired") return { recorded: false as const, reason: `disk ${id} is retired` };
    if (disk.replaced_by_folder === folderId && disk.emptied_at) return { recorded: true as const, emptiedAt: disk.emptied_at, first: false };
    const [clash] = await tx<{ id: string }[]>`
      select id from ioservers where id = ${folderId} or (url = ${url} and id <> ${id} and state <> 'retired') limit 1`;
    if (clash) return { recorded: false as const, reason: `disk ${clash.id} is registered too` };
    const [updated] = await tx<{ emptied_at: Date }[]>`
      update ioservers set emptied_at = now(), replaced_by_folder = ${folderId}, updated_at = now()
      where id = ${id} returning emptied_at`;
    // The folder is empty: every committed slot it held is missing now, and its part is queued for heal. (A pending
    // part's commit still records its slots here; a scrub finds those that were lost.)
    await tx`
      with lost as (
        delete from datafiles d using parts p
        where d.ioserver_id = ${id} and p.id = d.part_id and p.state = 'complete'
        returning d.part_id
      )
      insert into heal_queue (part_id) select distinct part_id from lost on conflict (part_id) do nothing`;
    return { recorded: true as const, emptiedAt: updated!.emptied_at, first: true };
  });
}

/** Moves disk `id` from `fromUrl` to `toUrl`; false when the registry no longer has it at `fromUrl`. */
export async function moveDisk(sql: Sql, move: { id: string; fromUrl: string; toUrl: string }): Promise<boolean> {
  return sql.begin(async (tx) => {
    await lockRegistry(tx);
    const moved = await tx`
      update ioservers set url = ${move.toUrl}, updated_at = now() where id = ${move.id} and url = ${move.fromUrl}`;
    return moved.count === 1;
  });
}

/**
 * Starts draining a disk: it takes no new slots, and every committed part with a slot on it is queued for heal, which
 * moves that slot to another disk. False when no disk that is active or draining has that id.
 */
export async function startDrain(sql: Sql, id: string): Promise<{ found: boolean; parts: number }> {
  const [row] = await sql<{ found: number; parts: number }[]>`
    with disk as (
      update ioservers set state = 'draining', updated_at = now() where id = ${id} and state in ('active', 'draining') returning id
    ), queued as (
      insert into heal_queue (part_id)
      select distinct d.part_id from datafiles d join parts p on p.id = d.part_id
      where d.ioserver_id in (select id from disk) and p.state = 'complete'
      on conflict (part_id) do update set not_before = now(), waiting_for_disks = false
      returning 1
    )
    select (select count(*) from disk)::int as found, (select count(*) from queued)::int as parts`;
  return { found: row!.found === 1, parts: row!.parts };
}

export type RetireOutcome = { retired: true; slotsLost: number } | { retired: false; reason: "unknown" | "at-risk"; partsAtRisk?: number };

/**
 * Retires a disk for good: its datafile rows are forgotten (their parts queued for heal, which rebuilds the slots
 * elsewhere) and its queued deletions dropped (there is no disk left to delete from). Refused while that would leave
 * some part with fewer than k slots on disks not retired, unless `force`.
 */
export async function retireDisk(sql: Sql, id: string, force: boolean): Promise<RetireOutcome> {
  return sql.begin(async (tx) => {
    await lockRegistry(tx);
    const [disk] = await tx`select 1 from ioservers where id = ${id} and state <> 'retired'`;
    if (!disk) return { retired: false as const, reason: "unknown" as const };
    const [risk] = await tx<{ parts: number }[]>`
      select count(*)::int as parts from parts p
      where p.id in (select part_id from datafiles where ioserver_id = ${id})
        and (select count(*) from datafiles o join ioservers s on s.id = o.ioserver_id
             where o.part_id = p.id and o.ioserver_id <> ${id} and s.state <> 'retired') < p.k`;
    if (risk!.parts > 0 && !force) return { retired: false as const, reason: "at-risk" as const, partsAtRisk: risk!.parts };
    await tx`update ioservers set state = 'retired', updated_at = now() where id = ${id}`;
    const [lost] = await tx<{ slots: number }[]>`
      with lost as (
        delete from datafiles d using parts p where d.ioserver_id = ${id} and p.id = d.part_id and p.state = 'complete' returning d.part_id
      ), queued as (
        insert into heal_queue (part_id) select distinct part_id from lost on conflict (part_id) do nothing
      )
      select count(*)::int as slots from lost`;
    await tx`delete from gc_queue where ioserver_id = ${id}`;
    return { retired: true as const, slotsLost: lost!.slots };
  });
}

/** Sets a disk's state (an operator's decision); false when no disk has that id. */
export async function setDiskState(sql: Sql, id: string, state: DiskState): Promise<boolean> {
  const updated = await sql`update ioservers set state = ${state}, updated_at = now() where id = ${id}`;
  return updated.count === 1;
}
