// Object lock (docs/architecture.md, Object lock): Get/PutObjectLockConfiguration, Get/PutObjectRetention,
// Get/PutObjectLegalHold, the lock headers a write carries (PutObject, CopyObject, CreateMultipartUpload) and the ones
// GET and HEAD answer, and who may set a GOVERNANCE retention aside. What may be deleted is decided in PostgreSQL,
// whichever path deletes (meta/functions.sql, weft_discard_versions).
import type { IncomingHttpHeaders } from "node:http";
import type { DefaultRetention, MultipartUpload, ObjectLockRequest, ObjectVersion, Retention, RetentionMode } from "../../../meta/src/types.js";
import { mayAlsoDo } from "../access/request-access.js";
import type { BucketAccess } from "../access/bucket-access.js";
import type { S3Context } from "../context.js";
import { S3Error } from "../s3/errors.js";
import { headerValue } from "../s3/headers.js";
import { parseXml, renderXml, type XmlObject } from "../s3/xml.js";
import { carriesBodyDigest, findAuthorizedVersion, loadAuthorizedBucket, objectKey, readSmallBody, requestedVersionId, respondEmpty } from "./common.js";

const LOCK_MODE = "x-amz-object-lock-mode";
const LOCK_RETAIN_UNTIL = "x-amz-object-lock-retain-until-date";
const LOCK_LEGAL_HOLD = "x-amz-object-lock-legal-hold";
const BYPASS_GOVERNANCE = "x-amz-bypass-governance-retention";
/** CreateBucket's request for object lock. */
export const BUCKET_LOCK_ENABLED = "x-amz-bucket-object-lock-enabled";

/** AWS's ceilings on a default retention period. */
const MAX_DEFAULT_DAYS = 36_500;
const MAX_DEFAULT_YEARS = 100;

const MODES: readonly RetentionMode[] = ["GOVERNANCE", "COMPLIANCE"];

/** CreateBucket's `x-amz-bucket-object-lock-enabled`: true or false (any case); absent is false. */
export function bucketLockRequested(headers: IncomingHttpHeaders): boolean {
  const value = headerValue(headers, BUCKET_LOCK_ENABLED)?.trim().toLowerCase();
  if (value === undefined || value === "false") return false;
  if (value === "true") return true;
  throw new S3Error("InvalidArgument", "Invalid value for x-amz-bucket-object-lock-enabled", { details: { ArgumentName: BUCKET_LOCK_ENABLED, ArgumentValue: value } });
}

function retentionMode(value: string | undefined, malformed: () => S3Error): RetentionMode {
  if (!MODES.includes(value as RetentionMode)) throw malformed();
  return value as RetentionMode;
}

/** A retain-until date: ISO 8601 with a time zone, and ahead of now. */
function retainUntilDate(text: string, malformed: () => S3Error): Date {
  const date = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(text) ? new Date(text) : new Date(NaN);
  if (Number.isNaN(date.getTime())) throw malformed();
  if (date.getTime() <= Date.now()) throw new S3Error("InvalidArgument", "The retain until date must be in the future!");
  return date;
}

function legalHoldStatus(value: string | undefined, malformed: () => S3Error): boolean {
  if (value !== "ON" && value !== "OFF") throw malformed();
  return value === "ON";
}

function missingLockConfiguration(): S3Error {
  return new S3Error("InvalidRequest", "Bucket is missing Object Lock Configuration");
}

/** The bucket access control loaded for the request, with object lock on; InvalidRequest otherwise, as AWS. */
function lockedBucket(ctx: S3Context): BucketAccess {
  const bucket = ctx.state.bucketAccess;
  if (!bucket?.objectLockEnabled) throw missingLockConfiguration();
  return bucket;
}

/**
 * The object lock a write's headers ask for (PutObject, CopyObject, CreateMultipartUpload), checked as AWS checks it:
 * mode and date together, a date ahead, a bucket with lock on, and the permissions setting them takes beyond the
 * write's own. Undefined when the write asks for none (the bucket's default retention then applies at commit).
 */
