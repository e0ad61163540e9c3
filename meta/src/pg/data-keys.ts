// The wrapped data keys of SSE-S3 objects and multipart uploads (docs/architecture.md, Encryption at rest), as a
// master key rotation needs them: those wrapped under another master key than the current one, and their replacement.
import type { Sql } from "../db.js";

export interface WrappedDataKey {
  table: "versions" | "uploads";
  /** The row: a version's id, an upload's id. */
  id: string;
  wrappedKey: string;
}

/**
 * Up to `limit` SSE-S3 data keys wrapped under another master key than `masterKey` (a fingerprint), in `table`, after
 * row `after` (keyset paging by id). Versions are found through index versions_sse_s3_by_master_key.
 */
export async function dataKeysNotUnder(sql: Sql, table: WrappedDataKey["table"], masterKey: string, after: string, limit: number): Promise<WrappedDataKey[]> {
  const rows =
    table === "versions"
      ? await sql<{ id: string; wrapped_key: string }[]>`
          select id::text, encryption ->> 'wrappedKey' as wrapped_key from versions
          where encryption ->> 'mode' = 'SSE-S3' and (encryption ->> 'masterKey' < ${masterKey} or encryption ->> 'masterKey' > ${masterKey})
            and id > ${after === "" ? 0 : Number(after)}
          order by id limit ${limit}`
      : await sql<{ id: string; wrapped_key: string }[]>`
          select upload_id as id, encryption ->> 'wrappedKey' as wrapped_key from uploads
          where encryption ->> 'mode' = 'SSE-S3' and encryption ->> 'masterKey' <> ${masterKey} and upload_id > ${after}
          order by upload_id limit ${limit}`;
  return rows.map((row) => ({ table, id: row.id, wrappedKey: row.wrapped_key }));
}

/** Replaces a wrapped data key, unless the row changed meanwhile (then false: another gateway did it). */
export async function replaceWrappedDataKey(sql: Sql, key: WrappedDataKey, rewrapped: { wrappedKey: string; masterKey: string }): Promise<boolean> {
  const replacement = sql.json(rewrapped);
  const rows =
    key.table === "versions"
      ? await sql`update versions set encryption = encryption || ${replacement}
          where id = ${Number(key.id)} and encryption ->> 'wrappedKey' = ${key.wrappedKey} returning 1`
      : await sql`update uploads set encryption = encryption || ${replacement}
          where upload_id = ${key.id} and encryption ->> 'wrappedKey' = ${key.wrappedKey} returning 1`;
  return rows.length === 1;
}
