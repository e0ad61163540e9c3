// SigV2 authentication of one request: `Authorization: AWS AccessKeyId:Signature`, or a presigned URL's
// AWSAccessKeyId / Expires / Signature parameters. SigV2 signs no payload: the body is checked only against what
// the client declared of it (Content-MD5, a hex x-amz-content-sha256, x-amz-checksum-*).

import type { IncomingMessage } from "node:http";
import { S3Error } from "../s3/errors.js";
import type { CredentialStore } from "./credentials.js";
import { parseAmzDate } from "./parse.js";
import { PAYLOAD_HASH, openOnce, openVerifiedBody, parsePayloadHash, withHoistedIntegrityParameters, type PayloadMode } from "./request-body.js";
import { REQUEST_HEADERS, checkSkew, firstHeader, missingDateError, type HeaderMap } from "./request-headers.js";
import { requestStringsToSignV2, signV2, signaturesEqualV2 } from "./sigv2.js";
import type { QueryParameter, RequestTarget } from "./sigv4.js";
import type { AuthenticatedRequest } from "./verify-request.js";

export const SIGV2_AUTHORIZATION_PREFIX = "AWS ";

export const SIGV2_QUERY_PARAMETERS = {
  accessKeyId: "AWSAccessKeyId",
  expires: "Expires",
  signature: "Signature",
} as const;

export interface RequestV2 {
  req: IncomingMessage;
  method: string;
  target: RequestTarget;
  query: readonly QueryParameter[];
  headers: HeaderMap;
  /** The bucket named by the Host header, for virtual-hosted-style requests: it is part of the signed resource. */
  virtualHostBucket: string | undefined;
  now: number;
}

interface ClaimV2 {
  authType: "header" | "presigned";
  accessKeyId: string;
  signature: string;
  /** The Expires parameter of a presigned URL. */
  expires?: string;
}

export async function verifyRequestV2(request: RequestV2, credentials: CredentialStore): Promise<AuthenticatedRequest> {
  const authorization = firstHeader(request.headers, REQUEST_HEADERS.authorization);
  const claim = authorization !== undefined ? headerClaim(authorization, request.headers, request.now) : presignedClaim(request.query, request.now);
  // A presigner moves the headers it signed (x-amz-*, Content-Type, Content-MD5) into the query; a header sent wins.
  const signedHeaders = claim.authType === "presigned" ? withHoistedSignedParameters(request.headers, request.query) : request.headers;
  // Before the secret is looked up, as for SigV4: a stranger learns nothing about the key from a malformed request.
  const payloadMode = payloadModeV2(request.headers);

  const secret = await credentials.secretFor(claim.accessKeyId);
  if (secret === undefined) throw new S3Error("InvalidAccessKeyId", undefined, { details: { AWSAccessKeyId: claim.accessKeyId } });
  const candidates = requestStringsToSignV2({
    method: request.method,
    headers: signedHeaders,
    virtualHostBucket: request.virtualHostBucket,
    rawPath: request.target.rawPath,
    rawQuery: request.target.rawQuery,
    expires: claim.expires,
  });
  if (!candidates.some((stringToSign) => signaturesEqualV2(signV2(secret, stringToSign), claim.signature))) {
    throw signatureMismatchV2(claim.accessKeyId, claim.signature, candidates[0]!);
  }

  return {
    accessKeyId: claim.accessKeyId,
    authType: claim.authType,
    signatureVersion: 2,
    region: undefined,
    payloadMode,
    openBody: openOnce((options) => {
      const presigned = claim.authType === "presigned";
      const integrityHeaders = presigned ? withHoistedIntegrityParameters(request.headers, request.query) : request.headers;
      return openVerifiedBody(request.req, integrityHeaders, payloadMode, undefined, options, presigned);
    }),
  };
}

