// The request headers as the signature checks read them, and the request-time rules SigV4 and SigV2 share.

import { S3Error } from "../s3/errors.js";

export const REQUEST_HEADERS = {
  authorization: "authorization",
  amzDate: "x-amz-date",
  date: "date",
  host: "host",
  contentSha256: "x-amz-content-sha256",
  contentLength: "content-length",
  decodedContentLength: "x-amz-decoded-content-length",
  contentMd5: "content-md5",
  contentType: "content-type",
  trailer: "x-amz-trailer",
  sdkChecksumAlgorithm: "x-amz-sdk-checksum-algorithm",
} as const;

/** Lowercase header name → every value sent under it, in order. */
export type HeaderMap = Map<string, string[]>;

/** Every header value as sent (node's req.headers drops or merges duplicates in header-specific ways). */
export function collectHeaders(rawHeaders: readonly string[]): HeaderMap {
  const headers: HeaderMap = new Map();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const values = headers.get(name);
    if (values) values.push(rawHeaders[i + 1]!);
    else headers.set(name, [rawHeaders[i + 1]!]);
  }
  return headers;
}

export function firstHeader(headers: HeaderMap, name: string): string | undefined {
  return headers.get(name)?.[0];
}

/** AWS's window, both directions (MaxAllowedSkewMilliseconds in its RequestTimeTooSkewed body). */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export function checkSkew(requestMs: number, now: number, requestTime: string): void {
  if (Math.abs(now - requestMs) > MAX_CLOCK_SKEW_MS) throw skewError(requestTime, now);
}

export function skewError(requestTime: string, now: number): S3Error {
  return new S3Error("RequestTimeTooSkewed", undefined, {
    details: {
      RequestTime: requestTime,
      ServerTime: new Date(now).toISOString(),
      MaxAllowedSkewMilliseconds: String(MAX_CLOCK_SKEW_MS),
    },
  });
}

export function missingDateError(): S3Error {
  return new S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
}
