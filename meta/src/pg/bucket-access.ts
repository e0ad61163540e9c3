// What access control needs of a bucket, apart from its objects: owner, policy, public access block, ACL, object
// ownership; and, cached with them, its object lock settings and default encryption, which writes check before they
// load the bucket, and its lifecycle rules, which every GET and HEAD consults (x-amz-expiration). Every change is told
// to the gateways (the trigger of migrations 0017, 0019, 0020 and 0021) on BUCKET_ACCESS_CHANGES_CHANNEL.
import type { JSONValue } from "postgres";
import type { Sql } from "../db.js";
import type { DefaultRetention } from "../types.js";
import type { LifecycleRule } from "./lifecycle.js";

export const BUCKET_ACCESS_CHANGES_CHANNEL = "weft_bucket_access_changes";

export type ObjectOwnership = "BucketOwnerEnforced" | "BucketOwnerPreferred" | "ObjectWriter";

export interface StoredBucketAccess {
  id: number;
  name: string;
  owner: string;
  policy: string | undefined;
  publicAccessBlock: Record<string, boolean> | undefined;
  acl: unknown;
  /** Undefined: no ownership controls (ObjectWriter). */
  objectOwnership: ObjectOwnership | undefined;
  objectLockEnabled: boolean;
  defaultRetention: DefaultRetention | undefined;
  lifecycleRules: LifecycleRule[] | undefined;
  /** What a write that asks for no encryption is encrypted with; undefined: nothing. */
  defaultEncryption: DefaultEncryption | undefined;
}

export type DefaultEncryption = "AES256";

interface BucketAccessRow {
  id: number;
  name: string;
  owner: string;
  policy: string | null;
  public_access_block: Record<string, boolean> | null;
  acl: unknown;
  object_ownership: ObjectOwnership | null;
  object_lock_enabled: boolean;
  default_retention: DefaultRetention | null;
  lifecycle: LifecycleRule[] | null;
  default_encryption: DefaultEncryption | null;
}

export async function getBucketAccess(sql: Sql, name: string): Promise<StoredBucketAccess | undefined> {
  const [row] = await sql<BucketAccessRow[]>`
    select id, name, owner, policy, public_access_block, acl, object_ownership, object_lock_enabled, default_retention, lifecycle,
      default_encryption
    from buckets where name = ${name}`;
  return (
    row && {
      id: row.id,
      name: row.name,
      owner: row.owner,
      policy: row.policy ?? undefined,
      publicAccessBlock: row.public_access_block ?? undefined,
      acl: row.acl ?? undefined,
      objectOwnership: row.object_ownership ?? undefined,
      objectLockEnabled: row.object_lock_enabled,
      defaultRetention: row.default_retention ?? undefined,
      lifecycleRules: row.lifecycle ?? undefined,
      defaultEncryption: row.default_encryption ?? undefined,
    }
  );
}

/** Sets (or, with null, deletes) the bucket's policy. */
export async function setBucketPolicy(sql: Sql, bucketId: number, policy: string | null): Promise<void> {
  await sql`update buckets set policy = ${policy} where id = ${bucketId}`;
}

/** Sets the bucket's ACL (null: private). */
export async function setBucketAcl(sql: Sql, bucketId: number, acl: unknown): Promise<void> {
  await sql`update buckets set acl = ${acl === null ? null : sql.json(acl as JSONValue)} where id = ${bucketId}`;
}

/** Sets the bucket's object ownership (null: no ownership controls, which AWS treats as ObjectWriter). */
export async function setObjectOwnership(sql: Sql, bucketId: number, ownership: ObjectOwnership | null): Promise<void> {
  await sql`update buckets set object_ownership = ${ownership} where id = ${bucketId}`;
}

/** Sets (or, with null, deletes) the bucket's public access block. */
export async function setPublicAccessBlock(sql: Sql, bucketId: number, block: Record<string, boolean> | null): Promise<void> {
  await sql`update buckets set public_access_block = ${block === null ? null : sql.json(block)} where id = ${bucketId}`;
}

/** Sets (or, with null, deletes) the bucket's default encryption. */
export async function setDefaultEncryption(sql: Sql, bucketId: number, encryption: DefaultEncryption | null): Promise<void> {
  await sql`update buckets set default_encryption = ${encryption} where id = ${bucketId}`;
}
