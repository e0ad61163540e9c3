// The ioserver's HTTP face: serves the routes of protocol.ts over a BlobStore. No body parser: PUT
// bodies stream straight into the store, through the check of their tag, and nothing else has a body.
import Koa from "koa";
import { Router } from "@koa/router";
import type { Logger } from "pino";
import type { DiskIdentity } from "./disk-identity.js";
import { diskSpace, type DatafileCounter } from "./disk-usage.js";
import type { IoServerMetrics } from "./metrics.js";
import { BodyTagCheck } from "./body-tag.js";
import { eachChunk } from "./each-chunk.js";
import {
  acceptsAnyDisk,
  BODY_TAG_SIZE,
  deriveKeys,
  DISK_ID_PATTERN,
  HEADERS,
  MAX_VERIFY_BATCH,
  ROUTES,
  type ClaimDiskResponse,
  type ErrorResponse,
  type HealthResponse,
  type ListBlobsResponse,
  type PutBlobResponse,
  type VerifiedBlob,
  type VerifyBlobsResponse,
} from "./protocol.js";
import { RequestAuthenticator, RequestRefused, type AuthenticatedRequest } from "./request-auth.js";
import { BlobStoreError, isValidBlobId, type BlobStore } from "./store.js";

type ErrorCode = ErrorResponse["error"];

const DEFAULT_LIST_LIMIT = 1000;
const MAX_LIST_LIMIT = 10_000;
/** A refused PUT body up to this size is read and discarded rather than cut off (see the error handler). */
const DRAIN_REFUSED_BODY_LIMIT = 1024 * 1024;

/** An answer the handler chose, as opposed to an unexpected failure (which becomes 500 Internal). */
class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const REFUSAL_STATUS: Record<RequestRefused["code"], number> = { BadSignature: 403, Replayed: 403, BadBodyTag: 403, WrongDisk: 421, Busy: 503 };

function failureOf(error: unknown): HttpFailure {
  if (error instanceof HttpFailure) return error;
  if (error instanceof RequestRefused) return new HttpFailure(REFUSAL_STATUS[error.code], error.code, error.message);
  if (error instanceof BlobStoreError) {
    switch (error.code) {
      case "InvalidId":
        return new HttpFailure(400, "BadRequest", error.message);
      case "LengthMismatch":
        return new HttpFailure(400, "LengthMismatch", error.message);
      case "ChecksumMismatch":
        return new HttpFailure(500, "ChecksumMismatch", error.message);
      case "BlobIdMismatch":
        return new HttpFailure(500, "BlobIdMismatch", error.message);
      case "AlreadyExists":
        return new HttpFailure(409, "AlreadyExists", error.message);
    }
  }
  return new HttpFailure(500, "Internal", error instanceof Error ? error.message : String(error));
}

function validBlobId(id: string | undefined): string {
  if (id === undefined || !isValidBlobId(id)) {
    throw new HttpFailure(400, "BadRequest", `invalid blob id ${JSON.stringify(id ?? "")}`);
  }
  return id;
}

type ByteRange = { start: number; end: number };

/** A single `bytes=a-b`, `bytes=a-` or `bytes=-n`; "unsatisfiable" when it selects no byte of the blob. */
export function parseRange(header: string, length: number): ByteRange | "unsatisfiable" {
  const match = /^bytes=(\d{0,16})-(\d{0,16})$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) {
    throw new HttpFailure(400, "BadRequest", `unsupported Range ${JSON.stringify(header)}`);
  }
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0 || length === 0) return "unsatisfiable";
    return { start: Math.max(0, length - suffix), end: length - 1 };
  }
  const start = Number(match[1]);
  const requestedEnd = match[2] === "" ? Number.MAX_SAFE_INTEGER : Number(match[2]);
  if (requestedEnd < start) throw new HttpFailure(400, "BadRequest", `inverted Range ${JSON.stringify(header)}`);
  if (start >= length) return "unsatisfiable";
  return { start, end: Math.min(requestedEnd, length - 1) };
}

export interface IoServerAppOptions {
  store: BlobStore;
  /** Which disk the folder is; the store's own diskId is the one it had when it opened. */
  identity: DiskIdentity;
  datafiles: DatafileCounter;
  secret: string;
  logger: Logger;
  /** Answers GET /metrics (unsigned) and records every other request. */
  metrics: IoServerMetrics;
  /** The Unix socket this ioserver also answers on, once it does; status answers name it. */
  localSocket?: () => string | undefined;
}

function validDiskId(id: unknown): string {
  if (typeof id !== "string" || !DISK_ID_PATTERN.test(id)) throw new HttpFailure(400, "BadRequest", `invalid disk id ${JSON.stringify(id ?? "")}`);
  return id;
}