/** AWS's SignatureDoesNotMatch for SigV2, with what it signed, as text and as bytes, so a client author can compare. */
export function signatureMismatchV2(accessKeyId: string, signatureProvided: string, stringToSign: string): S3Error {
  return new S3Error("SignatureDoesNotMatch", undefined, {
    details: {
      AWSAccessKeyId: accessKeyId,
      StringToSign: stringToSign,
      SignatureProvided: signatureProvided,
      StringToSignBytes: [...Buffer.from(stringToSign, "utf8")].map((byte) => byte.toString(16).padStart(2, "0")).join(" "),
    },
  });
}

function headerClaim(authorization: string, headers: HeaderMap, now: number): ClaimV2 {
  const credentials = authorization.slice(SIGV2_AUTHORIZATION_PREFIX.length).trim();
  const colon = credentials.lastIndexOf(":");
  if (colon <= 0 || colon === credentials.length - 1 || /\s/.test(credentials)) {
    throw new S3Error("InvalidArgument", "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature", {
      details: { ArgumentName: "Authorization", ArgumentValue: authorization },
    });
  }
  // x-amz-date takes precedence over Date (clients that cannot set Date send it).
  const amzDate = firstHeader(headers, REQUEST_HEADERS.amzDate)?.trim();
  const date = amzDate ?? firstHeader(headers, REQUEST_HEADERS.date)?.trim();
  if (date === undefined) throw missingDateError();
  const ms = amzDate !== undefined ? (parseAmzDate(amzDate) ?? Date.parse(amzDate)) : Date.parse(date);
  if (Number.isNaN(ms)) throw missingDateError();
  checkSkew(ms, now, date);
  return { authType: "header", accessKeyId: credentials.slice(0, colon), signature: credentials.slice(colon + 1) };
}

function presignedClaim(query: readonly QueryParameter[], now: number): ClaimV2 {
  const get = (name: string) => query.find((parameter) => parameter.name === name)?.value;
  const accessKeyId = get(SIGV2_QUERY_PARAMETERS.accessKeyId);
  const expires = get(SIGV2_QUERY_PARAMETERS.expires);
  const signature = get(SIGV2_QUERY_PARAMETERS.signature);
  if (accessKeyId === undefined || expires === undefined || signature === undefined) {
    throw new S3Error("AccessDenied", "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters");
  }
  if (!/^\d{1,12}$/.test(expires)) {
    throw new S3Error("AccessDenied", `Invalid date (should be seconds since epoch): ${expires}`);
  }
  const expiresMs = Number(expires) * 1000;
  if (now > expiresMs) {
    throw new S3Error("AccessDenied", "Request has expired", {
      details: { Expires: new Date(expiresMs).toISOString(), ServerTime: new Date(now).toISOString() },
    });
  }
  return { authType: "presigned", accessKeyId, signature, expires };
}

/**
 * The payload is unsigned under SigV2, but a body hash the client declared (signed among the x-amz-* headers) is
 * still checked. Chunk signatures need the SigV4 signing key, which a SigV2 request has none of.
 */
function payloadModeV2(headers: HeaderMap): PayloadMode {
  const declared = firstHeader(headers, REQUEST_HEADERS.contentSha256);
  const mode = parsePayloadHash(declared ?? PAYLOAD_HASH.unsigned);
  if (mode.kind === "aws-chunked" && mode.signedChunks) {
    throw new S3Error("InvalidRequest", `x-amz-content-sha256 ${declared} requires AWS4-HMAC-SHA256 signing; this request is signed with Signature Version 2.`);
  }
  return mode;
}

function withHoistedSignedParameters(headers: HeaderMap, query: readonly QueryParameter[]): HeaderMap {
  let merged: HeaderMap | undefined;
  for (const parameter of query) {
    const name = parameter.name.toLowerCase();
    const signed = name.startsWith("x-amz-") || name === REQUEST_HEADERS.contentType || name === REQUEST_HEADERS.contentMd5;
    if (!signed || headers.has(name)) continue;
    merged ??= new Map(headers);
    merged.set(name, [parameter.value]);
  }
  return merged ?? headers;
}
