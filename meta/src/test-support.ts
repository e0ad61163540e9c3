// A throwaway PostgreSQL for tests: real server, temp dir, migrated schema. Any suite (meta, gateway) may use it.
import { randomUUID } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { connect, migrate, type Sql } from "./db.js";
import { startEmbeddedPostgres } from "./embedded.js";
import { commitVersion, insertPendingVersion } from "./pg/versions.js";
import type { DatafileRef, ObjectHeaders, ObjectLockRequest } from "./types.js";

export interface TestDatabase {
  url: string;
  sql: Sql;
  dataDir: string;
  /** Ends the pool, stops the server, removes the temp dir. */
  stop(): Promise<void>;
}

/** `schemaThrough`: migrate only that far (an older schema, for upgrade tests). */
export async function startTestDatabase(
  options: { max?: number; onQuery?: (query: string, parameters: unknown[]) => void; schemaThrough?: string } = {},
): Promise<TestDatabase> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "weft-meta-test-"));
  const server = await startEmbeddedPostgres({ dataDir, durable: false });
  const sql = connect(server.url, options);
  try {
    await migrate(sql, { through: options.schemaThrough });
  } catch (error) {
    await sql.end();
    await server.stop();
    throw error;
  }
  return {
    url: server.url,
    sql,
    dataDir,
    stop: async () => {
      await sql.end({ timeout: 5 });
      await server.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** k+m datafile references with fresh blob ids, spread over ioservers "disk-0".."disk-(k+m-1)". */
export function fakeDatafiles(k: number, m: number, length: number): DatafileRef[] {
  return Array.from({ length: k + m }, (_, slot) => ({
    slot,
    ioserverId: `disk-${slot}`,
    blobId: randomUUID(),
    length,
  }));
}

/**
 * Reserve + commit one object the way a gateway PUT does (no bytes move: the datafiles are only references). The
 * bucket's versioning state decides whether it is stored under `versionId` (minted when absent) or as "null".
 */
export async function putTestObject(
  sql: Sql,
  bucketId: number,
  key: string,
  options: { size?: number; versionId?: string; headers?: ObjectHeaders; k?: number; m?: number; lock?: ObjectLockRequest } = {},
): Promise<{ versionRowId: number; versionId: string; datafiles: DatafileRef[] }> {
  const size = options.size ?? 10;
  const k = options.k ?? 2;
  const m = options.m ?? 1;
  const datafiles = fakeDatafiles(k, m, Math.ceil(size / k));
  const versionRowId = await insertPendingVersion(sql, {
    bucketId,
    key,
    versionId: options.versionId ?? randomUUID().replaceAll("-", ""),
    storageClass: "STANDARD",
    part: { partNumber: 1, size, unit: 1 << 20, k, m, datafiles },
  });
  const etag = "0".repeat(31) + (size % 10);
  const { versionId } = await commitVersion(sql, versionRowId, {
    size,
    etag,
    headers: options.headers ?? { userMetadata: {} },
    partEtag: etag,
    datafileCrcs: datafiles.map((datafile) => ({ slot: datafile.slot, crc32c: "00000000" })),
    lock: options.lock,
  });
  return { versionRowId, versionId, datafiles };
}
