import type { Sql } from "../db.js";

export async function upsertAccessKey(sql: Sql, accessKeyId: string, secret: string): Promise<void> {
  await sql`
    insert into access_keys (access_key_id, secret) values (${accessKeyId}, ${secret})
    on conflict (access_key_id) do update set secret = excluded.secret, updated_at = now()`;
}

export async function getAccessKeySecret(sql: Sql, accessKeyId: string): Promise<string | undefined> {
  const [row] = await sql<{ secret: string }[]>`select secret from access_keys where access_key_id = ${accessKeyId}`;
  return row?.secret;
}
