import type { Sql } from "../db.js";

/** Every gateway listens here: the payload is the access key id whose row changed (revoked), so caches drop it. */
export const ACCESS_KEY_CHANGES_CHANNEL = "weft_access_key_changes";

export interface AccessKeyRecord {
  accessKeyId: string;
  userId: string;
  userName: string;
  /** Sealed under the master key (gateway/src/auth/master-keys.ts); a secret from before sealing is in plaintextSecret. */
  sealedSecret: Buffer | undefined;
  plaintextSecret: string | undefined;
  readOnly: boolean;
  /** The buckets the key is limited to; undefined: every bucket its user may reach. */
  buckets: string[] | undefined;
  createdAt: Date;
}

interface AccessKeyRow {
  access_key_id: string;
  user_id: string;
  user_name: string;
  sealed_secret: Buffer | null;
  plaintext_secret: string | null;
  read_only: boolean;
  buckets: string[] | null;
  created_at: Date;
}

function accessKeyFromRow(row: AccessKeyRow): AccessKeyRecord {
  return {
    accessKeyId: row.access_key_id,
    userId: row.user_id,
    userName: row.user_name,
    sealedSecret: row.sealed_secret ?? undefined,
    plaintextSecret: row.plaintext_secret ?? undefined,
    readOnly: row.read_only,
    buckets: row.buckets ?? undefined,
    createdAt: row.created_at,
  };
}

export async function insertAccessKey(
  sql: Sql,
  key: { accessKeyId: string; userId: string; sealedSecret: Buffer; readOnly: boolean; buckets: string[] | undefined },
): Promise<void> {
  await sql`
    insert into access_keys (access_key_id, user_id, sealed_secret, read_only, buckets)
    values (${key.accessKeyId}, ${key.userId}, ${key.sealedSecret}, ${key.readOnly}, ${key.buckets ?? null})`;
}

export async function getAccessKey(sql: Sql, accessKeyId: string): Promise<AccessKeyRecord | undefined> {
  const [row] = await sql<AccessKeyRow[]>`
    select k.*, u.name as user_name from access_keys k join users u on u.canonical_id = k.user_id
    where k.access_key_id = ${accessKeyId}`;
  return row ? accessKeyFromRow(row) : undefined;
}

/** Every access key (of one user when `userId` is given), by user name then creation. */
export async function listAccessKeys(sql: Sql, userId?: string): Promise<AccessKeyRecord[]> {
  const rows = await sql<AccessKeyRow[]>`
    select k.*, u.name as user_name from access_keys k join users u on u.canonical_id = k.user_id
    ${userId === undefined ? sql`` : sql`where k.user_id = ${userId}`}
    order by u.name, k.created_at, k.access_key_id`;
  return rows.map(accessKeyFromRow);
}

/** Deletes the key and tells every gateway; false when there was none. */
export async function deleteAccessKey(sql: Sql, accessKeyId: string): Promise<boolean> {
  return sql.begin(async (tx) => {
    const deleted = await tx`delete from access_keys where access_key_id = ${accessKeyId} returning 1`;
    if (deleted.length > 0) await tx`select pg_notify(${ACCESS_KEY_CHANGES_CHANNEL}, ${accessKeyId})`;
    return deleted.length > 0;
  });
}

/** Replaces a key's secret by its sealed form (the plain text, if any, is cleared). */
export async function storeSealedSecret(sql: Sql, accessKeyId: string, sealedSecret: Buffer): Promise<void> {
  await sql`update access_keys set sealed_secret = ${sealedSecret}, plaintext_secret = null, updated_at = now() where access_key_id = ${accessKeyId}`;
}
