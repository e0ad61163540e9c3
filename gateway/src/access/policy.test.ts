import assert from "node:assert/strict";
import { S3Error } from "../s3/errors.js";
import { evaluatePolicy, parseBucketPolicy, type AccessRequest, type PolicyDecision } from "./policy.js";
import {
  ALICE, ANONYMOUS, BOB, BUCKET, BUCKET_ARN, EVERYONE, OBJECTS_ARN, USER, policyJson, request, type Statement,
} from "./policy-fixtures.test.js";

interface Case {
  name: string;
  statements: Statement[];
  version?: string;
  checks: Array<[AccessRequest, PolicyDecision]>;
}

const allow = (Principal: unknown, Action: unknown, Resource: unknown, Condition?: unknown): Statement =>
  ({ Effect: "Allow", Principal, Action, Resource, ...(Condition ? { Condition } : {}) });
const deny = (Principal: unknown, Action: unknown, Resource: unknown, Condition?: unknown): Statement =>
  ({ Effect: "Deny", Principal, Action, Resource, ...(Condition ? { Condition } : {}) });
const ip = (address: string) => ({ "aws:SourceIp": address });

// The bucket policy examples of the S3 User Guide and the IAM evaluation rules, one row per request.
const CASES: Case[] = [
  {
    name: "read-only permission to anonymous users",
    statements: [allow(EVERYONE, ["s3:GetObject", "s3:GetObjectVersion"], OBJECTS_ARN)],
    checks: [
      [request(ANONYMOUS, "s3:GetObject", "photo.jpg"), "allow"],
      [request(ALICE, "s3:GetObjectVersion", "photo.jpg"), "allow"],
      [request(ANONYMOUS, "s3:PutObject", "photo.jpg"), "implicit"],
      [request(ANONYMOUS, "s3:ListBucket"), "implicit"],
    ],
  },
  {
    name: "deny every request from outside an address range",
    statements: [deny(EVERYONE, "s3:*", [BUCKET_ARN, OBJECTS_ARN], { NotIpAddress: ip("192.0.2.0/24") })],
    checks: [
      [request(ALICE, "s3:GetObject", "k", ip("192.0.2.10")), "implicit"],
      [request(ALICE, "s3:GetObject", "k", ip("203.0.113.5")), "deny"],
      // A negated operator holds when the key is absent.
      [request(ALICE, "s3:GetObject", "k"), "deny"],
    ],
  },
  {
    name: "allow an address range except one address",
    statements: [allow(EVERYONE, "s3:*", OBJECTS_ARN, { IpAddress: ip("54.240.143.0/24"), NotIpAddress: ip("54.240.143.188/32") })],
    checks: [
      [request(ANONYMOUS, "s3:GetObject", "k", ip("54.240.143.1")), "allow"],
      [request(ANONYMOUS, "s3:GetObject", "k", ip("::ffff:54.240.143.7")), "allow"],
      [request(ANONYMOUS, "s3:GetObject", "k", ip("54.240.143.188")), "implicit"],
      [request(ANONYMOUS, "s3:GetObject", "k", ip("1.2.3.4")), "implicit"],
      [request(ANONYMOUS, "s3:GetObject", "k"), "implicit"],
    ],
  },
  {
    name: "IPv4 and IPv6 ranges together",
    statements: [allow(EVERYONE, "s3:*", OBJECTS_ARN, {
      IpAddress: { "aws:SourceIp": ["54.240.143.0/24", "2001:DB8:1234:5678::/64"] },
      NotIpAddress: { "aws:SourceIp": ["54.240.143.128/30", "2001:DB8:1234:5678:ABCD::/80"] },
    })],
    checks: [
      [request(ANONYMOUS, "s3:GetObject", "k", ip("2001:db8:1234:5678::1")), "allow"],
      [request(ANONYMOUS, "s3:GetObject", "k", ip("2001:db8:1234:5678:abcd::1")), "implicit"],
      [request(ANONYMOUS, "s3:GetObject", "k", ip("54.240.143.129")), "implicit"],
      [request(ANONYMOUS, "s3:GetObject", "k", ip("54.240.143.2")), "allow"],
    ],
  },
  {
    name: "deny requests not made over HTTPS; the deny wins over an allow",
    statements: [
      allow(USER("alice"), "s3:*", [BUCKET_ARN, OBJECTS_ARN]),
      deny(EVERYONE, "s3:*", [BUCKET_ARN, OBJECTS_ARN], { Bool: { "aws:SecureTransport": "false" } }),
    ],
    checks: [
      [request(ALICE, "s3:PutObject", "k", { "aws:SecureTransport": "false" }), "deny"],
      [request(ALICE, "s3:PutObject", "k", { "aws:SecureTransport": "true" }), "allow"],
      [request(BOB, "s3:PutObject", "k", { "aws:SecureTransport": "true" }), "implicit"],
    ],
  },
  {
    name: "each user lists and uses only their home folder (s3:prefix, s3:delimiter, ${aws:username})",
    statements: [
      allow({ AWS: ["arn:aws:iam:::user/alice", "arn:aws:iam:::user/bob"] }, "s3:ListBucket", BUCKET_ARN,
        { StringEquals: { "s3:prefix": ["", "home/"], "s3:delimiter": ["/"] } }),
      allow({ AWS: ["arn:aws:iam:::user/alice", "arn:aws:iam:::user/bob"] }, "s3:ListBucket", BUCKET_ARN,
        { StringLike: { "s3:prefix": "home/${aws:username}/*" } }),
      allow({ AWS: ["arn:aws:iam:::user/alice", "arn:aws:iam:::user/bob"] }, "s3:*", `${BUCKET_ARN}/home/\${aws:username}/*`),
    ],
    checks: [
      [request(ALICE, "s3:ListBucket", undefined, { "s3:prefix": "", "s3:delimiter": "/" }), "allow"],
      [request(ALICE, "s3:ListBucket", undefined, { "s3:prefix": "home/" }), "implicit"],
      [request(ALICE, "s3:ListBucket", undefined, { "s3:prefix": "home/alice/docs/" }), "allow"],
      [request(ALICE, "s3:ListBucket", undefined, { "s3:prefix": "home/bob/" }), "implicit"],
      [request(ALICE, "s3:GetObject", "home/alice/notes.txt"), "allow"],
      [request(ALICE, "s3:GetObject", "home/bob/notes.txt"), "implicit"],
      [request(BOB, "s3:DeleteObject", "home/bob/notes.txt"), "allow"],
    ],
  },
  {
    name: "Version 2008-10-17 has no policy variables: ${...} is literal text",
    version: "2008-10-17",
    statements: [allow(USER("alice"), "s3:*", `${BUCKET_ARN}/home/\${aws:username}/*`)],
    checks: [
      [request(ALICE, "s3:GetObject", "home/alice/notes.txt"), "implicit"],
      [request(ALICE, "s3:GetObject", "home/${aws:username}/notes.txt"), "allow"],
    ],
  },
  {
    name: "the escapes ${*}, ${?} and ${$} stand for literal characters",
    statements: [allow(EVERYONE, "s3:GetObject", `${BUCKET_ARN}/\${*}\${?}\${$}*`)],
    checks: [
      [request(ANONYMOUS, "s3:GetObject", "*?$tail"), "allow"],
      [request(ANONYMOUS, "s3:GetObject", "ab$tail"), "implicit"],
    ],
  },
  {
    name: "deny everyone but the listed user (NotPrincipal)",
    statements: [
      allow(EVERYONE, "s3:GetObject", OBJECTS_ARN),
      { Effect: "Deny", NotPrincipal: USER("alice"), Action: "s3:*", Resource: [BUCKET_ARN, OBJECTS_ARN] },
    ],
    checks: [
      [request(ALICE, "s3:GetObject", "k"), "allow"],
      [request(BOB, "s3:GetObject", "k"), "deny"],
      [request(ANONYMOUS, "s3:GetObject", "k"), "deny"],
    ],
  },
  {
    name: "deny every action but reads (NotAction)",
    statements: [
      allow(USER("alice"), "s3:*", [BUCKET_ARN, OBJECTS_ARN]),
      { Effect: "Deny", Principal: EVERYONE, NotAction: ["s3:GetObject", "s3:ListBucket"], Resource: [BUCKET_ARN, OBJECTS_ARN] },
    ],
    checks: [
      [request(ALICE, "s3:PutObject", "k"), "deny"],
      [request(ALICE, "s3:GetObject", "k"), "allow"],
      [request(ALICE, "s3:ListBucket"), "allow"],
    ],
  },
  {
    name: "allow everything but one folder (NotResource)",
    statements: [{ Effect: "Allow", Principal: USER("alice"), Action: "s3:GetObject", NotResource: `${BUCKET_ARN}/private/*` }],
    checks: [
      [request(ALICE, "s3:GetObject", "public/k"), "allow"],
      [request(ALICE, "s3:GetObject", "private/k"), "implicit"],
    ],
  },
  {
    name: "uploads only with the bucket-owner-full-control canned ACL (s3:x-amz-acl)",
    statements: [allow(USER("bob"), "s3:PutObject", OBJECTS_ARN, { StringEquals: { "s3:x-amz-acl": "bucket-owner-full-control" } })],
    checks: [
      [request(BOB, "s3:PutObject", "k", { "s3:x-amz-acl": "bucket-owner-full-control" }), "allow"],
      [request(BOB, "s3:PutObject", "k", { "s3:x-amz-acl": "private" }), "implicit"],
      [request(BOB, "s3:PutObject", "k"), "implicit"],
    ],
  },
  {
    name: "limit the keys a listing returns (s3:max-keys)",
    statements: [allow(EVERYONE, "s3:ListBucket", BUCKET_ARN, { NumericLessThanEquals: { "s3:max-keys": "10" } })],
    checks: [
      [request(ANONYMOUS, "s3:ListBucket", undefined, { "s3:max-keys": "5" }), "allow"],
      [request(ANONYMOUS, "s3:ListBucket", undefined, { "s3:max-keys": "100" }), "implicit"],
      [request(ANONYMOUS, "s3:ListBucket"), "implicit"],
    ],
  },
  {
    name: "a CanonicalUser principal, any case",
    statements: [allow({ CanonicalUser: "A".repeat(64) }, "s3:GetObject", OBJECTS_ARN)],
    checks: [
      [request(ALICE, "s3:GetObject", "k"), "allow"],
      [request(BOB, "s3:GetObject", "k"), "implicit"],
      [request(ANONYMOUS, "s3:GetObject", "k"), "implicit"],
    ],
  },
  {
    name: "action names compare without case; resources with ? and * wildcards, with case",
    statements: [allow({ AWS: "*" }, "S3:get*", `${BUCKET_ARN}/file?.txt`)],
    checks: [
      [request(ANONYMOUS, "s3:GetObjectAcl", "file1.txt"), "allow"],
      [request(ANONYMOUS, "s3:GetObject", "file10.txt"), "implicit"],
      [request(ANONYMOUS, "s3:GetObject", "FILE1.txt"), "implicit"],
      [request(ANONYMOUS, "s3:PutObject", "file1.txt"), "implicit"],
    ],
  },
  {
    name: "no statement matching is an implicit deny; an allow and a deny both matching is a deny",
    statements: [allow(USER("alice"), "s3:GetObject", OBJECTS_ARN), deny(USER("alice"), "s3:GetObject", `${BUCKET_ARN}/secret/*`)],
    checks: [
      [request(ALICE, "s3:GetObject", "open/k"), "allow"],
      [request(ALICE, "s3:GetObject", "secret/k"), "deny"],
      [request(BOB, "s3:GetObject", "open/k"), "implicit"],
      [request(ALICE, "s3:ListBucket"), "implicit"],
    ],
  },
  {
    name: "Null tests presence; IfExists passes when the key is absent",
    statements: [
      deny(EVERYONE, "s3:PutObject", OBJECTS_ARN, { Null: { "s3:x-amz-acl": "true" } }),
      allow(EVERYONE, "s3:PutObject", OBJECTS_ARN, { StringEqualsIfExists: { "aws:Referer": "https://example.com/" } }),
    ],
    checks: [
      [request(ANONYMOUS, "s3:PutObject", "k"), "deny"],
      [request(ANONYMOUS, "s3:PutObject", "k", { "s3:x-amz-acl": "private" }), "allow"],
      [request(ANONYMOUS, "s3:PutObject", "k", { "s3:x-amz-acl": "private", "aws:referer": "https://example.com/" }), "allow"],
      [request(ANONYMOUS, "s3:PutObject", "k", { "s3:x-amz-acl": "private", "aws:Referer": "https://evil.example/" }), "implicit"],
    ],
  },
  {
    name: "aws:username and aws:userid come from the principal; anonymous is the user id \"anonymous\"",
    statements: [
      deny(EVERYONE, "s3:DeleteObject", OBJECTS_ARN, { StringNotEquals: { "aws:username": "alice" } }),
      allow(EVERYONE, "s3:GetObject", OBJECTS_ARN, { StringEquals: { "aws:userid": "anonymous" } }),
      allow(EVERYONE, "s3:DeleteObject", OBJECTS_ARN, { StringEqualsIgnoreCase: { "aws:username": "ALICE" } }),
    ],
    checks: [
      [request(ANONYMOUS, "s3:DeleteObject", "k"), "deny"],
      [request(BOB, "s3:DeleteObject", "k"), "deny"],
      [request(BOB, "s3:DeleteObject", "k", { "aws:username": "alice" }), "deny"],
      [request(ALICE, "s3:DeleteObject", "k"), "allow"],
      [request(ANONYMOUS, "s3:GetObject", "k"), "allow"],
      [request(ALICE, "s3:GetObject", "k", { "aws:userid": "anonymous" }), "implicit"],
    ],
  },
  {
    name: "ForAnyValue and ForAllValues over a list of values",
    statements: [
      allow(EVERYONE, "s3:GetObject", OBJECTS_ARN, { "ForAnyValue:StringLike": { "aws:UserAgent": "curl/*" } }),
      deny(EVERYONE, "s3:GetObject", OBJECTS_ARN, { "ForAllValues:StringNotLike": { "aws:UserAgent": ["curl/*", "aws-cli/*"] } }),
    ],
    checks: [
      [request(ANONYMOUS, "s3:GetObject", "k", { "aws:UserAgent": ["curl/8.0", "aws-cli/2"] }), "allow"],
      [request(ANONYMOUS, "s3:GetObject", "k", { "aws:UserAgent": ["wget/1"] }), "deny"],
      // ForAllValues holds on an absent key, ForAnyValue fails on it.
      [request(ANONYMOUS, "s3:GetObject", "k"), "deny"],
    ],
  },
  {
    name: "a time window (aws:CurrentTime, aws:EpochTime)",
    statements: [allow(EVERYONE, "s3:GetObject", OBJECTS_ARN, {
      DateLessThan: { "aws:CurrentTime": "2030-01-01T00:00:00Z" },
      NumericGreaterThan: { "aws:EpochTime": 1_700_000_000 },
    })],
    checks: [
      [request(ANONYMOUS, "s3:GetObject", "k", { "aws:CurrentTime": "2026-06-01T00:00:00Z", "aws:EpochTime": "1780272000" }), "allow"],
      [request(ANONYMOUS, "s3:GetObject", "k", { "aws:CurrentTime": "2031-06-01T00:00:00Z", "aws:EpochTime": "1780272000" }), "implicit"],
      [request(ANONYMOUS, "s3:GetObject", "k", { "aws:CurrentTime": "2026-06-01T00:00:00Z", "aws:EpochTime": "1600000000" }), "implicit"],
    ],
  },
];

