// Users and their access keys, and who owns a bucket: `weft user …`, `weft key …`, `weft bucket owner`. A new key's
// secret is answered once and kept only sealed under the master key (auth/master-keys.ts).
import type Koa from "koa";
import { setBucketOwner } from "../../../meta/src/pg/buckets.js";
import { deleteAccessKey, insertAccessKey, listAccessKeys, type AccessKeyRecord } from "../../../meta/src/pg/keys.js";
import { createUser, getUserByName, listUsers, type User } from "../../../meta/src/pg/users.js";
import { ADMIN_USER_NAME, newAccessKeyPair, newCanonicalId } from "../auth/key-store.js";
import { isValidBucketName } from "../ops/bucket.js";
import type { AdminDeps } from "./admin-api.js";
import { AdminError, jsonBody, type AdminRoute } from "./admin-request.js";

/** IAM's rule for user names: what bucket policies may name as arn:aws:iam:::user/NAME. */
const USER_NAME = /^[A-Za-z0-9_+=,.@-]{1,64}$/;

/** An access key as listed: never its secret. */
export interface AccessKeyListing {
  accessKeyId: string;
  user: string;
  readOnly: boolean;
  buckets: string[] | null;
  /** Configured as WEFT_ACCESS_KEY: an admin key, revoked by changing the configuration. */
  admin: boolean;
  createdAt: string | null;
}

async function userNamed(deps: AdminDeps, name: string): Promise<User> {
  const user = await getUserByName(deps.sql, name);
  if (!user) throw new AdminError(404, "NoSuchUser", `No user ${name}.`);
  return user;
}

function keyListing(record: AccessKeyRecord): AccessKeyListing {
  return {
    accessKeyId: record.accessKeyId,
    user: record.userName,
    readOnly: record.readOnly,
    buckets: record.buckets ?? null,
    admin: false,
    createdAt: record.createdAt.toISOString(),
  };
}

export const IDENTITY_ROUTES: Record<string, AdminRoute> = {
  "POST user/create": async (deps, ctx) => {
    const { name } = await jsonBody(ctx, { name: "string" });
    if (!USER_NAME.test(name)) throw new AdminError(400, "InvalidUserName", "A user name is 1 to 64 letters, digits and _+=,.@- characters.");
    const user = await createUser(deps.sql, { canonicalId: newCanonicalId(), name });
    if (!user) throw new AdminError(409, "UserAlreadyExists", `There is already a user ${name}.`);
    return { name: user.name, canonicalId: user.canonicalId, createdAt: user.createdAt.toISOString() };
  },
  "GET user/list": async (deps) => ({
    users: (await listUsers(deps.sql)).map((user) => ({
      name: user.name,
      canonicalId: user.canonicalId,
      keys: user.keys + (user.name === ADMIN_USER_NAME ? Object.keys(deps.config.accessKeys).length : 0),
      buckets: user.buckets,
      createdAt: user.createdAt.toISOString(),
    })),
  }),
  "POST key/create": async (deps, ctx) => {
    const { user: userName, readOnly, buckets } = await jsonBody(ctx, { user: "string", readOnly: "boolean?", buckets: "string[]?" });
    const invalid = buckets?.find((name) => !isValidBucketName(name));
    if (invalid !== undefined) throw new AdminError(400, "InvalidBucketName", `"${invalid}" is not a bucket name.`);
    const user = await userNamed(deps, userName);
    const { accessKeyId, secretAccessKey } = newAccessKeyPair();
    const sealedSecret = deps.masterKeys.seal(secretAccessKey, accessKeyId);
    const scope = buckets && buckets.length > 0 ? [...new Set(buckets)].sort() : undefined;
    await insertAccessKey(deps.sql, { accessKeyId, userId: user.canonicalId, sealedSecret, readOnly: readOnly === true, buckets: scope });
    return { accessKeyId, secretAccessKey, user: user.name, readOnly: readOnly === true, buckets: scope ?? null };
  },
  "GET key/list": async (deps, ctx) => {
    const userName = typeof (ctx as Koa.Context).query.user === "string" ? String(ctx.query.user) : undefined;
    const user = userName === undefined ? undefined : await userNamed(deps, userName);
    const keys: AccessKeyListing[] = (await listAccessKeys(deps.sql, user?.canonicalId)).map(keyListing);
    if (user === undefined || user.name === ADMIN_USER_NAME) {
      const configured = Object.keys(deps.config.accessKeys).map((accessKeyId) => ({
        accessKeyId,
        user: ADMIN_USER_NAME,
        readOnly: false,
        buckets: null,
        admin: true,
        createdAt: null,
      }));
      keys.unshift(...configured);
    }
    return { keys };
  },
  "POST key/revoke": async (deps, ctx) => {
    const { id } = await jsonBody(ctx, { id: "string" });
    if (id in deps.config.accessKeys) {
      throw new AdminError(409, "KeyIsConfigured", `${id} is the admin key of the gateways' configuration (WEFT_ACCESS_KEY): change it there.`);
    }
    if (!(await deleteAccessKey(deps.sql, id))) throw new AdminError(404, "NoSuchAccessKey", `No access key ${id}.`);
    // Other gateways hear of it from PostgreSQL; this one forgets it before answering.
    deps.credentials.forget(id);
    return { accessKeyId: id, revoked: true };
  },
  "POST bucket/owner": async (deps, ctx) => {
    const { bucket, user: userName } = await jsonBody(ctx, { bucket: "string", user: "string" });
    const user = await userNamed(deps, userName);
    const updated = await setBucketOwner(deps.sql, bucket, user.canonicalId);
    if (!updated) throw new AdminError(404, "NoSuchBucket", `No bucket ${bucket}.`);
    return { bucket: updated.name, owner: user.name, canonicalId: user.canonicalId };
  },
};
