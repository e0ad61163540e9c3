// What access control knows of a bucket (owner, policy, public access block, ACL, object ownership), cached on every
// gateway so that deciding costs no round trip; its object lock settings, which writes check alongside, and its
// lifecycle rules, which GET and HEAD answer with, ride along. PostgreSQL tells every gateway of each change
// (LISTEN/NOTIFY, meta/src/pg/bucket-access.ts); the cache's time limit covers a notice missed while the listening
// connection was down.
import type { Logger } from "pino";
import type { Sql } from "../../../meta/src/db.js";
import {
  BUCKET_ACCESS_CHANGES_CHANNEL,
  getBucketAccess,
  setBucketAcl,
  setBucketPolicy,
  setDefaultEncryption,
  setObjectOwnership,
  setPublicAccessBlock,
  type DefaultEncryption,
  type ObjectOwnership,
} from "../../../meta/src/pg/bucket-access.js";
import { setBucketObjectLock } from "../../../meta/src/pg/object-lock.js";
import type { LifecycleRule } from "../../../meta/src/pg/lifecycle.js";
import { getUserByName, userNames } from "../../../meta/src/pg/users.js";
import type { DefaultRetention } from "../../../meta/src/types.js";
import type { Acl } from "./acl.js";
import { parseBucketPolicy, type BucketPolicy } from "./policy.js";
import { isPolicyPublic } from "./policy-public.js";

export type { DefaultEncryption, ObjectOwnership };

export interface PublicAccessBlock {
  BlockPublicAcls: boolean;
  IgnorePublicAcls: boolean;
  BlockPublicPolicy: boolean;
  RestrictPublicBuckets: boolean;
}

export const PUBLIC_ACCESS_BLOCK_SETTINGS = ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"] as const;

/** What AWS gives a new bucket: every public access blocked (docs/architecture.md, Access control). */
export const NEW_BUCKET_PUBLIC_ACCESS_BLOCK: PublicAccessBlock = {
  BlockPublicAcls: true,
  IgnorePublicAcls: true,
  BlockPublicPolicy: true,
  RestrictPublicBuckets: true,
};

export interface BucketAccess {
  id: number;
  name: string;
  /** The owner's canonical id. */
  owner: string;
  /** The policy as the owner wrote it (GetBucketPolicy answers it), and parsed. */
  policyText: string | undefined;
  policy: BucketPolicy | undefined;
  policyIsPublic: boolean;
  publicAccessBlock: PublicAccessBlock | undefined;
  /** The bucket's ACL; undefined: private. It counts only while ACLs are enabled (acl-enforcement.ts). */
  acl: Acl | undefined;
  /** Undefined: no ownership controls, which AWS treats as ObjectWriter (ACLs enabled). */
  objectOwnership: ObjectOwnership | undefined;
  /** Object lock, which a bucket keeps for good once on, and the retention new versions get by default. */
  objectLockEnabled: boolean;
  defaultRetention: DefaultRetention | undefined;
  /** The bucket's lifecycle rules (x-amz-expiration); undefined when it has none. */
  lifecycleRules: LifecycleRule[] | undefined;
  /** What a write that asks for no encryption is encrypted with (PutBucketEncryption); undefined: nothing. */
  defaultEncryption: DefaultEncryption | undefined;
}

const CACHE_MS = 10_000;
const CACHE_ENTRIES = 10_000;

/** The access settings of buckets: read through a cache, written through to PostgreSQL. */
export class BucketAccessStore {
  private readonly cache = new Map<string, { access: BucketAccess | undefined; until: number }>();

  constructor(
    private readonly sql: Sql,
    private readonly log: Logger,
  ) {}

  async listen(): Promise<void> {
    await this.sql.listen(
      BUCKET_ACCESS_CHANGES_CHANNEL,
      (bucketName) => this.forget(bucketName),
      () => this.cache.clear(),
    );
  }

