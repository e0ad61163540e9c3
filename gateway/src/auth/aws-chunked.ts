// Decoder for `Content-Encoding: aws-chunked` bodies (the STREAMING-* payload modes):
//   <hex-size>[;chunk-signature=<sig>]\r\n<data>\r\n ... 0[;chunk-signature=<sig>]\r\n[<trailer>:<value>\r\n ...]\r\n
// Data is passed on as slices of the incoming buffers (no per-chunk copies). Signed chunks are hashed as they stream
// and their signature checked when the chunk ends; a bad signature fails the stream before it can end, which is
// what consumers rely on (they commit only after a clean end), so chunks are not held back until verified.

import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { S3Error } from "../s3/errors.js";
import type { PayloadIntegrity } from "./payload-integrity.js";
import {
  EMPTY_SHA256_HEX,
  canonicalTrailer,
  chunkStringToSign,
  sha256Hex,
  signHex,
  signaturesEqual,
  trailerStringToSign,
  type CredentialScope,
} from "./sigv4.js";

export const MAX_CHUNK_LINE_BYTES = 4096;
export const MAX_SIGNED_CHUNK_BYTES = 16 * 1024 * 1024;
/**
 * The JS SDK frames each read of the caller's stream as one chunk, so an unsigned chunk can be as large as a
 * single buffer the caller pushed. Unsigned chunks stream through without being held, so only the S3 single
 * PUT limit bounds them.
 */
export const MAX_UNSIGNED_CHUNK_BYTES = 5 * 1024 * 1024 * 1024;
const MAX_TRAILERS = 16;
const TRAILER_SIGNATURE = "x-amz-trailer-signature";

export interface ChunkSigningContext {
  signingKey: Buffer;
  amzDate: string;
  scope: CredentialScope;
  /** The request signature; the first chunk's signature chains from it. */
  seedSignature: string;
}

export interface AwsChunkedDecoderOptions {
  integrity: PayloadIntegrity;
  /** Present for STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: every chunk carries a chained signature. */
  signing?: ChunkSigningContext;
  /** The -TRAILER modes: trailers may follow the final chunk (signed with x-amz-trailer-signature when `signing`). */
  trailersAllowed: boolean;
  /** Lowercase trailer names announced in x-amz-trailer; any other trailer is rejected. */
  declaredTrailers: ReadonlySet<string>;
  maxChunkBytes?: number;
}

type DecoderState = "size-line" | "data" | "data-cr" | "data-lf" | "trailer-line" | "done";

export class AwsChunkedDecoder extends Transform {
  private readonly integrity: PayloadIntegrity;
  private readonly signing: ChunkSigningContext | undefined;
  private readonly trailersAllowed: boolean;
  private readonly declaredTrailers: ReadonlySet<string>;
  private readonly maxChunkBytes: number;

  private state: DecoderState = "size-line";
  private pendingLine: Buffer[] = [];
  private pendingLineBytes = 0;
  private chunkRemaining = 0;
  private chunkHash: Hash | undefined;
  private chunkSignature = "";
  private previousSignature: string;
  private readonly trailers: Array<[string, string]> = [];
  private trailerSignature: string | undefined;

