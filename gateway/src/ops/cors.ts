// Bucket CORS: Put/Get/DeleteBucketCors, the unauthenticated preflight (OPTIONS /bucket[/key]) and the
// Access-Control-* headers on ordinary responses to requests that carry an Origin.
import type { CorsRule } from "../../../meta/src/store.js";
import type { S3Context } from "../context.js";
import { S3Error } from "../s3/errors.js";
import { parseXml, renderXml, type XmlObject } from "../s3/xml.js";
import { loadAuthorizedBucket, readSmallBody, respondEmpty } from "./common.js";

const CORS_METHODS = new Set(["GET", "PUT", "POST", "DELETE", "HEAD"]);
const MAX_RULES = 100;

function list(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function strings(value: unknown): string[] {
  return list(value).map((item) => {
    if (typeof item !== "string") throw new S3Error("MalformedXML");
    return item;
  });
}

export function corsRulesFromXml(text: string): CorsRule[] {
  const document = parseXml(text, "CORSConfiguration");
  const rules = list(document.CORSRule);
  if (rules.length === 0 || rules.length > MAX_RULES) throw new S3Error("MalformedXML");
  return rules.map((element): CorsRule => {
    if (!element || typeof element !== "object") throw new S3Error("MalformedXML");
    const rule = element as XmlObject;
    const allowedMethods = strings(rule.AllowedMethod);
    const allowedOrigins = strings(rule.AllowedOrigin);
    if (allowedMethods.length === 0 || allowedOrigins.length === 0) throw new S3Error("MalformedXML");
    for (const method of allowedMethods) {
      if (!CORS_METHODS.has(method)) throw new S3Error("InvalidRequest", `Found unsupported HTTP method in CORS config. Unsupported method is ${method}`);
    }
    for (const origin of allowedOrigins) {
      if (origin.split("*").length > 2) throw new S3Error("InvalidRequest", `AllowedOrigin "${origin}" can not have more than one wildcard.`);
    }
    const allowedHeaders = strings(rule.AllowedHeader);
    for (const header of allowedHeaders) {
      if (header.split("*").length > 2) throw new S3Error("InvalidRequest", `AllowedHeader "${header}" can not have more than one wildcard.`);
    }
    let maxAgeSeconds: number | undefined;
    if (rule.MaxAgeSeconds !== undefined) {
      if (typeof rule.MaxAgeSeconds !== "string" || !/^\d{1,10}$/.test(rule.MaxAgeSeconds)) throw new S3Error("MalformedXML");
      maxAgeSeconds = Number(rule.MaxAgeSeconds);
    }
    return {
      ...(typeof rule.ID === "string" ? { id: rule.ID } : {}),
      allowedMethods,
      allowedOrigins,
      allowedHeaders,
      exposeHeaders: strings(rule.ExposeHeader),
      ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {}),
    };
  });
}

export function renderCorsRules(rules: CorsRule[]): string {
  return renderXml("CORSConfiguration", {
    CORSRule: rules.map((rule) => ({
      ID: rule.id,
      AllowedHeader: rule.allowedHeaders.length ? rule.allowedHeaders : undefined,
      AllowedMethod: rule.allowedMethods,
      AllowedOrigin: rule.allowedOrigins,
      ExposeHeader: rule.exposeHeaders.length ? rule.exposeHeaders : undefined,
      MaxAgeSeconds: rule.maxAgeSeconds,
    })),
  });
}

export async function getBucketCorsConfiguration(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  const rules = await ctx.services.objects.getBucketCors(bucket);
  ctx.type = "application/xml";
  ctx.body = renderCorsRules(rules);
}

export async function putBucketCorsConfiguration(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  const rules = corsRulesFromXml(await readSmallBody(ctx, { limit: 64 * 1024 }));
  await ctx.services.objects.putBucketCors(bucket, rules);
  respondEmpty(ctx, 200);
}

