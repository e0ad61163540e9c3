// Small typed errors for the gateway to map onto S3 errors in one place. Never S3 codes here.

export class MetaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The bucket does not exist (any more): a write raced with its deletion, or named a bucket nobody has. */
export class NoSuchBucketError extends MetaError {
  constructor(readonly bucket: number | string) {
    super(typeof bucket === "number" ? `no bucket with id ${bucket}` : `no bucket named ${bucket}`);
  }
}

/** The bucket belongs to someone else. */
export class NotBucketOwnerError extends MetaError {
  constructor(readonly bucketName: string) {
    super(`bucket ${bucketName} belongs to another owner`);
  }
}

/**
 * The multipart upload does not exist, or was completed or aborted meanwhile. From commitPart, also: the reserved
 * part itself was aborted or reaped (the upload id is then unknown when the part row is already gone).
 */
export class NoSuchUploadError extends MetaError {
  constructor(readonly uploadId?: string, readonly partRowId?: number) {
    super(
      uploadId !== undefined
        ? `no multipart upload ${uploadId}`
        : `part row ${partRowId} is gone: its upload was completed or aborted, or the part was aborted or reaped`,
    );
  }
}

/**
 * A version reserved by insertPendingVersion is no longer pending: it was aborted, reaped as stale, or discarded
 * with its bucket. Its datafiles are already queued for collection.
 */
export class VersionNotPendingError extends MetaError {
  constructor(readonly versionRowId: number) {
    super(`version row ${versionRowId} is not pending`);
  }
}

/** completeUpload named a part that is not committed (or whose ETag changed since the caller listed the parts). */
export class InvalidPartError extends MetaError {
  constructor(readonly uploadId: string, readonly partNumber: number) {
    super(`upload ${uploadId} has no committed part ${partNumber} matching the request`);
  }
}

/** A migration file that was already applied has been edited: migrations are forward-only. */
export class MigrationChangedError extends MetaError {
  constructor(readonly migration: string) {
    super(`migration ${migration} was changed after it was applied; add a new migration instead`);
  }
}

/** The database cannot hold Weft's keys faithfully. */
export class UnsupportedDatabaseError extends MetaError {}

/**
 * A conditional write (If-None-Match: * or If-Match) found the key in a state the condition excludes, checked under
 * the key's commit lock. `reason`: "exists" (If-None-Match: * and a current object exists), "missing" (If-Match and
 * no current object), "etag" (If-Match and the current object has another ETag).
 */
export class WriteConditionFailedError extends MetaError {
  constructor(readonly reason: "exists" | "missing" | "etag") {
    super(`write condition failed: ${reason}`);
  }
}
