// What a lifecycle rule selects and when its actions are due, shared by the worker (which asks PostgreSQL for the
// due rows with the same rules) and the request path (x-amz-expiration).
import type { LifecycleFilter, LifecycleRule, LifecycleScope, Tag } from "../../../meta/src/store.js";
import { httpDate } from "../s3/headers.js";

/** The tags a filter asks for (every one must be on the object). */
export function filterTags(filter: LifecycleFilter | undefined): Tag[] {
  return filter?.and ? filter.and.tags : filter?.tag ? [filter.tag] : [];
}

/** The conditions a rule's filter (or legacy Prefix) sets, flattened. */
export function scopeOf(rule: LifecycleRule): LifecycleScope {
  if (rule.prefix !== undefined) return { prefix: rule.prefix, tags: [] };
  const filter = rule.filter ?? {};
  const source = filter.and ?? filter;
  return {
    prefix: source.prefix ?? "",
    tags: filterTags(filter),
    ...(source.objectSizeGreaterThan !== undefined ? { sizeAbove: source.objectSizeGreaterThan } : {}),
    ...(source.objectSizeLessThan !== undefined ? { sizeBelow: source.objectSizeLessThan } : {}),
  };
}

export interface ObjectFacts {
  key: string;
  size: number;
  tags: Tag[];
}

export function inScope(scope: LifecycleScope, object: ObjectFacts): boolean {
  return (
    object.key.startsWith(scope.prefix) &&
    scope.tags.every((wanted) => object.tags.some((tag) => tag.Key === wanted.Key && tag.Value === wanted.Value)) &&
    (scope.sizeAbove === undefined || object.size > scope.sizeAbove) &&
    (scope.sizeBelow === undefined || object.size < scope.sizeBelow)
  );
}

/**
 * When something counted in days from `since` is due: `days` days later, rounded up to the next multiple of the day
 * length since the epoch. With 86400-second days that is AWS's rule, the next midnight UTC; the same rule as the
 * worker's SQL (meta/src/pg/lifecycle.ts, dueSinceAtMost).
 */
export function dueAfter(since: Date, days: number, daySeconds: number): Date {
  const dueSeconds = since.getTime() / 1000 + days * daySeconds;
  return new Date(Math.ceil(dueSeconds / daySeconds) * daySeconds * 1000);
}

/** The earliest expiration of a current object by the bucket's enabled Expiration (Days or Date) rules, and its rule. */
export function objectExpiration(
  rules: readonly LifecycleRule[],
  object: ObjectFacts & { lastModified: Date },
  daySeconds: number,
): { expiry: Date; ruleId: string } | undefined {
  let earliest: { expiry: Date; ruleId: string } | undefined;
  for (const rule of rules) {
    const expiration = rule.expiration;
    if (rule.status !== "Enabled" || !expiration || (expiration.days === undefined && expiration.date === undefined)) continue;
    if (!inScope(scopeOf(rule), object)) continue;
    const expiry = expiration.date !== undefined ? new Date(expiration.date) : dueAfter(object.lastModified, expiration.days!, daySeconds);
    if (!earliest || expiry < earliest.expiry) earliest = { expiry, ruleId: rule.id };
  }
  return earliest;
}

/** The x-amz-expiration value: `expiry-date="<HTTP date>", rule-id="<id, URL-encoded>"`. */
export function expirationHeaderValue(expiration: { expiry: Date; ruleId: string }): string {
  return `expiry-date="${httpDate(expiration.expiry)}", rule-id="${encodeURIComponent(expiration.ruleId)}"`;
}