export function createIoServerApp({ store, identity, datafiles, secret, logger, metrics, localSocket }: IoServerAppOptions): Koa {
  const app = new Koa();
  // Failures are logged by the access-log middleware below, once, with the request id.
  app.silent = true;
  app.on("error", () => {});
  app.use(metrics.middleware);

  app.use(async (ctx, next) => {
    const startedAt = performance.now();
    const requestId = ctx.get(HEADERS.requestId) || undefined;
    let failure: HttpFailure | undefined;
    let cause: unknown;
    try {
      await next();
    } catch (error) {
      cause = error;
      // An upload cut by the client is the client's doing: no 500 in the logs for it.
      const clientAborted = ctx.method === "PUT" && ctx.req.destroyed && !ctx.req.complete;
      failure = clientAborted ? new HttpFailure(400, "BadRequest", "request body aborted") : failureOf(error);
      ctx.status = failure.status;
      ctx.set(failure.headers);
      ctx.body = { error: failure.code, message: failure.message } satisfies ErrorResponse;
      // A PUT refused before its body was read: a large body is not worth draining, so the connection closes; a
      // small one is drained (Node discards it), because a client still writing when the socket closes gets EPIPE
      // instead of this answer (seen as a flaky 403 test with a 200 KB body).
      if (ctx.method === "PUT" && !ctx.req.complete && !(Number(ctx.get("content-length")) <= DRAIN_REFUSED_BODY_LIMIT)) {
        ctx.set("Connection", "close");
      }
    }
    let streamError: Error | undefined;
    if (ctx.body && typeof (ctx.body as NodeJS.ReadableStream).pipe === "function") {
      (ctx.body as NodeJS.ReadableStream).once("error", (error: Error) => {
        streamError = error;
        // Headers (with Content-Length) are out: only a cut connection tells the client the body is bad.
        ctx.req.socket.destroy();
      });
    }
    ctx.res.once("close", () => {
      const completed = ctx.res.writableFinished;
      const problem = streamError ?? (failure && failure.status >= 500 ? cause : undefined);
      const line = {
        reqId: requestId,
        method: ctx.method,
        url: ctx.originalUrl,
        status: ctx.res.statusCode,
        error: streamError ? failureOf(streamError).code : failure?.code,
        bytesIn: ctx.state.bytesIn as number | undefined,
        bytesOut: completed ? ctx.response.length : undefined,
        completed,
        ms: Math.round((performance.now() - startedAt) * 10) / 10,
        err: problem,
      };
      // A client that hangs up early (a gateway cancelling a read) is routine; a refused request is a misconfigured
      // peer or an attacker.
      if (problem) logger.error(line, "request failed");
      else if (failure?.status === 403 || failure?.status === 421) logger.warn(line, "request");
      else logger.info(line, completed ? "request" : "request cut short by the client");
    });
  });

  const keys = deriveKeys(secret);
  const authenticator = new RequestAuthenticator(keys.signing, () => identity.diskId);
  app.use(async (ctx, next) => {
    if (ctx.path !== ROUTES.health) {
      ctx.state.auth = authenticator.authenticate({
        method: ctx.method,
        pathAndQuery: ctx.originalUrl,
        header: (name) => ctx.get(name),
        anyDiskAllowed: acceptsAnyDisk(ctx.method, ctx.path),
      }) satisfies AuthenticatedRequest;
    }
    await next();
  });

  const router = new Router();
  const blobRoute = ROUTES.blob(":id");

  router.get(ROUTES.health, (ctx) => {
    ctx.body = { ok: true };
  });

  router.get(ROUTES.status, async (ctx) => {
    const { freeBytes, usedBytes } = await diskSpace(identity.dir);
    // Only an unclaimed folder looks into its blobs here: checks of a disk in use cost one statfs.
    const fresh = await identity.isFresh();
    const body: HealthResponse = { ok: true, diskId: identity.diskId, claimed: identity.claimed, fresh, freeBytes, usedBytes };
    const count = datafiles.current();
    if (count !== undefined) body.datafiles = count;
    const socket = localSocket?.();
    if (socket !== undefined) body.localSocket = socket;
    ctx.body = body;
  });

  router.put(ROUTES.claim(":diskId"), async (ctx) => {
    const diskId = validDiskId(ctx.params.diskId);
    const from = validDiskId(ctx.query.from);
    const outcome = await identity.claim(diskId, from);
    if ("refused" in outcome) throw new HttpFailure(409, "IdentityConflict", outcome.refused);
    if (outcome.adopted) logger.warn({ diskId, from }, "this empty folder takes over a registered disk's id");
    ctx.body = outcome satisfies ClaimDiskResponse;
  });

  router.get(ROUTES.list, async (ctx) => {
    const { after = "", limit: limitText } = ctx.query;
    if (typeof after !== "string" || Array.isArray(limitText)) {
      throw new HttpFailure(400, "BadRequest", "after and limit may appear once each");
    }
    const limit = limitText === undefined || limitText === "" ? DEFAULT_LIST_LIMIT : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new HttpFailure(400, "BadRequest", `limit must be an integer in 1..${MAX_LIST_LIMIT}`);
    }
    const ids = await store.list(after, limit);
    const page: ListBlobsResponse = { ids };
    if (ids.length === limit) page.next = ids[ids.length - 1];
    ctx.body = page;
  });

  router.get(ROUTES.verify, async (ctx) => {
    const { ids: idsText } = ctx.query;
    if (typeof idsText !== "string" || idsText === "") throw new HttpFailure(400, "BadRequest", "ids must appear once, comma-separated");
    const ids = idsText.split(",").map(validBlobId);
    if (ids.length > MAX_VERIFY_BATCH) throw new HttpFailure(400, "BadRequest", `at most ${MAX_VERIFY_BATCH} ids per request`);
    const results: VerifiedBlob[] = [];
    // One at a time: a scrub must leave the disk to the reads and writes of clients.
    for (const id of ids) results.push(await store.verify(id));
    const bytesRead = results.reduce((sum, result) => sum + (result.length ?? 0), 0);
    for (const result of results) if (result.status === "corrupt") logger.warn({ blob: result.id, reason: result.reason }, "scrub found a corrupt blob");
    ctx.body = { results, bytesRead } satisfies VerifyBlobsResponse;
  });

  router.put(blobRoute, async (ctx) => {
    const id = validBlobId(ctx.params.id);
    const contentLength = ctx.get("content-length");
    let expectedLength: number | undefined;
    if (contentLength !== "") {
      expectedLength = Number(contentLength) - BODY_TAG_SIZE;
      if (expectedLength < 0) throw new HttpFailure(400, "BadRequest", `a PUT body ends with its ${BODY_TAG_SIZE}-byte tag`);
    } else if (!/\bchunked\b/i.test(ctx.get("transfer-encoding"))) {
      throw new HttpFailure(411, "BadRequest", "a PUT needs Content-Length or chunked transfer encoding");
    }
    const { nonce, signature } = ctx.state.auth as AuthenticatedRequest;
    const tag = new BodyTagCheck(keys.bodyTag, nonce, signature);
    // The tag is checked once the body has ended, before the datafile is published.
    const stored = await store.write(id, (take) => eachChunk(ctx.req, tag.untagged(take)), { expectedLength, beforePublish: () => tag.verify() });
    ctx.state.bytesIn = stored.length;
    ctx.set(HEADERS.crc32c, stored.crc32c);
    ctx.body = stored satisfies PutBlobResponse;
  });

  router.head(blobRoute, async (ctx) => {
    const info = await store.stat(validBlobId(ctx.params.id));
    if (!info) throw new HttpFailure(404, "NotFound", "no such blob");
    ctx.status = 200;
    ctx.type = "application/octet-stream";
    ctx.set(HEADERS.crc32c, info.crc32c);
    ctx.length = info.length;
  });

  router.get(blobRoute, async (ctx) => {
    const blob = await store.openBlob(validBlobId(ctx.params.id));
    if (!blob) throw new HttpFailure(404, "NotFound", "no such blob");
    let range: ByteRange | undefined;
    try {
      const rangeHeader = ctx.get("range");
      const parsed = rangeHeader === "" ? undefined : parseRange(rangeHeader, blob.length);
      if (parsed === "unsatisfiable") {
        throw new HttpFailure(416, "RangeNotSatisfiable", `range outside ${blob.length} bytes`, {
          "Content-Range": `bytes */${blob.length}`,
        });
      }
      range = parsed;
    } catch (error) {
      await blob.close();
      throw error;
    }
    ctx.set(HEADERS.crc32c, blob.crc32c);
    ctx.type = "application/octet-stream";
    if (blob.length === 0) {
      await blob.close();
      ctx.status = 200;
      ctx.body = Buffer.alloc(0);
      return;
    }
    const { start, end } = range ?? { start: 0, end: blob.length - 1 };
    // Resolves only once the first chunk is verified, so a bad first block still gets a clean 500.
    const body = await blob.stream(start, end);
    ctx.status = range ? 206 : 200;
    if (range) ctx.set("Content-Range", `bytes ${start}-${end}/${blob.length}`);
    ctx.body = body;
    ctx.length = end - start + 1;
  });

  router.delete(blobRoute, async (ctx) => {
    await store.delete(validBlobId(ctx.params.id));
    ctx.status = 204;
  });

  app.use(router.routes());
  app.use(() => {
    throw new HttpFailure(404, "NotFound", "no such route");
  });
  return app;
}
