// SigV2 for S3 as pure functions: the string to sign of a request (header or query-string authentication) and the
// HMAC-SHA1 signature, as AWS's "Signing and authenticating REST requests" describes them. Nothing here reads a
// request or throws S3 errors; verify-v2.ts does that.

import { createHmac, timingSafeEqual } from "node:crypto";
import { percentDecode } from "./sigv4.js";

/**
 * Query parameters that belong to the CanonicalizedResource. AWS's own list, plus the ones botocore (whose list is
 * the one AWS answers to) signs as well: a parameter signed by the client but left out here, or the reverse, fails
 * every such request. All other parameters (prefix, marker, max-keys, x-id …) are not signed under SigV2.
 */
export const SIGV2_SUBRESOURCES: ReadonlySet<string> = new Set([
  "accelerate",
  "acl",
  "analytics",
  "cors",
  "delete",
  "inventory",
  "lifecycle",
  "location",
  "logging",
  "metrics",
  "notification",
  "object-lock",
  "partNumber",
  "policy",
  "replication",
  "requestPayment",
  "response-cache-control",
  "response-content-disposition",
  "response-content-encoding",
  "response-content-language",
  "response-content-type",
  "response-expires",
  "restore",
  "select",
  "select-type",
  "storageClass",
  "tagging",
  "torrent",
  "uploadId",
  "uploads",
  "versionId",
  "versioning",
  "versions",
  "website",
]);

export interface StringToSignV2Parts {
  method: string;
  /** The Content-MD5 header, or "". */
  contentMd5: string;
  /** The Content-Type header, or "". */
  contentType: string;
  /** The Date header; "" when x-amz-date is sent (it is signed among the x-amz-* headers instead); Expires for a presigned URL. */
  date: string;
  /** From canonicalizedAmzHeaders: one "name:value\n" line per x-amz-* header, or "". */
  amzHeaders: string;
  /** From canonicalizedResource. */
  resource: string;
}

export function stringToSignV2(parts: StringToSignV2Parts): string {
  return `${parts.method}\n${parts.contentMd5}\n${parts.contentType}\n${parts.date}\n${parts.amzHeaders}${parts.resource}`;
}

/**
 * The x-amz-* headers, lowercase, sorted by name, each on its own line as `name:value`: every value of a repeated
 * header trimmed and joined with ",", folded lines unfolded to one space.
 */
export function canonicalizedAmzHeaders(headers: Iterable<readonly [name: string, values: readonly string[]]>): string {
  const lines: Array<[string, string]> = [];
  for (const [rawName, values] of headers) {
    const name = rawName.toLowerCase();
    if (!name.startsWith("x-amz-")) continue;
    lines.push([name, values.map((value) => value.replace(/\s*\r?\n\s*/g, " ").trim()).join(",")]);
  }
  lines.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let out = "";
  for (const [name, value] of lines) out += `${name}:${value}\n`;
  return out;
}

/**
 * The path part of the CanonicalizedResource, most likely first: `/bucket` then the path exactly as sent, the
 * bucket taken from the Host header for virtual-hosted-style requests. AWS names a bucket as `/bucket/`, and so
 * do botocore and s3cmd when they sign a path-style bucket request they send as `/bucket`: that form comes first.
 */
export function resourcePathCandidates(virtualHostBucket: string | undefined, rawPath: string): string[] {
  if (virtualHostBucket !== undefined) return [`/${virtualHostBucket}${rawPath}`];
  const bucketOnly = rawPath.length > 1 && rawPath.indexOf("/", 1) === -1;
  return bucketOnly ? [`${rawPath}/`, rawPath] : [rawPath];
}

/**
 * `resourcePath` (from resourcePathCandidates), then the sub-resources among the query parameters, sorted by name,
 * with their values decoded (AWS signs them unencoded); a parameter sent without "=" (`?acl`) is signed without one.
 */
export function canonicalizedResource(resourcePath: string, rawQuery: string): string {
  let resource = resourcePath;
  const subresources: Array<[string, string]> = [];
  for (const piece of rawQuery === "" ? [] : rawQuery.split("&")) {
    const equals = piece.indexOf("=");
    const name = percentDecode(equals >= 0 ? piece.slice(0, equals) : piece, true).toString("utf8");
    if (!SIGV2_SUBRESOURCES.has(name)) continue;
    subresources.push([name, equals >= 0 ? `${name}=${percentDecode(piece.slice(equals + 1), true).toString("utf8")}` : name]);
  }
  if (subresources.length > 0) {
    // A stable sort by name alone, as the signers do: repeated names keep their order.
    subresources.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    resource += `?${subresources.map(([, signed]) => signed).join("&")}`;
  }
  return resource;
}

export interface RequestForSigV2 {
  method: string;
  /** Lowercase header name → every value sent. */
  headers: ReadonlyMap<string, readonly string[]>;
  /** The bucket named by the Host header, for virtual-hosted-style requests. */
  virtualHostBucket: string | undefined;
  /** Path and query exactly as sent (still percent-encoded). */
  rawPath: string;
  rawQuery: string;
  /** The Expires parameter of a presigned URL: it takes the Date line. */
  expires?: string;
}

/**
 * The strings a client may have signed for this request, most likely first. With x-amz-date sent, AWS's text says
 * the Date line is empty (x-amz-date is signed among the x-amz-* headers), while AWS's own worked example puts the
 * x-amz-date value on the Date line and leaves it out of the headers; both sign the same date, and both are accepted.
 */
export function requestStringsToSignV2(request: RequestForSigV2): string[] {
  const first = (name: string) => request.headers.get(name)?.[0]?.trim() ?? "";
  const amzHeaders = canonicalizedAmzHeaders(request.headers);
  let dated: Array<{ date: string; amzHeaders: string }>;
  if (request.expires !== undefined) dated = [{ date: request.expires, amzHeaders }];
  else if (!request.headers.has("x-amz-date")) dated = [{ date: first("date"), amzHeaders }];
  else {
    const otherAmzHeaders = canonicalizedAmzHeaders([...request.headers].filter(([name]) => name !== "x-amz-date"));
    dated = [
      { date: "", amzHeaders },
      { date: first("x-amz-date"), amzHeaders: otherAmzHeaders },
    ];
  }
  const candidates: string[] = [];
  for (const path of resourcePathCandidates(request.virtualHostBucket, request.rawPath)) {
    const resource = canonicalizedResource(path, request.rawQuery);
    for (const variant of dated) {
      candidates.push(stringToSignV2({ method: request.method, contentMd5: first("content-md5"), contentType: first("content-type"), resource, ...variant }));
    }
  }
  return candidates;
}

/** Base64 HMAC-SHA1 of `stringToSign` (a request's, or a POST form's base64 policy) under the secret key. */
export function signV2(secretAccessKey: string, stringToSign: string): string {
  return createHmac("sha1", secretAccessKey).update(stringToSign, "utf8").digest("base64");
}

/** Constant-time comparison of two base64 signatures (base64 is case-sensitive). */
export function signaturesEqualV2(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, "utf8");
  const b = Buffer.from(provided, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}
