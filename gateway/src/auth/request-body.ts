// A request's payload as the handler sees it: aws-chunked framing removed and every declared integrity check (length,
// Content-MD5, x-amz-content-sha256, chunk and trailer signatures, one x-amz-checksum-*) done while it streams.

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
import { PayloadIntegrity, type ChecksumSource, type PayloadDigests } from "./payload-integrity.js";
import { REQUEST_HEADERS, firstHeader, type HeaderMap } from "./request-headers.js";
import type { QueryParameter } from "./sigv4.js";

export const PAYLOAD_HASH = {
  unsigned: "UNSIGNED-PAYLOAD",
  streamingSigned: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
  streamingSignedTrailer: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
  streamingUnsignedTrailer: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
} as const;

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


/**
 * `signing` is the SigV4 context that signed aws-chunked bodies are checked against (absent under SigV2, which
 * has no chunk signatures); `presigned` says the integrity headers may have come from the query.
 */
export function openVerifiedBody(
  req: IncomingMessage,
  headers: HeaderMap,
  mode: PayloadMode,
  signing: ChunkSigningContext | undefined,
  options: OpenBodyOptions,
  presigned: boolean,
): VerifiedBody {
  if (mode.kind === "aws-chunked" && mode.signedChunks && signing === undefined) {
    throw new Error("signed aws-chunked bodies need the SigV4 signing context");
  }
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
export function withHoistedIntegrityParameters(headers: HeaderMap, query: readonly QueryParameter[]): HeaderMap {
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
    this.push(chunk);
    const waiting = this.integrity.ready();
    if (waiting) waiting.then(() => callback(), callback);
    else callback();
  }

  override _flush(callback: TransformCallback): void {
    this.integrity.finish(new Map()).then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.integrity.discard();
    callback(error);
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
  const requestListeners = { data: onData, end: onEnd, error: onRequestFailure, close: onRequestClose };
  const sinkListeners = { drain: onDrain, close: onSinkClose };
  const detach = () => {
    for (const [event, listener] of Object.entries(requestListeners)) req.off(event, listener);
    for (const [event, listener] of Object.entries(sinkListeners)) sink.off(event, listener);
  };
  for (const [event, listener] of Object.entries(requestListeners)) req.on(event, listener);
  for (const [event, listener] of Object.entries(sinkListeners)) sink.on(event, listener);
}

/**
 * An AuthenticatedRequest's openBody: `open` at most once. A small body can be read, verified and failed before its
 * consumer starts iterating (the handler may still be reserving metadata); the stream keeps the error for whoever
 * reads it later, and the listener added here only stops that early error from being an unhandled 'error' event that
 * kills the process.
 */
export function openOnce(open: (options: OpenBodyOptions) => VerifiedBody): (options?: OpenBodyOptions) => VerifiedBody {
  let opened = false;
  return (options = {}) => {
    if (opened) throw new Error("openBody() may only be called once per request");
    opened = true;
    const body = open(options);
    body.stream.on("error", () => {});
    return body;
  };
}
