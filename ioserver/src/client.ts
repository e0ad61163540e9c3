// The only caller of the ioserver wire protocol (protocol.ts). One keep-alive undici Pool per ioserver.
import { setMaxListeners } from "node:events";
import { randomBytes } from "node:crypto";
import { Pool } from "undici";
import type { Dispatcher } from "undici";
import { withBodyTag } from "./body-tag.js";
import {
  ANY_DISK,
  BODY_TAG_SIZE,
  CHUNKED_BODY,
  deriveKeys,
  HEADERS,
  NONCE_BYTES,
  ROUTES,
  signRequest,
  type ClaimDiskResponse,
  type ErrorResponse,
  type HealthResponse,
  type ListBlobsResponse,
  type ProtocolKeys,
  type PutBlobResponse,
  type VerifyBlobsResponse,
} from "./protocol.js";

/** The code of a request abandoned because its server was found down (IoClient.abandonRequests). */
export const SERVER_LOST = "ServerLost";

export class IoServerError extends Error {
  constructor(
    message: string,
    /** undefined: the request never got an HTTP answer (network failure, timeout, abort). */
    readonly status: number | undefined,
    /** The ErrorResponse code, or for network failures the underlying error code (e.g. "Aborted", "UND_ERR_SOCKET"). */
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "IoServerError";
  }

  /** The server could not be reached or dropped the connection (not our abort, not a refused request). */
  get unreachable(): boolean {
    return this.status === undefined && this.code !== "Aborted" && this.code !== "LengthMismatch";
  }
}

export interface IoCallOptions {
  signal?: AbortSignal;
  requestId?: string;
}

export interface IoClientOptions {
  /** Most concurrent connections to this server (each streaming request holds one). Default 64. */
  connections?: number;
  connectTimeoutMs?: number;
  /** Time to wait for response headers once the request is sent (a PUT answers after its fsync). */
  headersTimeoutMs?: number;
  /** Most idle time between response body chunks while the reader is not applying backpressure. */
  bodyTimeoutMs?: number;
  /**
   * The disk this client's requests are for: the ioserver refuses a request meant for another disk (421 WrongDisk).
   * Left out, the client asks the server which disk it is (health) before its first other request and keeps to that
   * answer, which suits tools and tests; the gateway names the disk it expects at each URL (io-pool.ts).
   */
  diskId?: string;
  /**
   * A Unix socket that reaches the same server as `baseUrl`, from the same host (HealthResponse.localSocket): requests go
   * through it, with the URL's origin still in their Host header and signature.
   */
  socketPath?: string;
}

/** A request as send() signs it; `body` is made once the signature is known, since a PUT body's tag covers it. */
interface OutgoingRequest {
  disk: string;
  /** The signed body length: Content-Length, CHUNKED_BODY, or "0" without a body (the default). */
  bodyLength?: string;
  headers?: Record<string, string>;
  body?: (signed: { nonce: Buffer; signature: Buffer }) => AsyncIterable<Uint8Array>;
}

type ResponseData = Dispatcher.ResponseData;

const MAX_ERROR_BODY_BYTES = 64 * 1024;

export class IoClient {
  private readonly pool: Pool;
  private readonly keys: ProtocolKeys;
  private diskId: string | undefined;
  /** Aborted (and replaced) by abandonRequests: every request under way listens to it. */
  private serverLost = listenedByEveryRequest(new AbortController());

  constructor(
    readonly baseUrl: string,
    secret: string,
    options: IoClientOptions = {},
  ) {
    this.keys = deriveKeys(secret);
    this.diskId = options.diskId;
    this.pool = new Pool(new URL(baseUrl).origin, {
      connections: options.connections ?? 64,
      connectTimeout: options.connectTimeoutMs ?? 5_000,
      headersTimeout: options.headersTimeoutMs ?? 120_000,
      bodyTimeout: options.bodyTimeoutMs ?? 120_000,
      // Below the ioserver's 65 s keep-alive, so this side always closes an idle socket first.
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 30_000,
      ...(options.socketPath === undefined ? {} : { socketPath: options.socketPath }),
    });
  }

