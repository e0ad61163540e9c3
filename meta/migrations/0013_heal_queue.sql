-- Parts that miss slots and are to be rebuilt (heal). Forward-only: never edit this file once applied.
-- A part gets a row when a degraded write dropped slots, when a disk came back empty, when a scrub found a corrupt
-- datafile, or when `weft heal` finds it missing slots; it loses the row once whole, or with the part itself.
-- not_before leases a row to one healer at a time, and postpones parts that cannot be rebuilt yet; those that wait
-- for disks (too few readable slots, or no disk to put one on) are marked, to be retried as soon as a disk comes up.
create table heal_queue (
  part_id            bigint primary key references parts (id) on delete cascade,
  queued_at          timestamptz not null default now(),
  not_before         timestamptz not null default now(),
  waiting_for_disks  boolean not null default false
);
create index heal_queue_ready on heal_queue (not_before, part_id);
