// Authenticates one S3 request (SigV4 header or presigned query) from node's raw IncomingMessage and hands out
// its payload as a verified stream. Handlers never read the raw request themselves.

import type { IncomingMessage } from "node:http";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import {
  checksumAlgorithmOfHeader,
  decodeStrictBase64,
  isWellFormedChecksum,
  parseChecksumAlgorithm,
  type ChecksumAlgorithm,
} from "../s3/checksums.js";
import { S3Error } from "../s3/errors.js";
import { AwsChunkedDecoder, type ChunkSigningContext } from "./aws-chunked.js";
import type { CredentialStore } from "./credentials.js";
import { PRESIGNED_PARAMETERS, formatAmzDate, parseAmzDate, parseAuthorizationHeader, parsePresignedQuery } from "./parse.js";
import { PayloadIntegrity, type ChecksumSource, type PayloadDigests } from "./payload-integrity.js";
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

export const REQUEST_HEADERS = {
  authorization: "authorization",
  amzDate: "x-amz-date",
  date: "date",
  host: "host",
  contentSha256: "x-amz-content-sha256",
  contentLength: "content-length",
  decodedContentLength: "x-amz-decoded-content-length",
  contentMd5: "content-md5",
  trailer: "x-amz-trailer",
  sdkChecksumAlgorithm: "x-amz-sdk-checksum-algorithm",
} as const;

export const PAYLOAD_HASH = {
  unsigned: "UNSIGNED-PAYLOAD",
  streamingSigned: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
  streamingSignedTrailer: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
  streamingUnsignedTrailer: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
} as const;

/** AWS's window, both directions (MaxAllowedSkewMilliseconds in its RequestTimeTooSkewed body). */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export type PayloadMode =
  | { kind: "sha256"; hex: string }
  | { kind: "unsigned" }
  | { kind: "aws-chunked"; signedChunks: boolean; trailer: boolean };

export interface OpenBodyOptions {
  /**
   * Whether x-amz-checksum-* headers are checksums of this request's body (default true). CompleteMultipartUpload
   * passes false: there the header is the checksum of the whole assembled object, not of the XML body.
   */
  checksumHeadersDescribeBody?: boolean;
  /** Also compute this algorithm when the client sent no checksum of it (reported as digests().computedChecksum). */
  computeChecksum?: ChecksumAlgorithm;
}

export interface VerifiedBody {
  /** Decoded payload bytes. Errors with an S3Error (before 'end') when any check fails. */
  stream: Readable;
  /** Decoded payload length when the client declared it (Content-Length, or x-amz-decoded-content-length for aws-chunked). */
  declaredLength: number | undefined;
  /** Valid only after `stream` ended cleanly. md5Hex is always computed (it is the ETag).
   *  checksum is the x-amz-checksum-* value the client sent (header or trailer), verified, if any. */
  digests(): PayloadDigests;
}

export interface AuthenticatedRequest {
  accessKeyId: string;
  authType: "header" | "presigned";
  /** The region of the credential scope (any region is accepted). */
  region: string;
  payloadMode: PayloadMode;
  /** Opens the request payload: aws-chunked framing removed, every declared integrity check done while streaming.
   *  Throws S3Error for malformed integrity headers (Content-MD5, x-amz-checksum-*, x-amz-trailer). Call at most once. */
  openBody(options?: OpenBodyOptions): VerifiedBody;
}

