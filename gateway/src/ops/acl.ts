// Get/PutBucketAcl, Get/PutObjectAcl and Get/Put/DeleteBucketOwnershipControls (docs/architecture.md, Access control).
// With ACLs disabled (BucketOwnerEnforced), as AWS answers then: an ACL reads as the bucket owner's full control, and
// setting exactly that is accepted while any other ACL is AccessControlListNotSupported, never stored and ignored.
// With ACLs enabled (ObjectWriter, BucketOwnerPreferred, or no ownership controls) ACLs are stored and enforced.
import { aclsEnabled, refusePublicAcl } from "../access/acl-enforcement.js";
import { aclFromHeaders, type RequestHeaders } from "../access/acl-headers.js";
import { parseAccessControlPolicyXml, renderAccessControlPolicy } from "../access/acl-xml.js";
import { cannedAcl, type Acl, type Owner } from "../access/acl.js";
import type { BucketAccess, ObjectOwnership } from "../access/bucket-access.js";
import { requireKnownGrantees } from "../access/request-access.js";
import type { S3Context } from "../context.js";
import { S3Error } from "../s3/errors.js";
import { parseXml, renderXml } from "../s3/xml.js";
import { findAuthorizedVersion, loadAuthorizedBucket, objectKey, readSmallBody, requestedVersionId, respondEmpty } from "./common.js";

const OBJECT_OWNERSHIP: readonly ObjectOwnership[] = ["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"];

/** The bucket the request was authorized on, loaded (it may have changed hands since: AccessDenied then). */
async function authorizedBucket(ctx: S3Context): Promise<BucketAccess> {
  await loadAuthorizedBucket(ctx);
  return ctx.state.bucketAccess!;
}

function privateAcl(ownerId: string): Acl {
  return cannedAcl("private", { owner: { id: ownerId } });
}

/** The ACL as S3 shows it: every canonical id with its user's name. */
async function renderAcl(ctx: S3Context, acl: Acl): Promise<void> {
  const named = async (owner: Owner): Promise<Owner> => ({ id: owner.id, displayName: await ctx.services.credentials.userNameOf(owner.id) });
  const grants = await Promise.all(
    acl.grants.map(async (grant) => (grant.grantee.type === "CanonicalUser" ? { ...grant, grantee: { type: "CanonicalUser" as const, ...(await named(grant.grantee)) } } : grant)),
  );
  ctx.type = "application/xml";
  ctx.body = renderAccessControlPolicy({ owner: await named(acl.owner), grants });
}

/** The ACL a Put*Acl request asks for, from its headers or its AccessControlPolicy body; AccessDenied for another owner. */
async function requestedAcl(ctx: S3Context, owner: Owner, bucketOwner: Owner): Promise<Acl> {
  const body = await readSmallBody(ctx, { limit: 64 * 1024 });
  const fromHeaders = aclFromHeaders(ctx.req.headers as RequestHeaders, { owner, bucketOwner });
  if (fromHeaders && body.trim() !== "") throw new S3Error("UnexpectedContent");
  if (fromHeaders) return fromHeaders;
  if (body.trim() === "") throw new S3Error("MissingSecurityHeader", undefined, { details: { MissingHeaderName: "x-amz-acl" } });
  const acl = parseAccessControlPolicyXml(body);
  if (acl.owner.id !== owner.id) throw new S3Error("AccessDenied");
  return { owner: { id: owner.id }, grants: acl.grants.map((grant) => (grant.grantee.type === "CanonicalUser" ? { ...grant, grantee: { type: "CanonicalUser", id: grant.grantee.id } } : grant)) };
}

/** Exactly FULL_CONTROL to the owner: the one ACL a bucket with ACLs disabled may be given. */
function isOwnersFullControl(acl: Acl, ownerId: string): boolean {
  return acl.grants.length > 0 && acl.grants.every((grant) => grant.grantee.type === "CanonicalUser" && grant.grantee.id === ownerId && grant.permission === "FULL_CONTROL");
}

