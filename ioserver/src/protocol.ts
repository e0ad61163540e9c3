// The wire protocol between gateways and ioservers: the single definition of routes, headers, the request signature
// and the body tag. ioserver/src/app.ts serves it (request-auth.ts checks each request), ioserver/src/client.ts is its
// only caller.
//
// Every request but GET /healthz is signed (signRequest): HMAC-SHA256, under a key derived from the cluster secret,
// over the method, the path with its query exactly as sent, the disk it is meant for, the declared body length, a
// random 96-bit nonce and the date. An ioserver accepts a request dated within MAX_CLOCK_SKEW_MS of its clock, meant
// for its own disk (ANY_DISK only where acceptsAnyDisk says), and only once: it remembers the nonces it accepted for
// longer than a date stays acceptable (nonce-cache.ts), and refuses requests dated before it started, whose nonces it
// cannot know. A PUT body ends with a BODY_TAG_SIZE-byte tag over every byte before it and the signature
// (body-tag.ts); the ioserver checks it before the datafile is published. Datafiles are written once: a PUT to an
// existing id is refused. Answers are not authenticated (README.md, Threat model).
import { createHmac, hkdfSync } from "node:crypto";

/** Datafile ids are chosen by the gateway: lowercase hex/uuid-like, so no id can name a path. */
export const BLOB_ID_PATTERN = /^[0-9a-f][0-9a-f-]{15,127}$/;

/** Disk ids are UUIDs the folders create; the registry may hold older ids of any such shape. */
export const DISK_ID_PATTERN = /^[0-9A-Za-z][0-9A-Za-z_-]{0,127}$/;

export const ROUTES = {
  blob: (id: string) => `/blobs/${id}`, // PUT (tagged body), GET (optional Range), HEAD, DELETE
  list: "/blobs", // GET ?after=<id>&limit=<n>  → ListBlobsResponse
  health: "/healthz", // GET → {ok: true}, unsigned: for load balancers and supervisors, it tells nothing else
  status: "/status", // GET → HealthResponse; signed for ANY_DISK, since the caller asks it to learn which disk answers
  // PUT ?from=<id>: the folder is disk `diskId` from now on; it must be that disk already, or the unclaimed and empty
  // folder whose own id is `from` (it then adopts diskId) → ClaimDiskResponse, else 409 IdentityConflict. Signed for
  // ANY_DISK: its path names both ids, so it does nothing on any folder but the one it was meant for.
  claim: (diskId: string) => `/identity/${diskId}`,
  // GET ?ids=<id>,<id>,… (at most MAX_VERIFY_BATCH): every block of each blob read and checked here, no bytes sent
  verify: "/verify", // → VerifyBlobsResponse
} as const;

export const MAX_VERIFY_BATCH = 64;

export const HEADERS = {
  date: "x-weft-date", // milliseconds since the epoch, as decimal text
  nonce: "x-weft-nonce", // NONCE_BYTES random bytes, lowercase hex, new for every request
  disk: "x-weft-disk", // the disk id the request is meant for, or ANY_DISK
  signature: "x-weft-signature", // lowercase hex HMAC-SHA256, see signRequest
  requestId: "x-weft-request-id", // forwarded from the gateway's x-amz-request-id, for the logs
  crc32c: "x-weft-crc32c", // whole-datafile CRC32C (8 lowercase hex digits), on PUT response and HEAD
} as const;

/** The disk value of a request made before the caller knows which disk answers: accepted where acceptsAnyDisk says. */
export const ANY_DISK = "*";

/** The only requests that may be signed for ANY_DISK: the status a caller asks to learn the disk, and claims. */
export function acceptsAnyDisk(method: string, path: string): boolean {
  return (method === "GET" && path === ROUTES.status) || (method === "PUT" && path.startsWith(ROUTES.claim("")));
}

/** Start of the one stdout line an ioserver prints once listening, followed by JSON {url, diskId}. */
export const IOSERVER_READY_PREFIX = "WEFT_IOSERVER_READY ";

/** How far a request's date may be from the ioserver's clock, either way. */
export const MAX_CLOCK_SKEW_MS = 60 * 1000;

export const NONCE_BYTES = 12;

/** The tag that ends every PUT body (body-tag.ts): Content-Length is the datafile's length plus this. */
export const BODY_TAG_SIZE = 16;

/** The signed body length of a chunked request; a request without a body signs "0". */
export const CHUNKED_BODY = "chunked";

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

/** The answer of the signed GET /status. */
export interface HealthResponse {
  ok: true;
  diskId: string; // the id in the folder's marker (disk-identity.ts)
  claimed: boolean; // false until a gateway has registered the folder; absent from ioservers older than claims
  fresh: boolean; // unclaimed and empty: the folder of a new disk, or of a wiped one come back
  freeBytes: number; // what the filesystem of the folder has left for it (statfs)
  usedBytes: number; // what that filesystem holds, this folder and anything else on it
  datafiles?: number; // as of the last count (a walk of the folder, at most once a minute); absent until the first
  localSocket?: string; // a Unix socket this ioserver also answers on, for clients on its host; absent without one
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
    // 403: a signature missing, malformed, dated outside MAX_CLOCK_SKEW_MS, or wrong
    | "BadSignature"
    // 403: a nonce this ioserver has accepted before, or a request dated before it started
    | "Replayed"
    // 421: signed for another disk, or for ANY_DISK on a route that does not accept it
    | "WrongDisk"
    // 403: a PUT body whose tag is wrong: altered or cut bytes; nothing was stored
    | "BadBodyTag"
    // 409: a PUT to an id that exists; the datafile there is untouched
    | "AlreadyExists"
    // 503: the nonce cache is full (nonce-cache.ts); the request was not served
    | "Busy"
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

/** The keys both sides derive from the cluster secret, one per use. */
export interface ProtocolKeys {
  signing: Buffer;
  bodyTag: Buffer;
}

export function deriveKeys(clusterSecret: string): ProtocolKeys {
  const key = (info: string) => Buffer.from(hkdfSync("sha256", clusterSecret, "", info, 32));
  return { signing: key("weft ioserver request signature"), bodyTag: key("weft ioserver body tag") };
}

/** What a request signature covers. */
export interface SignedFields {
  method: string;
  /** The request target exactly as sent. */
  pathAndQuery: string;
  /** A disk id, or ANY_DISK. */
  disk: string;
  /** Content-Length as sent, CHUNKED_BODY, or "0" for a request without a body (declaredBodyLength). */
  bodyLength: string;
  /** NONCE_BYTES, lowercase hex. */
  nonce: string;
  date: string;
}

/** The body length a request declares, as signed: what its headers tell the HTTP parser to read. */
export function declaredBodyLength(contentLength: string, transferEncoding: string): string {
  if (contentLength !== "") return contentLength;
  return /\bchunked\b/i.test(transferEncoding) ? CHUNKED_BODY : "0";
}

/** The string that is signed: no field may contain a newline, which the patterns of the headers ensure. */
export function stringToSign({ method, pathAndQuery, disk, bodyLength, nonce, date }: SignedFields): string {
  return ["WEFT-IO-1", method.toUpperCase(), pathAndQuery, disk, bodyLength, nonce, date].join("\n");
}

/** The signature header's value: lowercase hex. */
export function signRequest(signingKey: Buffer, fields: SignedFields): string {
  return createHmac("sha256", signingKey).update(stringToSign(fields)).digest("hex");
}