  /**
   * Streams `body` (exactly `length` bytes) into datafile `id`; resolves once the ioserver has fsynced and renamed.
   * `length` undefined sends it chunked: the datafile is complete only if `body` ends (the terminating chunk); a
   * failed body aborts the request and the ioserver keeps nothing.
   */
  async putBlob(
    id: string,
    body: AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
    length: number | undefined,
    options: IoCallOptions = {},
  ): Promise<PutBlobResponse> {
    if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) throw new RangeError(`bad blob length ${length}`);
    const data = body as AsyncIterable<Uint8Array>;
    const bodyLength = length === undefined ? CHUNKED_BODY : String(length + BODY_TAG_SIZE);
    const response = await this.send("PUT", ROUTES.blob(encodeURIComponent(id)), options, {
      disk: await this.targetDisk(options),
      bodyLength,
      headers: { "content-type": "application/octet-stream", ...(length === undefined ? {} : { "content-length": bodyLength }) },
      body: ({ nonce, signature }) => withBodyTag(length === undefined ? data : exactLength(data, length), this.keys.bodyTag, nonce, signature),
    });
    if (response.statusCode !== 200) throw await errorFrom(response, "PUT", id);
    return (await response.body.json()) as PutBlobResponse;
  }

  /**
   * Bytes [start, end] inclusive of datafile `id`; the Readable errors if the server cuts the stream or the checksum
   * fails. `datafileLength`, when the caller knows it, must be the whole datafile's: a file of another length in its
   * place (one written before files recorded their blob id) is refused with RangeMismatch.
   */
  async getBlob(
    id: string,
    range?: { start: number; end: number },
    options: IoCallOptions & { datafileLength?: number } = {},
  ): Promise<NodeJS.ReadableStream & AsyncIterable<Buffer>> {
    const headers: Record<string, string> = {};
    if (range) {
      const { start, end } = range;
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
        throw new RangeError(`bad byte range ${start}-${end}`);
      }
      headers.range = `bytes=${start}-${end}`;
    }
    const response = await this.send("GET", ROUTES.blob(encodeURIComponent(id)), options, { disk: await this.targetDisk(options), headers });
    if (response.statusCode !== (range ? 206 : 200)) throw await errorFrom(response, "GET", id);
    if (range) {
      // A clamped range means the caller's idea of the datafile length is wrong: never hand back fewer bytes.
      const contentRange = headerText(response, "content-range");
      const expected = `bytes ${range.start}-${range.end}/${options.datafileLength ?? ""}`;
      if (options.datafileLength === undefined ? !contentRange.startsWith(expected) : contentRange !== expected) {
        discard(response);
        throw new IoServerError(
          `GET ${id}: asked for bytes ${range.start}-${range.end}, got ${JSON.stringify(contentRange)}`,
          response.statusCode,
          "RangeMismatch",
        );
      }
    }
    if (!range && options.datafileLength !== undefined && headerText(response, "content-length") !== String(options.datafileLength)) {
      discard(response);
      throw new IoServerError(`GET ${id}: expected ${options.datafileLength} bytes, the file holds ${headerText(response, "content-length")}`, response.statusCode, "RangeMismatch");
    }
    // undici fails the body with a socket error when the connection closes before Content-Length
    // bytes arrived, which is how the ioserver reports a bad block after the headers are out.
    return response.body as NodeJS.ReadableStream & AsyncIterable<Buffer>;
  }

  async headBlob(id: string, options: IoCallOptions = {}): Promise<{ length: number; crc32c: string } | undefined> {
    const response = await this.send("HEAD", ROUTES.blob(encodeURIComponent(id)), options, { disk: await this.targetDisk(options) });
    if (response.statusCode === 404) {
      await response.body.dump();
      return undefined;
    }
    if (response.statusCode !== 200) throw await errorFrom(response, "HEAD", id);
    await response.body.dump();
    return { length: Number(headerText(response, "content-length")), crc32c: headerText(response, HEADERS.crc32c) };
  }

  async deleteBlob(id: string, options: IoCallOptions = {}): Promise<void> {
    const response = await this.send("DELETE", ROUTES.blob(encodeURIComponent(id)), options, { disk: await this.targetDisk(options) });
    if (response.statusCode !== 204) throw await errorFrom(response, "DELETE", id);
    await response.body.dump();
  }

  async listBlobs(after?: string, limit?: number, options: IoCallOptions = {}): Promise<ListBlobsResponse> {
    const query = new URLSearchParams();
    if (after !== undefined) query.set("after", after);
    if (limit !== undefined) query.set("limit", String(limit));
    const search = query.size > 0 ? `?${query}` : "";
    const response = await this.send("GET", `${ROUTES.list}${search}`, options, { disk: await this.targetDisk(options) });
    if (response.statusCode !== 200) throw await errorFrom(response, "GET", ROUTES.list);
    return (await response.body.json()) as ListBlobsResponse;
  }

  /** Has the ioserver read and check every block of each blob (at most MAX_VERIFY_BATCH); no data comes back. */
  async verifyBlobs(ids: string[], options: IoCallOptions = {}): Promise<VerifyBlobsResponse> {
    const path = `${ROUTES.verify}?${new URLSearchParams({ ids: ids.join(",") })}`;
    const response = await this.send("GET", path, options, { disk: await this.targetDisk(options) });
    if (response.statusCode !== 200) throw await errorFrom(response, "GET", ROUTES.verify);
    return (await response.body.json()) as VerifyBlobsResponse;
  }

  /** The signed status of the folder (its disk id, claim, space): answered whichever disk it is. */
  async health(options: IoCallOptions = {}): Promise<HealthResponse> {
    const response = await this.send("GET", ROUTES.status, options, { disk: ANY_DISK });
    if (response.statusCode !== 200) throw await errorFrom(response, "GET", ROUTES.status);
    return (await response.body.json()) as HealthResponse;
  }

  /**
   * Makes the folder disk `diskId`: a no-op when it is that disk, an adoption when it is still the unclaimed, empty
   * folder `from`; anything else fails with 409 IdentityConflict.
   */
  async claimDisk(diskId: string, from: string, options: IoCallOptions = {}): Promise<ClaimDiskResponse> {
    const path = `${ROUTES.claim(diskId)}?${new URLSearchParams({ from })}`;
    const response = await this.send("PUT", path, options, { disk: ANY_DISK });
    if (response.statusCode !== 200) throw await errorFrom(response, "PUT", path);
    return (await response.body.json()) as ClaimDiskResponse;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /**
   * Ends every request under way to this server, which its caller found down. A host cut off from the network leaves
   * open connections silent rather than closed: without this, a slot stream on one would hold up its whole PUT or GET
   * until the timeouts (minutes). They fail as unreachable (code SERVER_LOST), so reads rebuild from parity and writes
   * go on without the slot. Later requests are sent as usual.
   */
  abandonRequests(): void {
    this.serverLost.abort(new IoServerError(`${this.baseUrl}: found down, requests under way abandoned`, undefined, SERVER_LOST));
    this.serverLost = listenedByEveryRequest(new AbortController());
  }

  /** The disk requests are for: the one given, else the one the server said it is when first asked. */
  private async targetDisk(options: IoCallOptions): Promise<string> {
    this.diskId ??= (await this.health(options)).diskId;
    return this.diskId;
  }

  private async send(
    method: Dispatcher.HttpMethod,
    path: string,
    { signal, requestId }: IoCallOptions,
    { disk, bodyLength = "0", headers: extraHeaders, body }: OutgoingRequest,
  ): Promise<ResponseData> {
    const date = String(Date.now());
    const nonce = randomBytes(NONCE_BYTES);
    const nonceHex = nonce.toString("hex");
    const signature = signRequest(this.keys.signing, { method, pathAndQuery: path, disk, bodyLength, nonce: nonceHex, date });
    const headers: Record<string, string> = {
      ...extraHeaders,
      [HEADERS.date]: date,
      [HEADERS.nonce]: nonceHex,
      [HEADERS.disk]: disk,
      [HEADERS.signature]: signature,
    };
    if (requestId) headers[HEADERS.requestId] = requestId;
    const requestBody = body?.({ nonce, signature: Buffer.from(signature, "hex") }) as Dispatcher.DispatchOptions["body"] | undefined;
    const serverLost = this.serverLost.signal;
    try {
      return await this.pool.request({ method, path, headers, body: requestBody, signal: signal ? AbortSignal.any([signal, serverLost]) : serverLost });
    } catch (error) {
      throw networkError(method, `${this.baseUrl}${path}`, error, signal, serverLost);
    }
  }
}

