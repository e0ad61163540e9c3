// Prometheus metrics of an ioserver (GET /metrics, answered before the request signature is checked, as /healthz is),
// and what the gateway's metrics (gateway/src/http/metrics.ts) share with it: the bearer token, the request series and
// the count of a request's bytes on its connection. prom-client keeps the series and renders the text format; what each
// series means is in docs/architecture.md, Observability.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Socket } from "node:net";
import type Koa from "koa";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { diskSpace, type DatafileCounter } from "./disk-usage.js";
import { ROUTES, type ErrorResponse, type VerifyBlobsResponse } from "./protocol.js";
import { BlobStoreError } from "./store.js";

export const METRICS_PATH = "/metrics";

/** Seconds: a health check or a small datafile read at the low end, a multi-gigabyte stream at the high end. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** The status recorded for a request whose client went away before any answer was sent (nginx's code for it). */
export const CLIENT_CLOSED_REQUEST = 499;

/** Whether `authorization` is `Bearer <token>`, compared in constant time. */
function bearerTokenMatches(authorization: string, token: string): boolean {
  const match = /^Bearer +(\S+)\s*$/i.exec(authorization);
  if (!match) return false;
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}

/**
 * Answers GET (and HEAD) with every series of `registry` in Prometheus' text format. With a token configured
 * (WEFT_METRICS_TOKEN) a request without `Authorization: Bearer <token>` gets 401.
 */
export async function serveMetrics(ctx: Koa.ParameterizedContext, registry: Registry, token: string | undefined): Promise<void> {
  if (ctx.method !== "GET" && ctx.method !== "HEAD") {
    ctx.status = 405;
    ctx.set("allow", "GET, HEAD");
    return;
  }
  if (token !== undefined && !bearerTokenMatches(ctx.get("authorization"), token)) {
    ctx.status = 401;
    ctx.set("www-authenticate", 'Bearer realm="weft metrics"');
    ctx.type = "text/plain";
    ctx.body = "metrics need Authorization: Bearer <WEFT_METRICS_TOKEN>\n";
    return;
  }
  ctx.type = registry.contentType;
  ctx.body = await registry.metrics();
}

const BYTES_READ_BEFORE = Symbol("bytes read on this connection before the current request");
type CountedSocket = Socket & { [BYTES_READ_BEFORE]?: number };

/**
 * The bytes read on a request's connection since the previous request on it ended: the request's own bytes, HTTP
 * header and framing included, counted as they are read whoever reads them, so a body left unread is not counted.
 * Call once per request, when its response has closed. A connection serves one request at a time; the bytes of a
 * request a client sends before the previous answer ends are counted with the previous request.
 */
export function bytesReadSinceLastRequest(socket: Socket): number {
  const counted = socket as CountedSocket;
  const total = socket.bytesRead;
  const before = counted[BYTES_READ_BEFORE] ?? 0;
  counted[BYTES_READ_BEFORE] = total;
  return total - before;
}

/** The bytes written on `socket` since it had written `before`: a response's, its headers included. */
export function bytesWrittenSince(socket: Socket, before: number): number {
  // A destroyed socket drops what it had queued, and its count with it.
  return Math.max(0, socket.bytesWritten - before);
}

interface NamedSeries {
  duration: Histogram.Internal<string>;
  byStatus: Map<number, Counter.Internal>;
}

/**
 * Requests by name (an S3 operation, an ioserver route) and HTTP status, their duration by name, and the bytes they
 * moved. The label children are resolved once per name and status and kept: recording a request builds no label set.
 */
export class RequestSeries {
  private readonly requests: Counter<string>;
  private readonly duration: Histogram<string>;
  private readonly received: Counter;
  private readonly sent: Counter;
  private readonly byName = new Map<string, NamedSeries>();

