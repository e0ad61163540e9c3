// The wire protocol between gateways and ioservers: the single definition of routes, headers and
// the request signature. ioserver/src/app.ts serves it; ioserver/src/client.ts is its only caller.
import { createHmac, timingSafeEqual } from "node:crypto";

/** Datafile ids are chosen by the gateway: lowercase hex/uuid-like, so no id can name a path. */
export const BLOB_ID_PATTERN = /^[0-9a-f][0-9a-f-]{15,127}$/;

/** Disk ids are UUIDs the folders create; the registry may hold older ids of any such shape. */
export const DISK_ID_PATTERN = /^[0-9A-Za-z][0-9A-Za-z_-]{0,127}$/;

export const ROUTES = {
  blob: (id: string) => `/blobs/${id}`, // PUT (body), GET (optional Range), HEAD, DELETE
  list: "/blobs", // GET ?after=<id>&limit=<n>  → ListBlobsResponse
  health: "/healthz", // GET → HealthResponse (unsigned)
  // PUT ?from=<id>: the folder is disk `diskId` from now on; it must be that disk already, or the unclaimed and empty
  // folder whose own id is `from` (it then adopts diskId) → ClaimDiskResponse, else 409 IdentityConflict
  claim: (diskId: string) => `/identity/${diskId}`,
  // GET ?ids=<id>,<id>,… (at most MAX_VERIFY_BATCH): every block of each blob read and checked here, no bytes sent
  verify: "/verify", // → VerifyBlobsResponse
} as const;

export const MAX_VERIFY_BATCH = 64;

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
  diskId: string; // the id in the folder's marker (disk-identity.ts)
  claimed: boolean; // false until a gateway has registered the folder; absent from ioservers older than claims
  fresh: boolean; // unclaimed and empty: the folder of a new disk, or of a wiped one come back
  freeBytes: number; // what the filesystem of the folder has left for it (statfs)
  usedBytes: number; // what that filesystem holds, this folder and anything else on it
  datafiles?: number; // as of the last count (a walk of the folder, at most once a minute); absent until the first
}

export interface VerifiedBlob {
  id: string;
  /** corrupt: a block, the trailer or the recorded id fails its check; the reason says which. */
  status: "ok" | "missing" | "corrupt";
  length?: number;
  crc32c?: string;
  reason?: string;
}

export interface VerifyBlobsResponse {
  results: VerifiedBlob[]; // in the order asked
  bytesRead: number;
}

export interface ClaimDiskResponse {
  diskId: string;
  adopted: boolean; // true: the folder gave up the id it had created and took diskId
}

export interface ErrorResponse {
  error:
    | "BadSignature"
    | "BadRequest"
    | "NotFound"
    | "RangeNotSatisfiable"
    | "ChecksumMismatch"
    // 500: the file is intact but records another datafile's id (copied or restored over this one)
    | "BlobIdMismatch"
    | "LengthMismatch"
    | "IdentityConflict"
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
