// Access control lists as S3 defines them: grantees, permissions, the canned ACLs, and what a grant lets a
// requester do.
import { S3Error } from "../s3/errors.js";

export const ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers";
export const AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
export const LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery";
export const GROUP_URIS = [ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY] as const;
export type GroupUri = (typeof GROUP_URIS)[number];

export const PERMISSIONS = ["FULL_CONTROL", "READ", "WRITE", "READ_ACP", "WRITE_ACP"] as const;
export type Permission = (typeof PERMISSIONS)[number];

export type Grantee = { type: "CanonicalUser"; id: string; displayName?: string } | { type: "Group"; uri: GroupUri };
export interface Grant {
  grantee: Grantee;
  permission: Permission;
}
export interface Owner {
  id: string;
  displayName?: string;
}
export interface Acl {
  owner: Owner;
  grants: Grant[];
}

/** Who asks, as far as an ACL cares: a Requester fits. */
export type AclRequester = { kind: "anonymous" } | { kind: "user"; canonicalId: string };

export const CANNED_ACLS = [
  "private", "public-read", "public-read-write", "aws-exec-read", "authenticated-read", "bucket-owner-read",
  "bucket-owner-full-control", "log-delivery-write",
] as const;
export type CannedAcl = (typeof CANNED_ACLS)[number];

/** The account S3's aws-exec-read grants READ to (EC2 reading machine image bundles), as S3 shows it. */
const EC2_BUNDLE_READER: Grantee = {
  type: "CanonicalUser",
  id: "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c",
  displayName: "za-team",
};

export function isCannedAcl(name: string): name is CannedAcl {
  return (CANNED_ACLS as readonly string[]).includes(name);
}

export function isGroupUri(uri: string): uri is GroupUri {
  return (GROUP_URIS as readonly string[]).includes(uri);
}

export function isPermission(text: string): text is Permission {
  return (PERMISSIONS as readonly string[]).includes(text);
}

const user = ({ id, displayName }: Owner): Grantee =>
  displayName === undefined ? { type: "CanonicalUser", id } : { type: "CanonicalUser", id, displayName };
const group = (uri: GroupUri): Grantee => ({ type: "Group", uri });

/**
 * The ACL a canned ACL name stands for. `bucketOwner` is given for an object in a bucket: bucket-owner-read and
 * bucket-owner-full-control then grant the bucket's owner too (once, when it is not the object's owner); on a
 * bucket, which has no bucket owner but its own, S3 ignores them and they amount to private.
 */
export function cannedAcl(name: string, owners: { owner: Owner; bucketOwner?: Owner }): Acl {
  if (!isCannedAcl(name)) {
    // S3 answers an unknown canned ACL with an empty message and names the header and value.
    throw new S3Error("InvalidArgument", "", { details: { ArgumentName: "x-amz-acl", ArgumentValue: name } });
  }
  const { owner, bucketOwner } = owners;
  const grants: Grant[] = [{ grantee: user(owner), permission: "FULL_CONTROL" }];
  const extra = (grantee: Grantee, permission: Permission) => grants.push({ grantee, permission });
  const otherBucketOwner = bucketOwner !== undefined && bucketOwner.id !== owner.id ? bucketOwner : undefined;
  switch (name) {
    case "public-read-write":
      extra(group(ALL_USERS), "READ");
      extra(group(ALL_USERS), "WRITE");
      break;
    case "public-read":
      extra(group(ALL_USERS), "READ");
      break;
    case "authenticated-read":
      extra(group(AUTHENTICATED_USERS), "READ");
      break;
    case "aws-exec-read":
      extra(EC2_BUNDLE_READER, "READ");
      break;
    case "bucket-owner-read":
      if (otherBucketOwner) extra(user(otherBucketOwner), "READ");
      break;
    case "bucket-owner-full-control":
      if (otherBucketOwner) extra(user(otherBucketOwner), "FULL_CONTROL");
      break;
    case "log-delivery-write":
      extra(group(LOG_DELIVERY), "WRITE");
      extra(group(LOG_DELIVERY), "READ_ACP");
      break;
  }
  return { owner, grants };
}

/**
 * Whether the ACL grants `permission` to the requester. FULL_CONTROL implies every permission; AllUsers is
 * everyone, anonymous included; AuthenticatedUsers is any signed-in user. The resource's owner may always read and
 * write its ACL, whatever the grants say, as in S3 (an owner cannot lock themselves out of the ACL).
 */
export function aclAllows(acl: Acl, requester: AclRequester, permission: Permission): boolean {
  const id = requester.kind === "user" ? requester.canonicalId.toLowerCase() : undefined;
  if (id !== undefined && id === acl.owner.id.toLowerCase() && (permission === "READ_ACP" || permission === "WRITE_ACP")) return true;
  return acl.grants.some(
    (grant) => (grant.permission === permission || grant.permission === "FULL_CONTROL") && granteeIncludes(grant.grantee, id),
  );
}

function granteeIncludes(grantee: Grantee, canonicalId: string | undefined): boolean {
  if (grantee.type === "CanonicalUser") return canonicalId !== undefined && grantee.id.toLowerCase() === canonicalId;
  if (grantee.uri === ALL_USERS) return true;
  // Log delivery is no requester Weft has.
  return grantee.uri === AUTHENTICATED_USERS && canonicalId !== undefined;
}

/** Public as BlockPublicAcls and IgnorePublicAcls define it: a grant to AllUsers or AuthenticatedUsers. */
export function isPublicGrant(grant: Grant): boolean {
  return grant.grantee.type === "Group" && (grant.grantee.uri === ALL_USERS || grant.grantee.uri === AUTHENTICATED_USERS);
}

export function isAclPublic(acl: Acl): boolean {
  return acl.grants.some(isPublicGrant);
}