export function objectLockOfWrite(ctx: S3Context, key: string): ObjectLockRequest | undefined {
  const headers = ctx.req.headers;
  const mode = headerValue(headers, LOCK_MODE);
  const until = headerValue(headers, LOCK_RETAIN_UNTIL);
  const hold = headerValue(headers, LOCK_LEGAL_HOLD);
  if (mode === undefined && until === undefined && hold === undefined) return undefined;
  if ((mode === undefined) !== (until === undefined)) {
    throw new S3Error("InvalidArgument", "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied");
  }
  if (!ctx.state.bucketAccess?.objectLockEnabled) throw missingLockConfiguration();
  const lock: ObjectLockRequest = {};
  if (mode !== undefined && until !== undefined) {
    lock.retention = {
      mode: retentionMode(mode, () => new S3Error("InvalidArgument", "Unknown wormMode directive.", { details: { ArgumentName: LOCK_MODE, ArgumentValue: mode } })),
      retainUntil: retainUntilDate(until, () => new S3Error("InvalidArgument", "The retain until date must be provided in ISO 8601 format", { details: { ArgumentName: LOCK_RETAIN_UNTIL, ArgumentValue: until } })),
    };
    if (!mayAlsoDo(ctx, "PutObjectRetention", key)) throw new S3Error("AccessDenied");
  }
  if (hold !== undefined) {
    lock.legalHold = legalHoldStatus(hold, () => new S3Error("InvalidArgument", "Legal Hold must be either of 'ON' or 'OFF'", { details: { ArgumentName: LOCK_LEGAL_HOLD, ArgumentValue: hold } }));
    if (!mayAlsoDo(ctx, "PutObjectLegalHold", key)) throw new S3Error("AccessDenied");
  }
  return lock;
}

/** AWS refuses an object lock request, or a PUT a retention applies to, whose body comes without a digest. */
function requireBodyDigest(ctx: S3Context, requests: string): void {
  if (!carriesBodyDigest(ctx.req.headers)) {
    throw new S3Error("InvalidRequest", `Content-MD5 OR x-amz-checksum- HTTP header is required for ${requests} requests with Object Lock parameters`);
  }
}

/** PutObject with a lock, or into a bucket with a default retention, must come with a digest of its body. */
export function requireDigestOfLockedPut(ctx: S3Context, lock: ObjectLockRequest | undefined): void {
  if (lock !== undefined || ctx.state.bucketAccess?.defaultRetention !== undefined) requireBodyDigest(ctx, "Put Object");
}

/** UploadPart of an upload that asked for a lock, or into a bucket with a default retention, likewise (AWS). */
export function requireDigestOfLockedPart(ctx: S3Context, upload: Pick<MultipartUpload, "asksForLock">): void {
  if (upload.asksForLock || ctx.state.bucketAccess?.defaultRetention !== undefined) requireBodyDigest(ctx, "Upload Part");
}

/** Whether the request may set a GOVERNANCE retention aside: it asks to, and may (s3:BypassGovernanceRetention). */
export function bypassesGovernance(ctx: S3Context, key: string): boolean {
  if (headerValue(ctx.req.headers, BYPASS_GOVERNANCE)?.trim().toLowerCase() !== "true") return false;
  return mayAlsoDo(ctx, "PutObjectRetention", key, "s3:BypassGovernanceRetention");
}

/** The lock headers of GET and HEAD: each only to a requester who may read it, as AWS answers them. */
export function objectLockHeaders(ctx: S3Context, version: Pick<ObjectVersion, "key" | "retention" | "legalHold">): Record<string, string> {
  const headers: Record<string, string> = {};
  if (version.retention && mayAlsoDo(ctx, "GetObjectRetention", version.key)) {
    headers[LOCK_MODE] = version.retention.mode;
    headers[LOCK_RETAIN_UNTIL] = version.retention.retainUntil.toISOString();
  }
  if (version.legalHold !== undefined && mayAlsoDo(ctx, "GetObjectLegalHold", version.key)) headers[LOCK_LEGAL_HOLD] = version.legalHold ? "ON" : "OFF";
  return headers;
}

function positiveInteger(text: unknown, max: number): number {
  if (typeof text !== "string" || !/^\d+$/.test(text.trim())) throw new S3Error("MalformedXML");
  const value = Number(text);
  if (value <= 0) throw new S3Error("InvalidArgument", "Default retention period must be a positive integer value");
  if (value > max) throw new S3Error("InvalidArgument", "Default retention period is too large.");
  return value;
}

