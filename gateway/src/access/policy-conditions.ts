// A bucket policy statement's Condition element: parsed once (every operator and key Weft cannot evaluate is
// refused, never skipped) and evaluated per request against the request context.
import { BlockList, isIP } from "node:net";
import { S3Error } from "../s3/errors.js";
import { compilePattern, literalText, matchPattern, patternVariables, resolvePattern } from "./pattern.js";

/** Condition key (any case) → the request's value; undefined or an empty list means the key is absent. */
export type ConditionContext = Record<string, string | string[] | undefined>;
/** The context with lowercase keys and every value a list, as the evaluator reads it. */
export type NormalizedContext = ReadonlyMap<string, readonly string[]>;

type Family = "string" | "numeric" | "date" | "bool" | "ip" | "null";
type KeyType = Exclude<Family, "null">;

const LIST_ACTIONS = ["s3:listbucket", "s3:listbucketversions"];
const ACL_ACTIONS = ["s3:putobject", "s3:putobjectacl", "s3:putobjectversionacl", "s3:putbucketacl", "s3:createbucket"];

/**
 * The keys Weft evaluates, lowercase, each with its value type and, for S3's own keys, the only actions whose
 * requests carry it (the Service Authorization Reference's "Condition keys" column).
 */
const CONDITION_KEYS: Readonly<Record<string, { type: KeyType; actions?: readonly string[] }>> = {
  "aws:sourceip": { type: "ip" },
  "aws:securetransport": { type: "bool" },
  "aws:username": { type: "string" },
  "aws:userid": { type: "string" },
  "aws:referer": { type: "string" },
  "aws:useragent": { type: "string" },
  "aws:currenttime": { type: "date" },
  "aws:epochtime": { type: "date" },
  "s3:prefix": { type: "string", actions: LIST_ACTIONS },
  "s3:delimiter": { type: "string", actions: LIST_ACTIONS },
  "s3:max-keys": { type: "numeric", actions: LIST_ACTIONS },
  "s3:x-amz-acl": { type: "string", actions: ACL_ACTIONS },
};

/** Own properties only: a key such as "constructor" must not find Object.prototype's. */
export function conditionKeySpec(key: string): { type: KeyType; actions?: readonly string[] } | undefined {
  return Object.hasOwn(CONDITION_KEYS, key) ? CONDITION_KEYS[key] : undefined;
}

/** Whether one request value matches one policy value, in the operator's positive sense. */
type Matcher = (requestValue: string, context: NormalizedContext) => boolean;

export interface ConditionClause {
  /** As written, e.g. "ForAnyValue:StringLikeIfExists". */
  operator: string;
  /** The operator without qualifier, suffix or negation, e.g. "StringLike". */
  base: string;
  family: Family;
  negated: boolean;
  ifExists: boolean;
  set: "any" | "all" | undefined;
  /** Lowercase. */
  key: string;
  /** The policy's values as written, for the public-policy judgement. */
  values: string[];
  /** For Null: whether each value asks for the key to be absent. */
  absent: boolean[];
  matchers: Matcher[];
}

interface OperatorSpec {
  family: Family;
  base: string;
  negated: boolean;
  compile: (value: string, variables: boolean) => Matcher;
}

/** The comparisons Numeric… and Date… operators share, on the sign of (request − policy). */
const ORDERINGS: Record<string, (order: number) => boolean> = {
  Equals: (order) => order === 0,
  LessThan: (order) => order < 0,
  LessThanEquals: (order) => order <= 0,
  GreaterThan: (order) => order > 0,
  GreaterThanEquals: (order) => order >= 0,
};

const OPERATORS: Record<string, OperatorSpec> = {
  StringEquals: stringOperator("StringEquals", false, (policy, request) => policy === request),
  StringNotEquals: stringOperator("StringEquals", true, (policy, request) => policy === request),
  StringEqualsIgnoreCase: stringOperator("StringEqualsIgnoreCase", false, equalsIgnoringCase),
  StringNotEqualsIgnoreCase: stringOperator("StringEqualsIgnoreCase", true, equalsIgnoringCase),
  StringLike: { family: "string", base: "StringLike", negated: false, compile: likeMatcher },
  StringNotLike: { family: "string", base: "StringLike", negated: true, compile: likeMatcher },
  ...orderedOperators("numeric", "Numeric"),
  ...orderedOperators("date", "Date"),
  Bool: { family: "bool", base: "Bool", negated: false, compile: (value) => (request) => request.toLowerCase() === value.toLowerCase() },
  IpAddress: { family: "ip", base: "IpAddress", negated: false, compile: ipMatcher },
  NotIpAddress: { family: "ip", base: "IpAddress", negated: true, compile: ipMatcher },
  Null: { family: "null", base: "Null", negated: false, compile: () => () => false },
};

