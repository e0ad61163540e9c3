import assert from "node:assert/strict";
import { compileGlob, matchPattern } from "./pattern.js";
import { parseBucketPolicy, policyPrincipals } from "./policy.js";
import { isPolicyPublic } from "./policy-public.js";
import { BUCKET, EVERYONE, OBJECTS_ARN, USER, policyJson, type Statement } from "./policy-fixtures.test.js";

const read = (Principal: unknown, Condition?: unknown, Effect = "Allow"): Statement =>
  ({ Effect, Principal, Action: "s3:GetObject", Resource: OBJECTS_ARN, ...(Condition ? { Condition } : {}) });

// Each row: statements, and whether S3 would call the policy public (GetBucketPolicyStatus IsPublic).
const PUBLIC: Array<[string, Statement[], boolean]> = [
  ["an allow to everyone", [read(EVERYONE)], true],
  ["an allow to {AWS: *}", [read({ AWS: "*" })], true],
  ["an allow to a named user", [read(USER("alice"))], false],
  ["a deny to everyone", [read(EVERYONE, undefined, "Deny")], false],
  ["everyone, from one /24", [read(EVERYONE, { IpAddress: { "aws:SourceIp": "192.0.2.0/24" } })], false],
  ["everyone, from an IPv6 /48", [read(EVERYONE, { IpAddress: { "aws:SourceIp": "2001:db8:1::/48" } })], false],
  ["everyone, from a range broader than /8", [read(EVERYONE, { IpAddress: { "aws:SourceIp": ["192.0.2.0/24", "0.0.0.0/1"] } })], true],
  ["everyone, from anywhere but one range", [read(EVERYONE, { NotIpAddress: { "aws:SourceIp": "192.0.2.0/24" } })], true],
  ["everyone, if a fixed user name", [read(EVERYONE, { StringEquals: { "aws:username": "alice" } })], false],
  ["everyone, if a fixed user id", [read(EVERYONE, { StringLike: { "aws:userid": "a".repeat(64) } })], false],
  ["everyone, if a user id pattern", [read(EVERYONE, { StringLike: { "aws:userid": "*" } })], true],
  ["everyone, if a policy variable", [read(EVERYONE, { StringEquals: { "aws:username": "${aws:username}" } })], true],
  ["everyone, if the user id exists", [read(EVERYONE, { StringEqualsIfExists: { "aws:userid": "x" } })], true],
  ["everyone, over HTTPS", [read(EVERYONE, { Bool: { "aws:SecureTransport": "true" } })], true],
  ["one public statement among private ones", [read(USER("alice")), read(EVERYONE)], true],
];

describe("public bucket policies", () => {
  for (const [name, statements, expected] of PUBLIC) {
    it(`${expected ? "public" : "not public"}: ${name}`, () => {
      assert.equal(isPolicyPublic(parseBucketPolicy(policyJson(statements), BUCKET)), expected);
    });
  }

  it("lists the users a policy names, for the caller to check they exist", () => {
    const policy = parseBucketPolicy(policyJson([
      read({ AWS: ["arn:aws:iam:::user/alice", "arn:aws:iam:::user/bob"] }),
      read({ CanonicalUser: "C".repeat(64), AWS: "arn:aws:iam:::user/alice" }),
    ]), BUCKET);
    assert.deepEqual(policyPrincipals(policy), { names: ["alice", "bob"], canonicalIds: ["c".repeat(64)] });
  });

  it("matches wildcards without exponential backtracking", () => {
    const pattern = compileGlob(`${"*a".repeat(40)}*b`);
    const started = process.hrtime.bigint();
    assert.equal(matchPattern(pattern, "a".repeat(5_000)), false);
    assert.ok(process.hrtime.bigint() - started < 2_000_000_000n);
  });
});