export async function verifyRequest(
  req: IncomingMessage,
  credentials: CredentialStore,
  options: { now?: number } = {},
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
  const hasQueryV2 = query.some((parameter) => parameter.name === "AWSAccessKeyId") && query.some((parameter) => parameter.name === "Signature");
  if (authorization !== undefined && (hasQueryV4 || hasQueryV2)) {
    throw new S3Error(
      "InvalidArgument",
      "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
      { details: { ArgumentName: "Authorization", ArgumentValue: authorization } },
    );
  }

  let claim: SignatureClaim;
  if (authorization !== undefined) {
    if (/^AWS [^ ]/.test(authorization)) throw signatureV2NotSupported();
    if (!authorization.startsWith(`${SIGV4_ALGORITHM} `)) {
      throw new S3Error("InvalidArgument", "Unsupported Authorization Type", {
        details: { ArgumentName: "Authorization", ArgumentValue: authorization },
      });
    }
    claim = headerClaim(authorization, headers, now);
  } else if (hasQueryV4) {
    claim = presignedClaim(query, headers, now);
  } else if (hasQueryV2) {
    throw signatureV2NotSupported();
  } else {
    // Anonymous access (public buckets) is not supported yet.
    throw new S3Error("AccessDenied");
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
  let opened = false;
  return {
    accessKeyId: claim.accessKeyId,
    authType: claim.authType,
    region: claim.scope.region,
    payloadMode,
    openBody(openOptions: OpenBodyOptions = {}): VerifiedBody {
      if (opened) throw new Error("openBody() may only be called once per request");
      opened = true;
      const integrityHeaders = claim.authType === "presigned" ? withHoistedIntegrityParameters(headers, query) : headers;
      const body = openVerifiedBody(req, integrityHeaders, payloadMode, signing, openOptions, claim.authType === "presigned");
      // A small body can be read, verified and failed before its consumer starts iterating (the handler may
      // still be reserving metadata). The stream keeps the error and hands it to whoever reads it later; this
      // listener only stops that early error from being an unhandled 'error' event that kills the process.
      body.stream.on("error", () => {});
      return body;
    },
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
  const invalid = () => new S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
  const amzDate = firstHeader(headers, REQUEST_HEADERS.amzDate);
  if (amzDate !== undefined) {
    const ms = parseAmzDate(amzDate.trim());
    if (ms === undefined) throw invalid();
    return { amzDate: amzDate.trim(), ms };
  }
  const date = firstHeader(headers, REQUEST_HEADERS.date);
  if (date === undefined) throw invalid();
  const ms = Date.parse(date);
  if (Number.isNaN(ms)) throw invalid();
  return { amzDate: formatAmzDate(ms), ms };
}

function checkSkew(requestMs: number, now: number, requestTime: string): void {
  if (Math.abs(now - requestMs) > MAX_CLOCK_SKEW_MS) throw skewError(requestTime, now);
}

function skewError(requestTime: string, now: number): S3Error {
  return new S3Error("RequestTimeTooSkewed", undefined, {
    details: {
      RequestTime: requestTime,
      ServerTime: new Date(now).toISOString(),
      MaxAllowedSkewMilliseconds: String(MAX_CLOCK_SKEW_MS),
    },
  });
}

/**
 * AWS's own answer in regions without SigV2. s3cmd recognises this exact message and switches to (and stays on)
 * SigV4, so its v2 fallback cannot loop.
 */
function signatureV2NotSupported(): S3Error {
  return new S3Error("InvalidRequest", "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.");
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

export function parsePayloadHash(value: string): PayloadMode {
  switch (value) {
    case PAYLOAD_HASH.unsigned:
      return { kind: "unsigned" };
    case PAYLOAD_HASH.streamingSigned:
      return { kind: "aws-chunked", signedChunks: true, trailer: false };
    case PAYLOAD_HASH.streamingSignedTrailer:
      return { kind: "aws-chunked", signedChunks: true, trailer: true };
    case PAYLOAD_HASH.streamingUnsignedTrailer:
      return { kind: "aws-chunked", signedChunks: false, trailer: true };
  }
  if (/^[0-9a-fA-F]{64}$/.test(value)) return { kind: "sha256", hex: value.toLowerCase() };
  throw new S3Error(
    "InvalidArgument",
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.",
    { details: { ArgumentName: "x-amz-content-sha256", ArgumentValue: value } },
  );
}

function openVerifiedBody(
  req: IncomingMessage,
  headers: HeaderMap,
  mode: PayloadMode,
  signing: ChunkSigningContext,
  options: OpenBodyOptions,
  presigned: boolean,
): VerifiedBody {
  const chunked = mode.kind === "aws-chunked";
  const declaredLengthHeader = chunked ? REQUEST_HEADERS.decodedContentLength : REQUEST_HEADERS.contentLength;
  const declaredLength = parseLength(firstHeader(headers, declaredLengthHeader), declaredLengthHeader);
  const declaredTrailers = parseTrailerDeclaration(firstHeader(headers, REQUEST_HEADERS.trailer), mode);
  const checksum = declaredChecksum(headers, declaredTrailers, options.checksumHeadersDescribeBody ?? true, presigned);
  const integrity = new PayloadIntegrity({
    declaredLength,
    declaredLengthHeader: chunked ? "x-amz-decoded-content-length" : "Content-Length",
    sha256Hex: mode.kind === "sha256" ? mode.hex : undefined,
    contentMd5Base64: contentMd5(headers),
    checksum,
    computeChecksum: options.computeChecksum,
  });
  const decoder: Transform = chunked
    ? new AwsChunkedDecoder({
        integrity,
        signing: mode.signedChunks ? signing : undefined,
        trailersAllowed: mode.trailer,
        declaredTrailers: new Set(declaredTrailers),
      })
    : new PlainBodyVerifier(integrity);
  feedRequestBody(req, decoder);
  return {
    stream: decoder,
    declaredLength,
    digests: () => integrity.digests(),
  };
}

function parseLength(value: string | undefined, headerName: string): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!/^\d{1,16}$/.test(trimmed) || !Number.isSafeInteger(Number(trimmed))) {
    throw new S3Error("InvalidArgument", `The ${headerName} header is not a valid length.`, {
      details: { ArgumentName: headerName, ArgumentValue: value },
    });
  }
  return Number(trimmed);
}

function contentMd5(headers: HeaderMap): string | undefined {
  const value = firstHeader(headers, REQUEST_HEADERS.contentMd5);
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (decodeStrictBase64(trimmed)?.length !== 16) throw new S3Error("InvalidDigest");
  return trimmed;
}

function parseTrailerDeclaration(value: string | undefined, mode: PayloadMode): string[] {
  if (value === undefined) return [];
  const names = value
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== "");
  if (names.length > 0 && !(mode.kind === "aws-chunked" && mode.trailer)) {
    throw new S3Error("InvalidRequest", "x-amz-trailer requires x-amz-content-sha256 to be a STREAMING-*-TRAILER value.");
  }
  for (const name of names) {
    if (checksumAlgorithmOfHeader(name) === undefined) {
      throw new S3Error("InvalidRequest", `The value specified in the x-amz-trailer header is not supported: ${name}`);
    }
  }
  return names;
}

