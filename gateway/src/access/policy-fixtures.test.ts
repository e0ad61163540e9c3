// Shared by the policy tests: the bucket, the users and builders for policy documents and requests. Named
// *.test.ts, though it holds no test, so that the build leaves it out as it leaves out the tests.
import type { AccessRequest, ConditionContext } from "./policy.js";
import type { Requester } from "./requester.js";

export const BUCKET = "examplebucket";
export const ALICE: Requester = { kind: "user", name: "alice", canonicalId: "a".repeat(64) };
export const BOB: Requester = { kind: "user", name: "bob", canonicalId: "b0".repeat(32) };
export const ANONYMOUS: Requester = { kind: "anonymous" };

export const EVERYONE = "*";
export const USER = (name: string) => ({ AWS: `arn:aws:iam:::user/${name}` });
export const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
export const OBJECTS_ARN = `${BUCKET_ARN}/*`;

export type Statement = Record<string, unknown>;

export function policyJson(statements: Statement[], version: string | undefined = "2012-10-17"): string {
  return JSON.stringify(version === undefined ? { Statement: statements } : { Version: version, Statement: statements });
}

/** A request on an object when `key` is given, on the bucket otherwise. */
export function request(principal: Requester, action: string, key?: string, context: ConditionContext = {}): AccessRequest {
  return { principal, action, resource: key === undefined ? BUCKET_ARN : `${BUCKET_ARN}/${key}`, context };
}
