// Access control applied to a request: after authentication, before the operation's handler. The key's own limits
// (key-scope.ts), then the bucket's owner, policy and public access block (authorize.ts), evaluated in the request's
// context. Operations that act on several objects or on a second bucket (DeleteObjects, a copy's source) ask again
// for each through mayAccessObject / requireSourceAccess.
import type { TLSSocket } from "node:tls";
import type { Principal } from "../auth/key-store.js";
import type { S3Context } from "../context.js";
import type { S3OperationName } from "../router/resolve.js";
import { S3Error } from "../s3/errors.js";
import { headerValue } from "../s3/headers.js";
import type { ObjectVersion } from "../../../meta/src/types.js";
import { grantedIds, newObjectAccess } from "./acl-enforcement.js";
import type { RequestHeaders } from "./acl-headers.js";
import type { Acl } from "./acl.js";
import type { BucketAccess } from "./bucket-access.js";
import { aclGrants, decideAccess, isBucketOwner, mayAccess } from "./authorize.js";
import { requireKeyMayRead, requireKeyScope } from "./key-scope.js";
import { OPERATION_ACCESS } from "./operation-actions.js";
import type { ConditionContext } from "./policy.js";
import type { Requester } from "./requester.js";

/** Operations whose IAM action names the version when the request names one (AWS's s3:GetObjectVersion, …). */
const VERSION_ACTIONS: Partial<Record<S3OperationName, string>> = {
  GetObject: "s3:GetObjectVersion",
  HeadObject: "s3:GetObjectVersion",
  DeleteObject: "s3:DeleteObjectVersion",
  GetObjectTagging: "s3:GetObjectVersionTagging",
  PutObjectTagging: "s3:PutObjectVersionTagging",
  DeleteObjectTagging: "s3:DeleteObjectVersionTagging",
  GetObjectAttributes: "s3:GetObjectVersionAttributes",
  GetObjectAcl: "s3:GetObjectVersionAcl",
  PutObjectAcl: "s3:PutObjectVersionAcl",
};

/** Operations on several keys at once: the bucket-wide question is asked for each key instead. */
const PER_KEY: ReadonlySet<S3OperationName> = new Set<S3OperationName>(["DeleteObjects"]);

export function requesterOf(principal: Principal): Requester {
  return principal.anonymous ? { kind: "anonymous" } : { kind: "user", name: principal.userName, canonicalId: principal.canonicalId };
}

/**
 * Throws AccessDenied unless the request's principal may do its operation; records the bucket it was decided on,
 * the permission the object's ACL must still grant (if any), and what a new object gets (ACL, owner), refusing an
 * ACL the bucket cannot have. A POST form gives the key it writes and its fields, which stand for the headers.
 */
export async function authorizeRequest(ctx: S3Context, form?: { key: string; fields: Record<string, string> }): Promise<void> {
  const { principal, operation } = ctx.state;
  const key = form?.key ?? operation.key;
  const headers = (form ? { ...form.fields, "x-amz-acl": form.fields.acl } : ctx.req.headers) as RequestHeaders;
  requireKeyScope(principal, operation);
  if (operation.bucket === undefined || operation.name === "CreateBucket") {
    // ListBuckets and CreateBucket are a user's own: nobody's anonymously.
    if (principal.anonymous) throw new S3Error("AccessDenied");
    return;
  }
  const bucket = await ctx.services.bucketAccess.get(operation.bucket);
  // No such bucket: the handler answers NoSuchBucket, to strangers too, as AWS does.
  if (!bucket) return;
  ctx.state.bucketAccess = bucket;
  const requester = requesterOf(principal);
  if (PER_KEY.has(operation.name) && !isBucketOwner(requester, bucket)) return;
  const versioned = ctx.state.target.query.has("versionId") ? VERSION_ACTIONS[operation.name] : undefined;
  const decision = decideAccess({ requester, operation: operation.name, action: versioned, bucket, key, context: policyContext(ctx, bucket) });
  if (decision === "deny") throw new S3Error("AccessDenied");
  if (decision !== "allow") ctx.state.objectPermission = decision.objectPermission;
  const access = newObjectAccess(operation.name, headers, requester, bucket);
  if (access?.acl) await requireKnownGrantees(ctx, access.acl as Acl);
  ctx.state.newObjectAccess = access;
}

/** A grant to a canonical id must name a Weft user (AWS: InvalidArgument "Invalid id"). */
export async function requireKnownGrantees(ctx: S3Context, acl: Acl): Promise<void> {
  const ids = grantedIds(acl).filter((id) => id !== "anonymous");
  if (ids.length > 0 && (await ctx.services.bucketAccess.unknownUsers([], ids)).length > 0) throw new S3Error("InvalidArgument", "Invalid id");
}

/**
 * For operations whose access the object's own ACL decides (authorizeRequest said which permission): AccessDenied
 * unless the version loaded grants it.
 */
export function requireObjectPermission(ctx: S3Context, version: Pick<ObjectVersion, "acl" | "objectOwner">): void {
  const permission = ctx.state.objectPermission;
  const bucket = ctx.state.bucketAccess;
  if (permission === undefined || bucket === undefined) return;
  if (!aclGrants(version.acl as Acl | undefined, version.objectOwner ?? bucket.owner, bucket, requesterOf(ctx.state.principal), permission)) {
    throw new S3Error("AccessDenied");
  }
}

