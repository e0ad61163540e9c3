// Authenticates one S3 request (SigV4 header or presigned query; SigV2 in verify-v2.ts) from node's raw IncomingMessage and hands out
// its payload as a verified stream. Handlers never read the raw request themselves.

import type { IncomingMessage } from "node:http";
import { S3Error } from "../s3/errors.js";
import type { ChunkSigningContext } from "./aws-chunked.js";
import type { CredentialStore } from "./credentials.js";
import { PRESIGNED_PARAMETERS, formatAmzDate, parseAmzDate, parseAuthorizationHeader, parsePresignedQuery } from "./parse.js";
import {
  PAYLOAD_HASH,
  openOnce,
  openVerifiedBody,
  parsePayloadHash,
  withHoistedIntegrityParameters,
  type OpenBodyOptions,
  type PayloadMode,
  type VerifiedBody,
} from "./request-body.js";
import {
  MAX_CLOCK_SKEW_MS,
  REQUEST_HEADERS,
  checkSkew,
  collectHeaders,
  firstHeader,
  missingDateError,
  skewError,
  type HeaderMap,
} from "./request-headers.js";
import {
  SIGV4_ALGORITHM,
  canonicalHeaderValue,
  canonicalQueryString,
  canonicalRequest,
  canonicalUriCandidates,
  deriveSigningKey,
  parseRawQuery,
  requestStringToSign,
  signHex,
  signaturesEqual,
  splitRequestTarget,
  type CredentialScope,
  type QueryParameter,
} from "./sigv4.js";
import { SIGV2_AUTHORIZATION_PREFIX, SIGV2_QUERY_PARAMETERS, verifyRequestV2 } from "./verify-v2.js";

export type { OpenBodyOptions, PayloadMode, VerifiedBody } from "./request-body.js";

export interface AuthenticatedRequest {
  /** Undefined for an anonymous request (no signature at all), which access control may still let through. */
  accessKeyId: string | undefined;
  authType: "header" | "presigned" | "anonymous";
  /** 0: anonymous. */
  signatureVersion: 0 | 2 | 4;
  /** The region of the SigV4 credential scope; undefined under SigV2, which names none. */
  region: string | undefined;
  payloadMode: PayloadMode;
  /** Opens the request payload: aws-chunked framing removed, every declared integrity check done while streaming.
   *  Throws S3Error for malformed integrity headers (Content-MD5, x-amz-checksum-*, x-amz-trailer). Call at most once. */
  openBody(options?: OpenBodyOptions): VerifiedBody;
}

