// Bucket policies: the subset of AWS's policy language that applies to one S3 bucket, parsed strictly (what AWS
// refuses, and what Weft cannot evaluate, is MalformedPolicy) and evaluated as IAM evaluates a resource policy.
import { S3Error } from "../s3/errors.js";
import { actionPatternKinds, type ResourceKind } from "./policy-actions.js";
import {
  clauseHolds, conditionKeySpec, INVALID_SYNTAX, isObject, normalizeContext, parseConditions, singleValue,
  type ConditionClause, type ConditionContext, type NormalizedContext,
} from "./policy-conditions.js";
import { compileGlob, compilePattern, hasWildcard, matchPattern, patternVariables, resolvePattern, type PatternPart, type ResolvedPart } from "./pattern.js";
import { isCanonicalId, type Requester } from "./requester.js";

export type { ConditionContext } from "./policy-conditions.js";

/** AWS's limit, measured on the document without insignificant white space, as S3 measures it. */
export const MAX_POLICY_BYTES = 20_480;
export const S3_ARN_PREFIX = "arn:aws:s3:::";
/** How a policy names a Weft user: an IAM user ARN without account, as Ceph RGW names users without a tenant. */
const USER_ARN = /^arn:aws:iam:::user\/([^*?/]+)$/;

export interface PolicyPrincipals {
  everyone: boolean;
  names: string[];
  canonicalIds: string[];
}

export interface PolicyStatement {
  sid: string | undefined;
  effect: "Allow" | "Deny";
  principals: PolicyPrincipals;
  /** NotPrincipal: the statement applies to everyone the list does not name. */
  notPrincipal: boolean;
  /** Lowercase patterns, as action names compare without regard to case. */
  actions: ResolvedPart[][];
  notAction: boolean;
  resources: PatternPart[][];
  notResource: boolean;
  conditions: ConditionClause[];
}

export interface BucketPolicy {
  /** A policy without Version is 2008-10-17, as in AWS; that version has no policy variables. */
  version: "2012-10-17" | "2008-10-17";
  statements: PolicyStatement[];
}

export interface AccessRequest {
  principal: Requester;
  /** The IAM action name, e.g. "s3:GetObject". */
  action: string;
  /** "arn:aws:s3:::bucket" or "arn:aws:s3:::bucket/key". */
  resource: string;
  /** Condition key → value; aws:username and aws:userid are taken from the principal instead. */
  context: ConditionContext;
}

export type PolicyDecision = "allow" | "deny" | "implicit";

function malformed(message: string): S3Error {
  return new S3Error("MalformedPolicy", message);
}

/** Parses a PutBucketPolicy body for `bucketName`; the first fault found is the answer, in AWS's words. */
export function parseBucketPolicy(json: string, bucketName: string): BucketPolicy {
  if (!json.startsWith("{")) throw malformed("Policies must be valid JSON and the first byte must be '{'");
  let document: unknown;
  try {
    document = JSON.parse(json);
  } catch {
    throw malformed("This policy contains invalid Json");
  }
  if (Buffer.byteLength(JSON.stringify(document)) > MAX_POLICY_BYTES) {
    throw malformed(`Normalized policy document exceeds the maximum allowed size of ${MAX_POLICY_BYTES} bytes`);
  }
  if (!isObject(document)) throw malformed(INVALID_SYNTAX);
  for (const member of Object.keys(document)) {
    if (member !== "Version" && member !== "Id" && member !== "Statement") throw malformed(INVALID_SYNTAX);
  }
  const version = document.Version ?? "2008-10-17";
  if (version !== "2012-10-17" && version !== "2008-10-17") throw malformed("The policy must contain a valid version string");
  if (document.Id !== undefined && typeof document.Id !== "string") throw malformed(INVALID_SYNTAX);
  const statements = statementList(document.Statement);
  return { version, statements: statements.map((statement) => parseStatement(statement, bucketName, version === "2012-10-17")) };
}

function statementList(element: unknown): unknown[] {
  if (element === undefined) throw malformed("Missing required field Statement");
  if (isObject(element)) return [element];
  if (!Array.isArray(element)) throw malformed(INVALID_SYNTAX);
  if (element.length === 0) throw malformed("Could not parse the policy: Statement is empty!");
  return element;
}

const STATEMENT_MEMBERS = new Set(["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"]);

