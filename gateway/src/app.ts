// The gateway's Koa application. Middleware order: the operators' endpoints (health, readiness, metrics) → request id
// and access log → S3 errors → the admin API (admin/) or: resolve the operation → authenticate → dispatch to the
// operation's handler (gateway/src/ops/).
import Koa from "koa";
import { randomBytes } from "node:crypto";
import { CLIENT_CLOSED_REQUEST, bytesReadSinceLastRequest, bytesWrittenSince } from "../../ioserver/src/metrics.js";
import type { S3Context, S3State, Services } from "./context.js";
import { requireRegion } from "./auth/region.js";
import { principalOf } from "./auth/key-store.js";
import { verifyRequest } from "./auth/verify-request.js";
import { authorizeRequest } from "./access/request-access.js";
import { parseRequestTarget } from "./http/request-target.js";
import { resolveOperation } from "./router/resolve.js";
import { S3Error } from "./s3/errors.js";
import { refuseUnhonouredHeaders } from "./s3/unhonoured-headers.js";
import { renderXml } from "./s3/xml.js";
import { H } from "./s3/headers.js";
import { HANDLERS } from "./ops/index.js";
import { toS3Error } from "./http/error-mapping.js";
import { HEALTHZ_PATH, READYZ_PATH, serveLiveness, serveReadiness } from "./http/health.js";
import { METRICS_PATH } from "./http/metrics.js";
import { StalledBodyWatch } from "./http/stalled-body.js";
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

/** Weft's own paths (the admin API, health, metrics) start with this: no bucket name starts with "_". */
const WEFT_PATH_PREFIX = "/_weft/";

type OperatorEndpoint = (ctx: Koa.ParameterizedContext) => Promise<void> | void;

export function createApp(services: Services): Koa<S3State> {
  const app = new Koa<S3State>();
  (app.context as unknown as { services: Services }).services = services;
  app.silent = true; // errors are logged by the access log, with the request id
  // What fails once the middleware has returned comes here: a response stream that breaks after its headers.
  app.on("error", (error: unknown, ctx?: Koa.ParameterizedContext<S3State>) => {
    if (ctx && ctx.state.failure === undefined) ctx.state.failure = error;
  });
  // Polled by load balancers and Prometheus: answered before the access log, so they neither fill the log nor count
  // as requests in the metrics. No credentials (the metrics may ask for a token of their own).
  const stalledBodies = new StalledBodyWatch(services.config.requestIdleTimeoutMs);
  const operatorEndpoints = new Map<string, OperatorEndpoint>([
    [HEALTHZ_PATH, serveLiveness],
    [READYZ_PATH, (ctx) => serveReadiness(ctx, services.readiness)],
    [METRICS_PATH, (ctx) => services.metrics.serve(ctx)],
  ]);

  app.use(async (ctx, next) => {
    const url = ctx.req.url ?? "";
    const endpoint = url.startsWith(WEFT_PATH_PREFIX) ? operatorEndpoints.get(url.split("?")[0]!) : undefined;
    if (endpoint) {
      if (ctx.method !== "GET" && ctx.method !== "HEAD") {
        ctx.status = 405;
        ctx.set("allow", "GET, HEAD");
        return;
      }
      return endpoint(ctx);
    }
    const startedAt = performance.now();
    const socket = ctx.req.socket;
    const writtenBefore = socket.bytesWritten;
    // Read now: once the connection is gone, so is its peer's address.
    const client = socket.remoteAddress;
    ctx.state.requestId = newRequestId();
    ctx.set(H.requestId, ctx.state.requestId);
    ctx.set("server", "Weft");
    // The request is recorded once the handler has returned and the response has closed (its last byte sent, or its
    // connection gone), whichever comes last: a streamed body is part of its time and bytes.
    let unsettled = 2;
    const settle = () => {
      if (--unsettled === 0) finishRequest(ctx as S3Context, startedAt, writtenBefore, client);
    };
    ctx.res.on("close", settle);
    const stopWatchingBody = stalledBodies.watch(ctx.req, () => answerStalledBody(ctx as S3Context));
    try {
      await next();
    } catch (thrown) {
      if (ctx.state.failure === undefined) ctx.state.failure = thrown;
      renderError(ctx as S3Context, toS3Error(thrown));
    } finally {
      stopWatchingBody();
      settle();
    }
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
    // A request for something Weft does not serve is still authenticated first: a stranger learns nothing from a 501.
    let unsupported: S3Error | undefined;
    try {
      ctx.state.operation = resolveOperation(ctx.method, ctx.state.target, ctx.req.headers);
    } catch (error) {
      if (!(error instanceof S3Error) || error.code !== "NotImplemented") throw error;
      unsupported = error;
    }
    // POST Object carries no request signature: its handler checks the signature of the form's policy.
    if (ctx.state.operation?.name !== "PostObject") {
      const virtualHostBucket = ctx.state.target.virtualHosted ? bucket : undefined;
      const auth = await verifyRequest(ctx.req, services.credentials, { virtualHostBucket });
      requireRegion(auth, config.region);
      ctx.state.auth = auth;
      ctx.state.principal = await principalOf(services.credentials, auth.accessKeyId);
    }
    if (unsupported) throw ctx.state.principal.anonymous ? new S3Error("AccessDenied") : unsupported;
    if (ctx.state.operation.name !== "PostObject") await authorizeRequest(ctx as S3Context);
    refuseUnhonouredHeaders(ctx.req.headers, ctx.state.operation.name);
    await next();
  });

  app.use(async (ctx) => {
    await HANDLERS[ctx.state.operation.name](ctx as S3Context);
  });

  return app;
}

