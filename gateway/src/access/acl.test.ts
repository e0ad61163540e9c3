import assert from "node:assert/strict";
import { S3Error } from "../s3/errors.js";
import {
  ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY, PERMISSIONS, aclAllows, cannedAcl, isAclPublic,
  type Acl, type AclRequester, type Grant, type Permission,
} from "./acl.js";
import { aclFromHeaders, parseGrantHeaders } from "./acl-headers.js";

const OWNER = { id: "a".repeat(64), displayName: "alice" };
const BUCKET_OWNER = { id: "b".repeat(64), displayName: "bob" };
const CAROL_ID = "c".repeat(64);

const owner = (permission: Permission): Grant => ({ grantee: { type: "CanonicalUser", ...OWNER }, permission });
const bucketOwner = (permission: Permission): Grant => ({ grantee: { type: "CanonicalUser", ...BUCKET_OWNER }, permission });
const group = (uri: typeof ALL_USERS | typeof AUTHENTICATED_USERS | typeof LOG_DELIVERY, permission: Permission): Grant =>
  ({ grantee: { type: "Group", uri }, permission });

const s3Error = (code: string, message?: string, details?: Record<string, string>) => (error: unknown) => {
  assert.ok(error instanceof S3Error, String(error));
  assert.equal(error.code, code);
  if (message !== undefined) assert.equal(error.message, message);
  if (details !== undefined) assert.deepEqual(error.details, details);
  return true;
};

// The canned ACL table of the S3 User Guide (acl-overview.html#canned-acl), for an object in another user's bucket.
const CANNED: Array<[string, Grant[]]> = [
  ["private", [owner("FULL_CONTROL")]],
  ["public-read", [owner("FULL_CONTROL"), group(ALL_USERS, "READ")]],
  ["public-read-write", [owner("FULL_CONTROL"), group(ALL_USERS, "READ"), group(ALL_USERS, "WRITE")]],
  ["aws-exec-read", [owner("FULL_CONTROL"), {
    grantee: { type: "CanonicalUser", id: "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c", displayName: "za-team" },
    permission: "READ",
  }]],
  ["authenticated-read", [owner("FULL_CONTROL"), group(AUTHENTICATED_USERS, "READ")]],
  ["bucket-owner-read", [owner("FULL_CONTROL"), bucketOwner("READ")]],
  ["bucket-owner-full-control", [owner("FULL_CONTROL"), bucketOwner("FULL_CONTROL")]],
  ["log-delivery-write", [owner("FULL_CONTROL"), group(LOG_DELIVERY, "WRITE"), group(LOG_DELIVERY, "READ_ACP")]],
];

describe("canned ACLs", () => {
  for (const [name, grants] of CANNED) {
    it(`${name} grants what S3 documents`, () => {
      assert.deepEqual(cannedAcl(name, { owner: OWNER, bucketOwner: BUCKET_OWNER }), { owner: OWNER, grants });
    });
  }

  it("bucket-owner-read and bucket-owner-full-control add nothing on a bucket or for the bucket's own owner", () => {
    for (const name of ["bucket-owner-read", "bucket-owner-full-control"]) {
      assert.deepEqual(cannedAcl(name, { owner: OWNER }).grants, [owner("FULL_CONTROL")]);
      assert.deepEqual(cannedAcl(name, { owner: OWNER, bucketOwner: OWNER }).grants, [owner("FULL_CONTROL")]);
    }
  });

  it("refuses an unknown name as S3 does: InvalidArgument with an empty message naming the header", () => {
    assert.throws(() => cannedAcl("privatee", { owner: OWNER }), s3Error("InvalidArgument", "", { ArgumentName: "x-amz-acl", ArgumentValue: "privatee" }));
  });
});

