// The checks every decoded payload byte goes through: length, x-amz-content-sha256, Content-MD5 and one
// flexible checksum (header or trailer). update() sees each byte once; finish() runs every end-of-body check.

import { createHash, type Hash } from "node:crypto";
import {
  checksumHeaderName,
  createChecksum,
  isWellFormedChecksum,
  type ChecksumAlgorithm,
  type IncrementalChecksum,
} from "../s3/checksums.js";
import { S3Error } from "../s3/errors.js";
import { streamingMd5, type StreamingMd5 } from "./md5-in-background.js";

export type ChecksumSource =
  | { algorithm: ChecksumAlgorithm; location: "header"; value: string; mismatchHint?: string }
  | { algorithm: ChecksumAlgorithm; location: "trailer" };

export interface PayloadIntegrityOptions {
  /** Exact decoded size the client announced (Content-Length or x-amz-decoded-content-length). */
  declaredLength?: number;
  /** The header that declared it, for error messages ("Content-Length" or "x-amz-decoded-content-length"). */
  declaredLengthHeader?: string;
  /** Lowercase hex SHA-256 from x-amz-content-sha256, when the payload is signed that way. */
  sha256Hex?: string;
  /** Content-MD5, already checked to be base64 of 16 bytes. */
  contentMd5Base64?: string;
  /** The one x-amz-checksum-* the client sent or announced. */
  checksum?: ChecksumSource;
  /** A further algorithm to compute for the caller (e.g. the upload's algorithm) when the client sent none. */
  computeChecksum?: ChecksumAlgorithm;
}

export interface PayloadDigests {
  md5Hex: string;
  size: number;
  /** The x-amz-checksum-* value the client sent (header or trailer), verified. */
  checksum?: { algorithm: ChecksumAlgorithm; base64: string };
  /** The algorithm asked for with computeChecksum, when the client did not send that one. */
  computedChecksum?: { algorithm: ChecksumAlgorithm; base64: string };
}

export class PayloadIntegrity {
  private readonly md5: StreamingMd5;
  private readonly sha256: Hash | undefined;
  private readonly checksum: IncrementalChecksum | undefined;
  private readonly extraChecksum: IncrementalChecksum | undefined;
  private size = 0;
  private result: PayloadDigests | undefined;

  constructor(private readonly options: PayloadIntegrityOptions) {
    this.md5 = streamingMd5(options.declaredLength);
    this.sha256 = options.sha256Hex !== undefined ? createHash("sha256") : undefined;
    this.checksum = options.checksum ? createChecksum(options.checksum.algorithm) : undefined;
    const extra = options.computeChecksum;
    this.extraChecksum = extra !== undefined && extra !== options.checksum?.algorithm ? createChecksum(extra) : undefined;
  }

  update(chunk: Uint8Array): void {
    this.size += chunk.length;
    const declared = this.options.declaredLength;
    if (declared !== undefined && this.size > declared) {
      throw new S3Error("IncompleteBody", `The request body is longer than the ${declared} bytes declared by ${this.lengthHeader()}.`);
    }
    this.md5.update(chunk);
    this.sha256?.update(chunk);
    this.checksum?.update(chunk);
    this.extraChecksum?.update(chunk);
  }

  /**
   * Pending while the background MD5 holds as many of this body's bytes as it may: the stream that calls update()
   * waits for it before taking more.
   */
  ready(): Promise<void> | undefined {
    return this.md5.ready();
  }

  /** The body failed or was abandoned: frees the background MD5. */
  discard(): void {
    this.md5.discard();
  }

  /** Runs the end-of-body checks; `trailers` maps lowercase trailer names to trimmed values. */
  async finish(trailers: ReadonlyMap<string, string>): Promise<void> {
    const declared = this.options.declaredLength;
    if (declared !== undefined && this.size !== declared) {
      throw new S3Error("IncompleteBody", `You did not provide the number of bytes specified by the ${this.lengthHeader()} HTTP header.`, {
        details: { ExpectedLength: String(declared), ReceivedLength: String(this.size) },
      });
    }
    if (this.sha256 && this.options.sha256Hex !== undefined) {
      const computed = this.sha256.digest("hex");
      if (computed !== this.options.sha256Hex) {
        throw new S3Error("XAmzContentSHA256Mismatch", undefined, {
          details: { ClientComputedContentSHA256: this.options.sha256Hex, S3ComputedContentSHA256: computed },
        });
      }
    }
    const md5 = await this.md5.digest();
    const expectedMd5 = this.options.contentMd5Base64;
    if (expectedMd5 !== undefined && md5.toString("base64") !== expectedMd5) {
      throw new S3Error("BadDigest", "The Content-MD5 you specified did not match what we received.", {
        details: { ExpectedDigest: expectedMd5, CalculatedDigest: md5.toString("base64") },
      });
    }
    let checksum: PayloadDigests["checksum"];
    const source = this.options.checksum;
    if (source && this.checksum) {
      const provided = source.location === "header" ? source.value : trailerChecksum(source.algorithm, trailers);
      const computed = this.checksum.digestBase64();
      if (computed !== provided) {
        const hint = source.location === "header" && source.mismatchHint ? ` ${source.mismatchHint}` : "";
        throw new S3Error("BadDigest", `The ${source.algorithm} you specified did not match the calculated checksum.${hint}`);
      }
      checksum = { algorithm: source.algorithm, base64: provided };
    }
    this.result = { md5Hex: md5.toString("hex"), size: this.size, checksum };
    if (this.extraChecksum && this.options.computeChecksum) {
      this.result.computedChecksum = { algorithm: this.options.computeChecksum, base64: this.extraChecksum.digestBase64() };
    }
  }

  private lengthHeader(): string {
    return this.options.declaredLengthHeader ?? "Content-Length";
  }

  digests(): PayloadDigests {
    if (!this.result) throw new Error("payload digests are only available after the body stream has ended cleanly");
    return this.result;
  }
}

function trailerChecksum(algorithm: ChecksumAlgorithm, trailers: ReadonlyMap<string, string>): string {
  const name = checksumHeaderName(algorithm);
  const value = trailers.get(name);
  if (value === undefined || value === "") {
    throw new S3Error("MalformedTrailerError", `The request declared the trailer ${name} but did not send it.`);
  }
  if (!isWellFormedChecksum(algorithm, value)) {
    throw new S3Error("InvalidRequest", `Value for ${name} trailing header is invalid.`);
  }
  return value;
}