const PRESIGNED_CHECKSUM_HINT =
  "The checksum was part of the presigned request; the AWS SDK for JavaScript v3 (3.729 and later) presigns the checksum of an empty body unless the presigning client sets requestChecksumCalculation: \"WHEN_REQUIRED\".";

/**
 * Presigners hoist integrity headers into the query (x-amz-checksum-crc32, x-amz-sdk-checksum-algorithm,
 * Content-MD5); for the body checks they count as headers. A real header of the same name wins.
 */
function withHoistedIntegrityParameters(headers: HeaderMap, query: readonly QueryParameter[]): HeaderMap {
  let merged: HeaderMap | undefined;
  for (const parameter of query) {
    const name = parameter.name.toLowerCase();
    const hoistable =
      checksumAlgorithmOfHeader(name) !== undefined || name === REQUEST_HEADERS.sdkChecksumAlgorithm || name === REQUEST_HEADERS.contentMd5;
    if (!hoistable || headers.has(name)) continue;
    merged ??= new Map(headers);
    merged.set(name, [parameter.value]);
  }
  return merged ?? headers;
}

const MULTIPLE_CHECKSUMS = "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.";

/** The single x-amz-checksum-* the client committed to, from a header or an announced trailer. */
function declaredChecksum(
  headers: HeaderMap,
  declaredTrailers: readonly string[],
  headersDescribeBody: boolean,
  presigned: boolean,
): ChecksumSource | undefined {
  const fromHeaders: ChecksumSource[] = [];
  if (headersDescribeBody) {
    for (const [name, values] of headers) {
      const algorithm = checksumAlgorithmOfHeader(name);
      if (algorithm === undefined) continue;
      const value = (values.length === 1 ? values[0]! : values.join(",")).trim();
      if (!isWellFormedChecksum(algorithm, value)) {
        throw new S3Error("InvalidRequest", `Value for ${name} header is invalid.`);
      }
      fromHeaders.push({ algorithm, location: "header", value, mismatchHint: presigned ? PRESIGNED_CHECKSUM_HINT : undefined });
    }
  }
  const fromTrailers: ChecksumSource[] = declaredTrailers.map((name) => ({
    algorithm: checksumAlgorithmOfHeader(name)!,
    location: "trailer",
  }));
  const all = [...fromHeaders, ...fromTrailers];
  if (all.length > 1) throw new S3Error("InvalidRequest", MULTIPLE_CHECKSUMS);
  const chosen = all[0];

  const sdkAlgorithmName = firstHeader(headers, REQUEST_HEADERS.sdkChecksumAlgorithm);
  if (sdkAlgorithmName !== undefined && headersDescribeBody) {
    const sdkAlgorithm = parseChecksumAlgorithm(sdkAlgorithmName);
    if (sdkAlgorithm === undefined) throw new S3Error("InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid.");
    if (chosen?.algorithm !== sdkAlgorithm) {
      throw new S3Error(
        "InvalidRequest",
        "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.",
      );
    }
  }
  return chosen;
}

