// Checksums of multipart uploads (the algorithm and type an upload was created with): every part
// carries a checksum of the upload's algorithm, and completion gives the object one. COMPOSITE = the checksum of the
// concatenated part digests, "-N"; FULL_OBJECT (CRC algorithms only) = the CRC of the whole object, combined from the
// part CRCs without reading the data.
import type { ChecksumType, MultipartUpload, UploadedPart } from "../../../meta/src/types.js";
import type { PayloadDigests } from "../auth/payload-integrity.js";
import {
  combineCrcs,
  compositeChecksum,
  parseChecksumAlgorithm,
  type ChecksumAlgorithm,
} from "../s3/checksums.js";
import { S3Error } from "../s3/errors.js";

export interface UploadChecksum {
  algorithm: ChecksumAlgorithm;
  type: ChecksumType;
}

/** What a CompleteMultipartUpload says of the whole object: its checksum type (upper case) and values by algorithm. */
export interface WholeObjectChecksumClaim {
  type?: string;
  values: Partial<Record<ChecksumAlgorithm, string>>;
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

/**
 * The completed object's checksum, after checking what the client said: each part's checksum in the XML must be the
 * stored one (InvalidPart), COMPOSITE needs one for every part (as AWS), and a whole-object checksum the client
 * claimed must match the result (BadDigest).
 */
export function completedChecksum(
  upload: MultipartUpload,
  chosen: { requested: { partNumber: number; etag: string; checksums: Partial<Record<ChecksumAlgorithm, string>> }; part: UploadedPart }[],
  claimed: WholeObjectChecksumClaim,
): { algorithm: ChecksumAlgorithm; value: string; type: ChecksumType } | undefined {
  const expected = uploadChecksumOf(upload);
  if (!expected) return undefined;
  const { algorithm, type } = expected;
  const requestedType = claimed.type;
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
  const claimedValue = claimed.values[algorithm];
  // A composite value may be given with or without its "-N" suffix.
  if (claimedValue !== undefined && claimedValue !== value && `${claimedValue}-${chosen.length}` !== value) {
    throw new S3Error("BadDigest", `The ${algorithm.toLowerCase()} you specified for the full object did not match what was calculated.`);
  }
  return { algorithm, value, type };
}
