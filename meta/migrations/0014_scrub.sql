-- Scrubbing, per disk. Forward-only: never edit this file once applied.
-- scrubbed_at: when a scrub last went through every datafile of the disk. scrub_lease_holder is scrubbing it until
-- scrub_leased_until (it renews the lease as it goes), so gateways never scrub one disk twice at once.
alter table ioservers add column scrubbed_at timestamptz;
alter table ioservers add column scrub_leased_until timestamptz;
alter table ioservers add column scrub_lease_holder text;