function equalsIgnoringCase(policy: string, request: string): boolean {
  return policy.toLowerCase() === request.toLowerCase();
}

/** String operators compare after policy variables are resolved; a value whose variable is absent matches nothing. */
function stringOperator(base: string, negated: boolean, equal: (policy: string, request: string) => boolean): OperatorSpec {
  const compile = (value: string, variables: boolean): Matcher => {
    const parts = compilePattern(value, { wildcards: false, variables });
    return (request, context) => {
      const resolved = resolvePattern(parts, (key) => singleValue(context, key));
      return resolved !== undefined && equal(literalText(resolved), request);
    };
  };
  return { family: "string", base, negated, compile };
}

function likeMatcher(value: string, variables: boolean): Matcher {
  const parts = compilePattern(value, { wildcards: true, variables });
  return (request, context) => {
    const resolved = resolvePattern(parts, (key) => singleValue(context, key));
    return resolved !== undefined && matchPattern(resolved, request);
  };
}

function orderedOperators(family: "numeric" | "date", prefix: string): Record<string, OperatorSpec> {
  const operators: Record<string, OperatorSpec> = {};
  for (const [name, holds] of Object.entries(ORDERINGS)) operators[prefix + name] = orderedOperator(family, prefix + name, false, holds);
  operators[`${prefix}NotEquals`] = orderedOperator(family, `${prefix}Equals`, true, ORDERINGS.Equals!);
  return operators;
}

function orderedOperator(family: "numeric" | "date", base: string, negated: boolean, holds: (order: number) => boolean): OperatorSpec {
  const read = family === "numeric" ? readNumber : readDate;
  const compile = (value: string): Matcher => {
    const policy = read(value)!;
    return (request) => {
      const actual = read(request);
      return actual !== undefined && holds(Math.sign(actual - policy));
    };
  };
  return { family, base, negated, compile };
}

function readNumber(text: string): number | undefined {
  return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : undefined;
}

/** ISO 8601, or seconds since the epoch (the form aws:EpochTime takes). */
function readDate(text: string): number | undefined {
  if (/^\d+$/.test(text.trim())) return Number(text) * 1000;
  const parsed = Date.parse(text);
  return Number.isNaN(parsed) ? undefined : parsed;
}

function ipMatcher(value: string): Matcher {
  const range = parseCidr(value)!;
  const list = new BlockList();
  list.addSubnet(range.address, range.prefix, range.family);
  return (request) => {
    const address = unmapIpv4(request);
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 4 ? "ipv4" : "ipv6");
  };
}