export async function verifyRequest(
  req: IncomingMessage,
  credentials: CredentialStore,
  options: {
    now?: number;
    /** The bucket the Host header names (virtual-hosted style): SigV2 signs it as part of the resource. */
    virtualHostBucket?: string;
  } = {},
): Promise<AuthenticatedRequest> {
  const now = options.now ?? Date.now();
  const target = splitRequestTarget(req.url ?? "/");
  const query = parseRawQuery(target.rawQuery);
  const headers = collectHeaders(req.rawHeaders);
  const method = (req.method ?? "GET").toUpperCase();

  const authorization = firstHeader(headers, REQUEST_HEADERS.authorization);
  const hasQueryV4 = query.some(
    (parameter) =>
      parameter.name === PRESIGNED_PARAMETERS.algorithm ||
      parameter.name === PRESIGNED_PARAMETERS.signature ||
      parameter.name === PRESIGNED_PARAMETERS.credential,
  );
  const hasQueryV2 = query.some(
    (parameter) => parameter.name === SIGV2_QUERY_PARAMETERS.accessKeyId || parameter.name === SIGV2_QUERY_PARAMETERS.signature,
  );
  if (authorization !== undefined && (hasQueryV4 || hasQueryV2)) {
    throw new S3Error(
      "InvalidArgument",
      "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
      { details: { ArgumentName: "Authorization", ArgumentValue: authorization } },
    );
  }

  const isV2 = authorization !== undefined ? authorization.startsWith(SIGV2_AUTHORIZATION_PREFIX) : !hasQueryV4 && hasQueryV2;
  if (isV2) {
    const request = { req, method, target, query, headers, virtualHostBucket: options.virtualHostBucket, now };
    return verifyRequestV2(request, credentials);
  }
  let claim: SignatureClaim;
  if (authorization !== undefined) {
    if (!authorization.startsWith(`${SIGV4_ALGORITHM} `)) {
      throw new S3Error("InvalidArgument", "Unsupported Authorization Type", {
        details: { ArgumentName: "Authorization", ArgumentValue: authorization },
      });
    }
    claim = headerClaim(authorization, headers, now);
  } else if (hasQueryV4) {
    claim = presignedClaim(query, headers, now);
  } else {
    return anonymousRequest(req, headers);
  }

  requireSignedHeaders(claim.signedHeaders, headers);

  const secret = await credentials.secretFor(claim.accessKeyId);
  if (secret === undefined) {
    throw new S3Error("InvalidAccessKeyId", undefined, { details: { AWSAccessKeyId: claim.accessKeyId } });
  }
  const signingKey = deriveSigningKey(secret, claim.scope);
  const canonicalHeaders = claim.signedHeaders.map((name) => [name, canonicalHeaderValue(headers.get(name.toLowerCase()) ?? [])] as const);
  const canonicalQuery = canonicalQueryString(query, claim.authType === "presigned" ? PRESIGNED_PARAMETERS.signature : undefined);

  let firstAttempt: { canonicalRequest: string; stringToSign: string } | undefined;
  let verified = false;
  for (const canonicalUri of canonicalUriCandidates(target.rawPath)) {
    const canonicalRequestText = canonicalRequest({
      method,
      canonicalUri,
      canonicalQuery,
      headers: canonicalHeaders,
      payloadHash: claim.canonicalPayloadHash,
    });
    const stringToSign = requestStringToSign(claim.amzDate, claim.scope, canonicalRequestText);
    firstAttempt ??= { canonicalRequest: canonicalRequestText, stringToSign };
    if (signaturesEqual(signHex(signingKey, stringToSign), claim.signature)) {
      verified = true;
      break;
    }
  }
  if (!verified) {
    throw new S3Error("SignatureDoesNotMatch", undefined, {
      details: {
        AWSAccessKeyId: claim.accessKeyId,
        SignatureProvided: claim.signature,
        StringToSign: firstAttempt?.stringToSign ?? "",
        CanonicalRequest: firstAttempt?.canonicalRequest ?? "",
      },
    });
  }

  const payloadMode = parsePayloadHash(claim.bodyPayloadHash);
  const signing: ChunkSigningContext = {
    signingKey,
    amzDate: claim.amzDate,
    scope: claim.scope,
    seedSignature: claim.signature,
  };
  return {
    accessKeyId: claim.accessKeyId,
    authType: claim.authType,
    signatureVersion: 4,
    region: claim.scope.region,
    payloadMode,
    openBody: openOnce((openOptions) => {
      const integrityHeaders = claim.authType === "presigned" ? withHoistedIntegrityParameters(headers, query) : headers;
      return openVerifiedBody(req, integrityHeaders, payloadMode, signing, openOptions, claim.authType === "presigned");
    }),
  };
}

/**
 * A request without any signature: who may do what anonymously is for access control to say. Its body is checked as
 * an unsigned one (Content-MD5, a hex x-amz-content-sha256, x-amz-checksum-*); signed chunks have nothing to check.
 */
function anonymousRequest(req: IncomingMessage, headers: HeaderMap): AuthenticatedRequest {
  const payloadMode = parsePayloadHash(firstHeader(headers, REQUEST_HEADERS.contentSha256) ?? PAYLOAD_HASH.unsigned);
  if (payloadMode.kind === "aws-chunked" && payloadMode.signedChunks) {
    throw new S3Error("InvalidRequest", "A request with a signed chunked body must carry a signature.");
  }
  return {
    accessKeyId: undefined,
    authType: "anonymous",
    signatureVersion: 0,
    region: undefined,
    payloadMode,
    openBody: openOnce((options) => openVerifiedBody(req, headers, payloadMode, undefined, options, false)),
  };
}

interface SignatureClaim {
  authType: "header" | "presigned";
  accessKeyId: string;
  scope: CredentialScope;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  /** The last line of the canonical request. */
  canonicalPayloadHash: string;
  /** What the body is checked against (differs from the above only for presigned requests). */
  bodyPayloadHash: string;
}

