// The operators' API: JSON under /_weft/admin/v1/ on every gateway's S3 port, each request SigV4-signed (header
// authentication, as an S3 request) with an admin access key: one the gateway is configured with (WEFT_ACCESS_KEY),
// never one only PostgreSQL knows. `weft` (cli/weft.ts) is its client. The prefix cannot name a bucket (bucket names
// never start with "_"), so no S3 request is ever taken for an admin one.
import type Koa from "koa";
import type { Logger } from "pino";
import type { KeyStore } from "../auth/key-store.js";
import type { MasterKeys } from "../auth/master-keys.js";
import { verifyRequest } from "../auth/verify-request.js";
import type { GatewayConfig } from "../config.js";
import { toS3Error } from "../http/error-mapping.js";
import type { Healer } from "../heal/healer.js";
import type { Scrubber } from "../heal/scrubber.js";
import { getBucket, setBucketDefaultStorageClass } from "../../../meta/src/pg/buckets.js";
import { retireDisk, startDrain } from "../../../meta/src/pg/ioservers.js";
import { AdminError, jsonBody, type AdminRoute } from "./admin-request.js";
import { IDENTITY_ROUTES } from "./identity-routes.js";
import { clusterStatus, type StatusDeps } from "./status.js";

export const ADMIN_PATH_PREFIX = "/_weft/admin/v1/";

/** What the admin API works with beyond the S3 services. */
export interface AdminResources extends StatusDeps {
  healer: Healer;
  scrubber: Scrubber;
  masterKeys: MasterKeys;
}

export interface AdminDeps extends AdminResources {
  config: GatewayConfig;
  credentials: KeyStore;
  log: Logger;
}

/** "METHOD path-after-the-prefix" → handler. */
const ROUTES: Record<string, AdminRoute> = {
  ...IDENTITY_ROUTES,
  "GET status": (deps) => clusterStatus(deps),
  // Starts a pass on this gateway (or joins the one running) and answers at once; GET heal follows it.
  "POST heal": async (deps) => {
    void deps.healer.startPass({ scanAll: true });
    return healReport(deps);
  },
  "GET heal": (deps) => healReport(deps),
  // Scrubs every disk not retired now, on this gateway (or joins the pass running); GET scrub follows it.
  "POST scrub": async (deps) => {
    void deps.scrubber.startPass();
    return deps.scrubber.progress();
  },
  "GET scrub": async (deps) => deps.scrubber.progress(),
  // A bucket's default storage class (a Weft extension): set with storageClass, cleared with clear, else read.
  "POST bucket/storage-class": async (deps, ctx) => {
    const { bucket, storageClass, clear } = await jsonBody(ctx, { bucket: "string", storageClass: "string?", clear: "boolean?" });
    if (storageClass !== undefined && !deps.config.storageClasses[storageClass]) {
      throw new AdminError(400, "InvalidStorageClass", `No storage class ${storageClass}; this gateway has ${Object.keys(deps.config.storageClasses).join(", ")}.`);
    }
    const found = storageClass !== undefined || clear ? await setBucketDefaultStorageClass(deps.sql, bucket, storageClass ?? null) : await getBucket(deps.sql, bucket);
    if (!found) throw new AdminError(404, "NoSuchBucket", `No bucket ${bucket}.`);
    return { bucket: found.name, defaultStorageClass: found.defaultStorageClass ?? null, gatewayDefault: deps.config.defaultStorageClass };
  },
  "POST disk/add": async (deps, ctx) => {
    const { url } = await jsonBody(ctx, { url: "string" });
    try {
      return await deps.io.addDisk(url);
    } catch (error) {
      throw new AdminError(409, "DiskRefused", (error as Error).message);
    }
  },
  // Marks the disk draining and queues its parts; heal moves their slots (GET heal follows it).
  "POST disk/drain": async (deps, ctx) => {
    const { id } = await jsonBody(ctx, { id: "string" });
    const { found, parts } = await startDrain(deps.sql, id);
    if (!found) throw new AdminError(404, "NoSuchDisk", `No disk ${id} that is active or draining.`);
    await deps.io.refresh();
    void deps.healer.startPass({ scanAll: false });
    return { id, state: "draining", partsQueued: parts };
  },
  "POST disk/retire": async (deps, ctx) => {
    const { id, force } = await jsonBody(ctx, { id: "string", force: "boolean?" });
    const outcome = await retireDisk(deps.sql, id, force === true);
    if (!outcome.retired && outcome.reason === "unknown") throw new AdminError(404, "NoSuchDisk", `No disk ${id} that is not retired.`);
    if (!outcome.retired) {
      throw new AdminError(409, "DiskStillNeeded", `Retiring disk ${id} would leave ${outcome.partsAtRisk} parts with fewer than k slots on other disks; drain it first, or retire it with force if it is gone for good.`);
    }
    // Its parts are queued: the background healer rebuilds them, or `weft heal` at once.
    await deps.io.refresh();
    return { id, state: "retired", slotsLost: outcome.slotsLost };
  },
};

async function healReport(deps: AdminDeps): Promise<{ progress: ReturnType<Healer["progress"]>; queued: number }> {
  return { progress: deps.healer.progress(), queued: await deps.healer.queued() };
}

export function isAdminPath(rawUrl: string): boolean {
  return rawUrl.startsWith(ADMIN_PATH_PREFIX);
}

export async function serveAdmin(ctx: Koa.Context, deps: AdminDeps): Promise<void> {
  try {
    const auth = await verifyRequest(ctx.req, deps.credentials);
    ctx.state.auth = auth;
    if (auth.authType !== "header" || auth.signatureVersion !== 4) throw new AdminError(403, "AccessDenied", "The admin API takes SigV4 header-signed requests only.");
    if (auth.accessKeyId === undefined || !(auth.accessKeyId in deps.config.accessKeys)) throw new AdminError(403, "AccessDenied", "This access key is not an admin key.");
    const path = (ctx.req.url ?? "").slice(ADMIN_PATH_PREFIX.length).split("?")[0];
    const route = ROUTES[`${ctx.method} ${path}`];
    if (!route) throw new AdminError(404, "NoSuchAdminOperation", `No admin operation ${ctx.method} ${path}.`);
    ctx.status = 200;
    ctx.type = "application/json";
    ctx.body = JSON.stringify(await route(deps, ctx));
  } catch (thrown) {
    // A refusal of the API's own is an answer; anything else is a failure for the access log to tell.
    if (!(thrown instanceof AdminError)) ctx.state.failure = thrown;
    const error = thrown instanceof AdminError ? thrown : toS3Error(thrown);
    ctx.status = error.status;
    ctx.type = "application/json";
    ctx.body = JSON.stringify({ code: error.code, message: error.message });
  }
}
