// Who an access key is: its secret (to check a signature) and its principal (the user it acts as, and how far the
// key is narrowed). The admin keys come from configuration; every other key lives in PostgreSQL with its secret
// sealed under the master key. A short cache keeps the lookup off the hot path; a revoked key is dropped from every
// gateway's cache at once through PostgreSQL's LISTEN/NOTIFY, and the cache's time limit covers a missed notice.
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { Sql } from "../../../meta/src/db.js";
import { ACCESS_KEY_CHANGES_CHANNEL, getAccessKey, listAccessKeys, storeSealedSecret, type AccessKeyRecord } from "../../../meta/src/pg/keys.js";
import { userNames, type User } from "../../../meta/src/pg/users.js";
import { S3Error } from "../s3/errors.js";
import type { CredentialStore } from "./credentials.js";
import type { MasterKeys } from "./master-keys.js";

export interface Principal {
  /** Undefined for the anonymous principal. */
  accessKeyId: string | undefined;
  /** A request with no signature: only what a bucket policy grants everyone is open to it. */
  anonymous: boolean;
  /** The user the key acts as: the owner id of what it creates. */
  canonicalId: string;
  userName: string;
  /** A configured admin key (WEFT_ACCESS_KEY): may use the admin API. */
  admin: boolean;
  /** The key may only read. */
  readOnly: boolean;
  /** The only buckets the key may touch; undefined: every bucket its user may. */
  buckets: ReadonlySet<string> | undefined;
}

export interface KeyStore extends CredentialStore {
  principalFor(accessKeyId: string): Promise<Principal | undefined>;
  /** Forgets what is cached about the key (it was revoked or changed). */
  forget(accessKeyId: string): void;
  /** A user's name by canonical id: the DisplayName of owners in listings (users are never renamed once in use). */
  userNameOf(canonicalId: string): Promise<string>;
}

/** The user the configured admin keys act as. */
export const ADMIN_USER_NAME = "admin";

/** 64 hex digits, the form of AWS's canonical user ids. */
export function newCanonicalId(): string {
  return randomBytes(32).toString("hex");
}

const KEY_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** A key id of 20 characters as AWS's (upper-case letters and digits, "WK" for Weft) and a 40-character secret. */
export function newAccessKeyPair(): { accessKeyId: string; secretAccessKey: string } {
  const id = [...randomBytes(18)].map((byte) => KEY_ID_ALPHABET[byte & 31]).join("");
  return { accessKeyId: `WK${id}`, secretAccessKey: randomBytes(30).toString("base64") };
}

const CACHE_MS = 30_000;
const CACHE_ENTRIES = 10_000;

interface KeyEntry {
  secret: string;
  principal: Principal;
}

export class PgKeyStore implements KeyStore {
  private readonly cache = new Map<string, { entry: KeyEntry | undefined; until: number }>();
  private readonly adminEntries: ReadonlyMap<string, KeyEntry>;
  private readonly userNames = new Map<string, string>();

  constructor(
    private readonly sql: Sql,
    private readonly masterKeys: MasterKeys,
    adminKeys: Record<string, string>,
    adminUser: User,
    private readonly log: Logger,
  ) {
    this.adminEntries = new Map(
      Object.entries(adminKeys).map(([accessKeyId, secret]) => [
        accessKeyId,
        { secret, principal: { accessKeyId, anonymous: false, canonicalId: adminUser.canonicalId, userName: adminUser.name, admin: true, readOnly: false, buckets: undefined } },
      ]),
    );
  }

  /** Starts following revocations made through any gateway. */
  async listen(): Promise<void> {
    await this.sql.listen(
      ACCESS_KEY_CHANGES_CHANNEL,
      (accessKeyId) => this.forget(accessKeyId),
      // (Re)connected: notices sent while the connection was down are lost, so nothing cached is trusted.
      () => this.cache.clear(),
    );
  }

  forget(accessKeyId: string): void {
    this.cache.delete(accessKeyId);
  }

  async secretFor(accessKeyId: string): Promise<string | undefined> {
    return (await this.lookup(accessKeyId))?.secret;
  }

  async principalFor(accessKeyId: string): Promise<Principal | undefined> {
    return (await this.lookup(accessKeyId))?.principal;
  }