function headerClaim(authorization: string, headers: HeaderMap, now: number): SignatureClaim {
  const fields = parseAuthorizationHeader(authorization);
  const { amzDate, ms } = requestTimestamp(headers);
  if (fields.scope.date !== amzDate.slice(0, 8)) {
    throw new S3Error(
      "AuthorizationHeaderMalformed",
      `The authorization header is malformed; Invalid credential date "${fields.scope.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
    );
  }
  checkSkew(ms, now, amzDate);
  const payloadHash = firstHeader(headers, REQUEST_HEADERS.contentSha256);
  if (payloadHash === undefined) {
    throw new S3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256");
  }
  parsePayloadHash(payloadHash);
  return {
    authType: "header",
    ...fields,
    amzDate,
    canonicalPayloadHash: payloadHash,
    bodyPayloadHash: payloadHash,
  };
}

function presignedClaim(query: readonly QueryParameter[], headers: HeaderMap, now: number): SignatureClaim {
  const fields = parsePresignedQuery(query);
  const ms = parseAmzDate(fields.amzDate)!;
  if (fields.scope.date !== fields.amzDate.slice(0, 8)) {
    throw new S3Error(
      "AuthorizationQueryParametersError",
      `Invalid credential date "${fields.scope.date}". This date is not the same as X-Amz-Date: "${fields.amzDate.slice(0, 8)}".`,
    );
  }
  if (ms - now > MAX_CLOCK_SKEW_MS) {
    throw skewError(fields.amzDate, now);
  }
  const expiresAt = ms + fields.expiresSeconds * 1000;
  if (now > expiresAt) {
    throw new S3Error("AccessDenied", "Request has expired", {
      details: {
        "X-Amz-Expires": String(fields.expiresSeconds),
        Expires: new Date(expiresAt).toISOString(),
        ServerTime: new Date(now).toISOString(),
      },
    });
  }
  const canonicalPayloadHash = fields.payloadHash ?? PAYLOAD_HASH.unsigned;
  parsePayloadHash(canonicalPayloadHash);
  // A presigned upload may still carry a (signed) x-amz-content-sha256 header describing its body.
  const headerPayloadHash = firstHeader(headers, REQUEST_HEADERS.contentSha256);
  const bodyPayloadHash = fields.payloadHash ?? headerPayloadHash ?? PAYLOAD_HASH.unsigned;
  parsePayloadHash(bodyPayloadHash);
  return {
    authType: "presigned",
    accessKeyId: fields.accessKeyId,
    scope: fields.scope,
    signedHeaders: fields.signedHeaders,
    signature: fields.signature,
    amzDate: fields.amzDate,
    canonicalPayloadHash,
    bodyPayloadHash,
  };
}

/** x-amz-date, else Date; returned in the yyyymmddThhmmssZ form the string to sign uses. */
function requestTimestamp(headers: HeaderMap): { amzDate: string; ms: number } {
  const amzDate = firstHeader(headers, REQUEST_HEADERS.amzDate);
  if (amzDate !== undefined) {
    const ms = parseAmzDate(amzDate.trim());
    if (ms === undefined) throw missingDateError();
    return { amzDate: amzDate.trim(), ms };
  }
  const date = firstHeader(headers, REQUEST_HEADERS.date);
  if (date === undefined) throw missingDateError();
  const ms = Date.parse(date);
  if (Number.isNaN(ms)) throw missingDateError();
  return { amzDate: formatAmzDate(ms), ms };
}

/**
 * Host must be signed, and so must every x-amz-* header present (as S3 enforces): otherwise a captured request
 * could be replayed with e.g. x-amz-copy-source or x-amz-acl added. x-amz-content-sha256 is exempt, as on S3:
 * the body is checked against it, and header auth puts it in the canonical request's payload line anyway.
 */
function requireSignedHeaders(signedHeaders: readonly string[], headers: HeaderMap): void {
  const signed = new Set(signedHeaders.map((name) => name.toLowerCase()));
  const unsigned: string[] = [];
  if (!signed.has(REQUEST_HEADERS.host)) unsigned.push(REQUEST_HEADERS.host);
  for (const name of headers.keys()) {
    if (name.startsWith("x-amz-") && name !== REQUEST_HEADERS.contentSha256 && !signed.has(name)) unsigned.push(name);
  }
  if (unsigned.length > 0) {
    throw new S3Error("AccessDenied", "There were headers present in the request which were not signed", {
      details: { HeadersNotSigned: unsigned.join(", ") },
    });
  }
}