/**
 * Counts the request in the metrics and writes its access line, one per request: info for answers that went as
 * expected (4xx included), warn for 503 (storage or PostgreSQL unavailable: the line carries the cause's message),
 * error with the stack for the unexpected (500). The status is the one sent; CLIENT_CLOSED_REQUEST when the client
 * went away before any answer.
 */
function finishRequest(ctx: S3Context, startedAt: number, writtenBefore: number, client: string | undefined): void {
  const { services, state, res } = ctx;
  const socket = ctx.req.socket;
  const ms = performance.now() - startedAt;
  const bytesIn = bytesReadSinceLastRequest(socket);
  const bytesOut = bytesWrittenSince(socket, writtenBefore);
  const status = res.headersSent ? res.statusCode : CLIENT_CLOSED_REQUEST;
  const operation = state.operation;
  const op = operation?.name ?? (isAdminPath(ctx.req.url ?? "") ? "WeftAdmin" : "Unresolved");
  services.metrics.recordRequest(op, status, ms / 1000, bytesIn, bytesOut);
  const answered = state.failure === undefined ? undefined : toS3Error(state.failure);
  // What went wrong decides, else what was answered (the admin API answers its own refusals).
  const severity = answered?.status ?? status;
  const level = severity === 500 ? "error" : severity === 503 ? "warn" : "info";
  // At warn level (the bench's) nothing more is built for a request that went well: building every request's line
  // for nothing cost ~2 µs per small GET.
  if (!services.log.isLevelEnabled(level)) return;
  const completed = res.writableFinished;
  const cause = answered?.cause;
  const line = {
    requestId: state.requestId,
    client,
    accessKeyId: state.auth?.accessKeyId,
    user: state.principal?.userName,
    op,
    bucket: operation?.bucket,
    key: operation?.key,
    method: ctx.method,
    status,
    errorCode: answered?.code,
    errorMessage: answered?.message,
    cause: cause instanceof Error ? cause.message : undefined,
    bytesIn,
    bytesOut,
    ms: Math.round(ms * 10) / 10,
    ...(completed ? {} : { completed }),
    ...(level === "error" ? { err: state.failure } : {}),
  };
  services.log[level](line, completed ? "request" : "request cut short");
}

function renderError(ctx: S3Context, error: S3Error): void {
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
  if (ctx.method === "HEAD" || error.status === 304) {
    ctx.body = null;
    ctx.status = error.status; // again: a null body turns the status into 204
    return;
  }
  ctx.type = "application/xml";
  ctx.body = errorDocument(ctx, error);
}

/** The XML <Error> body of `error` for this request. */
function errorDocument(ctx: S3Context, error: S3Error): string {
  const { operation, target } = ctx.state;
  const resource = target ? `/${[target.bucket, target.key].filter((part) => part !== undefined).join("/")}` : ctx.path;
  return renderXml(
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

/**
 * A request body that stopped arriving: answered 400 RequestTimeout at once (the handler is still waiting for bytes),
 * then the request is failed with that error once the answer is out, so the handler stops and the connection closes.
 */
function answerStalledBody(ctx: S3Context): void {
  const error = new S3Error("RequestTimeout");
  if (ctx.headerSent) {
    ctx.req.destroy(error);
    return;
  }
  const body = errorDocument(ctx, error);
  ctx.res.writeHead(error.status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body), connection: "close" });
  ctx.res.end(body, () => ctx.req.destroy(error));
}

export { S3Error };
