// The AccessControlPolicy document of GetBucketAcl/GetObjectAcl responses and PutBucketAcl/PutObjectAcl bodies.
import { S3Error, isS3Error } from "../s3/errors.js";
import { parseXml, renderXml, type XmlObject, type XmlValue } from "../s3/xml.js";
import { isGroupUri, isPermission, type Acl, type Grant, type Grantee } from "./acl.js";
import { emailGranteeRefused } from "./acl-headers.js";
import { isCanonicalId } from "./requester.js";

const XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance";

export function renderAccessControlPolicy(acl: Acl): string {
  return renderXml("AccessControlPolicy", {
    Owner: { ID: acl.owner.id, DisplayName: acl.owner.displayName },
    AccessControlList: { Grant: acl.grants.map(renderGrant) },
  });
}

function renderGrant(grant: Grant): XmlObject {
  const grantee: XmlObject =
    grant.grantee.type === "CanonicalUser"
      ? { ID: grant.grantee.id, DisplayName: grant.grantee.displayName }
      : { URI: grant.grantee.uri };
  return { Grantee: { "@xmlns:xsi": XSI_NAMESPACE, "@xsi:type": grant.grantee.type, ...grantee }, Permission: grant.permission };
}

function malformedAcl(): S3Error {
  return new S3Error("MalformedACLError");
}

/**
 * Reads a PutBucketAcl/PutObjectAcl body. A document that is not XML, or not of the schema (no Owner ID, a grant
 * without grantee or permission, an unknown permission or grantee type), is MalformedACLError; a grantee of a known
 * type naming no one Weft knows is S3's InvalidArgument. Whether the Owner is the resource's owner is the caller's
 * question (S3 answers AccessDenied when not).
 */
export function parseAccessControlPolicyXml(xml: string): Acl {
  let document: XmlObject;
  try {
    document = parseXml(xml, "AccessControlPolicy", { attributes: true });
  } catch (error) {
    if (isS3Error(error) && error.code === "MalformedXML") throw malformedAcl();
    throw error;
  }
  const owner = element(document.Owner);
  const ownerId = text(owner?.ID);
  if (owner === undefined || ownerId === undefined || ownerId === "") throw malformedAcl();
  const displayName = text(owner.DisplayName);
  const list = document.AccessControlList;
  const grants = list === undefined || list === "" ? [] : elements(element(list)?.Grant ?? malformedList()).map(parseGrant);
  return { owner: { id: ownerId, ...(displayName !== undefined ? { displayName } : {}) }, grants };
}

function malformedList(): never {
  throw malformedAcl();
}

function parseGrant(value: XmlValue): Grant {
  const grant = element(value);
  const permission = text(grant?.Permission);
  const grantee = element(grant?.Grantee);
  if (grantee === undefined || permission === undefined || !isPermission(permission)) throw malformedAcl();
  return { grantee: parseGrantee(grantee), permission };
}

function parseGrantee(grantee: XmlObject): Grantee {
  switch (text(grantee["@type"])) {
    case "CanonicalUser": {
      const id = text(grantee.ID);
      if (id === undefined) throw malformedAcl();
      if (!isCanonicalId(id)) throw new S3Error("InvalidArgument", "Invalid id");
      const displayName = text(grantee.DisplayName);
      return { type: "CanonicalUser", id: id.toLowerCase(), ...(displayName !== undefined ? { displayName } : {}) };
    }
    case "Group": {
      const uri = text(grantee.URI);
      if (uri === undefined) throw malformedAcl();
      if (!isGroupUri(uri)) throw new S3Error("InvalidArgument", "Invalid group uri");
      return { type: "Group", uri };
    }
    case "AmazonCustomerByEmail":
      throw emailGranteeRefused();
    default:
      throw malformedAcl();
  }
}

/** An element that must occur once, as an object (an empty element parses as ""). */
function element(value: XmlValue): XmlObject | undefined {
  if (value === "") return {};
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined;
}

function elements(value: XmlValue): XmlValue[] {
  return Array.isArray(value) ? value : [value];
}

function text(value: XmlValue): string | undefined {
  return typeof value === "string" ? value : undefined;
}