/** Plain (not aws-chunked) payloads: bytes pass through untouched while PayloadIntegrity watches them. */
class PlainBodyVerifier extends Transform {
  constructor(private readonly integrity: PayloadIntegrity) {
    super({ readableHighWaterMark: 1024 * 1024, writableHighWaterMark: 256 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.integrity.update(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.integrity.finish(new Map());
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}

/**
 * Moves the request body into `sink` with backpressure. Not stream.pipeline(): when the sink fails (bad chunk
 * signature, digest mismatch) pipeline would destroy the request, which destroys the socket, and the client would
 * get a connection reset instead of the S3 error response. Here the request is left intact and drained instead,
 * so the error can still be answered (the error responder should add `Connection: close` when the body is unread).
 * A request that dies (client disconnect) fails the sink with IncompleteBody.
 */
function feedRequestBody(req: IncomingMessage, sink: Transform): void {
  if (req.readableEnded) {
    sink.end();
    return;
  }
  const onData = (chunk: Buffer) => {
    if (sink.destroyed) return;
    if (!sink.write(chunk)) req.pause();
  };
  const onDrain = () => req.resume();
  const onEnd = () => {
    detach();
    sink.end();
  };
  const onRequestFailure = (error?: Error) => {
    detach();
    sink.destroy(new S3Error("IncompleteBody", "The request body terminated unexpectedly", { cause: error }));
  };
  const onRequestClose = () => {
    if (!req.readableEnded) onRequestFailure();
  };
  const onSinkClose = () => {
    // The consumer gave up or verification failed: discard the rest so the connection can carry the response.
    detach();
    if (!req.readableEnded) req.resume();
  };
  const detach = () => {
    req.off("data", onData);
    req.off("end", onEnd);
    req.off("error", onRequestFailure);
    req.off("close", onRequestClose);
    sink.off("drain", onDrain);
    sink.off("close", onSinkClose);
  };
  req.on("data", onData);
  req.on("end", onEnd);
  req.on("error", onRequestFailure);
  req.on("close", onRequestClose);
  sink.on("drain", onDrain);
  sink.on("close", onSinkClose);
}

type HeaderMap = Map<string, string[]>;

/** Every header value as sent (node's req.headers drops or merges duplicates in header-specific ways). */
function collectHeaders(rawHeaders: readonly string[]): HeaderMap {
  const headers: HeaderMap = new Map();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const values = headers.get(name);
    if (values) values.push(rawHeaders[i + 1]!);
    else headers.set(name, [rawHeaders[i + 1]!]);
  }
  return headers;
}

function firstHeader(headers: HeaderMap, name: string): string | undefined {
  return headers.get(name)?.[0];
}
