// Object tags (per version) and bucket tags. Tag sets are validated by the gateway; here they are stored as given.
import type { Sql } from "../db.js";

export interface Tag {
  Key: string;
  Value: string;
}

/** Which version: the current one (a delete marker has no tags) or a committed one by version id. */
function versionCondition(sql: Sql, versionId: string | undefined) {
  return versionId === undefined
    ? sql`is_current and not is_delete_marker`
    : sql`version_id = ${versionId} and state = 'complete' and not is_delete_marker`;
}

/** The tags of an object version; undefined when there is no such version. */
export async function getObjectTags(
  sql: Sql,
  bucketId: number,
  key: string,
  versionId?: string,
): Promise<{ versionId: string; tags: Tag[] } | undefined> {
  const [row] = await sql<{ version_id: string; tags: Tag[] }[]>`
    select version_id, tags from versions
    where bucket_id = ${bucketId} and key = ${key} and ${versionCondition(sql, versionId)}`;
  return row ? { versionId: row.version_id, tags: row.tags } : undefined;
}

/** Replaces the tags of an object version (an empty array removes them); undefined when there is no such version. */
export async function putObjectTags(
  sql: Sql,
  bucketId: number,
  key: string,
  versionId: string | undefined,
  tags: Tag[],
): Promise<{ versionId: string } | undefined> {
  const [row] = await sql<{ version_id: string }[]>`
    update versions set tags = ${sql.json(tags.map((tag) => ({ Key: tag.Key, Value: tag.Value })))}
    where bucket_id = ${bucketId} and key = ${key} and ${versionCondition(sql, versionId)}
    returning version_id`;
  return row ? { versionId: row.version_id } : undefined;
}

/** The bucket's tag set; undefined when it has none. */
export async function getBucketTags(sql: Sql, bucketId: number): Promise<Tag[] | undefined> {
  const [row] = await sql<{ tags: Tag[] | null }[]>`select tags from buckets where id = ${bucketId}`;
  return row?.tags ?? undefined;
}

/** Sets (or, with undefined, removes) the bucket's tag set. */
export async function putBucketTags(sql: Sql, bucketId: number, tags: Tag[] | undefined): Promise<void> {
  const value = tags === undefined ? null : sql.json(tags.map((tag) => ({ Key: tag.Key, Value: tag.Value })));
  await sql`update buckets set tags = ${value} where id = ${bucketId}`;
}
