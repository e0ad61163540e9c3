import type { Sql } from "../db.js";

export interface IoServerRecord {
  /** The disk id. */
  id: string;
  url: string;
}

export async function upsertIoServer(sql: Sql, server: IoServerRecord): Promise<void> {
  await sql`
    insert into ioservers (id, url) values (${server.id}, ${server.url})
    on conflict (id) do update set url = excluded.url, updated_at = now()`;
}

export async function listIoServers(sql: Sql): Promise<IoServerRecord[]> {
  const rows = await sql<IoServerRecord[]>`select id, url from ioservers order by id`;
  return rows.map((row) => ({ id: row.id, url: row.url }));
}
