// Bucket, key and query of a request, from the raw request target and Host header (never Koa's decoded path).
import { parseRawQuery } from "../auth/sigv4.js";
import { S3Error } from "../s3/errors.js";

export interface RequestTarget {
  bucket?: string;
  key?: string;
  /** Decoded query parameters; a parameter sent without a value (e.g. `?uploads`) maps to "". */
  query: Map<string, string>;
  virtualHosted: boolean;
}

/**
 * Percent-decodes a path segment. Unlike form decoding, '+' stays '+': S3 keys may contain it literally. A NUL is
 * refused: PostgreSQL text cannot hold one, and a name that cannot be stored is a bad URI, not a server error.
 */
function decodePath(raw: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new S3Error("InvalidURI");
  }
  if (decoded.includes("\u0000")) throw new S3Error("InvalidURI");
  return decoded;
}

/** Decoded exactly as the signature check decodes it (gateway/src/auth/sigv4.ts), so both see the same query. */
export function parseQuery(rawQuery: string): Map<string, string> {
  const query = new Map<string, string>();
  for (const { name, value } of parseRawQuery(rawQuery)) {
    // A NUL could only end up in a key, prefix or marker that PostgreSQL text cannot hold (see decodePath).
    if (name.includes("\u0000") || value.includes("\u0000")) throw new S3Error("InvalidURI");
    if (!query.has(name)) query.set(name, value);
  }
  return query;
}

export function parseRequestTarget(rawUrl: string, host: string | undefined, virtualHostDomains: string[]): RequestTarget {
  const questionMark = rawUrl.indexOf("?");
  const rawPath = questionMark === -1 ? rawUrl : rawUrl.slice(0, questionMark);
  const query = parseQuery(questionMark === -1 ? "" : rawUrl.slice(questionMark + 1));
  if (!rawPath.startsWith("/")) throw new S3Error("InvalidRequest", "The request target must be an absolute path.");

  const hostname = (host ?? "").replace(/:\d+$/, "").toLowerCase();
  for (const domain of virtualHostDomains) {
    if (hostname.endsWith(`.${domain}`)) {
      const bucket = hostname.slice(0, -domain.length - 1);
      const key = rawPath.length > 1 ? decodePath(rawPath.slice(1)) : undefined;
      return { bucket, key, query, virtualHosted: true };
    }
  }

  const slash = rawPath.indexOf("/", 1);
  if (rawPath === "/") return { query, virtualHosted: false };
  if (slash === -1) return { bucket: decodePath(rawPath.slice(1)), query, virtualHosted: false };
  const bucket = decodePath(rawPath.slice(1, slash));
  const rawKey = rawPath.slice(slash + 1);
  return { bucket, key: rawKey === "" ? undefined : decodePath(rawKey), query, virtualHosted: false };
}
