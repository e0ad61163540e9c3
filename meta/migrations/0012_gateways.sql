-- The gateways of the cluster, each refreshing its row every few seconds, so that any gateway can tell an operator
-- which gateways are running. Forward-only: never edit this file once applied.
create table gateways (
  id          text primary key,
  url         text not null,
  host        text not null,
  pid         integer not null,
  started_at  timestamptz not null,
  seen_at     timestamptz not null default now()
);
