import assert from "node:assert/strict";
import type { LifecycleRule } from "../../../meta/src/store.js";
import { dueAfter, expirationHeaderValue, inScope, objectExpiration, scopeOf } from "./rules.js";

const DAY = 86_400;

function rule(overrides: Partial<LifecycleRule>): LifecycleRule {
  return { id: "r", status: "Enabled", filter: {}, expiration: { days: 1 }, ...overrides };
}

describe("lifecycle rules", () => {
  it("flattens every filter form into one scope", () => {
    assert.deepEqual(scopeOf(rule({ filter: undefined, prefix: "old/" })), { prefix: "old/", tags: [] });
    assert.deepEqual(scopeOf(rule({ filter: {} })), { prefix: "", tags: [] });
    assert.deepEqual(scopeOf(rule({ filter: { tag: { Key: "k", Value: "v" } } })), { prefix: "", tags: [{ Key: "k", Value: "v" }] });
    assert.deepEqual(scopeOf(rule({ filter: { objectSizeLessThan: 9 } })), { prefix: "", tags: [], sizeBelow: 9 });
    assert.deepEqual(scopeOf(rule({ filter: { and: { prefix: "p", tags: [], objectSizeGreaterThan: 1, objectSizeLessThan: 5 } } })), {
      prefix: "p",
      tags: [],
      sizeAbove: 1,
      sizeBelow: 5,
    });
  });

  it("selects an object by prefix, every tag and size bounds (exclusive)", () => {
    const scope = { prefix: "logs/", tags: [{ Key: "a", Value: "1" }], sizeAbove: 10, sizeBelow: 20 };
    const object = { key: "logs/x", size: 15, tags: [{ Key: "b", Value: "2" }, { Key: "a", Value: "1" }] };
    assert.equal(inScope(scope, object), true);
    assert.equal(inScope(scope, { ...object, key: "log/x" }), false);
    assert.equal(inScope(scope, { ...object, tags: [{ Key: "a", Value: "2" }] }), false);
    assert.equal(inScope(scope, { ...object, size: 10 }), false);
    assert.equal(inScope(scope, { ...object, size: 20 }), false);
  });

  it("counts days AWS's way: whole days later, rounded up to the next day boundary (midnight UTC)", () => {
    assert.equal(dueAfter(new Date("2012-12-20T15:30:00Z"), 3, DAY).toISOString(), "2012-12-24T00:00:00.000Z");
    assert.equal(dueAfter(new Date("2012-12-20T00:00:00Z"), 3, DAY).toISOString(), "2012-12-23T00:00:00.000Z");
    assert.equal(dueAfter(new Date(10_500), 2, 1).getTime(), 13_000);
  });

  it("answers the earliest enabled expiration that selects the object", () => {
    const object = { key: "pics/cat.jpg", size: 100, tags: [], lastModified: new Date("2012-12-20T10:00:00Z") };
    const rules = [
      rule({ id: "later", filter: { prefix: "pics/" }, expiration: { days: 10 } }),
      rule({ id: "picture-deletion-rule", filter: { prefix: "pics/" }, expiration: { date: "2012-12-23T00:00:00.000Z" } }),
      rule({ id: "disabled", status: "Disabled", expiration: { days: 1 } }),
      rule({ id: "elsewhere", filter: { prefix: "docs/" }, expiration: { days: 1 } }),
      rule({ id: "markers", expiration: { expiredObjectDeleteMarker: true } }),
      rule({ id: "noncurrent", expiration: undefined, noncurrentVersionExpiration: { noncurrentDays: 1 } }),
    ];
    const expiration = objectExpiration(rules, object, DAY);
    assert.deepEqual(expiration, { expiry: new Date("2012-12-23T00:00:00Z"), ruleId: "picture-deletion-rule" });
    assert.equal(expirationHeaderValue(expiration!), 'expiry-date="Sun, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule"');
    assert.equal(objectExpiration(rules.slice(2), object, DAY), undefined);
  });
});
