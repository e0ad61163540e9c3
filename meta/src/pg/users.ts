import { isPostgresError, PG_UNIQUE_VIOLATION, type Sql } from "../db.js";

export interface User {
  canonicalId: string;
  name: string;
  createdAt: Date;
}

interface UserRow {
  canonical_id: string;
  name: string;
  created_at: Date;
}

function userFromRow(row: UserRow): User {
  return { canonicalId: row.canonical_id, name: row.name, createdAt: row.created_at };
}

/** The new user, or undefined when the name is taken. */
export async function createUser(sql: Sql, user: { canonicalId: string; name: string }): Promise<User | undefined> {
  try {
    const [row] = await sql<UserRow[]>`insert into users (canonical_id, name) values (${user.canonicalId}, ${user.name}) returning *`;
    return userFromRow(row!);
  } catch (error) {
    if (isPostgresError(error, PG_UNIQUE_VIOLATION, "users_name_key")) return undefined;
    throw error;
  }
}

export async function getUserByName(sql: Sql, name: string): Promise<User | undefined> {
  const [row] = await sql<UserRow[]>`select * from users where name = ${name}`;
  return row ? userFromRow(row) : undefined;
}

/** Canonical id → name of the users given, for the owner display names of listings and ACLs. */
export async function userNames(sql: Sql, canonicalIds: readonly string[]): Promise<Map<string, string>> {
  const rows = await sql<UserRow[]>`select * from users where canonical_id = any(${canonicalIds as string[]})`;
  return new Map(rows.map((row) => [row.canonical_id, row.name]));
}

export interface UserSummary extends User {
  keys: number;
  buckets: number;
}

export async function listUsers(sql: Sql): Promise<UserSummary[]> {
  const rows = await sql<(UserRow & { keys: string; buckets: string })[]>`
    select u.*,
      (select count(*) from access_keys k where k.user_id = u.canonical_id) as keys,
      (select count(*) from buckets b where b.owner = u.canonical_id) as buckets
    from users u order by u.name`;
  return rows.map((row) => ({ ...userFromRow(row), keys: Number(row.keys), buckets: Number(row.buckets) }));
}

/**
 * The bootstrap admin user, whom the configured admin keys (WEFT_ACCESS_KEY) act as: the user named `name`; else the
 * user an earlier schema made of one of those keys, renamed; else a new one with `newCanonicalId`. The admin keys live
 * in configuration only, so rows of theirs (left by earlier versions, with their secret in plain text) are deleted:
 * a key taken out of the configuration stops working, and the buckets stay with the admin user.
 */
export async function adoptAdminUser(sql: Sql, name: string, adminKeyIds: readonly string[], newCanonicalId: string): Promise<User> {
  return sql.begin(async (tx) => {
    // Gateways starting together: one adopts, the others find the result.
    await tx`select pg_advisory_xact_lock(hashtext('weft adopt admin user'))`;
    let [row] = await tx<UserRow[]>`select * from users where name = ${name}`;
    if (!row) {
      [row] = await tx<UserRow[]>`
        update users set name = ${name}
        where canonical_id = (
          select user_id from access_keys where access_key_id = any(${adminKeyIds as string[]}) order by access_key_id limit 1
        )
        returning *`;
    }
    row ??= (await tx<UserRow[]>`insert into users (canonical_id, name) values (${newCanonicalId}, ${name}) returning *`)[0];
    await tx`delete from access_keys where access_key_id = any(${adminKeyIds as string[]})`;
    return userFromRow(row!);
  });
}
