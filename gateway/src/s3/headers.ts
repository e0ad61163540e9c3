// Object headers in and out: user metadata, content headers, ETags, dates, byte ranges and preconditions.
import type { IncomingHttpHeaders } from "node:http";
import type { ObjectHeaders } from "../../../meta/src/types.js";
import { S3Error } from "./errors.js";

export const H = {
  contentType: "content-type",
  contentEncoding: "content-encoding",
  contentDisposition: "content-disposition",
  contentLanguage: "content-language",
  cacheControl: "cache-control",
  expires: "expires",
  storageClass: "x-amz-storage-class",
  versionId: "x-amz-version-id",
  deleteMarker: "x-amz-delete-marker",
  checksumMode: "x-amz-checksum-mode",
  checksumType: "x-amz-checksum-type",
  checksumAlgorithm: "x-amz-checksum-algorithm",
  requestId: "x-amz-request-id",
  bucketRegion: "x-amz-bucket-region",
  metaPrefix: "x-amz-meta-",
} as const;

/** AWS: user-defined metadata (names + values, as UTF-8) is limited to 2 KB in a PUT request header. */
const MAX_USER_METADATA_BYTES = 2048;

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/** Content-Encoding as stored: `aws-chunked` is transport framing, never part of the object. */
export function storedContentEncoding(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const kept = value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "" && item.toLowerCase() !== "aws-chunked");
  return kept.length ? kept.join(",") : undefined;
}

export function objectHeadersFromRequest(headers: IncomingHttpHeaders): ObjectHeaders {
  const userMetadata: Record<string, string> = {};
  let metadataBytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(H.metaPrefix) || value === undefined) continue;
    const text = Array.isArray(value) ? value.join(",") : value;
    const suffix = name.slice(H.metaPrefix.length);
    metadataBytes += Buffer.byteLength(suffix) + Buffer.byteLength(text);
    userMetadata[suffix] = text;
  }
  if (metadataBytes > MAX_USER_METADATA_BYTES) throw new S3Error("MetadataTooLarge");
  return {
    contentType: single(headers, H.contentType) ?? "binary/octet-stream",
    contentEncoding: storedContentEncoding(single(headers, H.contentEncoding)),
    contentDisposition: single(headers, H.contentDisposition),
    contentLanguage: single(headers, H.contentLanguage),
    cacheControl: single(headers, H.cacheControl),
    expires: single(headers, H.expires),
    userMetadata,
  };
}

export function objectHeadersToResponse(stored: ObjectHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  if (stored.contentType) out[H.contentType] = stored.contentType;
  if (stored.contentEncoding) out[H.contentEncoding] = stored.contentEncoding;
  if (stored.contentDisposition) out[H.contentDisposition] = stored.contentDisposition;
  if (stored.contentLanguage) out[H.contentLanguage] = stored.contentLanguage;
  if (stored.cacheControl) out[H.cacheControl] = stored.cacheControl;
  if (stored.expires) out[H.expires] = stored.expires;
  for (const [name, value] of Object.entries(stored.userMetadata)) out[H.metaPrefix + name] = value;
  return out;
}

export function quoteEtag(etag: string): string {
  return `"${etag}"`;
}

export function httpDate(date: Date): string {
  return date.toUTCString();
}

export interface ByteRange {
  start: number;
  end: number; // inclusive
}

/**
 * A single `bytes=` range as S3 serves it. Returns undefined when the header is absent or not a single
 * well-formed byte range (S3 then serves the whole object); throws InvalidRange (416) when unsatisfiable.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  const unsatisfiable = () =>
    new S3Error("InvalidRange", undefined, {
      headers: { "content-range": `bytes */${size}` },
      details: { RangeRequested: header, ActualObjectSize: String(size) },
    });
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (match[2] !== "" && Number(match[2]) < start) return undefined; // syntactically invalid: ignored, as RFC 9110
  if (start >= size) throw unsatisfiable();
  return { start, end };
}

function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : time;
}

function etagMatches(header: string, etag: string): boolean {
  return header.split(",").some((item) => {
    const candidate = item.trim().replace(/^W\//, "");
    return candidate === "*" || candidate === quoteEtag(etag) || candidate === etag;
  });
}

/**
 * GET/HEAD preconditions in RFC 9110 §13.2.2 order, as S3 evaluates them: If-Match, then If-Unmodified-Since
 * (only without If-Match), then If-None-Match, then If-Modified-Since (only without If-None-Match).
 */
export function checkReadPreconditions(headers: IncomingHttpHeaders, etag: string, lastModified: Date): void {
  const modifiedSecond = Math.floor(lastModified.getTime() / 1000) * 1000;
  const ifMatch = single(headers, "if-match");
  const ifNoneMatch = single(headers, "if-none-match");
  const notModified = () => new S3Error("NotModified", undefined, { headers: { etag: quoteEtag(etag), "last-modified": httpDate(lastModified) } });
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, etag)) throw new S3Error("PreconditionFailed", undefined, { details: { Condition: "If-Match" } });
  } else {
    const since = parseHttpDate(single(headers, "if-unmodified-since"));
    if (since !== undefined && modifiedSecond > since) {
      throw new S3Error("PreconditionFailed", undefined, { details: { Condition: "If-Unmodified-Since" } });
    }
  }
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, etag)) throw notModified();
  } else {
    const since = parseHttpDate(single(headers, "if-modified-since"));
    if (since !== undefined && modifiedSecond <= since) throw notModified();
  }
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  return single(headers, name);
}
