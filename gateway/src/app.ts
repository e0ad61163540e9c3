// The gateway's Koa application. Middleware order: request id and access log → S3 errors → the admin API (admin/)
// or: resolve the operation → authenticate → dispatch to the operation's handler (gateway/src/ops/).
import Koa from "koa";
import { randomBytes } from "node:crypto";
import type { S3Context, S3State, Services } from "./context.js";
import { verifyRequest } from "./auth/verify-request.js";
import { parseRequestTarget } from "./http/request-target.js";
import { resolveOperation } from "./router/resolve.js";
import { S3Error, isS3Error } from "./s3/errors.js";
import { renderXml } from "./s3/xml.js";
import { H } from "./s3/headers.js";
import { HANDLERS } from "./ops/index.js";
import { toS3Error } from "./http/error-mapping.js";
import { addCorsResponseHeaders, preflightCors } from "./ops/cors.js";
import { isAdminPath, serveAdmin } from "./admin/admin-api.js";

/**
 * 16 hex digits, like AWS's: 24 random bits drawn when the process starts, then a 40-bit counter; two gateways share a
 * prefix once in 16 million. No entropy drawn per request: randomUUID and its string edits cost ~1.5 µs per GET.
 */
const requestIdPrefix = randomBytes(3).toString("hex").toUpperCase();
let requestCounter = 0;
function newRequestId(): string {
  requestCounter = (requestCounter + 1) % 2 ** 40;
  return requestIdPrefix + requestCounter.toString(16).toUpperCase().padStart(10, "0");
}

export function createApp(services: Services): Koa<S3State> {
  const app = new Koa<S3State>();
  (app.context as unknown as { services: Services }).services = services;
  app.silent = true; // errors are logged by the access-log middleware, with the request id

  app.use(async (ctx, next) => {
    const started = process.hrtime.bigint();
    ctx.state.requestId = newRequestId();
    ctx.set(H.requestId, ctx.state.requestId);
    ctx.set("server", "Weft");
    let failure: unknown;
    try {
      await next();
    } catch (error) {
      failure = error;
      renderError(ctx as S3Context, error);
    }
    const unexpected = failure !== undefined && !isS3Error(failure);
    // At warn level (the bench's) only unexpected failures are logged: building every request's line for nothing
    // cost ~2 µs per small GET.
    if (!unexpected && !services.log.isLevelEnabled("info")) return;
    const op = ctx.state.operation;
    const line = {
      requestId: ctx.state.requestId,
      op: op?.name,
      bucket: op?.bucket,
      key: op?.key,
      method: ctx.method,
      status: ctx.status,
      errorCode: isS3Error(failure) ? failure.code : failure ? "InternalError" : undefined,
      bytesIn: Number(ctx.get("content-length") || 0),
      ms: Number(process.hrtime.bigint() - started) / 1e6,
    };
    if (unexpected) services.log.error({ ...line, err: failure }, "request failed");
    else services.log.info(line, "request");
  });

  app.use(async (ctx, next) => {
    const { config } = services;
    if (isAdminPath(ctx.req.url ?? "")) return serveAdmin(ctx, { ...services.admin, config, credentials: services.credentials, log: services.log });
    ctx.state.target = parseRequestTarget(ctx.req.url ?? "/", ctx.get("host"), config.virtualHostDomains);
    const { bucket } = ctx.state.target;
    // A CORS preflight carries no credentials: answered from the bucket's CORS rules alone, before authentication.
    if (ctx.method === "OPTIONS" && bucket !== undefined) return preflightCors(ctx as S3Context, bucket);
    // Set before the operation runs so that error responses carry them too (a browser cannot read them otherwise).
    if (bucket !== undefined && ctx.get("origin")) await addCorsResponseHeaders(ctx as S3Context, bucket);
    ctx.state.operation = resolveOperation(ctx.method, ctx.state.target, ctx.req.headers);
    // POST Object carries no request signature: its handler checks the signature of the form's policy.
    if (ctx.state.operation.name !== "PostObject") ctx.state.auth = await verifyRequest(ctx.req, services.credentials);
    await next();
  });

  app.use(async (ctx) => {
    await HANDLERS[ctx.state.operation.name](ctx as S3Context);
  });

  return app;
}

function renderError(ctx: S3Context, thrown: unknown): void {
  const error = toS3Error(thrown, ctx.services.log);
  if (ctx.headerSent || !ctx.writable) {
    // Headers are out: the only honest signal left is to cut the connection, never to end it cleanly.
    ctx.req.socket.destroy();
    return;
  }
  ctx.remove("content-type");
  ctx.remove("content-length");
  ctx.remove("content-range");
  ctx.remove("etag");
  ctx.status = error.status;
  for (const [name, value] of Object.entries(error.headers)) ctx.set(name, value);
  // A body we did not read would have to be drained before the connection could carry another request.
  if (!ctx.req.complete) ctx.set("connection", "close");
  const { operation, target } = ctx.state;
  const resource = target ? `/${[target.bucket, target.key].filter((part) => part !== undefined).join("/")}` : ctx.path;
  if (ctx.method === "HEAD" || error.status === 304) {
    ctx.body = null;
    ctx.status = error.status; // again: a null body turns the status into 204
    return;
  }
  ctx.type = "application/xml";
  ctx.body = renderXml(
    "Error",
    {
      Code: error.code,
      Message: error.message,
      ...error.details,
      ...(operation?.bucket && !("BucketName" in error.details) && error.code === "NoSuchBucket" ? { BucketName: operation.bucket } : {}),
      ...(operation?.key && error.code === "NoSuchKey" ? { Key: operation.key } : {}),
      Resource: resource,
      RequestId: ctx.state.requestId,
    },
    null, // AWS's <Error> element carries no namespace
  );
}

export { S3Error };
