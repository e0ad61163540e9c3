// The one function that turns what lower layers throw into the S3 error the client gets. Errors are told
// apart by type, never by message text.
import { IoServerError } from "../../../ioserver/src/client.js";
import { isDatabaseUnavailable, InvalidPartError, NoSuchBucketError, NoSuchUploadError, NotBucketOwnerError, WriteConditionFailedError } from "../../../meta/src/errors.js";
import { DataUnavailableError } from "../data/stripe-reader.js";
import { LongBodyError, ShortBodyError, StripeWriteError } from "../data/striper.js";
import { S3Error, isS3Error } from "../s3/errors.js";

/** Logs nothing: the access log (app.ts) writes one line per request, with the cause of a 503 and the stack of a 500. */
export function toS3Error(error: unknown): S3Error {
  if (isS3Error(error)) return error;
  if (error instanceof ShortBodyError) return new S3Error("IncompleteBody", undefined, { cause: error });
  if (error instanceof LongBodyError) return new S3Error("InvalidRequest", "The request body is longer than its declared length.", { cause: error });
  if (error instanceof NoSuchUploadError) return new S3Error("NoSuchUpload", undefined, { cause: error });
  if (error instanceof InvalidPartError) {
    return new S3Error("InvalidPart", undefined, { cause: error, details: { UploadId: error.uploadId, PartNumber: String(error.partNumber) } });
  }
  if (error instanceof NoSuchBucketError) {
    const details = typeof error.bucket === "string" ? { BucketName: error.bucket } : undefined;
    return new S3Error("NoSuchBucket", undefined, { cause: error, details });
  }
  if (error instanceof NotBucketOwnerError) return new S3Error("AccessDenied", undefined, { cause: error });
  if (error instanceof WriteConditionFailedError) {
    // AWS: If-Match on a key that has no object answers NoSuchKey, not PreconditionFailed.
    if (error.reason === "missing") return new S3Error("NoSuchKey", undefined, { cause: error });
    const condition = error.reason === "exists" ? "If-None-Match" : "If-Match";
    return new S3Error("PreconditionFailed", undefined, { cause: error, details: { Condition: condition } });
  }
  if (error instanceof DataUnavailableError || error instanceof StripeWriteError || error instanceof IoServerError) {
    return new S3Error("ServiceUnavailable", "The object's storage is not available right now. Please retry.", { cause: error });
  }
  if (isDatabaseUnavailable(error)) {
    return new S3Error("ServiceUnavailable", "The metadata database is not reachable right now. Please retry.", { cause: error });
  }
  if ((error as { code?: string })?.code === "ECONNRESET" || (error as { code?: string })?.code === "ERR_STREAM_PREMATURE_CLOSE") {
    return new S3Error("IncompleteBody", undefined, { cause: error });
  }
  return new S3Error("InternalError", undefined, { cause: error });
}