function parseStatement(element: unknown, bucketName: string, variables: boolean): PolicyStatement {
  if (!isObject(element)) throw malformed(INVALID_SYNTAX);
  for (const member of Object.keys(element)) if (!STATEMENT_MEMBERS.has(member)) throw malformed(INVALID_SYNTAX);
  if (element.Sid !== undefined && typeof element.Sid !== "string") throw malformed(INVALID_SYNTAX);
  const effect = parseEffect(element.Effect);
  const [principal, notPrincipal] = either(element, "Principal", "NotPrincipal");
  const principals = parsePrincipals(principal);
  // Allow with NotPrincipal would grant everyone but the named, anonymous included: refused as S3 refuses it.
  if (notPrincipal && effect === "Allow") throw malformed("Invalid principal in policy");
  const [action, notAction] = either(element, "Action", "NotAction");
  const actions = stringList(action).map(parseAction);
  const [resource, notResource] = either(element, "Resource", "NotResource");
  const resources = stringList(resource).map((text) => parseResource(text, bucketName, variables));
  const conditions = element.Condition === undefined ? [] : parseConditions(element.Condition, variables);
  if (!notAction) checkConditionsApply(conditions, stringList(action));
  if (!notAction && !notResource) checkActionsApply(actions, stringList(resource));
  return {
    sid: element.Sid, effect, principals, notPrincipal, actions: actions.map((parsed) => parsed.parts), notAction,
    resources, notResource, conditions,
  };
}

function parseEffect(effect: unknown): "Allow" | "Deny" {
  if (effect === undefined) throw malformed("Missing required field Effect");
  if (effect === "Allow" || effect === "Deny") return effect;
  throw malformed(typeof effect === "string" ? `Invalid effect: ${effect}` : INVALID_SYNTAX);
}

/** An element and its Not form are exclusive, and one of them is required. */
function either(statement: Record<string, unknown>, name: string, notName: string): [unknown, boolean] {
  const plain = statement[name];
  const negated = statement[notName];
  if (plain !== undefined && negated !== undefined) throw malformed(INVALID_SYNTAX);
  if (plain === undefined && negated === undefined) throw malformed(`Missing required field ${name}`);
  return plain !== undefined ? [plain, false] : [negated, true];
}

/** IAM lets an element holding one value drop the brackets. */
function stringList(element: unknown): string[] {
  const list = Array.isArray(element) ? element : [element];
  if (list.length === 0 || !list.every((item) => typeof item === "string")) throw malformed(INVALID_SYNTAX);
  return list as string[];
}

function parsePrincipals(element: unknown): PolicyPrincipals {
  const invalid = () => malformed("Invalid principal in policy");
  const principals: PolicyPrincipals = { everyone: false, names: [], canonicalIds: [] };
  if (element === "*") return { ...principals, everyone: true };
  if (!isObject(element) || Object.keys(element).length === 0) throw invalid();
  for (const [type, value] of Object.entries(element)) {
    const listed = Array.isArray(value) ? value : [value];
    if (listed.length === 0 || !listed.every((item) => typeof item === "string" && item !== "")) throw invalid();
    for (const item of listed as string[]) {
      const user = USER_ARN.exec(item);
      if (type === "AWS" && item === "*") principals.everyone = true;
      else if (type === "AWS" && user) principals.names.push(user[1]!);
      else if (type === "CanonicalUser" && isCanonicalId(item)) principals.canonicalIds.push(item.toLowerCase());
      // Account ids, roles, services and federated users name nothing Weft has.
      else throw invalid();
    }
  }
  return principals;
}

function parseAction(text: string): { parts: ResolvedPart[]; kinds: Set<ResourceKind>; concrete: boolean } {
  const lower = text.toLowerCase() === "*" ? "s3:*" : text.toLowerCase();
  const kinds = actionPatternKinds(lower);
  if (!lower.startsWith("s3:") || kinds.size === 0) throw malformed("Policy has invalid action");
  const parts = compileGlob(lower);
  return { parts, kinds, concrete: !hasWildcard(parts) };
}