/** The ACL to store, checked: with ACLs disabled only the owner's full control passes (and nothing is stored). */
async function aclToStore(ctx: S3Context, bucket: BucketAccess, ownerId: string): Promise<Acl | undefined> {
  const acl = await requestedAcl(ctx, { id: ownerId }, { id: bucket.owner });
  if (!aclsEnabled(bucket)) {
    if (!isOwnersFullControl(acl, ownerId)) throw new S3Error("AccessControlListNotSupported");
    return undefined;
  }
  await requireKnownGrantees(ctx, acl);
  refusePublicAcl(acl, bucket.publicAccessBlock);
  return acl;
}

export async function getBucketAcl(ctx: S3Context): Promise<void> {
  const bucket = await authorizedBucket(ctx);
  await renderAcl(ctx, (aclsEnabled(bucket) && bucket.acl) || privateAcl(bucket.owner));
}

export async function putBucketAcl(ctx: S3Context): Promise<void> {
  const bucket = await authorizedBucket(ctx);
  const acl = await aclToStore(ctx, bucket, bucket.owner);
  if (acl) await ctx.services.bucketAccess.setAcl(bucket, acl);
  respondEmpty(ctx, 200);
}

export async function getObjectAcl(ctx: S3Context): Promise<void> {
  const { version } = await findAuthorizedVersion(ctx, false);
  const bucket = ctx.state.bucketAccess!;
  if (!aclsEnabled(bucket)) return renderAcl(ctx, privateAcl(bucket.owner));
  await renderAcl(ctx, (version.acl as Acl | undefined) ?? privateAcl(version.objectOwner ?? bucket.owner));
}

export async function putObjectAcl(ctx: S3Context): Promise<void> {
  const { bucket: stored, version } = await findAuthorizedVersion(ctx, false);
  const bucket = ctx.state.bucketAccess!;
  const acl = await aclToStore(ctx, bucket, aclsEnabled(bucket) ? (version.objectOwner ?? bucket.owner) : bucket.owner);
  if (acl && !(await ctx.services.objects.setObjectAcl(stored, objectKey(ctx), requestedVersionId(ctx), acl))) {
    throw new S3Error("NoSuchKey", undefined, { details: { Key: objectKey(ctx) } });
  }
  respondEmpty(ctx, 200);
}

export async function getBucketOwnershipControls(ctx: S3Context): Promise<void> {
  const bucket = await authorizedBucket(ctx);
  if (!bucket.objectOwnership) throw new S3Error("OwnershipControlsNotFoundError", undefined, { details: { BucketName: bucket.name } });
  ctx.type = "application/xml";
  ctx.body = renderXml("OwnershipControls", { Rule: { ObjectOwnership: bucket.objectOwnership } });
}

/** BucketOwnerEnforced disables ACLs: refused while the bucket's ACL grants anyone but its owner, as AWS does. */
export async function putBucketOwnershipControls(ctx: S3Context): Promise<void> {
  const bucket = await authorizedBucket(ctx);
  const document = parseXml(await readSmallBody(ctx, { limit: 64 * 1024 }), "OwnershipControls");
  const rule = document.Rule;
  const ownership = rule !== null && typeof rule === "object" && !Array.isArray(rule) ? rule.ObjectOwnership : undefined;
  if (typeof ownership !== "string" || !OBJECT_OWNERSHIP.includes(ownership as ObjectOwnership)) throw new S3Error("MalformedXML");
  if (ownership === "BucketOwnerEnforced" && bucket.acl && !isOwnersFullControl(bucket.acl, bucket.owner)) throw new S3Error("InvalidBucketAclWithObjectOwnership");
  await ctx.services.bucketAccess.setObjectOwnership(bucket, ownership as ObjectOwnership);
  respondEmpty(ctx, 200);
}

/** Without ownership controls a bucket behaves as ObjectWriter: ACLs enabled. */
export async function deleteBucketOwnershipControls(ctx: S3Context): Promise<void> {
  const bucket = await authorizedBucket(ctx);
  if (bucket.objectOwnership) await ctx.services.bucketAccess.setObjectOwnership(bucket, undefined);
  respondEmpty(ctx, 204);
}