  /** The bucket's access settings; undefined when there is no such bucket. */
  async get(bucketName: string): Promise<BucketAccess | undefined> {
    const cached = this.cache.get(bucketName);
    if (cached && cached.until > Date.now()) return cached.access;
    const stored = await getBucketAccess(this.sql, bucketName);
    let access: BucketAccess | undefined;
    if (stored) {
      const policy = stored.policy === undefined ? undefined : this.parseStoredPolicy(stored.policy, stored.name);
      access = {
        id: stored.id,
        name: stored.name,
        owner: stored.owner,
        policyText: stored.policy,
        policy,
        policyIsPublic: policy !== undefined && isPolicyPublic(policy),
        publicAccessBlock: stored.publicAccessBlock as PublicAccessBlock | undefined,
        acl: stored.acl as Acl | undefined,
        objectOwnership: stored.objectOwnership,
        objectLockEnabled: stored.objectLockEnabled,
        defaultRetention: stored.defaultRetention,
        lifecycleRules: stored.lifecycleRules,
        defaultEncryption: stored.defaultEncryption,
      };
    }
    if (this.cache.size >= CACHE_ENTRIES) this.cache.clear();
    this.cache.set(bucketName, { access, until: Date.now() + CACHE_MS });
    return access;
  }

  /** This gateway changed the bucket: its next request must not see the old settings (the notice comes later). */
  forget(bucketName: string): void {
    this.cache.delete(bucketName);
  }

  /** Sets (text) or deletes (undefined) the bucket's policy. */
  async setPolicy(bucket: BucketAccess, text: string | undefined): Promise<void> {
    await setBucketPolicy(this.sql, bucket.id, text ?? null);
    this.forget(bucket.name);
  }

  /** Sets the bucket's ACL (undefined: private). */
  async setAcl(bucket: BucketAccess, acl: Acl | undefined): Promise<void> {
    await setBucketAcl(this.sql, bucket.id, acl ?? null);
    this.forget(bucket.name);
  }

  /** Sets (or, with undefined, deletes) the bucket's default encryption. */
  async setDefaultEncryption(bucket: BucketAccess, encryption: DefaultEncryption | undefined): Promise<void> {
    await setDefaultEncryption(this.sql, bucket.id, encryption ?? null);
    this.forget(bucket.name);
  }

  /** Sets the bucket's object ownership (undefined: no ownership controls). */
  async setObjectOwnership(bucket: BucketAccess, ownership: ObjectOwnership | undefined): Promise<void> {
    await setObjectOwnership(this.sql, bucket.id, ownership ?? null);
    this.forget(bucket.name);
  }

  /** Sets or deletes (undefined) the bucket's public access block. */
  async setPublicAccessBlock(bucket: BucketAccess, block: PublicAccessBlock | undefined): Promise<void> {
    await setPublicAccessBlock(this.sql, bucket.id, block ? { ...block } : null);
    this.forget(bucket.name);
  }

  /**
   * Turns object lock on with this default retention (undefined: none). False, changing nothing, when the bucket
   * has no lock yet and does not keep versions (Enabled), which lock needs.
   */
  async setObjectLock(bucket: BucketAccess, defaultRetention: DefaultRetention | undefined): Promise<boolean> {
    const done = await setBucketObjectLock(this.sql, bucket.id, defaultRetention ?? null);
    this.forget(bucket.name);
    return done;
  }

  /** Which of these user names and canonical ids name no Weft user. */
  async unknownUsers(names: readonly string[], canonicalIds: readonly string[]): Promise<string[]> {
    const unknown: string[] = [];
    for (const name of names) if (!(await getUserByName(this.sql, name))) unknown.push(name);
    const known = canonicalIds.length > 0 ? await userNames(this.sql, canonicalIds) : new Map();
    return [...unknown, ...canonicalIds.filter((id) => !known.has(id))];
  }

  /** A stored policy was valid when it was put; one that no longer parses (a stricter gateway) grants nothing. */
  private parseStoredPolicy(text: string, bucketName: string): BucketPolicy | undefined {
    try {
      return parseBucketPolicy(text, bucketName);
    } catch (error) {
      this.log.error({ bucket: bucketName, err: error }, "the bucket's stored policy does not parse: every request is denied but the owner's to replace or delete it");
      return DENY_EVERYONE;
    }
  }
}

/** Stands for a policy that cannot be read: it denies every request (the owner may still replace or delete it). */
const DENY_EVERYONE: BucketPolicy = parseBucketPolicy(
  JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: "arn:aws:s3:::*" }] }),
  "*",
);