/** An S3 ARN in this bucket: its bucket part (before any `/`) must match the bucket, wildcards allowed. */
function parseResource(text: string, bucketName: string, variables: boolean): PatternPart[] {
  const invalid = () => malformed("Policy has invalid resource");
  if (!text.startsWith(S3_ARN_PREFIX) || text.length === S3_ARN_PREFIX.length) throw invalid();
  const path = text.slice(S3_ARN_PREFIX.length);
  const bucketPart = path.split("/", 1)[0]!;
  if (!matchPattern(compileGlob(bucketPart), bucketName)) throw invalid();
  const parts = compilePattern(text, { wildcards: true, variables });
  if (patternVariables(parts).some((key) => conditionKeySpec(key) === undefined)) throw invalid();
  return parts;
}

/** A resource pattern reaches the bucket when it holds no `/`, objects when it holds one or a `*` that spans it. */
function reachedKinds(resources: readonly string[]): Set<ResourceKind> {
  const kinds = new Set<ResourceKind>();
  for (const resource of resources) {
    const path = resource.slice(S3_ARN_PREFIX.length);
    if (!path.includes("/")) kinds.add("bucket");
    if (path.includes("/") || path.includes("*")) kinds.add("object");
  }
  return kinds;
}

function checkActionsApply(actions: ReadonlyArray<{ kinds: Set<ResourceKind> }>, resources: readonly string[]): void {
  const reached = reachedKinds(resources);
  for (const action of actions) {
    if (![...action.kinds].some((kind) => reached.has(kind))) throw malformed("Action does not apply to any resource(s) in statement");
  }
}

/** S3's own keys are carried by some requests only; a statement naming an action that never carries one is refused. */
function checkConditionsApply(conditions: readonly ConditionClause[], actions: readonly string[]): void {
  const concrete = actions.map((action) => action.toLowerCase()).filter((action) => !/[*?]/.test(action));
  for (const clause of conditions) {
    const carriers = conditionKeySpec(clause.key)?.actions;
    if (carriers && concrete.some((action) => !carriers.includes(action))) {
      throw malformed("Conditions do not apply to combination of actions and resources in statement");
    }
  }
}

/** The users a policy names, for the caller to check they exist (S3 refuses a policy naming an unknown principal). */
export function policyPrincipals(policy: BucketPolicy): { names: string[]; canonicalIds: string[] } {
  const names = new Set(policy.statements.flatMap((statement) => statement.principals.names));
  const canonicalIds = new Set(policy.statements.flatMap((statement) => statement.principals.canonicalIds));
  return { names: [...names], canonicalIds: [...canonicalIds] };
}

/** An explicit Deny wins over any Allow; without a matching Allow the policy has no say ("implicit"). */
export function evaluatePolicy(policy: BucketPolicy, request: AccessRequest): PolicyDecision {
  const context = requestContext(request);
  let allowed = false;
  for (const statement of policy.statements) {
    if (!statementApplies(statement, request, context)) continue;
    if (statement.effect === "Deny") return "deny";
    allowed = true;
  }
  return allowed ? "allow" : "implicit";
}

/** The principal is the authority on who is asking; IAM gives anonymous requests the user id "anonymous". */
function requestContext(request: AccessRequest): NormalizedContext {
  const context = normalizeContext(request.context);
  context.delete("aws:username");
  if (request.principal.kind === "user") {
    context.set("aws:username", [request.principal.name]);
    context.set("aws:userid", [request.principal.canonicalId]);
  } else context.set("aws:userid", ["anonymous"]);
  return context;
}

function statementApplies(statement: PolicyStatement, request: AccessRequest, context: NormalizedContext): boolean {
  return (
    principalMatches(statement.principals, request.principal) !== statement.notPrincipal &&
    statement.actions.some((parts) => matchPattern(parts, request.action.toLowerCase())) !== statement.notAction &&
    resourceMatches(statement.resources, request.resource, context) !== statement.notResource &&
    statement.conditions.every((clause) => clauseHolds(clause, context))
  );
}

function principalMatches(principals: PolicyPrincipals, requester: Requester): boolean {
  if (principals.everyone) return true;
  if (requester.kind === "anonymous") return false;
  return principals.names.includes(requester.name) || principals.canonicalIds.includes(requester.canonicalId.toLowerCase());
}

/** A resource whose policy variable has no value in this request matches nothing. */
function resourceMatches(resources: readonly PatternPart[][], resource: string, context: NormalizedContext): boolean {
  return resources.some((parts) => {
    const resolved = resolvePattern(parts, (key) => singleValue(context, key));
    return resolved !== undefined && matchPattern(resolved, resource);
  });
}
