// ACLs sent as request headers (CreateBucket, PutObject, PutBucketAcl, PutObjectAcl, CreateMultipartUpload,
// CopyObject): the canned x-amz-acl, or explicit x-amz-grant-* grants.
import { S3Error } from "../s3/errors.js";
import { cannedAcl, isGroupUri, type Acl, type Grant, type Grantee, type Owner, type Permission } from "./acl.js";
import { isCanonicalId } from "./requester.js";

export type RequestHeaders = Record<string, string | string[] | undefined>;

export const CANNED_ACL_HEADER = "x-amz-acl";
/** In the order their grants are listed. */
export const GRANT_HEADERS: ReadonlyArray<readonly [string, Permission]> = [
  ["x-amz-grant-read", "READ"],
  ["x-amz-grant-write", "WRITE"],
  ["x-amz-grant-read-acp", "READ_ACP"],
  ["x-amz-grant-write-acp", "WRITE_ACP"],
  ["x-amz-grant-full-control", "FULL_CONTROL"],
];

/** Node lowercases header names and joins repeated custom headers; a list from elsewhere is joined the same way. */
function header(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/**
 * The grants of the x-amz-grant-* headers, or undefined when there are none. With explicit grants the ACL is exactly
 * them: the owner gets no FULL_CONTROL grant unless a header names them, as in S3.
 */
export function parseGrantHeaders(headers: RequestHeaders): Grant[] | undefined {
  const present = GRANT_HEADERS.filter(([name]) => header(headers, name) !== undefined);
  if (present.length === 0) return undefined;
  if (header(headers, CANNED_ACL_HEADER) !== undefined) {
    throw new S3Error("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed");
  }
  return present.flatMap(([name, permission]) =>
    parseGranteeList(name, header(headers, name)!).map((grantee) => ({ grantee, permission })),
  );
}

/** The ACL a request's headers ask for, or undefined when they ask for none (the caller's default, private). */
export function aclFromHeaders(headers: RequestHeaders, owners: { owner: Owner; bucketOwner?: Owner }): Acl | undefined {
  const grants = parseGrantHeaders(headers);
  if (grants !== undefined) return { owner: owners.owner, grants };
  const canned = header(headers, CANNED_ACL_HEADER);
  return canned === undefined ? undefined : cannedAcl(canned.trim(), owners);
}

/** `type="value"` items separated by commas; the type is id, uri or emailAddress, in any case; quotes optional. */
const GRANTEE_ITEM = /^\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^",\s]+))\s*$/;

function parseGranteeList(name: string, value: string): Grantee[] {
  const unrecognized = () =>
    new S3Error("InvalidArgument", "Argument format not recognized", { details: { ArgumentName: name, ArgumentValue: value } });
  if (value.trim() === "") throw unrecognized();
  return splitItems(value).map((item) => {
    const match = GRANTEE_ITEM.exec(item);
    if (!match) throw unrecognized();
    return parseGrantee(match[1]!.toLowerCase(), match[2] ?? match[3]!, unrecognized);
  });
}

/** Commas inside quotes belong to the value; an empty item (a stray comma) is not a grantee. */
function splitItems(value: string): string[] {
  return value.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/);
}

function parseGrantee(type: string, value: string, unrecognized: () => S3Error): Grantee {
  switch (type) {
    case "id":
      if (!isCanonicalId(value)) throw new S3Error("InvalidArgument", "Invalid id", { details: { ArgumentName: "id", ArgumentValue: value } });
      return { type: "CanonicalUser", id: value.toLowerCase() };
    case "uri":
      if (!isGroupUri(value)) throw new S3Error("InvalidArgument", "Invalid group uri", { details: { ArgumentName: "uri", ArgumentValue: value } });
      return { type: "Group", uri: value };
    case "emailaddress":
      throw emailGranteeRefused();
    default:
      throw unrecognized();
  }
}

/**
 * Weft users have no email address, so no address resolves to one: S3's answer for an address that matches no
 * account says exactly that, where NotImplemented would suggest a feature still to come.
 */
export function emailGranteeRefused(): S3Error {
  return new S3Error("UnresolvableGrantByEmailAddress");
}