/** `a.b.c.d`, `a.b.c.d/n`, or their IPv6 forms; a bare address is its own /32 or /128. */
export function parseCidr(text: string): { address: string; prefix: number; family: "ipv4" | "ipv6" } | undefined {
  const [address = "", prefixText, extra] = text.trim().split("/");
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

/** A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; policies name them as IPv4. */
function unmapIpv4(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

export function normalizeContext(context: ConditionContext): Map<string, string[]> {
  const normalized = new Map<string, string[]>();
  for (const [key, value] of Object.entries(context)) {
    const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
    if (values.length > 0) normalized.set(key.toLowerCase(), values);
  }
  return normalized;
}

/** A policy variable resolves only to a key with exactly one value. */
export function singleValue(context: NormalizedContext, key: string): string | undefined {
  const values = context.get(key);
  return values?.length === 1 ? values[0] : undefined;
}

function malformed(message: string): S3Error {
  return new S3Error("MalformedPolicy", message);
}

export const INVALID_SYNTAX = "Invalid policy syntax.";

/** Parses one statement's Condition element; `variables` is whether the policy's Version allows them. */
export function parseConditions(element: unknown, variables: boolean): ConditionClause[] {
  if (!isObject(element)) throw malformed(INVALID_SYNTAX);
  return Object.entries(element).flatMap(([operator, keys]) => {
    if (!isObject(keys)) throw malformed(INVALID_SYNTAX);
    return Object.entries(keys).map(([key, values]) => parseClause(operator, key, values, variables));
  });
}

function parseClause(operator: string, rawKey: string, rawValues: unknown, variables: boolean): ConditionClause {
  const { spec, set, ifExists } = readOperator(operator);
  const key = rawKey.toLowerCase();
  const keySpec = conditionKeySpec(key);
  if (keySpec === undefined) throw malformed("Policy has an invalid condition key");
  if (!operatorFitsKey(spec.family, key, keySpec.type)) {
    throw malformed(`Condition operator ${operator} cannot be applied to the condition key ${rawKey}`);
  }
  const values = conditionValues(rawValues);
  for (const value of values) checkValue(spec, operator, value, variables);
  return {
    operator, base: spec.base, family: spec.family, negated: spec.negated, ifExists, set, key, values,
    absent: values.map((value) => value.toLowerCase() === "true"),
    matchers: values.map((value) => spec.compile(value, variables)),
  };
}

/** `[ForAnyValue:|ForAllValues:]Operator[IfExists]`, names compared exactly, as S3 compares them. */
function readOperator(operator: string): { spec: OperatorSpec; set: "any" | "all" | undefined; ifExists: boolean } {
  const qualifier = /^(ForAnyValue|ForAllValues):/.exec(operator);
  const set = qualifier === null ? undefined : qualifier[1] === "ForAnyValue" ? "any" : "all";
  const unqualified = qualifier === null ? operator : operator.slice(qualifier[0].length);
  const ifExists = unqualified.endsWith("IfExists");
  const name = ifExists ? unqualified.slice(0, -"IfExists".length) : unqualified;
  const spec = Object.hasOwn(OPERATORS, name) ? OPERATORS[name] : undefined;
  // Null tests presence itself: neither a set qualifier nor IfExists means anything on it.
  if (spec === undefined || (spec.family === "null" && (ifExists || set !== undefined))) {
    throw malformed(`Invalid Condition type : ${operator}`);
  }
  return { spec, set, ifExists };
}

/** String operators read any key's value as text; the others only keys holding their kind of value. */
function operatorFitsKey(family: Family, key: string, type: KeyType): boolean {
  if (family === "string" || family === "null" || family === type) return true;
  return family === "numeric" && key === "aws:epochtime";
}

/** A key's values: one string, number or boolean, or a non-empty list of them. */
function conditionValues(raw: unknown): string[] {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) throw malformed(INVALID_SYNTAX);
  return list.map((value) => {
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    throw malformed(INVALID_SYNTAX);
  });
}

function checkValue(spec: OperatorSpec, operator: string, value: string, variables: boolean): void {
  const invalid = () => malformed(`Invalid value in Conditions for operator ${operator}`);
  switch (spec.family) {
    case "ip":
      if (parseCidr(value) === undefined) throw malformed("Invalid IP address in Conditions");
      return;
    case "numeric":
      if (readNumber(value) === undefined) throw invalid();
      return;
    case "date":
      if (readDate(value) === undefined) throw invalid();
      return;
    case "bool":
    case "null":
      if (!/^(true|false)$/i.test(value)) throw invalid();
      return;
    case "string":
      for (const key of patternVariables(compilePattern(value, { wildcards: false, variables }))) {
        if (conditionKeySpec(key) === undefined) throw malformed("Policy has an invalid condition key");
      }
  }
}

/**
 * IAM's rules: values of one key are alternatives (a negated operator holds when none matches); a key absent from
 * the request fails a positive operator and satisfies a negated one, except that IfExists and ForAllValues hold
 * and ForAnyValue fails; Null tests presence alone.
 */
export function clauseHolds(clause: ConditionClause, context: NormalizedContext): boolean {
  const present = context.get(clause.key);
  if (clause.family === "null") return clause.absent.some((absent) => absent === (present === undefined));
  if (present === undefined) return clause.ifExists || clause.set === "all" || (clause.negated && clause.set === undefined);
  const satisfies = (item: string) => clause.matchers.some((matches) => matches(item, context)) !== clause.negated;
  // Without a set qualifier every key Weft evaluates has one value; should a list arrive, any item may satisfy.
  return clause.set === "all" ? present.every(satisfies) : present.some(satisfies);
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