export async function deleteBucketCorsConfiguration(ctx: S3Context): Promise<void> {
  const bucket = await loadAuthorizedBucket(ctx);
  await ctx.services.objects.putBucketCors(bucket, undefined);
  respondEmpty(ctx, 204);
}

/** `*` matches any run of characters (at most one in a stored pattern). */
function wildcardMatch(pattern: string, value: string, caseInsensitive: boolean): boolean {
  const p = caseInsensitive ? pattern.toLowerCase() : pattern;
  const v = caseInsensitive ? value.toLowerCase() : value;
  const star = p.indexOf("*");
  if (star < 0) return p === v;
  const head = p.slice(0, star);
  const tail = p.slice(star + 1);
  return v.length >= head.length + tail.length && v.startsWith(head) && v.endsWith(tail);
}

/** The first rule allowing this origin, method and (for a preflight) request headers, as S3 evaluates rules. */
export function matchCorsRule(rules: CorsRule[], origin: string, method: string, requestHeaders: string[]): CorsRule | undefined {
  return rules.find(
    (rule) =>
      rule.allowedOrigins.some((pattern) => wildcardMatch(pattern, origin, false)) &&
      rule.allowedMethods.includes(method) &&
      requestHeaders.every((header) => rule.allowedHeaders.some((pattern) => wildcardMatch(pattern, header, true))),
  );
}

function corsHeaders(rule: CorsRule, origin: string): Record<string, string> {
  const anyOrigin = rule.allowedOrigins.includes("*");
  const headers: Record<string, string> = {
    "access-control-allow-origin": anyOrigin ? "*" : origin,
    "access-control-allow-methods": rule.allowedMethods.join(", "),
    vary: "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
  };
  if (!anyOrigin) headers["access-control-allow-credentials"] = "true";
  if (rule.exposeHeaders.length) headers["access-control-expose-headers"] = rule.exposeHeaders.join(", ");
  if (rule.maxAgeSeconds !== undefined) headers["access-control-max-age"] = String(rule.maxAgeSeconds);
  return headers;
}

/**
 * Preflight: OPTIONS /bucket[/key], unauthenticated (browsers send no credentials). Answers the first matching rule's
 * Access-Control-* headers, or 403 CORSResponse.
 */
export async function preflightCors(ctx: S3Context, bucketName: string): Promise<void> {
  const origin = ctx.get("origin");
  const method = ctx.get("access-control-request-method");
  if (!origin || !method) {
    throw new S3Error("CORSResponse", "Insufficient information. Origin request header needed.");
  }
  const { exists, rules } = await ctx.services.objects.bucketCorsByName(bucketName);
  if (!exists) throw new S3Error("NoSuchBucket", undefined, { details: { BucketName: bucketName } });
  if (!rules) throw new S3Error("CORSResponse", "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.");
  const requested = ctx
    .get("access-control-request-headers")
    .split(",")
    .map((header) => header.trim().toLowerCase())
    .filter((header) => header !== "");
  const rule = matchCorsRule(rules, origin, method, requested);
  if (!rule) throw new S3Error("CORSResponse");
  for (const [name, value] of Object.entries(corsHeaders(rule, origin))) ctx.set(name, value);
  if (requested.length) ctx.set("access-control-allow-headers", requested.join(", "));
  respondEmpty(ctx, 200);
}

/**
 * Access-Control-* headers for an ordinary request that carries an Origin matching one of the bucket's rules.
 * Looked up only for requests with an Origin; a bucket without rules (or that does not exist) adds nothing.
 */
export async function addCorsResponseHeaders(ctx: S3Context, bucketName: string): Promise<void> {
  const origin = ctx.get("origin");
  if (!origin) return;
  const { rules } = await ctx.services.objects.bucketCorsByName(bucketName);
  if (!rules) return;
  const rule = matchCorsRule(rules, origin, ctx.method, []);
  if (!rule) return;
  for (const [name, value] of Object.entries(corsHeaders(rule, origin))) ctx.set(name, value);
}
