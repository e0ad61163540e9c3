import assert from "node:assert/strict";
import { S3Error } from "../s3/errors.js";
import { ALL_USERS, cannedAcl, type Acl } from "./acl.js";
import { parseAccessControlPolicyXml, renderAccessControlPolicy } from "./acl-xml.js";

const OWNER_ID = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a";

// The GetObjectAcl response sample of the S3 API Reference, with a group grant added.
const AWS_SAMPLE = `<?xml version="1.0" encoding="UTF-8"?>
<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Owner>
    <ID>${OWNER_ID}</ID>
    <DisplayName>mtd@amazon.com</DisplayName>
  </Owner>
  <AccessControlList>
    <Grant>
      <Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">
        <ID>${OWNER_ID}</ID>
        <DisplayName>mtd@amazon.com</DisplayName>
      </Grantee>
      <Permission>FULL_CONTROL</Permission>
    </Grant>
    <Grant>
      <Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">
        <URI>${ALL_USERS}</URI>
      </Grantee>
      <Permission>READ</Permission>
    </Grant>
  </AccessControlList>
</AccessControlPolicy>`;

const SAMPLE_ACL: Acl = {
  owner: { id: OWNER_ID, displayName: "mtd@amazon.com" },
  grants: [
    { grantee: { type: "CanonicalUser", id: OWNER_ID, displayName: "mtd@amazon.com" }, permission: "FULL_CONTROL" },
    { grantee: { type: "Group", uri: ALL_USERS }, permission: "READ" },
  ],
};

const withGrants = (grants: string, owner = `<Owner><ID>${OWNER_ID}</ID></Owner>`) =>
  `<AccessControlPolicy>${owner}<AccessControlList>${grants}</AccessControlList></AccessControlPolicy>`;
const grantee = (type: string, inner: string, prefix = "xsi") =>
  `<Grantee xmlns:${prefix}="http://www.w3.org/2001/XMLSchema-instance" ${prefix}:type="${type}">${inner}</Grantee>`;

const refusedWith = (code: string, message?: string) => (error: unknown) => {
  assert.ok(error instanceof S3Error, String(error));
  assert.equal(error.code, code);
  if (message !== undefined) assert.equal(error.message, message);
  return true;
};

describe("AccessControlPolicy XML", () => {
  it("reads AWS's sample document", () => {
    assert.deepEqual(parseAccessControlPolicyXml(AWS_SAMPLE), SAMPLE_ACL);
  });

  it("renders exactly AWS's form and reads back what it renders", () => {
    const rendered = renderAccessControlPolicy(SAMPLE_ACL);
    // AWS's layout without the indentation between elements; the declaration keeps its own line.
    assert.equal(rendered, AWS_SAMPLE.replace(/>\s+</g, "><").replace("?><", "?>\n<"));
    assert.deepEqual(parseAccessControlPolicyXml(rendered), SAMPLE_ACL);
    const canned = cannedAcl("log-delivery-write", { owner: { id: OWNER_ID } });
    assert.deepEqual(parseAccessControlPolicyXml(renderAccessControlPolicy(canned)), canned);
  });

  it("renders and reads an ACL without grants, and an owner without display name", () => {
    const empty: Acl = { owner: { id: OWNER_ID }, grants: [] };
    const rendered = renderAccessControlPolicy(empty);
    assert.match(rendered, /<Owner><ID>[0-9a-f]{64}<\/ID><\/Owner><AccessControlList><\/AccessControlList>/);
    assert.deepEqual(parseAccessControlPolicyXml(rendered), empty);
    assert.deepEqual(parseAccessControlPolicyXml(`<AccessControlPolicy><Owner><ID>${OWNER_ID}</ID></Owner></AccessControlPolicy>`), empty);
  });

  it("accepts any prefix for the XMLSchema-instance namespace", () => {
    const acl = parseAccessControlPolicyXml(withGrants(`<Grant>${grantee("Group", `<URI>${ALL_USERS}</URI>`, "x")}<Permission>WRITE</Permission></Grant>`));
    assert.deepEqual(acl.grants, [{ grantee: { type: "Group", uri: ALL_USERS }, permission: "WRITE" }]);
  });

  it("refuses documents S3 refuses", () => {
    const user = grantee("CanonicalUser", `<ID>${OWNER_ID}</ID>`);
    const cases: Array<[string, string, (error: unknown) => boolean]> = [
      ["not XML", "<AccessControlPolicy><Owner>", refusedWith("MalformedACLError")],
      ["another root", "<AccessControlList/>", refusedWith("MalformedACLError")],
      ["no Owner", withGrants(`<Grant>${user}<Permission>READ</Permission></Grant>`, ""), refusedWith("MalformedACLError")],
      ["an Owner without ID", withGrants("", "<Owner><DisplayName>x</DisplayName></Owner>"), refusedWith("MalformedACLError")],
      ["an unknown permission", withGrants(`<Grant>${user}<Permission>DELETE</Permission></Grant>`), refusedWith("MalformedACLError")],
      ["a grant without permission", withGrants(`<Grant>${user}</Grant>`), refusedWith("MalformedACLError")],
      ["a grant without grantee", withGrants("<Grant><Permission>READ</Permission></Grant>"), refusedWith("MalformedACLError")],
      ["an unknown grantee type", withGrants(`<Grant>${grantee("Role", "<ID>x</ID>")}<Permission>READ</Permission></Grant>`), refusedWith("MalformedACLError")],
      ["a grantee without type", withGrants(`<Grant><Grantee><ID>${OWNER_ID}</ID></Grantee><Permission>READ</Permission></Grant>`), refusedWith("MalformedACLError")],
      ["a list that is not of grants", withGrants("<Other/>"), refusedWith("MalformedACLError")],
      ["an id that is no canonical id", withGrants(`<Grant>${grantee("CanonicalUser", "<ID>badid</ID>")}<Permission>READ</Permission></Grant>`), refusedWith("InvalidArgument", "Invalid id")],
      ["an unknown group", withGrants(`<Grant>${grantee("Group", "<URI>http://acs.amazonaws.com/groups/global/Authenticated</URI>")}<Permission>READ</Permission></Grant>`), refusedWith("InvalidArgument", "Invalid group uri")],
      ["an email grantee", withGrants(`<Grant>${grantee("AmazonCustomerByEmail", "<EmailAddress>a@example.com</EmailAddress>")}<Permission>READ</Permission></Grant>`), refusedWith("UnresolvableGrantByEmailAddress")],
    ];
    for (const [name, xml, expected] of cases) assert.throws(() => parseAccessControlPolicyXml(xml), expected, name);
  });
});
