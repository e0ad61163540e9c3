// Heal's queries (docs/architecture.md, Healing): the queue of parts that miss slots, the part as heal sees it, and
// the commit of rebuilt datafiles. A rebuilt blob is queued for collection before it is written, with a delay, and
// the commit takes it off the queue: a healer that dies in between leaves garbage the collector deletes.
import type { Sql, Tx } from "../db.js";

/** Queues every complete striped part that has fewer datafile rows than slots. Returns how many were newly queued. */
export async function queueDegradedParts(sql: Sql): Promise<number> {
  const rows = await sql`
    insert into heal_queue (part_id)
    select p.id from parts p
    where p.state = 'complete' and p.k > 0
      and (select count(*) from datafiles d where d.part_id = p.id) < p.k + p.m
    on conflict (part_id) do nothing
    returning part_id`;
  return rows.count;
}

export async function countHealQueue(sql: Sql): Promise<number> {
  const [row] = await sql<{ queued: number }[]>`select count(*)::int as queued from heal_queue`;
  return row!.queued;
}

/** Leases up to `limit` queued parts to this healer for leaseMs (others skip them meanwhile). */
export async function leaseHealWork(sql: Sql, limit: number, leaseMs: number): Promise<number[]> {
  const rows = await sql<{ part_id: number }[]>`
    update heal_queue set not_before = now() + make_interval(secs => ${leaseMs / 1000})
    where part_id in (
      select part_id from heal_queue where not_before <= now() order by not_before, part_id limit ${limit}
      for update skip locked
    )
    returning part_id`;
  return rows.map((row) => row.part_id).sort((a, b) => a - b);
}

/** Keeps this healer's lease on a part it is still rebuilding. */
export async function renewHealLease(sql: Sql, partId: number, leaseMs: number): Promise<void> {
  await sql`update heal_queue set not_before = now() + make_interval(secs => ${leaseMs / 1000}) where part_id = ${partId}`;
}

export async function postponeHeal(sql: Sql, partId: number, delayMs: number, waitingForDisks = false): Promise<void> {
  await sql`
    update heal_queue set not_before = now() + make_interval(secs => ${delayMs / 1000}), waiting_for_disks = ${waitingForDisks}
    where part_id = ${partId}`;
}

/** A disk came up: the parts that waited for one are due now. */
export async function wakePartsWaitingForDisks(sql: Sql): Promise<number> {
  const woken = await sql`update heal_queue set not_before = now(), waiting_for_disks = false where waiting_for_disks`;
  return woken.count;
}

export async function finishHeal(sql: Sql, partId: number): Promise<void> {
  await sql`delete from heal_queue where part_id = ${partId}`;
}

export interface HealPart {
  state: "pending" | "complete";
  size: number;
  unit: number;
  k: number;
  m: number;
  datafiles: { slot: number; ioserverId: string; blobId: string; length: number }[];
}

export async function loadPartForHeal(sql: Sql, partId: number): Promise<HealPart | undefined> {
  const [row] = await sql<{ state: HealPart["state"]; size: number; unit: number; k: number; m: number; datafiles: { slot: number; ioserver_id: string; blob_id: string; length: number }[] }[]>`
    select p.state, p.size, p.unit, p.k, p.m,
           coalesce((select json_agg(json_build_object('slot', d.slot, 'ioserver_id', d.ioserver_id, 'blob_id', d.blob_id, 'length', d.length) order by d.slot)
                     from datafiles d where d.part_id = p.id), '[]'::json) as datafiles
    from parts p where p.id = ${partId}`;
  if (!row) return undefined;
  return {
    state: row.state,
    size: row.size,
    unit: row.unit,
    k: row.k,
    m: row.m,
    datafiles: row.datafiles.map((datafile) => ({ slot: datafile.slot, ioserverId: datafile.ioserver_id, blobId: datafile.blob_id, length: Number(datafile.length) })),
  };
}

export interface BlobRef {
  ioserverId: string;
  blobId: string;
}