  constructor(
    registry: Registry,
    prefix: string,
    private readonly label: string,
    what: string,
  ) {
    const registers = [registry];
    this.requests = new Counter({ name: `${prefix}_requests_total`, help: `Requests answered, by ${what} and HTTP status (${CLIENT_CLOSED_REQUEST}: the client went away before any answer).`, labelNames: [label, "status"], registers });
    this.duration = new Histogram({
      name: `${prefix}_request_duration_seconds`,
      help: `Time from a request's arrival to the end of its response (its last byte sent, or the connection cut), by ${what}.`,
      labelNames: [label],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.received = new Counter({ name: `${prefix}_received_bytes_total`, help: "Bytes read from clients' connections while serving requests, HTTP headers and framing included.", registers });
    this.sent = new Counter({ name: `${prefix}_sent_bytes_total`, help: "Bytes written to clients' connections in responses, HTTP headers included.", registers });
  }

  record(name: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void {
    let series = this.byName.get(name);
    if (series === undefined) {
      series = { duration: this.duration.labels({ [this.label]: name }), byStatus: new Map() };
      this.byName.set(name, series);
    }
    let requests = series.byStatus.get(status);
    if (requests === undefined) {
      requests = this.requests.labels({ [this.label]: name, status: String(status) });
      series.byStatus.set(status, requests);
    }
    requests.inc();
    series.duration.observe(seconds);
    if (bytesIn > 0) this.received.inc(bytesIn);
    if (bytesOut > 0) this.sent.inc(bytesOut);
  }
}

const BLOB_PREFIX = ROUTES.blob("");
const CLAIM_PREFIX = ROUTES.claim("");
/** method → path pattern → label: every route of protocol.ts, so that a label is never built per request. */
const ROUTE_LABELS = new Map<string, Map<string, string>>();
for (const [method, pattern] of [
  ["PUT", ROUTES.blob(":id")],
  ["GET", ROUTES.blob(":id")],
  ["HEAD", ROUTES.blob(":id")],
  ["DELETE", ROUTES.blob(":id")],
  ["GET", ROUTES.list],
  ["GET", ROUTES.health],
  ["GET", ROUTES.status],
  ["PUT", ROUTES.claim(":diskId")],
  ["GET", ROUTES.verify],
] as const) {
  const byPattern = ROUTE_LABELS.get(method) ?? new Map<string, string>();
  byPattern.set(pattern, `${method} ${pattern}`);
  ROUTE_LABELS.set(method, byPattern);
}

/** "GET /blobs/:id" and the like; "other" for a request no route serves. */
function routeLabel(method: string, path: string): string {
  const pattern = path.startsWith(BLOB_PREFIX) ? ROUTES.blob(":id") : path.startsWith(CLAIM_PREFIX) ? ROUTES.claim(":diskId") : path;
  return ROUTE_LABELS.get(method)?.get(pattern) ?? "other";
}

function isChecksumFailure(error: unknown): boolean {
  return error instanceof BlobStoreError && error.code === "ChecksumMismatch";
}

export interface IoServerMetricsOptions {
  /** The disk's folder, for its filesystem's sizes. */
  dir: string;
  datafiles: DatafileCounter;
  /** WEFT_METRICS_TOKEN: when set, GET /metrics needs it as a bearer token. */
  token: string | undefined;
}

export class IoServerMetrics {
  readonly registry = new Registry();
  private readonly requests: RequestSeries;
  private readonly checksumFailuresOnRead: Counter.Internal;
  private readonly corruptFoundByVerify: Counter.Internal;

  constructor(private readonly options: IoServerMetricsOptions) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new RequestSeries(this.registry, "weft_ioserver", "route", "route (method and path pattern)");
    const checksumFailures = new Counter({
      name: "weft_ioserver_checksum_failures_total",
      help: "Datafiles found damaged. during=read: a read whose bytes failed their CRC32C (the request failed or its stream was cut). during=verify: a scrub's check found a block, the trailer or the recorded datafile id wrong.",
      labelNames: ["during"],
      registers,
    });
    this.checksumFailuresOnRead = checksumFailures.labels("read");
    this.corruptFoundByVerify = checksumFailures.labels("verify");
    // Present from the start at 0, so that a rate over them needs no first failure.
    this.checksumFailuresOnRead.inc(0);
    this.corruptFoundByVerify.inc(0);
    const { dir, datafiles } = options;
    new Gauge({
      name: "weft_ioserver_disk_free_bytes",
      help: "Bytes the filesystem of the disk's folder has left for an unprivileged writer (statfs at scrape time).",
      registers,
      async collect() {
        this.set((await diskSpace(dir)).freeBytes);
      },
    });
    new Gauge({
      name: "weft_ioserver_disk_used_bytes",
      help: "Bytes used on the filesystem of the disk's folder, this folder and anything else on it (statfs at scrape time).",
      registers,
      async collect() {
        this.set((await diskSpace(dir)).usedBytes);
      },
    });
    new Gauge({
      name: "weft_ioserver_datafiles",
      help: "Datafiles in the folder as of the last count (a walk, at most once a minute); NaN before the first.",
      registers,
      collect() {
        this.set(datafiles.current() ?? Number.NaN);
      },
    });
  }

  /** The outermost middleware: answers /metrics, and records every other request once its response has closed. */
  readonly middleware: Koa.Middleware = async (ctx, next) => {
    if (ctx.path === METRICS_PATH) return serveMetrics(ctx, this.registry, this.options.token);
    const startedAt = performance.now();
    const socket = ctx.req.socket;
    const writtenBefore = socket.bytesWritten;
    ctx.res.on("close", () => {
      const status = ctx.res.headersSent ? ctx.res.statusCode : CLIENT_CLOSED_REQUEST;
      this.requests.record(routeLabel(ctx.method, ctx.path), status, (performance.now() - startedAt) / 1000, bytesReadSinceLastRequest(socket), bytesWrittenSince(socket, writtenBefore));
    });
    await next();
    this.countChecksumFailures(ctx.body);
  };

  /** From what the routes answered: an error answer, a stream that may still fail, or a verify report. */
  private countChecksumFailures(body: unknown): void {
    if (body === null || typeof body !== "object") return;
    if (typeof (body as NodeJS.ReadableStream).pipe === "function") {
      (body as NodeJS.ReadableStream).once("error", (error: unknown) => {
        if (isChecksumFailure(error)) this.checksumFailuresOnRead.inc();
      });
    } else if ((body as ErrorResponse).error === "ChecksumMismatch") {
      this.checksumFailuresOnRead.inc();
    } else if (Array.isArray((body as VerifyBlobsResponse).results)) {
      for (const result of (body as VerifyBlobsResponse).results) if (result.status === "corrupt") this.corruptFoundByVerify.inc();
    }
  }
}
