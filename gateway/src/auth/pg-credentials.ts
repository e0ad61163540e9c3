// Access keys live in PostgreSQL (every gateway sees the same ones); a short cache keeps the lookup off the
// hot path of every request.
import type { Sql } from "../../../meta/src/db.js";
import { getAccessKeySecret } from "../../../meta/src/pg/keys.js";
import type { CredentialStore } from "./credentials.js";

const CACHE_MS = 30_000;

export class PgCredentialStore implements CredentialStore {
  private readonly cache = new Map<string, { secret: string | undefined; until: number }>();

  constructor(private readonly sql: Sql) {}

  async secretFor(accessKeyId: string): Promise<string | undefined> {
    const cached = this.cache.get(accessKeyId);
    if (cached && cached.until > Date.now()) return cached.secret;
    const secret = await getAccessKeySecret(this.sql, accessKeyId);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(accessKeyId, { secret, until: Date.now() + CACHE_MS });
    return secret;
  }
}
