// What the admin API reports of the cluster as a whole: the gateways that refresh their row, and the database.
import type { Sql } from "../db.js";

export interface GatewayRecord {
  id: string;
  url: string;
  host: string;
  pid: number;
  startedAt: Date;
  seenAt: Date;
}

export async function recordGatewayHeartbeat(sql: Sql, gateway: Omit<GatewayRecord, "seenAt">): Promise<void> {
  await sql`
    insert into gateways (id, url, host, pid, started_at, seen_at)
    values (${gateway.id}, ${gateway.url}, ${gateway.host}, ${gateway.pid}, ${gateway.startedAt}, now())
    on conflict (id) do update set url = excluded.url, seen_at = now()`;
}

/** Gateways seen within `withinMs`; older rows are deleted on the way (a gateway that stopped, or crashed). */
export async function listLiveGateways(sql: Sql, withinMs: number, forgetAfterMs: number): Promise<GatewayRecord[]> {
  await sql`delete from gateways where seen_at < now() - make_interval(secs => ${forgetAfterMs / 1000})`;
  const rows = await sql<{ id: string; url: string; host: string; pid: number; started_at: Date; seen_at: Date }[]>`
    select id, url, host, pid, started_at, seen_at from gateways
    where seen_at >= now() - make_interval(secs => ${withinMs / 1000})
    order by url, id`;
  return rows.map((row) => ({ id: row.id, url: row.url, host: row.host, pid: row.pid, startedAt: row.started_at, seenAt: row.seen_at }));
}

export async function forgetGateway(sql: Sql, id: string): Promise<void> {
  await sql`delete from gateways where id = ${id}`;
}

export interface DatabaseInfo {
  version: string;
  databaseBytes: number;
  connections: number;
}

export async function describeDatabase(sql: Sql): Promise<DatabaseInfo> {
  const [row] = await sql<{ version: string; bytes: number; connections: number }[]>`
    select current_setting('server_version') as version,
           pg_database_size(current_database()) as bytes,
           (select count(*)::int from pg_stat_activity where datname = current_database()) as connections`;
  return { version: row!.version, databaseBytes: row!.bytes, connections: row!.connections };
}

/** The cheapest statement: whether PostgreSQL answers at all (the gateway's readiness). */
export async function pingDatabase(sql: Sql): Promise<void> {
  await sql`select 1`;
}
