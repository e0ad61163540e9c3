// Object lock's own statements: a bucket's lock configuration, and a version's retention and legal hold
// (docs/architecture.md, Object lock). What new versions get is decided by the commit statements, and what may be
// deleted by weft_discard_versions, whichever path deletes.
import { isPostgresError, WEFT_OBJECT_LOCKED, type Sql } from "../db.js";
import { ObjectLockedError } from "../errors.js";
import type { DefaultRetention, Retention } from "../types.js";

/**
 * Turns object lock on (for good) and sets the default retention (null: none). False, changing nothing, when the
 * bucket has no lock yet and its versioning is not Enabled: AWS enables lock on an existing bucket only then.
 */
export async function setBucketObjectLock(sql: Sql, bucketId: number, defaultRetention: DefaultRetention | null): Promise<boolean> {
  const rows = await sql`
    update buckets set object_lock_enabled = true, default_retention = ${defaultRetention === null ? null : sql.json({ ...defaultRetention })}
    where id = ${bucketId} and (object_lock_enabled or versioning = 'Enabled')
    returning id`;
  return rows.length > 0;
}

/** What became of a retention or legal hold change: made, no such version, or the version is a delete marker. */
export type VersionLockOutcome = "set" | "missing" | "delete-marker";

/**
 * PutObjectRetention on the current version of a key, or on the version named (weft_put_retention); undefined
 * removes the retention. ObjectLockedError when the change would weaken a retention still running, unless it is
 * GOVERNANCE and `bypassGovernance` (the caller checked the requester may bypass it).
 */
export async function putRetention(
  sql: Sql,
  target: { bucketId: number; key: string; versionId: string | undefined },
  retention: Retention | undefined,
  bypassGovernance: boolean,
): Promise<VersionLockOutcome> {
  try {
    const [row] = await sql<{ outcome: VersionLockOutcome }[]>`
      select weft_put_retention(${target.bucketId}, ${target.key}, ${target.versionId ?? null}, ${retention?.mode ?? null},
        ${retention?.retainUntil ?? null}, ${bypassGovernance}) as outcome`;
    return row!.outcome;
  } catch (error) {
    if (isPostgresError(error, WEFT_OBJECT_LOCKED)) throw new ObjectLockedError(target.key);
    throw error;
  }
}

/** PutObjectLegalHold on the current version of a key, or on the version named. */
export async function putLegalHold(
  sql: Sql,
  target: { bucketId: number; key: string; versionId: string | undefined },
  on: boolean,
): Promise<VersionLockOutcome> {
  const which = target.versionId === undefined ? sql`is_current` : sql`version_id = ${target.versionId} and state = 'complete'`;
  const [version] = await sql<{ id: number; is_delete_marker: boolean }[]>`
    select id, is_delete_marker from versions where bucket_id = ${target.bucketId} and key = ${target.key} and ${which}`;
  if (!version) return "missing";
  if (version.is_delete_marker) return "delete-marker";
  const updated = await sql`update versions set legal_hold = ${on} where id = ${version.id}`;
  return updated.count > 0 ? "set" : "missing";
}