describe("grant headers", () => {
  it("reads id and uri grantees, quoted or not, in any case of the type, per header", () => {
    const grants = parseGrantHeaders({
      "x-amz-grant-read": `id="${CAROL_ID.toUpperCase()}", uri="${ALL_USERS}"`,
      "x-amz-grant-write-acp": `ID=${OWNER.id}`,
      "x-amz-grant-full-control": `uri="${LOG_DELIVERY}"`,
    });
    assert.deepEqual(grants, [
      { grantee: { type: "CanonicalUser", id: CAROL_ID }, permission: "READ" },
      group(ALL_USERS, "READ"),
      { grantee: { type: "CanonicalUser", id: OWNER.id }, permission: "WRITE_ACP" },
      group(LOG_DELIVERY, "FULL_CONTROL"),
    ]);
  });

  it("is undefined without grant headers, and then the canned ACL or nothing applies", () => {
    assert.equal(parseGrantHeaders({ "x-amz-acl": "public-read" }), undefined);
    assert.deepEqual(aclFromHeaders({ "x-amz-acl": "public-read" }, { owner: OWNER }), cannedAcl("public-read", { owner: OWNER }));
    assert.equal(aclFromHeaders({}, { owner: OWNER }), undefined);
  });

  it("makes explicit grants the whole ACL: the owner gets nothing unnamed", () => {
    assert.deepEqual(aclFromHeaders({ "x-amz-grant-read": `uri="${AUTHENTICATED_USERS}"` }, { owner: OWNER }), {
      owner: OWNER,
      grants: [group(AUTHENTICATED_USERS, "READ")],
    });
  });

  it("refuses a canned ACL together with grants", () => {
    assert.throws(
      () => parseGrantHeaders({ "x-amz-acl": "private", "x-amz-grant-read": `id="${CAROL_ID}"` }),
      s3Error("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed"),
    );
  });

  it("refuses what S3 refuses, in S3's words", () => {
    const cases: Array<[Record<string, string>, (error: unknown) => boolean]> = [
      [{ "x-amz-grant-read": "fdjklasaj" }, s3Error("InvalidArgument", "Argument format not recognized", { ArgumentName: "x-amz-grant-read", ArgumentValue: "fdjklasaj" })],
      [{ "x-amz-grant-write": "" }, s3Error("InvalidArgument", "Argument format not recognized")],
      [{ "x-amz-grant-read": `id="${CAROL_ID}",` }, s3Error("InvalidArgument", "Argument format not recognized")],
      [{ "x-amz-grant-read": `name="carol"` }, s3Error("InvalidArgument", "Argument format not recognized")],
      [{ "x-amz-grant-read": 'id="0123"' }, s3Error("InvalidArgument", "Invalid id", { ArgumentName: "id", ArgumentValue: "0123" })],
      [{ "x-amz-grant-read": 'uri="http://acs.amazonaws.com/groups/global/Authenticated"' }, s3Error("InvalidArgument", "Invalid group uri")],
      [{ "x-amz-grant-full-control": 'emailAddress="carol@example.com"' }, s3Error("UnresolvableGrantByEmailAddress")],
    ];
    for (const [headers, expected] of cases) assert.throws(() => parseGrantHeaders(headers), expected, JSON.stringify(headers));
  });
});

describe("what an ACL allows", () => {
  const ANONYMOUS: AclRequester = { kind: "anonymous" };
  const THE_OWNER: AclRequester = { kind: "user", canonicalId: OWNER.id };
  const CAROL: AclRequester = { kind: "user", canonicalId: CAROL_ID.toUpperCase() };
  const acl = (...grants: Grant[]): Acl => ({ owner: OWNER, grants });
  const carol = (permission: Permission): Grant => ({ grantee: { type: "CanonicalUser", id: CAROL_ID }, permission });

  // Each row: an ACL, a requester, and the permissions it grants them (every other permission refused).
  const MATRIX: Array<[string, Acl, AclRequester, Permission[]]> = [
    ["the owner under private", cannedAcl("private", { owner: OWNER }), THE_OWNER, [...PERMISSIONS]],
    ["anyone else under private", cannedAcl("private", { owner: OWNER }), CAROL, []],
    ["the anonymous under public-read", cannedAcl("public-read", { owner: OWNER }), ANONYMOUS, ["READ"]],
    ["a user under public-read-write", cannedAcl("public-read-write", { owner: OWNER }), CAROL, ["READ", "WRITE"]],
    ["a user under authenticated-read", cannedAcl("authenticated-read", { owner: OWNER }), CAROL, ["READ"]],
    ["the anonymous under authenticated-read", cannedAcl("authenticated-read", { owner: OWNER }), ANONYMOUS, []],
    ["a user granted FULL_CONTROL, id in any case", acl(carol("FULL_CONTROL")), CAROL, [...PERMISSIONS]],
    ["a user granted READ_ACP", acl(carol("READ_ACP")), CAROL, ["READ_ACP"]],
    ["the owner with no grants at all: the ACL itself only", acl(), THE_OWNER, ["READ_ACP", "WRITE_ACP"]],
    ["the anonymous under log-delivery-write", cannedAcl("log-delivery-write", { owner: OWNER }), ANONYMOUS, []],
  ];

  for (const [name, list, requester, granted] of MATRIX) {
    it(name, () => {
      for (const permission of PERMISSIONS) assert.equal(aclAllows(list, requester, permission), granted.includes(permission), permission);
    });
  }
});

describe("public ACLs", () => {
  it("are those granting anything to AllUsers or AuthenticatedUsers", () => {
    const expected: Record<string, boolean> = {
      "private": false, "public-read": true, "public-read-write": true, "aws-exec-read": false, "authenticated-read": true,
      "bucket-owner-read": false, "bucket-owner-full-control": false, "log-delivery-write": false,
    };
    for (const [name, isPublic] of Object.entries(expected)) {
      assert.equal(isAclPublic(cannedAcl(name, { owner: OWNER, bucketOwner: BUCKET_OWNER })), isPublic, name);
    }
    assert.equal(isAclPublic({ owner: OWNER, grants: [group(AUTHENTICATED_USERS, "WRITE_ACP")] }), true);
  });
});