/** For operations on several keys (DeleteObjects): whether the principal may do `operation` to this one. */
export function mayAccessObject(ctx: S3Context, operation: S3OperationName, key: string, versionId?: string): boolean {
  const bucket = ctx.state.bucketAccess;
  if (!bucket) return false;
  const action = versionId !== undefined ? VERSION_ACTIONS[operation] : undefined;
  return mayAccess({ requester: requesterOf(ctx.state.principal), operation, action, bucket, key, context: policyContext(ctx, bucket) });
}

/**
 * Whether the principal may also do `operation` (with its IAM action, or `action`) to a key of the request's bucket:
 * what a write asks beyond its own action (a PUT's retention needs s3:PutObjectRetention) and what no ACL grants
 * (s3:BypassGovernanceRetention).
 */
export function mayAlsoDo(ctx: S3Context, operation: S3OperationName, key: string, action?: string): boolean {
  const bucket = ctx.state.bucketAccess;
  if (!bucket) return false;
  return mayAccess({ requester: requesterOf(ctx.state.principal), operation, action, bucket, key, context: policyContext(ctx, bucket) });
}

/**
 * A copy's source: the key's limits, and s3:GetObject (or s3:GetObjectVersion) on it. Returns the source bucket's
 * owner, which the object layer checks the bucket against (undefined when there is no such bucket: it answers that),
 * and the check the source version must pass where its own ACL decides.
 */
export async function requireSourceAccess(
  ctx: S3Context,
  source: { bucket: string; key: string; versionId?: string },
): Promise<{ owner: string | undefined; checkVersion: (version: ObjectVersion) => void }> {
  requireKeyMayRead(ctx.state.principal, source.bucket);
  const bucket = await ctx.services.bucketAccess.get(source.bucket);
  const noCheck = () => {};
  if (!bucket) return { owner: undefined, checkVersion: noCheck };
  const action = source.versionId !== undefined ? "s3:GetObjectVersion" : OPERATION_ACCESS.GetObject.action;
  const requester = requesterOf(ctx.state.principal);
  const decision = decideAccess({ requester, operation: "GetObject", action, bucket, key: source.key, context: policyContext(ctx, bucket) });
  if (decision === "deny") throw new S3Error("AccessDenied");
  if (decision === "allow") return { owner: bucket.owner, checkVersion: noCheck };
  const checkVersion = (version: ObjectVersion) => {
    if (!aclGrants(version.acl as Acl | undefined, version.objectOwner ?? bucket.owner, bucket, requester, decision.objectPermission)) throw new S3Error("AccessDenied");
  };
  return { owner: bucket.owner, checkVersion };
}

/**
 * A missing key is told (404 NoSuchKey) only to whoever may list the bucket; to anyone else it is 403 AccessDenied,
 * as AWS answers, so that reading rights alone do not reveal which keys exist.
 */
export function hideMissingKeyFromNonListers(ctx: S3Context, error: unknown): unknown {
  if (!(error instanceof S3Error) || error.code !== "NoSuchKey") return error;
  const bucket = ctx.state.bucketAccess;
  const mayList = bucket !== undefined && mayAccess({ requester: requesterOf(ctx.state.principal), operation: "ListObjects", bucket, context: policyContext(ctx, bucket) });
  return mayList ? error : new S3Error("AccessDenied");
}

/** The owner the request's bucket was authorized against: what the object layer checks it against once loaded. */
export function authorizedOwner(ctx: S3Context): string {
  // Absent: the bucket did not exist when the request was authorized; if it does now, it is someone else's business.
  return ctx.state.bucketAccess?.owner ?? "";
}

/** A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; policies name them as IPv4. */
function clientAddress(ctx: S3Context): string | undefined {
  const address = ctx.req.socket.remoteAddress;
  return address?.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/** The request's condition keys when the bucket has a policy to test them; built per request only then. */
function policyContext(ctx: S3Context, bucket: BucketAccess | undefined): ConditionContext {
  return bucket?.policy ? conditionContextOf(ctx) : {};
}

/** The condition keys a bucket policy may test, from this request. */
function conditionContextOf(ctx: S3Context): ConditionContext {
  const { query } = ctx.state.target;
  const headers = ctx.req.headers;
  const now = Date.now();
  return {
    "aws:SourceIp": clientAddress(ctx),
    "aws:SecureTransport": (ctx.req.socket as TLSSocket).encrypted ? "true" : "false",
    "aws:Referer": headerValue(headers, "referer"),
    "aws:UserAgent": headerValue(headers, "user-agent"),
    "aws:CurrentTime": new Date(now).toISOString(),
    "aws:EpochTime": String(Math.floor(now / 1000)),
    "s3:prefix": query.get("prefix"),
    "s3:delimiter": query.get("delimiter"),
    "s3:max-keys": query.get("max-keys"),
    "s3:x-amz-acl": headerValue(headers, "x-amz-acl"),
  };
}
