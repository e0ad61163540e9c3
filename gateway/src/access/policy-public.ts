// Whether a bucket policy is public, as S3 judges it for GetBucketPolicyStatus and BlockPublicPolicy: S3 assumes
// it is public and takes that back only when every statement allowing everyone is pinned by a condition to fixed
// values (no wildcard, no policy variable) of a key that confines who or where the request comes from.
import { parseCidr, type ConditionClause } from "./policy-conditions.js";
import { compilePattern, hasWildcard, patternVariables } from "./pattern.js";
import type { BucketPolicy, PolicyStatement } from "./policy.js";

/**
 * Keys whose fixed value confines a statement to known requesters. AWS lists aws:userid among them; Weft adds
 * aws:username because a Weft user name names one user in the whole system, where an IAM user name is unique only
 * within its account (which is why AWS does not count it).
 */
const CONFINING_KEYS = new Set(["aws:userid", "aws:username"]);
const POSITIVE_STRING_OPERATORS = new Set(["StringEquals", "StringEqualsIgnoreCase", "StringLike"]);

/** The narrowest ranges S3 still counts as broad: a wider aws:SourceIp range confines nothing. */
const BROADEST_PREFIX = { ipv4: 8, ipv6: 32 } as const;

export function isPolicyPublic(policy: BucketPolicy): boolean {
  return policy.statements.some((statement) => allowsEveryone(statement) && !statement.conditions.some(confines));
}

function allowsEveryone(statement: PolicyStatement): boolean {
  return statement.effect === "Allow" && statement.principals.everyone && !statement.notPrincipal;
}

/** A condition confines only if a request without the key fails it: IfExists, ForAllValues and negations do not. */
function confines(clause: ConditionClause): boolean {
  if (clause.ifExists || clause.set === "all" || clause.negated) return false;
  if (clause.key === "aws:sourceip") {
    return clause.family === "ip" && clause.values.every((value) => {
      const range = parseCidr(value);
      return range !== undefined && range.prefix >= BROADEST_PREFIX[range.family];
    });
  }
  return CONFINING_KEYS.has(clause.key) && POSITIVE_STRING_OPERATORS.has(clause.base) && clause.values.every(isFixed);
}

function isFixed(value: string): boolean {
  const parts = compilePattern(value, { wildcards: true, variables: true });
  return !hasWildcard(parts) && patternVariables(parts).length === 0;
}
