// The wire protocol between gateways and ioservers: the single definition of routes, headers and
// the request signature. ioserver/src/app.ts serves it; ioserver/src/client.ts is its only caller.
import { createHmac, timingSafeEqual } from "node:crypto";

/** Datafile ids are chosen by the gateway: lowercase hex/uuid-like, so no id can name a path. */
export const BLOB_ID_PATTERN = /^[0-9a-f][0-9a-f-]{15,127}$/;

export const ROUTES = {
  blob: (id: string) => `/blobs/${id}`, // PUT (body), GET (optional Range), HEAD, DELETE
  list: "/blobs", // GET ?after=<id>&limit=<n>  → ListBlobsResponse
  health: "/healthz", // GET → HealthResponse (unsigned)
} as const;

export const HEADERS = {
  date: "x-weft-date", // milliseconds since the epoch, as decimal text
  signature: "x-weft-signature", // hex HMAC-SHA256, see signRequest
  requestId: "x-weft-request-id", // forwarded from the gateway's x-amz-request-id, for the logs
  crc32c: "x-weft-crc32c", // whole-datafile CRC32C (8 lowercase hex digits), on PUT response and HEAD
} as const;

/** Start of the one stdout line an ioserver prints once listening, followed by JSON {url, diskId}. */
export const IOSERVER_READY_PREFIX = "WEFT_IOSERVER_READY ";

/** How far a request's date may be from the ioserver's clock. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** Bytes covered by one stored block checksum (CRC32C) inside a datafile. */
export const CHECKSUM_BLOCK_SIZE = 64 * 1024;

export interface PutBlobResponse {
  length: number;
  crc32c: string; // 8 lowercase hex digits of the whole datafile
}

export interface ListBlobsResponse {
  ids: string[]; // ascending
  next?: string; // pass as `after` to continue; absent on the last page
}

export interface HealthResponse {
  ok: true;
  diskId: string; // stable id written in the data folder on first start
}

export interface ErrorResponse {
  error:
    | "BadSignature"
    | "BadRequest"
    | "NotFound"
    | "RangeNotSatisfiable"
    | "ChecksumMismatch"
    | "LengthMismatch"
    | "Internal";
  message: string;
}

/** The string that is signed: method, path with query exactly as sent, and the date header value. */
export function stringToSign(method: string, pathAndQuery: string, date: string): string {
  return `${method.toUpperCase()}\n${pathAndQuery}\n${date}`;
}

export function signRequest(secret: string, method: string, pathAndQuery: string, date: string): string {
  return createHmac("sha256", secret).update(stringToSign(method, pathAndQuery, date)).digest("hex");
}

export function verifySignature(
  secret: string,
  method: string,
  pathAndQuery: string,
  date: string | undefined,
  signature: string | undefined,
  now = Date.now(),
): boolean {
  if (!date || !signature || !/^\d{1,16}$/.test(date) || !/^[0-9a-f]{64}$/.test(signature)) return false;
  if (Math.abs(now - Number(date)) > MAX_CLOCK_SKEW_MS) return false;
  const expected = Buffer.from(signRequest(secret, method, pathAndQuery, date), "hex");
  return timingSafeEqual(expected, Buffer.from(signature, "hex"));
}
