// SigV4 for S3 as pure functions: canonical forms, signing key, strings to sign.
// Nothing here reads a request or throws S3 errors; verify-request.ts does that.

import { createHmac, hash, timingSafeEqual } from "node:crypto";

export const SIGV4_ALGORITHM = "AWS4-HMAC-SHA256";
export const CHUNK_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD";
export const TRAILER_ALGORITHM = "AWS4-HMAC-SHA256-TRAILER";
export const SCOPE_TERMINATOR = "aws4_request";
export const EMPTY_SHA256_HEX = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export interface CredentialScope {
  /** yyyymmdd */
  date: string;
  region: string;
  service: string;
}

export function scopeString(scope: CredentialScope): string {
  return `${scope.date}/${scope.region}/${scope.service}/${SCOPE_TERMINATOR}`;
}

/** One-shot (no Hash object): every signed request hashes its canonical request (docs/performance.md). */
export function sha256Hex(data: string | Uint8Array): string {
  return hash("sha256", data, "hex");
}

export function hmacSha256(key: Uint8Array | string, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

/** Signing keys by secret and scope: a key serves a client for a whole day, and deriving it is four HMACs. */
const signingKeys = new Map<string, Buffer>();
const SIGNING_KEYS_KEPT = 1024;

export function deriveSigningKey(secretAccessKey: string, scope: CredentialScope): Buffer {
  const cacheKey = `${secretAccessKey}\n${scope.date}\n${scope.region}\n${scope.service}`;
  let signingKey = signingKeys.get(cacheKey);
  if (signingKey === undefined) {
    const dateKey = hmacSha256(`AWS4${secretAccessKey}`, scope.date);
    const regionKey = hmacSha256(dateKey, scope.region);
    const serviceKey = hmacSha256(regionKey, scope.service);
    signingKey = hmacSha256(serviceKey, SCOPE_TERMINATOR);
    if (signingKeys.size >= SIGNING_KEYS_KEPT) signingKeys.clear();
    signingKeys.set(cacheKey, signingKey);
  }
  return signingKey;
}

export function signHex(signingKey: Uint8Array, stringToSign: string): string {
  return createHmac("sha256", signingKey).update(stringToSign, "utf8").digest("hex");
}

/** Constant-time comparison of two hex signatures (case-insensitive, as hex is). */
export function signaturesEqual(expectedHex: string, providedHex: string): boolean {
  if (expectedHex.length !== providedHex.length) return false;
  return timingSafeEqual(Buffer.from(expectedHex.toLowerCase(), "latin1"), Buffer.from(providedHex.toLowerCase(), "latin1"));
}

export interface CanonicalRequestParts {
  method: string;
  canonicalUri: string;
  canonicalQuery: string;
  /** Lowercase names in the order of the SignedHeaders list, with their canonical values. */
  headers: ReadonlyArray<readonly [name: string, value: string]>;
  payloadHash: string;
}

export function canonicalRequest(parts: CanonicalRequestParts): string {
  let headerBlock = "";
  for (const [name, value] of parts.headers) headerBlock += `${name}:${value}\n`;
  const signedHeaders = parts.headers.map(([name]) => name).join(";");
  return `${parts.method}\n${parts.canonicalUri}\n${parts.canonicalQuery}\n${headerBlock}\n${signedHeaders}\n${parts.payloadHash}`;
}

export function requestStringToSign(amzDate: string, scope: CredentialScope, canonicalRequestText: string): string {
  return `${SIGV4_ALGORITHM}\n${amzDate}\n${scopeString(scope)}\n${sha256Hex(canonicalRequestText)}`;
}

export function chunkStringToSign(amzDate: string, scope: CredentialScope, previousSignature: string, chunkSha256Hex: string): string {
  return `${CHUNK_ALGORITHM}\n${amzDate}\n${scopeString(scope)}\n${previousSignature}\n${EMPTY_SHA256_HEX}\n${chunkSha256Hex}`;
}

/** Unlike a chunk, the trailer's string to sign has no empty-hash line. */
export function trailerStringToSign(amzDate: string, scope: CredentialScope, previousSignature: string, trailerSha256Hex: string): string {
  return `${TRAILER_ALGORITHM}\n${amzDate}\n${scopeString(scope)}\n${previousSignature}\n${trailerSha256Hex}`;
}

/** The bytes a trailer signature covers: each trailer as "name:value\n", in the order sent. */
export function canonicalTrailer(trailers: ReadonlyArray<readonly [name: string, value: string]>): string {
  let text = "";
  for (const [name, value] of trailers) text += `${name}:${value}\n`;
  return text;
}

/** Trim, and collapse inner runs of whitespace; repeated headers are joined with ",". */
export function canonicalHeaderValue(values: readonly string[]): string {
  return values.map((value) => value.trim().replace(/\s+/g, " ")).join(",");
}

const HEX_UPPER = "0123456789ABCDEF";

function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    byte === 0x2d || // -
    byte === 0x2e || // .
    byte === 0x5f || // _
    byte === 0x7e // ~
  );
}