  async userNameOf(canonicalId: string): Promise<string> {
    let name = this.userNames.get(canonicalId);
    if (name === undefined) {
      name = (await userNames(this.sql, [canonicalId])).get(canonicalId) ?? canonicalId;
      if (this.userNames.size >= CACHE_ENTRIES) this.userNames.clear();
      this.userNames.set(canonicalId, name);
    }
    return name;
  }

  private async lookup(accessKeyId: string): Promise<KeyEntry | undefined> {
    const admin = this.adminEntries.get(accessKeyId);
    if (admin) return admin;
    const cached = this.cache.get(accessKeyId);
    if (cached && cached.until > Date.now()) return cached.entry;
    const record = await getAccessKey(this.sql, accessKeyId);
    const entry = record && { secret: await this.secretOf(record), principal: principalFromRecord(record) };
    if (this.cache.size >= CACHE_ENTRIES) this.cache.clear();
    this.cache.set(accessKeyId, { entry, until: Date.now() + CACHE_MS });
    return entry;
  }

  /** The key's secret; one still in plain text (put there by hand) is sealed now. */
  private async secretOf(record: AccessKeyRecord): Promise<string> {
    if (record.sealedSecret) return this.masterKeys.open(record.sealedSecret, record.accessKeyId);
    const secret = record.plaintextSecret!;
    await storeSealedSecret(this.sql, record.accessKeyId, this.masterKeys.seal(secret, record.accessKeyId));
    this.log.info({ accessKeyId: record.accessKeyId }, "sealed an access key secret that was stored in plain text");
    return secret;
  }
}

/** Who sends unsigned requests. "anonymous" is no canonical id (those are 64 hex digits), so it never owns a bucket. */
export const ANONYMOUS: Principal = {
  accessKeyId: undefined,
  anonymous: true,
  canonicalId: "anonymous",
  userName: "anonymous",
  admin: false,
  readOnly: false,
  buckets: undefined,
};

/**
 * The principal of a key whose signature was just verified (InvalidAccessKeyId if it was revoked meanwhile), or
 * ANONYMOUS for a request without a signature.
 */
export async function principalOf(keys: KeyStore, accessKeyId: string | undefined): Promise<Principal> {
  if (accessKeyId === undefined) return ANONYMOUS;
  const principal = await keys.principalFor(accessKeyId);
  if (!principal) throw new S3Error("InvalidAccessKeyId", undefined, { details: { AWSAccessKeyId: accessKeyId } });
  return principal;
}

function principalFromRecord(record: AccessKeyRecord): Principal {
  return {
    accessKeyId: record.accessKeyId,
    anonymous: false,
    canonicalId: record.userId,
    userName: record.userName,
    admin: false,
    readOnly: record.readOnly,
    buckets: record.buckets && new Set(record.buckets),
  };
}

/**
 * At start: every secret still in plain text, or sealed under a previous master key, is sealed under the current
 * one. Throws when a secret is sealed under a key this gateway does not have: it could serve none of those keys.
 */
export async function sealStoredSecrets(sql: Sql, masterKeys: MasterKeys, log: Logger): Promise<void> {
  const unopenable: string[] = [];
  let resealed = 0;
  for (const record of await listAccessKeys(sql)) {
    if (record.sealedSecret && masterKeys.isCurrent(record.sealedSecret)) continue;
    let secret: string;
    try {
      secret = record.sealedSecret ? masterKeys.open(record.sealedSecret, record.accessKeyId) : record.plaintextSecret!;
    } catch {
      unopenable.push(record.accessKeyId);
      continue;
    }
    await storeSealedSecret(sql, record.accessKeyId, masterKeys.seal(secret, record.accessKeyId));
    resealed++;
  }
  if (resealed > 0) log.info({ resealed, masterKey: masterKeys.currentFingerprint }, "sealed access key secrets under the current master key");
  if (unopenable.length > 0) {
    throw new Error(
      `the secrets of ${unopenable.length} access keys (${unopenable.slice(0, 5).join(", ")}${unopenable.length > 5 ? ", …" : ""}) are sealed under a master key this gateway does not have: give it that key in WEFT_MASTER_KEY or WEFT_MASTER_KEY_PREVIOUS`,
    );
  }
}
