// Small typed errors for the gateway to map onto S3 errors in one place. Never S3 codes here.
import postgres from "postgres";

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

/** The database holds migrations this code does not know: a newer Weft upgraded it, and this one must not run on it. */
export class SchemaNewerError extends MetaError {
  constructor(readonly migrations: string[]) {
    super(`the database schema is newer than this Weft (unknown migrations: ${migrations.join(", ")}); upgrade this process`);
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

/** Object lock protects the version: it may not be deleted, or its retention shortened or removed, now. */
export class ObjectLockedError extends MetaError {
  constructor(readonly key: string) {
    super(`object lock protects a version of ${key}`);
  }
}

/** postgres.js's own codes for a connection that failed, was cut or timed out while connecting. */
const CLIENT_CONNECTION_CODES = new Set(["CONNECTION_CLOSED", "CONNECTION_DESTROYED", "CONNECTION_ENDED", "CONNECT_TIMEOUT"]);
/** Socket errors, which postgres.js passes on as they are; told from a client's own cut socket by the query they carry. */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);
/**
 * SQLSTATEs of a server that is going away or not taking work: connection exceptions (class 08), admin or crash
 * shutdown, cannot connect now, too many connections.
 */
const UNAVAILABLE_SQLSTATES = /^(08...|57P0[123]|53300)$/;

/**
 * True when `error` means PostgreSQL could not be reached or dropped the connection: the request did nothing wrong and
 * may be retried, unlike a failed statement.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof postgres.PostgresError) return UNAVAILABLE_SQLSTATES.test(error.code);
  if (typeof error !== "object" || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string") return false;
  // postgres.js marks every error it rejects a statement with by defining `query` on it.
  return CLIENT_CONNECTION_CODES.has(code) || (SOCKET_CODES.has(code) && "query" in error);
}