describe("bucket policy evaluation", () => {
  for (const { name, statements, version, checks } of CASES) {
    it(name, () => {
      const policy = parseBucketPolicy(policyJson(statements, version), BUCKET);
      for (const [accessRequest, expected] of checks) {
        assert.equal(evaluatePolicy(policy, accessRequest), expected, JSON.stringify(accessRequest));
      }
    });
  }
});

const valid: Statement = { Effect: "Allow", Principal: EVERYONE, Action: "s3:GetObject", Resource: OBJECTS_ARN };
const withCondition = (Condition: unknown, Action: unknown = "s3:GetObject"): Statement => ({ ...valid, Action, Condition });

// Each row: the body of a PutBucketPolicy and the MalformedPolicy message S3 answers it with.
const MALFORMED: Array<[string, string, string]> = [
  ["not JSON", '{"Version": "2012-10-17",', "This policy contains invalid Json"],
  ["not an object", "[]", "Policies must be valid JSON and the first byte must be '{'"],
  ["an unknown member", JSON.stringify({ Version: "2012-10-17", Statement: [valid], Comment: "x" }), "Invalid policy syntax."],
  ["an unknown version", policyJson([valid], "2020-01-01"), "The policy must contain a valid version string"],
  ["no Statement", JSON.stringify({ Version: "2012-10-17" }), "Missing required field Statement"],
  ["an empty Statement", policyJson([]), "Could not parse the policy: Statement is empty!"],
  ["a Statement that is a string", JSON.stringify({ Version: "2012-10-17", Statement: "all" }), "Invalid policy syntax."],
  ["an unknown statement member", policyJson([{ ...valid, Principals: EVERYONE }]), "Invalid policy syntax."],
  ["no Effect", policyJson([{ ...valid, Effect: undefined }]), "Missing required field Effect"],
  ["an unknown Effect", policyJson([{ ...valid, Effect: "Permit" }]), "Invalid effect: Permit"],
  ["no Principal", policyJson([{ ...valid, Principal: undefined }]), "Missing required field Principal"],
  ["both Principal and NotPrincipal", policyJson([{ ...valid, Effect: "Deny", NotPrincipal: USER("bob") }]), "Invalid policy syntax."],
  ["a service principal", policyJson([{ ...valid, Principal: { Service: "cloudtrail.amazonaws.com" } }]), "Invalid principal in policy"],
  ["an AWS account principal", policyJson([{ ...valid, Principal: { AWS: "arn:aws:iam::123456789012:root" } }]), "Invalid principal in policy"],
  ["a user name with a wildcard", policyJson([{ ...valid, Principal: { AWS: "arn:aws:iam:::user/a*" } }]), "Invalid principal in policy"],
  ["a short canonical id", policyJson([{ ...valid, Principal: { CanonicalUser: "abc" } }]), "Invalid principal in policy"],
  ["an empty principal list", policyJson([{ ...valid, Principal: { AWS: [] } }]), "Invalid principal in policy"],
  ["NotPrincipal with Allow", policyJson([{ ...valid, Principal: undefined, NotPrincipal: USER("bob") }]), "Invalid principal in policy"],
  ["no Action", policyJson([{ ...valid, Action: undefined }]), "Missing required field Action"],
  ["both Action and NotAction", policyJson([{ ...valid, NotAction: "s3:PutObject" }]), "Invalid policy syntax."],
  ["another service's action", policyJson([{ ...valid, Action: "ec2:RunInstances" }]), "Policy has invalid action"],
  ["an action S3 does not have", policyJson([{ ...valid, Action: "s3:FlyAway" }]), "Policy has invalid action"],
  ["a wildcard naming no S3 action", policyJson([{ ...valid, Action: "s3:Fly*" }]), "Policy has invalid action"],
  ["an Action that is a number", policyJson([{ ...valid, Action: 3 }]), "Invalid policy syntax."],
  ["no Resource", policyJson([{ ...valid, Resource: undefined }]), "Missing required field Resource"],
  ["Resource *", policyJson([{ ...valid, Resource: "*" }]), "Policy has invalid resource"],
  ["another bucket", policyJson([{ ...valid, Resource: "arn:aws:s3:::otherbucket/*" }]), "Policy has invalid resource"],
  ["an ARN of another service", policyJson([{ ...valid, Resource: "arn:aws:sqs:::examplebucket" }]), "Policy has invalid resource"],
  ["a resource variable Weft has no value for", policyJson([{ ...valid, Resource: `${BUCKET_ARN}/\${aws:PrincipalTag/team}/*` }]), "Policy has invalid resource"],
  ["an object action on the bucket", policyJson([{ ...valid, Action: "s3:PutObject", Resource: BUCKET_ARN }]), "Action does not apply to any resource(s) in statement"],
  ["a bucket action on objects", policyJson([{ ...valid, Action: "s3:ListBucket" }]), "Action does not apply to any resource(s) in statement"],
  ["an account action", policyJson([{ ...valid, Action: "s3:ListAllMyBuckets" }]), "Action does not apply to any resource(s) in statement"],
  ["an unknown condition operator", policyJson([withCondition({ StringSoundsLike: { "aws:username": "a" } })]), "Invalid Condition type : StringSoundsLike"],
  ["an operator in the wrong case", policyJson([withCondition({ stringequals: { "aws:username": "a" } })]), "Invalid Condition type : stringequals"],
  ["Null with IfExists", policyJson([withCondition({ NullIfExists: { "aws:username": "true" } })]), "Invalid Condition type : NullIfExists"],
  ["an ARN operator", policyJson([withCondition({ ArnLike: { "aws:username": "a" } })]), "Invalid Condition type : ArnLike"],
  ["an operator named after an Object property", policyJson([withCondition({ constructor: { "aws:username": "a" } })]), "Invalid Condition type : constructor"],
  ["a key named after an Object property", policyJson([withCondition({ StringEquals: { toString: "a" } })]), "Policy has an invalid condition key"],
  ["a variable named after an Object property", policyJson([withCondition({ StringEquals: { "aws:username": "${constructor}" } })]), "Policy has an invalid condition key"],
  ["a key Weft does not evaluate", policyJson([withCondition({ StringEquals: { "aws:SourceVpc": "vpc-1" } })]), "Policy has an invalid condition key"],
  ["a variable Weft has no value for", policyJson([withCondition({ StringEquals: { "aws:username": "${aws:PrincipalTag/x}" } })]), "Policy has an invalid condition key"],
  ["s3:prefix on an object action", policyJson([withCondition({ StringEquals: { "s3:prefix": "a/" } })]), "Conditions do not apply to combination of actions and resources in statement"],
  ["a malformed address", policyJson([withCondition({ IpAddress: { "aws:SourceIp": "10.0.0.300/8" } })]), "Invalid IP address in Conditions"],
  ["an address range past /32", policyJson([withCondition({ IpAddress: { "aws:SourceIp": "10.0.0.0/33" } })]), "Invalid IP address in Conditions"],
  ["an address operator on a name", policyJson([withCondition({ IpAddress: { "aws:username": "10.0.0.0/8" } })]), "Condition operator IpAddress cannot be applied to the condition key aws:username"],
  ["a number that is not one", policyJson([withCondition({ NumericLessThan: { "s3:max-keys": "ten" } }, "s3:ListBucket")]).replace(OBJECTS_ARN, BUCKET_ARN), "Invalid value in Conditions for operator NumericLessThan"],
  ["a Bool that is not one", policyJson([withCondition({ Bool: { "aws:SecureTransport": "yes" } })]), "Invalid value in Conditions for operator Bool"],
  ["an empty value list", policyJson([withCondition({ StringEquals: { "aws:username": [] } })]), "Invalid policy syntax."],
  ["a Condition that is a list", policyJson([withCondition([])]), "Invalid policy syntax."],
  ["over 20 KB once white space is dropped", policyJson([{ ...valid, Sid: "x".repeat(20_480) }]), "Normalized policy document exceeds the maximum allowed size of 20480 bytes"],
];

describe("bucket policy parsing", () => {
  for (const [name, body, message] of MALFORMED) {
    it(`refuses ${name}`, () => {
      assert.throws(() => parseBucketPolicy(body, BUCKET), (error: unknown) => {
        assert.ok(error instanceof S3Error);
        assert.equal(error.code, "MalformedPolicy");
        assert.equal(error.status, 400);
        assert.equal(error.message, message);
        return true;
      });
    });
  }

  it("accepts what AWS accepts: no Version, one Statement object, Action *, wildcard bucket part", () => {
    const body = JSON.stringify({ Id: "p1", Statement: { Sid: "s", Effect: "Allow", Principal: { AWS: ["*"] }, Action: "*", Resource: "arn:aws:s3:::example*" } });
    const policy = parseBucketPolicy(body, BUCKET);
    assert.equal(policy.version, "2008-10-17");
    assert.equal(evaluatePolicy(policy, request(ANONYMOUS, "s3:PutObject", "k")), "allow");
  });

  it("counts the size without insignificant white space", () => {
    const padded = policyJson([valid]).replace("{", `{${" ".repeat(30_000)}`);
    assert.equal(parseBucketPolicy(padded, BUCKET).statements.length, 1);
  });
});
