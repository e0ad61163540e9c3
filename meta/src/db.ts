import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import postgres from "postgres";
import { MigrationChangedError, SchemaNewerError, UnsupportedDatabaseError } from "./errors.js";

export type Sql = postgres.Sql<{}>;
export type Tx = postgres.TransactionSql<{}>;

export interface ConnectOptions {
  /** Pool size. */
  max?: number;
  /** Called with every statement sent and its parameters (tests count round trips and EXPLAIN real queries). */
  onQuery?: (query: string, parameters: unknown[]) => void;
}

const INT8_OID = 20;

/**
 * int8 columns (ids, sizes, lengths, counts) as JS numbers: every value Weft stores fits in 2^53. One that does not
 * fails its query rather than being silently rounded.
 */
const int8AsNumber: postgres.PostgresType<number> = {
  to: INT8_OID,
  from: [INT8_OID],
  serialize: (value: number) => String(value),
  parse: (raw: string) => {
    const value = Number(raw);
    if (!Number.isSafeInteger(value)) throw new RangeError(`int8 value ${raw} does not fit a JS number`);
    return value;
  },
};

export function connect(url: string, options: ConnectOptions = {}): Sql {
  const onQuery = options.onQuery;
  const sql = postgres(url, {
    max: options.max ?? 10,
    idle_timeout: 60,
    // Seconds. A request waiting on a PostgreSQL that does not answer fails with 503 this soon, and the client retries.
    connect_timeout: 5,
    // Seconds before a connection that failed connects again, while queries wait on it. postgres.js's own delay grows
    // to 20 s after a few failures, which held requests that long once PostgreSQL was gone instead of answering 503;
    // capped at 1 s, each connection still tries at most once a second.
    backoff: (failures: number) => Math.min(0.05 * 2 ** failures, 1),
    max_lifetime: 60 * 30,
    types: { int8: int8AsNumber },
    transform: { undefined: null },
    onnotice: () => {},
    debug: onQuery ? (_connection, query, parameters) => onQuery(query, parameters) : false,
    connection: { application_name: "weft" },
  });
  return sql as unknown as Sql;
}

/** Two-int advisory lock key for migrations ("Weft", 1): a different lock space from the single-bigint object-key locks. */
const MIGRATION_LOCK: [number, number] = [0x57656674, 1];
const MIGRATIONS_DIR = new URL("../migrations/", import.meta.url);
/** The current PL/pgSQL functions, applied after the migrations whenever the file's text changed. */
const FUNCTIONS_FILE = new URL("../functions.sql", import.meta.url);
const MIGRATION_FILE = /^\d{4}_[a-z0-9_]+\.sql$/;

interface Migration {
  name: string;
  text: string;
  checksum: string;
}

/**
 * Applies the pending migrations, then meta/functions.sql if it changed, in one transaction under an advisory lock, so
 * gateways starting together apply each once and the others wait and find nothing left to do. All of it or none.
 */
export async function migrate(sql: Sql, options: { through?: string } = {}): Promise<void> {
  const all = await readMigrations();
  // Upgrade tests stop at an older schema (without the current functions, which may need newer tables), fill it, then migrate the rest.
  const migrations = options.through === undefined ? all : all.filter((migration) => migration.name <= options.through!);
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK[0]}, ${MIGRATION_LOCK[1]})`;
    const [database] = await tx<{ encoding: string }[]>`
      select pg_encoding_to_char(encoding) as encoding from pg_database where datname = current_database()`;
    if (database?.encoding !== "UTF8") {
      throw new UnsupportedDatabaseError(
        `database encoding is ${database?.encoding}; Weft needs UTF8 so that keys compare in S3's byte order`,
      );
    }
    await tx`
      create table if not exists schema_migrations (
        name        text primary key,
        checksum    text not null,
        applied_at  timestamptz not null default now()
      )`;
    const applied = new Map(
      (await tx<{ name: string; checksum: string }[]>`select name, checksum from schema_migrations`).map((row) => [
        row.name,
        row.checksum,
      ]),
    );
    // An older gateway restarted during a rolling upgrade would otherwise put its older functions.sql back.
    const known = new Set(all.map((migration) => migration.name));
    const unknown = [...applied.keys()].filter((name) => !known.has(name));
    if (unknown.length > 0) throw new SchemaNewerError(unknown.sort());
    for (const migration of migrations) {
      const appliedChecksum = applied.get(migration.name);
      if (appliedChecksum !== undefined) {
        if (appliedChecksum !== migration.checksum) throw new MigrationChangedError(migration.name);
        continue;
      }
      // The file is ours, never user input; simple protocol because a migration holds many statements.
      await tx.unsafe(migration.text).simple();
      await tx`insert into schema_migrations (name, checksum) values (${migration.name}, ${migration.checksum})`;
    }
    if (options.through === undefined) await applyFunctions(tx);
  });
}

/**
 * meta/functions.sql, when its text differs from the one applied last: the file drops every weft_ function and
 * creates them anew, so that it alone says what the functions are today, whatever the migrations once created.
 */
async function applyFunctions(tx: Tx): Promise<void> {
  const text = await fs.readFile(FUNCTIONS_FILE, "utf8");
  const checksum = createHash("sha256").update(text).digest("hex");
  await tx`create table if not exists schema_functions (checksum text not null, applied_at timestamptz not null default now())`;
  const [applied] = await tx<{ checksum: string }[]>`select checksum from schema_functions`;
  if (applied?.checksum === checksum) return;
  await tx.unsafe(text).simple();
  await tx`delete from schema_functions`;
  await tx`insert into schema_functions (checksum) values (${checksum})`;
}

async function readMigrations(): Promise<Migration[]> {
  const names = (await fs.readdir(MIGRATIONS_DIR)).filter((name) => MIGRATION_FILE.test(name)).sort();
  return Promise.all(
    names.map(async (name) => {
      const text = await fs.readFile(new URL(name, MIGRATIONS_DIR), "utf8");
      return { name, text, checksum: createHash("sha256").update(text).digest("hex") };
    }),
  );
}

/** PostgreSQL error codes the meta layer turns into typed errors. */
export const PG_FOREIGN_KEY_VIOLATION = "23503";
export const PG_UNIQUE_VIOLATION = "23505";
/** Raised by the functions of meta/functions.sql: the pending version (or bucket) is gone; not the owner; a write condition failed; object lock refused. */
export const WEFT_VERSION_NOT_PENDING = "WF404";
export const WEFT_NOT_BUCKET_OWNER = "WF403";
export const WEFT_WRITE_CONDITION_FAILED = "WF412";
export const WEFT_OBJECT_LOCKED = "WFLCK";

export function isPostgresError(error: unknown, code: string, constraint?: string): error is postgres.PostgresError {
  return (
    error instanceof postgres.PostgresError &&
    error.code === code &&
    (constraint === undefined || error.constraint_name === constraint)
  );
}
