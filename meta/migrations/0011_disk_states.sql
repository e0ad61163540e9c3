-- Disks have a life cycle, and a disk can come back empty. Forward-only: never edit this file once applied.
--
-- state: 'active' disks take new datafiles; 'draining' ones keep serving reads while their datafiles are moved away;
-- 'retired' ones hold nothing any more. Placement uses active disks only.
alter table ioservers add column state text not null default 'active' check (state in ('active', 'draining', 'retired'));

-- The last time the disk was replaced by an empty folder that took over its id: every datafile of a part created
-- before this moment is gone from it and must be rebuilt from the other slots. Null: never replaced.
alter table ioservers add column emptied_at timestamptz;

-- The id the empty folder had before it took over this disk's id. Gateways that see the same replacement record it
-- once: a second record with the same folder id changes nothing, so emptied_at does not move past new writes.
alter table ioservers add column replaced_by_folder text;