  constructor(options: AwsChunkedDecoderOptions) {
    super({ readableHighWaterMark: 1024 * 1024, writableHighWaterMark: 256 * 1024 });
    this.integrity = options.integrity;
    this.signing = options.signing;
    this.trailersAllowed = options.trailersAllowed;
    this.declaredTrailers = options.declaredTrailers;
    this.maxChunkBytes = options.maxChunkBytes ?? (options.signing ? MAX_SIGNED_CHUNK_BYTES : MAX_UNSIGNED_CHUNK_BYTES);
    this.previousSignature = options.signing?.seedSignature.toLowerCase() ?? "";
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.decode(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    const waiting = this.integrity.ready();
    if (waiting) waiting.then(() => callback(), callback);
    else callback();
  }

  override _flush(callback: TransformCallback): void {
    let finished: Promise<void>;
    try {
      finished = this.finish();
    } catch (error) {
      callback(error as Error);
      return;
    }
    finished.then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.integrity.discard();
    callback(error);
  }

  private decode(input: Buffer): void {
    const length = input.length;
    let i = 0;
    while (i < length) {
      switch (this.state) {
        case "size-line":
        case "trailer-line": {
          const newline = input.indexOf(0x0a, i);
          const lineEnd = newline < 0 ? length : newline;
          if (this.pendingLineBytes + (lineEnd - i) > MAX_CHUNK_LINE_BYTES) {
            throw framingError(`A chunk header or trailer line is longer than ${MAX_CHUNK_LINE_BYTES} bytes.`);
          }
          if (newline < 0) {
            this.pendingLine.push(input.subarray(i));
            this.pendingLineBytes += length - i;
            i = length;
            break;
          }
          const line = this.takeLine(input.subarray(i, newline));
          i = newline + 1;
          if (this.state === "size-line") this.onSizeLine(line);
          else this.onTrailerLine(line);
          break;
        }
        case "data": {
          const take = Math.min(this.chunkRemaining, length - i);
          const slice = input.subarray(i, i + take);
          this.integrity.update(slice);
          this.chunkHash?.update(slice);
          this.push(slice);
          this.chunkRemaining -= take;
          i += take;
          if (this.chunkRemaining === 0) {
            this.verifyChunkSignature(this.chunkHash?.digest("hex"));
            this.state = "data-cr";
          }
          break;
        }
        case "data-cr": {
          const byte = input[i++];
          if (byte === 0x0d) this.state = "data-lf";
          else if (byte === 0x0a) this.state = "size-line";
          else throw framingError("A chunk's data is not followed by CRLF.");
          break;
        }
        case "data-lf": {
          if (input[i++] !== 0x0a) throw framingError("A chunk's data is not followed by CRLF.");
          this.state = "size-line";
          break;
        }
        case "done": {
          const byte = input[i];
          if (byte === 0x0d || byte === 0x0a) {
            i++;
          } else if (this.trailersAllowed && !this.sawTrailerSection()) {
            // Some encoders end the zero-size chunk with its (empty) data CRLF before the trailers.
            this.state = "trailer-line";
          } else {
            throw framingError("Data follows the final chunk.");
          }
          break;
        }
      }
    }
  }

  private takeLine(tail: Buffer): string {
    let bytes = tail;
    if (this.pendingLineBytes > 0) {
      this.pendingLine.push(tail);
      bytes = Buffer.concat(this.pendingLine, this.pendingLineBytes + tail.length);
      this.pendingLine = [];
      this.pendingLineBytes = 0;
    }
    const text = bytes.toString("latin1");
    return text.endsWith("\r") ? text.slice(0, -1) : text;
  }

  private onSizeLine(line: string): void {
    const semicolon = line.indexOf(";");
    const sizeText = (semicolon >= 0 ? line.slice(0, semicolon) : line).trim();
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeText)) throw framingError("A chunk size is not a hexadecimal number.");
    const size = Number.parseInt(sizeText, 16);
    if (size > this.maxChunkBytes) {
      throw new S3Error("InvalidRequest", `An aws-chunked chunk is larger than the maximum of ${this.maxChunkBytes} bytes.`);
    }
    if (this.signing) {
      const signature = semicolon >= 0 ? chunkSignatureExtension(line.slice(semicolon + 1)) : undefined;
      if (signature === undefined) throw new S3Error("SignatureDoesNotMatch", "A chunk of a signed aws-chunked body has no chunk-signature.");
      this.chunkSignature = signature;
    }
    if (size === 0) {
      this.verifyChunkSignature(EMPTY_SHA256_HEX);
      this.state = "trailer-line";
      return;
    }
    this.chunkRemaining = size;
    this.chunkHash = this.signing ? createHash("sha256") : undefined;
    this.state = "data";
  }

  private verifyChunkSignature(chunkSha256Hex: string | undefined): void {
    const signing = this.signing;
    if (!signing || chunkSha256Hex === undefined) return;
    const stringToSign = chunkStringToSign(signing.amzDate, signing.scope, this.previousSignature, chunkSha256Hex);
    const expected = signHex(signing.signingKey, stringToSign);
    if (!signaturesEqual(expected, this.chunkSignature)) {
      throw new S3Error("SignatureDoesNotMatch", "The chunk signature we calculated does not match the chunk-signature you provided.");
    }
    this.previousSignature = expected;
  }

  private onTrailerLine(line: string): void {
    if (line.trim() === "") {
      this.state = "done";
      return;
    }
    if (!this.trailersAllowed) throw new S3Error("MalformedTrailerError", "This payload mode does not allow trailers.");
    const colon = line.indexOf(":");
    if (colon <= 0) throw new S3Error("MalformedTrailerError");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === TRAILER_SIGNATURE) {
      if (!this.signing) throw new S3Error("MalformedTrailerError", "An unsigned payload carries a trailer signature.");
      this.trailerSignature = value;
      return;
    }
    if (!this.declaredTrailers.has(name)) {
      throw new S3Error("MalformedTrailerError", `The trailer ${name} was not declared in x-amz-trailer.`);
    }
    if (this.trailers.length >= MAX_TRAILERS || this.trailers.some(([seen]) => seen === name)) {
      throw new S3Error("MalformedTrailerError");
    }
    this.trailers.push([name, value]);
  }

  private sawTrailerSection(): boolean {
    return this.trailers.length > 0 || this.trailerSignature !== undefined;
  }

  private finish(): Promise<void> {
    // Tolerated endings seen in the wild: no CRLF after the final size line, no blank line after the trailers.
    if (this.pendingLineBytes > 0 && (this.state === "size-line" || this.state === "trailer-line")) {
      const line = this.takeLine(Buffer.alloc(0));
      if (this.state === "size-line") this.onSizeLine(line);
      else this.onTrailerLine(line);
    }
    if (this.state !== "trailer-line" && this.state !== "done") {
      throw framingError("The request body terminated unexpectedly");
    }
    if (this.signing && this.trailersAllowed) this.verifyTrailerSignature(this.signing);
    return this.integrity.finish(new Map(this.trailers));
  }

  private verifyTrailerSignature(signing: ChunkSigningContext): void {
    if (this.trailers.length === 0 && this.trailerSignature === undefined) return;
    if (this.trailerSignature === undefined) {
      throw new S3Error("SignatureDoesNotMatch", "The signed trailer has no x-amz-trailer-signature.");
    }
    const stringToSign = trailerStringToSign(
      signing.amzDate,
      signing.scope,
      this.previousSignature,
      sha256Hex(canonicalTrailer(this.trailers)),
    );
    if (!signaturesEqual(signHex(signing.signingKey, stringToSign), this.trailerSignature)) {
      throw new S3Error("SignatureDoesNotMatch", "The trailer signature we calculated does not match the x-amz-trailer-signature you provided.");
    }
  }
}

function framingError(message: string): S3Error {
  return new S3Error("IncompleteBody", message);
}

/** The 64-hex value of `chunk-signature=` among `;`-separated chunk extensions. */
function chunkSignatureExtension(extensions: string): string | undefined {
  for (const extension of extensions.split(";")) {
    const equals = extension.indexOf("=");
    if (equals < 0 || extension.slice(0, equals).trim() !== "chunk-signature") continue;
    const value = extension.slice(equals + 1).trim();
    return /^[0-9a-fA-F]{64}$/.test(value) ? value : undefined;
  }
  return undefined;
}
