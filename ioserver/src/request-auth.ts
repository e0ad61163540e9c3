// The ioserver's side of the request signature (protocol.ts): which requests it serves. A request is refused unless
// its signature is right, its date near this clock, its disk this folder's and its nonce new; the nonce is
// remembered only once all of that holds, so unsigned traffic cannot fill the cache.
import { timingSafeEqual } from "node:crypto";
import { NonceCache } from "./nonce-cache.js";
import { ANY_DISK, declaredBodyLength, DISK_ID_PATTERN, HEADERS, MAX_CLOCK_SKEW_MS, NONCE_BYTES, signRequest, type SignedFields } from "./protocol.js";

export type RefusalCode = "BadSignature" | "Replayed" | "WrongDisk" | "Busy" | "BadBodyTag";

/** A request the ioserver will not serve, for a reason of the protocol (the status is app.ts's to choose). */
export class RequestRefused extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
    this.name = "RequestRefused";
  }
}

/** What a handler may rely on once a request is authenticated: the values the body tag is bound to. */
export interface AuthenticatedRequest {
  nonce: Buffer;
  signature: Buffer;
}

export interface IncomingRequest {
  method: string;
  /** The request target exactly as received. */
  pathAndQuery: string;
  /** A header's value, "" when absent. */
  header(name: string): string;
  anyDiskAllowed: boolean;
}

const DATE_PATTERN = /^\d{1,16}$/;
const NONCE_PATTERN = new RegExp(`^[0-9a-f]{${2 * NONCE_BYTES}}$`);
const SIGNATURE_PATTERN = /^[0-9a-f]{64}$/;

export class RequestAuthenticator {
  private readonly nonces: NonceCache;
  /** Nonces seen before this process started are unknown to it, so requests dated earlier are refused. */
  private readonly startedAt: number;

  constructor(
    private readonly signingKey: Buffer,
    /** This folder's disk id now: a claim may change it. */
    private readonly diskId: () => string,
    now = Date.now(),
  ) {
    this.startedAt = now;
    this.nonces = new NonceCache(now);
  }

  authenticate(request: IncomingRequest, now = Date.now()): AuthenticatedRequest {
    const date = request.header(HEADERS.date);
    const nonce = request.header(HEADERS.nonce);
    const disk = request.header(HEADERS.disk);
    const signature = request.header(HEADERS.signature);
    if (!DATE_PATTERN.test(date) || !NONCE_PATTERN.test(nonce) || !(disk === ANY_DISK || DISK_ID_PATTERN.test(disk)) || !SIGNATURE_PATTERN.test(signature)) {
      throw new RequestRefused("BadSignature", "missing or malformed request signature headers");
    }
    const skew = now - Number(date);
    if (Math.abs(skew) > MAX_CLOCK_SKEW_MS) {
      throw new RequestRefused("BadSignature", `request dated ${Math.round(skew / 1000)} s from this ioserver's clock, more than ${MAX_CLOCK_SKEW_MS / 1000} s`);
    }
    const bodyLength = declaredBodyLength(request.header("content-length"), request.header("transfer-encoding"));
    const fields: SignedFields = { method: request.method, pathAndQuery: request.pathAndQuery, disk, bodyLength, nonce, date };
    const signatureBytes = Buffer.from(signature, "hex");
    if (!timingSafeEqual(Buffer.from(signRequest(this.signingKey, fields), "hex"), signatureBytes)) {
      throw new RequestRefused("BadSignature", "wrong request signature");
    }
    if (disk === ANY_DISK ? !request.anyDiskAllowed : disk !== this.diskId()) {
      throw new RequestRefused("WrongDisk", `request meant for disk ${disk}, this is disk ${this.diskId()}`);
    }
    if (Number(date) < this.startedAt) throw new RequestRefused("Replayed", "request dated before this ioserver started");
    const verdict = this.nonces.remember(nonce, now);
    if (verdict === "seen") throw new RequestRefused("Replayed", "request already served (its nonce was seen)");
    if (verdict === "full") throw new RequestRefused("Busy", "too many requests to remember their nonces; try again shortly");
    return { nonce: Buffer.from(nonce, "hex"), signature: signatureBytes };
  }
}
