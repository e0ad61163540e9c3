// Checksums of multipart uploads (x-amz-checksum-algorithm / x-amz-checksum-type on CreateMultipartUpload): every part
// carries a checksum of the upload's algorithm, and completion gives the object one. COMPOSITE = the checksum of the
// concatenated part digests, "-N"; FULL_OBJECT (CRC algorithms only) = the CRC of the whole object, combined from the
// part CRCs without reading the data.
import type { IncomingHttpHeaders } from "node:http";
import type { ChecksumType, MultipartUpload, UploadedPart } from "../../../meta/src/types.js";
import type { PayloadDigests } from "../auth/payload-integrity.js";
import {
  CHECKSUM_ALGORITHMS,
  checksumHeaderName,
  combineCrcs,
  compositeChecksum,
  isCrcAlgorithm,
  parseChecksumAlgorithm,
  type ChecksumAlgorithm,
} from "../s3/checksums.js";
import { S3Error } from "../s3/errors.js";
import { H, headerValue } from "../s3/headers.js";
import type { XmlObject } from "../s3/xml.js";

export interface UploadChecksum {
  algorithm: ChecksumAlgorithm;
  type: ChecksumType;
}

/** x-amz-checksum-type given an algorithm, with AWS's defaults and restrictions. */
export function uploadChecksumType(headers: IncomingHttpHeaders, algorithm: ChecksumAlgorithm | undefined): ChecksumType | undefined {
  const requested = headerValue(headers, H.checksumType)?.trim().toUpperCase();
  if (algorithm === undefined) {
    if (requested !== undefined) throw new S3Error("InvalidRequest", "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.");
    return undefined;
  }
  if (requested !== undefined && requested !== "COMPOSITE" && requested !== "FULL_OBJECT") {
    throw new S3Error("InvalidRequest", "Value for x-amz-checksum-type header is invalid.");
  }
  const type: ChecksumType = (requested as ChecksumType | undefined) ?? (algorithm === "CRC64NVME" ? "FULL_OBJECT" : "COMPOSITE");
  if (type === "FULL_OBJECT" && !isCrcAlgorithm(algorithm)) {
    throw new S3Error("InvalidRequest", `The FULL_OBJECT checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`);
  }
  if (type === "COMPOSITE" && algorithm === "CRC64NVME") {
    throw new S3Error("InvalidRequest", "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.");
  }
  return type;
}

export function uploadChecksumOf(upload: MultipartUpload): UploadChecksum | undefined {
  const algorithm = upload.checksumAlgorithm ? parseChecksumAlgorithm(upload.checksumAlgorithm) : undefined;
  if (!algorithm) return undefined;
  const type: ChecksumType = upload.checksumType === "FULL_OBJECT" || upload.checksumType === "COMPOSITE" ? upload.checksumType : algorithm === "CRC64NVME" ? "FULL_OBJECT" : "COMPOSITE";
  return { algorithm, type };
}

/**
 * The checksum a part is stored with. In an upload with an algorithm, a part that sent another algorithm is refused;
 * one that sent none gets the one the gateway computed while streaming (the body was opened with computeChecksum).
 */
export function partChecksum(upload: MultipartUpload, digests: PayloadDigests): PayloadDigests["checksum"] {
  const expected = uploadChecksumOf(upload);
  if (!expected) return digests.checksum;
  if (digests.checksum && digests.checksum.algorithm !== expected.algorithm) {
    throw new S3Error(
      "InvalidRequest",
      `Checksum Type mismatch occurred, expected checksum Type: ${expected.algorithm.toLowerCase()}, actual checksum Type: ${digests.checksum.algorithm.toLowerCase()}`,
    );
  }
  return digests.checksum ?? digests.computedChecksum;
}

/** The Checksum<ALGORITHM> elements of a <Part> in the CompleteMultipartUpload document. */
export function partChecksumsInXml(element: XmlObject): Partial<Record<ChecksumAlgorithm, string>> {
  const found: Partial<Record<ChecksumAlgorithm, string>> = {};
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = element[`Checksum${algorithm}`];
    if (typeof value === "string") found[algorithm] = value;
  }
  return found;
}

/**
 * The completed object's checksum, after checking what the client said: each part's checksum in the XML must be the
 * stored one (InvalidPart), COMPOSITE needs one for every part (as AWS), and a whole-object x-amz-checksum-* header
 * must match the result (BadDigest).
 */
export function completedChecksum(
  upload: MultipartUpload,
  chosen: { requested: { partNumber: number; etag: string; checksums: Partial<Record<ChecksumAlgorithm, string>> }; part: UploadedPart }[],
  headers: IncomingHttpHeaders,
): { algorithm: ChecksumAlgorithm; value: string; type: ChecksumType } | undefined {
  const expected = uploadChecksumOf(upload);
  if (!expected) return undefined;
  const { algorithm, type } = expected;
  const requestedType = headerValue(headers, H.checksumType)?.trim().toUpperCase();
  if (requestedType !== undefined && requestedType !== type) {
    throw new S3Error("InvalidRequest", `The upload was created using the ${type} checksum mode. The complete request must use the same checksum mode.`);
  }
  for (const { requested, part } of chosen) {
    const given = requested.checksums[algorithm];
    const invalidPart = () =>
      new S3Error("InvalidPart", undefined, { details: { UploadId: upload.uploadId, PartNumber: String(requested.partNumber), ETag: requested.etag } });
    if (part.checksumAlgorithm !== algorithm || !part.checksumValue) throw invalidPart();
    if (given === undefined) {
      if (type === "COMPOSITE") {
        throw new S3Error(
          "InvalidRequest",
          `The upload was created using a ${algorithm.toLowerCase()} checksum. The complete request must include the checksum for each part. It was missing for part ${requested.partNumber} in the request.`,
        );
      }
    } else if (given !== part.checksumValue) {
      throw invalidPart();
    }
  }
  const value =
    type === "COMPOSITE"
      ? compositeChecksum(algorithm, chosen.map(({ part }) => part.checksumValue!))
      : combineCrcs(algorithm as Parameters<typeof combineCrcs>[0], chosen.map(({ part }) => ({ base64: part.checksumValue!, size: part.size })));
  const claimed = headerValue(headers, checksumHeaderName(algorithm))?.trim();
  // A composite value may be given with or without its "-N" suffix.
  if (claimed !== undefined && claimed !== value && `${claimed}-${chosen.length}` !== value) {
    throw new S3Error("BadDigest", `The ${algorithm.toLowerCase()} you specified for the full object did not match what was calculated.`);
  }
  return { algorithm, value, type };
}