/** An <ObjectLockConfiguration>: lock Enabled, and a default retention (mode, and Days or Years) or none. */
export function parseObjectLockConfiguration(text: string): DefaultRetention | undefined {
  const document = parseXml(text, "ObjectLockConfiguration");
  if (document.ObjectLockEnabled !== "Enabled") throw new S3Error("MalformedXML");
  if (document.Rule === undefined) return undefined;
  const rule = document.Rule as XmlObject;
  const retention = rule?.DefaultRetention as XmlObject | undefined;
  if (typeof retention !== "object" || retention === null) throw new S3Error("MalformedXML");
  const mode = retentionMode(retention.Mode as string | undefined, () => new S3Error("MalformedXML"));
  const { Days: days, Years: years } = retention;
  if ((days === undefined) === (years === undefined)) throw new S3Error("MalformedXML");
  return days !== undefined ? { mode, days: positiveInteger(days, MAX_DEFAULT_DAYS) } : { mode, years: positiveInteger(years, MAX_DEFAULT_YEARS) };
}

export async function getObjectLockConfiguration(ctx: S3Context): Promise<void> {
  await loadAuthorizedBucket(ctx);
  const bucket = ctx.state.bucketAccess;
  if (!bucket?.objectLockEnabled) throw new S3Error("ObjectLockConfigurationNotFoundError", undefined, { details: { BucketName: ctx.state.operation.bucket! } });
  const retention = bucket.defaultRetention;
  ctx.type = "application/xml";
  ctx.body = renderXml("ObjectLockConfiguration", {
    ObjectLockEnabled: "Enabled",
    Rule: retention ? { DefaultRetention: { Mode: retention.mode, Days: retention.days, Years: retention.years } } : undefined,
  });
}

/** Turns lock on for good (a bucket whose versioning is Enabled may get it later, as AWS allows) and sets its default. */
export async function putObjectLockConfiguration(ctx: S3Context): Promise<void> {
  await loadAuthorizedBucket(ctx);
  requireBodyDigest(ctx, "PutObjectLockConfiguration");
  const defaultRetention = parseObjectLockConfiguration(await readSmallBody(ctx, { limit: 64 * 1024 }));
  if (!(await ctx.services.bucketAccess.setObjectLock(ctx.state.bucketAccess!, defaultRetention))) {
    throw new S3Error("InvalidBucketState", "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration");
  }
  respondEmpty(ctx, 200);
}

export async function getObjectRetention(ctx: S3Context): Promise<void> {
  lockedBucket(ctx);
  const { version } = await findAuthorizedVersion(ctx, false);
  if (!version.retention) throw new S3Error("NoSuchObjectLockConfiguration");
  ctx.type = "application/xml";
  ctx.body = renderXml("Retention", { Mode: version.retention.mode, RetainUntilDate: version.retention.retainUntil.toISOString() });
}

/** An empty <Retention/> removes the retention, which only a GOVERNANCE one (bypassed) or a lapsed one allows. */
function parseRetention(text: string): Retention | undefined {
  const document = parseXml(text, "Retention");
  const { Mode: mode, RetainUntilDate: until } = document;
  if (mode === undefined && until === undefined) return undefined;
  if (typeof mode !== "string" || typeof until !== "string") throw new S3Error("MalformedXML");
  return { mode: retentionMode(mode, () => new S3Error("MalformedXML")), retainUntil: retainUntilDate(until, () => new S3Error("MalformedXML")) };
}

export async function putObjectRetention(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  lockedBucket(ctx);
  requireBodyDigest(ctx, "PutObjectRetention");
  const key = objectKey(ctx);
  const retention = parseRetention(await readSmallBody(ctx, { limit: 64 * 1024 }));
  await ctx.services.objects.putRetention(bucket, { key, versionId: requestedVersionId(ctx) }, retention, bypassesGovernance(ctx, key));
  respondEmpty(ctx, 200);
}

export async function getObjectLegalHold(ctx: S3Context): Promise<void> {
  lockedBucket(ctx);
  const { version } = await findAuthorizedVersion(ctx, false);
  if (version.legalHold === undefined) throw new S3Error("NoSuchObjectLockConfiguration");
  ctx.type = "application/xml";
  ctx.body = renderXml("LegalHold", { Status: version.legalHold ? "ON" : "OFF" });
}

export async function putObjectLegalHold(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  lockedBucket(ctx);
  requireBodyDigest(ctx, "PutObjectLegalHold");
  const document = parseXml(await readSmallBody(ctx, { limit: 64 * 1024 }), "LegalHold");
  const on = legalHoldStatus(document.Status as string | undefined, () => new S3Error("MalformedXML"));
  await ctx.services.objects.putLegalHold(bucket, { key: objectKey(ctx), versionId: requestedVersionId(ctx) }, on);
  respondEmpty(ctx, 200);
}
