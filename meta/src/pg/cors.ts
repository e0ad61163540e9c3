// Bucket CORS configurations, stored as the gateway's validated rule list (jsonb); null when the bucket has none.
import type { Sql } from "../db.js";

export interface CorsRule {
  id?: string;
  allowedMethods: string[];
  allowedOrigins: string[];
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

export async function getBucketCors(sql: Sql, bucketId: number): Promise<CorsRule[] | undefined> {
  const [row] = await sql<{ cors: CorsRule[] | null }[]>`select cors from buckets where id = ${bucketId}`;
  return row?.cors ?? undefined;
}

/** The CORS rules of a bucket by name, for preflight requests (which carry no credentials to load the bucket with). */
export async function getBucketCorsByName(sql: Sql, name: string): Promise<{ exists: boolean; rules?: CorsRule[] }> {
  const [row] = await sql<{ cors: CorsRule[] | null }[]>`select cors from buckets where name = ${name}`;
  if (!row) return { exists: false };
  return row.cors ? { exists: true, rules: row.cors } : { exists: true };
}

/** Sets (or, with undefined, removes) the bucket's CORS rules. */
export async function putBucketCors(sql: Sql, bucketId: number, rules: CorsRule[] | undefined): Promise<void> {
  await sql`update buckets set cors = ${rules === undefined ? null : sql.json(JSON.parse(JSON.stringify(rules)))} where id = ${bucketId}`;
}
