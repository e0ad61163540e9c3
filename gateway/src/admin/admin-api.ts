// The operators' API: JSON under /_weft/admin/v1/ on every gateway's S3 port, each request SigV4-signed (header
// authentication, as an S3 request) with an admin access key: one the gateway is configured with (WEFT_ACCESS_KEY),
// never one only PostgreSQL knows. `weft` (cli/weft.ts) is its client. The prefix cannot name a bucket (bucket names
// never start with "_"), so no S3 request is ever taken for an admin one.
import type Koa from "koa";
import type { Logger } from "pino";
import type { CredentialStore } from "../auth/credentials.js";
import { verifyRequest } from "../auth/verify-request.js";
import type { GatewayConfig } from "../config.js";
import { toS3Error } from "../http/error-mapping.js";
import type { Healer } from "../heal/healer.js";
import type { Scrubber } from "../heal/scrubber.js";
import { clusterStatus, type StatusDeps } from "./status.js";

export const ADMIN_PATH_PREFIX = "/_weft/admin/v1/";

/** What the admin API works with beyond the S3 services. */
export interface AdminResources extends StatusDeps {
  healer: Healer;
  scrubber: Scrubber;
}

export interface AdminDeps extends AdminResources {
  config: GatewayConfig;
  credentials: CredentialStore;
  log: Logger;
}

/** An admin request the API refuses; rendered as `{"code", "message"}` with `status`. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "AdminError";
  }
}

type AdminRoute = (deps: AdminDeps, ctx: Koa.Context) => Promise<unknown>;

/** "METHOD path-after-the-prefix" → handler. */
const ROUTES: Record<string, AdminRoute> = {
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
    if (auth.authType !== "header") throw new AdminError(403, "AccessDenied", "The admin API takes header-signed requests only.");
    if (!(auth.accessKeyId in deps.config.accessKeys)) throw new AdminError(403, "AccessDenied", "This access key is not an admin key.");
    const path = (ctx.req.url ?? "").slice(ADMIN_PATH_PREFIX.length).split("?")[0];
    const route = ROUTES[`${ctx.method} ${path}`];
    if (!route) throw new AdminError(404, "NoSuchAdminOperation", `No admin operation ${ctx.method} ${path}.`);
    ctx.status = 200;
    ctx.type = "application/json";
    ctx.body = JSON.stringify(await route(deps, ctx));
  } catch (thrown) {
    const error = thrown instanceof AdminError ? thrown : toS3Error(thrown, deps.log);
    ctx.status = error.status;
    ctx.type = "application/json";
    ctx.body = JSON.stringify({ code: error.code, message: error.message });
  }
}