/** Queues blobs about to be written for collection after `delayMs`, unless commitHealedSlots claims them first. */
export async function queueBlobsUnlessClaimed(sql: Sql, blobs: BlobRef[], delayMs: number): Promise<void> {
  if (blobs.length === 0) return;
  await sql`
    insert into gc_queue (ioserver_id, blob_id, not_before)
    select ioserver_id, blob_id, now() + make_interval(secs => ${delayMs / 1000})
    from unnest(${blobs.map((blob) => blob.ioserverId)}::text[], ${blobs.map((blob) => blob.blobId)}::text[]) as b(ioserver_id, blob_id)`;
}

/** Blobs queued by queueBlobsUnlessClaimed that will never be claimed (their write failed): collect them now. */
export async function collectBlobsNow(sql: Sql | Tx, blobs: BlobRef[]): Promise<void> {
  if (blobs.length === 0) return;
  await sql`
    update gc_queue q set not_before = now()
    from unnest(${blobs.map((blob) => blob.ioserverId)}::text[], ${blobs.map((blob) => blob.blobId)}::text[]) as b(ioserver_id, blob_id)
    where q.ioserver_id = b.ioserver_id and q.blob_id = b.blob_id`;
}

export interface HealedSlot extends BlobRef {
  slot: number;
  length: number;
  crc32c: string;
  /** The datafile this one takes the place of (a slot moved off a draining or retired disk); its blob is collected. */
  replaces?: BlobRef;
}

/**
 * Records rebuilt datafiles of a part, if it is still complete and still misses those slots (or still has the datafile
 * a slot replaces, which goes to the collector), and takes their blobs off the collection queue; the others (the part
 * is gone, or another healer filled the slot) are collected at once. The part row is locked for share, so a concurrent
 * delete of the version waits and then discards these rows with the rest. Returns the slots recorded.
 */
export async function commitHealedSlots(sql: Sql, partId: number, slots: HealedSlot[]): Promise<number[]> {
  return sql.begin(async (tx) => {
    const [part] = await tx`select id from parts where id = ${partId} and state = 'complete' for share`;
    const moved = slots.filter((slot) => slot.replaces !== undefined);
    if (part && moved.length > 0) {
      await tx`
        with replaced as (
          delete from datafiles d
          using unnest(${moved.map((slot) => slot.slot)}::smallint[], ${moved.map((slot) => slot.replaces!.ioserverId)}::text[],
                       ${moved.map((slot) => slot.replaces!.blobId)}::text[]) as r(slot, ioserver_id, blob_id)
          where d.part_id = ${partId} and d.slot = r.slot and d.ioserver_id = r.ioserver_id and d.blob_id = r.blob_id
          returning d.ioserver_id, d.blob_id
        )
        insert into gc_queue (ioserver_id, blob_id) select ioserver_id, blob_id from replaced`;
    }
    const recorded = part
      ? (
          await tx<{ slot: number }[]>`
            insert into datafiles (part_id, slot, ioserver_id, blob_id, length, crc32c)
            select ${partId}, slot, ioserver_id, blob_id, length, crc32c
            from unnest(${slots.map((slot) => slot.slot)}::smallint[], ${slots.map((slot) => slot.ioserverId)}::text[],
                        ${slots.map((slot) => slot.blobId)}::text[], ${slots.map((slot) => slot.length)}::bigint[],
                        ${slots.map((slot) => slot.crc32c)}::text[]) as s(slot, ioserver_id, blob_id, length, crc32c)
            on conflict (part_id, slot) do nothing
            returning slot`
        ).map((row) => row.slot)
      : [];
    const claimed = slots.filter((slot) => recorded.includes(slot.slot));
    const unclaimed = slots.filter((slot) => !recorded.includes(slot.slot));
    if (claimed.length > 0) {
      await tx`
        delete from gc_queue q
        using unnest(${claimed.map((slot) => slot.ioserverId)}::text[], ${claimed.map((slot) => slot.blobId)}::text[]) as b(ioserver_id, blob_id)
        where q.ioserver_id = b.ioserver_id and q.blob_id = b.blob_id`;
    }
    await collectBlobsNow(tx, unclaimed);
    return recorded.sort((a, b) => a - b);
  });
}
