// What access control stores of an object version beyond what a write records: its ACL, changed by PutObjectAcl.
import type postgres from "postgres";
import type { Sql } from "../db.js";

/**
 * Sets the ACL of the current version of a key, or of the version named; false when there is none (or it is a delete
 * marker).
 */
export async function setVersionAcl(sql: Sql, bucketId: number, key: string, versionId: string | undefined, acl: unknown): Promise<boolean> {
  const updated = await sql`
    update versions set acl = ${sql.json(acl as postgres.JSONValue)}
    where bucket_id = ${bucketId} and key = ${key} and state = 'complete' and not is_delete_marker
      and ${versionId === undefined ? sql`is_current` : sql`version_id = ${versionId}`}
    returning 1`;
  return updated.length > 0;
}