/** A controller whose signal every request under way listens to: as many listeners as requests, not a leak. */
function listenedByEveryRequest(controller: AbortController): AbortController {
  setMaxListeners(0, controller.signal);
  return controller;
}

/**
 * Passes `body` through, failing before undici ends the request when the byte count is off: undici
 * itself would first send a complete (if empty) request and only then notice the mismatch.
 */
async function* exactLength(body: AsyncIterable<Uint8Array>, length: number): AsyncGenerator<Uint8Array> {
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.length;
    if (seen > length) throw new IoServerError(`body is longer than the declared ${length} bytes`, undefined, "LengthMismatch");
    yield chunk;
  }
  if (seen !== length) {
    throw new IoServerError(`body ended after ${seen} of ${length} bytes`, undefined, "LengthMismatch");
  }
}

/** Drops a response body we will not read; undici reports that as an abort, which nobody needs to hear. */
function discard(response: ResponseData): void {
  response.body.on("error", () => {});
  response.body.destroy();
}

function headerText(response: ResponseData, name: string): string {
  const value = response.headers[name];
  return Array.isArray(value) ? (value[0] ?? "") : (value ?? "");
}

function networkError(method: string, url: string, error: unknown, signal: AbortSignal | undefined, serverLost: AbortSignal): IoServerError {
  if (error instanceof IoServerError) return error;
  const code = signal?.aborted ? "Aborted" : serverLost.aborted ? SERVER_LOST : ((error as { code?: string })?.code ?? "Network");
  const message = error instanceof Error ? error.message : String(error);
  return new IoServerError(`${method} ${url}: ${message}`, undefined, code, { cause: error });
}

async function errorFrom(response: ResponseData, method: string, what: string): Promise<IoServerError> {
  let code: string | undefined;
  let message = `${method} ${what}: HTTP ${response.statusCode}`;
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_ERROR_BODY_BYTES) break;
      chunks.push(chunk);
    }
    if (chunks.length > 0) {
      const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Partial<ErrorResponse>;
      code = parsed.error;
      if (parsed.message) message += ` ${parsed.error}: ${parsed.message}`;
    }
  } catch {
    // An unreadable error body still leaves the status, which is what callers act on.
  } finally {
    discard(response);
  }
  return new IoServerError(message, response.statusCode, code);
}
