// Get/PutBucketAcl, Get/PutObjectAcl and Get/Put/DeleteBucketOwnershipControls on buckets whose ACLs are disabled
// (object ownership BucketOwnerEnforced, the only setting Weft has: docs/architecture.md, Access control). As AWS
// answers then: an ACL reads as the bucket owner's full control; setting one is accepted only when it is exactly
// that, and refused with AccessControlListNotSupported otherwise, never stored and ignored.
import { aclFromHeaders, type RequestHeaders } from "../access/acl-headers.js";
import { parseAccessControlPolicyXml, renderAccessControlPolicy } from "../access/acl-xml.js";
import { cannedAcl, type Acl, type Owner } from "../access/acl.js";
import { authorizedOwner, hideMissingKeyFromNonListers } from "../access/request-access.js";
import type { S3Context } from "../context.js";
import { S3Error } from "../s3/errors.js";
import { parseXml, renderXml } from "../s3/xml.js";
import { loadAuthorizedBucket, objectKey, readSmallBody, requestedVersionId, respondEmpty } from "./common.js";

const OBJECT_OWNERSHIP = ["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"];

async function ownerOf(ctx: S3Context, canonicalId: string): Promise<Owner> {
  return { id: canonicalId, displayName: await ctx.services.credentials.userNameOf(canonicalId) };
}

/** The object the request names must exist (a version id included) for its ACL to be read or set. */
async function requireObject(ctx: S3Context): Promise<void> {
  await ctx.services.objects
    .findVersion({ bucketName: ctx.state.operation.bucket!, bucketOwner: authorizedOwner(ctx), key: objectKey(ctx), versionId: requestedVersionId(ctx), withBody: false })
    .catch((error: unknown) => {
      throw hideMissingKeyFromNonListers(ctx, error);
    });
}

async function renderOwnersAcl(ctx: S3Context, ownerId: string): Promise<void> {
  ctx.type = "application/xml";
  ctx.body = renderAccessControlPolicy(cannedAcl("private", { owner: await ownerOf(ctx, ownerId) }));
}

/** Exactly one grant: FULL_CONTROL to the owner, which is what every resource has with ACLs disabled. */
function isOwnersFullControl(acl: Acl, ownerId: string): boolean {
  return acl.grants.every((grant) => grant.grantee.type === "CanonicalUser" && grant.grantee.id === ownerId && grant.permission === "FULL_CONTROL") && acl.grants.length > 0;
}

/** The ACL a Put*Acl request asks for, from its headers or its AccessControlPolicy body; AccessDenied for another owner. */
async function requestedAcl(ctx: S3Context, owner: Owner): Promise<Acl> {
  const body = await readSmallBody(ctx, { limit: 64 * 1024 });
  const fromHeaders = aclFromHeaders(ctx.req.headers as RequestHeaders, { owner, bucketOwner: owner });
  if (fromHeaders && body.trim() !== "") throw new S3Error("UnexpectedContent", "This request does not support content");
  if (fromHeaders) return fromHeaders;
  if (body.trim() === "") throw new S3Error("MissingSecurityHeader", "Your request was missing a required header", { details: { MissingHeaderName: "x-amz-acl" } });
  const acl = parseAccessControlPolicyXml(body);
  if (acl.owner.id !== owner.id) throw new S3Error("AccessDenied");
  return acl;
}

async function putOwnersAcl(ctx: S3Context, ownerId: string): Promise<void> {
  const acl = await requestedAcl(ctx, await ownerOf(ctx, ownerId));
  if (!isOwnersFullControl(acl, ownerId)) throw new S3Error("AccessControlListNotSupported");
  respondEmpty(ctx, 200);
}

export async function getBucketAcl(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  await renderOwnersAcl(ctx, bucket.owner);
}

export async function putBucketAcl(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  await putOwnersAcl(ctx, bucket.owner);
}

export async function getObjectAcl(ctx: S3Context): Promise<void> {
  await requireObject(ctx);
  await renderOwnersAcl(ctx, authorizedOwner(ctx));
}

export async function putObjectAcl(ctx: S3Context): Promise<void> {
  await requireObject(ctx);
  await putOwnersAcl(ctx, authorizedOwner(ctx));
}

export async function getBucketOwnershipControls(ctx: S3Context): Promise<void> {
  await loadAuthorizedBucket(ctx);
  ctx.type = "application/xml";
  ctx.body = renderXml("OwnershipControls", { Rule: { ObjectOwnership: "BucketOwnerEnforced" } });
}

export async function putBucketOwnershipControls(ctx: S3Context): Promise<void> {
  await loadAuthorizedBucket(ctx);
  const document = parseXml(await readSmallBody(ctx, { limit: 64 * 1024 }), "OwnershipControls");
  const rule = document.Rule;
  const ownership = rule !== null && typeof rule === "object" && !Array.isArray(rule) ? rule.ObjectOwnership : undefined;
  if (typeof ownership !== "string" || !OBJECT_OWNERSHIP.includes(ownership)) throw new S3Error("MalformedXML");
  if (ownership !== "BucketOwnerEnforced") throw aclsNotImplemented();
  respondEmpty(ctx, 200);
}

/** AWS's bucket then falls back to ObjectWriter, with ACLs enabled: not something Weft has. */
export async function deleteBucketOwnershipControls(ctx: S3Context): Promise<void> {
  await loadAuthorizedBucket(ctx);
  throw aclsNotImplemented();
}

function aclsNotImplemented(): S3Error {
  return new S3Error("NotImplemented", "Buckets with ACLs enabled (object ownership ObjectWriter or BucketOwnerPreferred) are not implemented by this server.");
}