/** AWS UriEncode over raw bytes: every byte but A-Za-z0-9-._~ (and '/' when keepSlash) becomes %XX, uppercase. */
export function uriEncodeBytes(bytes: Uint8Array, keepSlash: boolean): string {
  let out = "";
  for (const byte of bytes) {
    if (isUnreserved(byte) || (keepSlash && byte === 0x2f)) out += String.fromCharCode(byte);
    else out += `%${HEX_UPPER[byte >> 4]}${HEX_UPPER[byte & 15]}`;
  }
  return out;
}

export function uriEncode(text: string, keepSlash: boolean): string {
  return uriEncodeBytes(Buffer.from(text, "utf8"), keepSlash);
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  return -1;
}

/**
 * Percent-decodes to bytes (not to a string, so invalid UTF-8 survives untouched).
 * A '%' not followed by two hex digits stays literal. With plusAsSpace, '+' decodes to a space (form encoding).
 */
export function percentDecode(text: string, plusAsSpace: boolean): Buffer {
  const raw = Buffer.from(text, "utf8");
  if (!raw.includes(0x25) && !(plusAsSpace && raw.includes(0x2b))) return raw;
  const out = Buffer.allocUnsafe(raw.length);
  let length = 0;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i]!;
    if (byte === 0x25 && i + 2 < raw.length) {
      const high = hexValue(raw[i + 1]!);
      const low = hexValue(raw[i + 2]!);
      if (high >= 0 && low >= 0) {
        out[length++] = (high << 4) | low;
        i += 2;
        continue;
      }
    }
    out[length++] = plusAsSpace && byte === 0x2b ? 0x20 : byte;
  }
  return out.subarray(0, length);
}

export interface RequestTarget {
  /** The path exactly as sent, still percent-encoded ("/" when empty). */
  rawPath: string;
  /** Everything after the first '?', still encoded ("" when absent). */
  rawQuery: string;
}

/** Splits node's req.url (origin-form, or absolute-form when sent through a proxy) without decoding anything. */
export function splitRequestTarget(url: string): RequestTarget {
  let target = url;
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  if (authority) target = target.slice(authority[0].length);
  const hash = target.indexOf("#");
  if (hash >= 0) target = target.slice(0, hash);
  const question = target.indexOf("?");
  const rawPath = question >= 0 ? target.slice(0, question) : target;
  const rawQuery = question >= 0 ? target.slice(question + 1) : "";
  return { rawPath: rawPath === "" ? "/" : rawPath, rawQuery };
}

/**
 * Canonical URI candidates for S3, most likely first: the path exactly as sent (S3 signs the single-encoded
 * path and never normalises it), then the path decoded and re-encoded with AWS rules, for clients that sent
 * characters such as !'()* raw or used lowercase hex but signed the strict encoding.
 */
export function canonicalUriCandidates(rawPath: string): string[] {
  const reencoded = uriEncodeBytes(percentDecode(rawPath, false), true);
  return reencoded === rawPath ? [rawPath] : [rawPath, reencoded];
}

export interface QueryParameter {
  /** Decoded name and value (UTF-8; invalid sequences become U+FFFD). */
  name: string;
  value: string;
  /** RFC 3986 encodings of the decoded bytes, as they appear in the canonical query. */
  encodedName: string;
  encodedValue: string;
}

/**
 * Parses a raw query string the way SigV4 verification sees it. A literal '+' decodes to a space: signers
 * encode a real '+' as %2B, so a bare '+' only comes from form-style URL builders, which mean a space.
 * The router must decode with this same function so that what was verified is what gets executed.
 */
export function parseRawQuery(rawQuery: string): QueryParameter[] {
  const parameters: QueryParameter[] = [];
  if (rawQuery === "") return parameters;
  for (const piece of rawQuery.split("&")) {
    if (piece === "") continue;
    const equals = piece.indexOf("=");
    const rawName = equals >= 0 ? piece.slice(0, equals) : piece;
    const rawValue = equals >= 0 ? piece.slice(equals + 1) : "";
    const nameBytes = percentDecode(rawName, true);
    const valueBytes = percentDecode(rawValue, true);
    parameters.push({
      name: nameBytes.toString("utf8"),
      value: valueBytes.toString("utf8"),
      encodedName: uriEncodeBytes(nameBytes, false),
      encodedValue: uriEncodeBytes(valueBytes, false),
    });
  }
  return parameters;
}

/** Sorted by encoded name, then encoded value (byte order); "name=" for empty values. */
export function canonicalQueryString(parameters: readonly QueryParameter[], excludeName?: string): string {
  const pairs: Array<[string, string]> = [];
  for (const parameter of parameters) {
    if (excludeName !== undefined && parameter.name === excludeName) continue;
    pairs.push([parameter.encodedName, parameter.encodedValue]);
  }
  pairs.sort((a, b) => compareAscii(a[0], b[0]) || compareAscii(a[1], b[1]));
  return pairs.map(([name, value]) => `${name}=${value}`).join("&");
}

function compareAscii(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
