import assert from "node:assert/strict";
import { checkReadPreconditions, parseRange, storedContentEncoding } from "./headers.js";
import { S3Error } from "./errors.js";

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof S3Error ? error.code : String(error);
  }
  return "ok";
};

describe("object headers", () => {
  it("parses single byte ranges as S3 does", () => {
    assert.deepEqual(parseRange("bytes=0-9", 100), { start: 0, end: 9 });
    assert.deepEqual(parseRange("bytes=90-", 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange("bytes=-10", 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange("bytes=-1000", 100), { start: 0, end: 99 });
    assert.deepEqual(parseRange("bytes=50-1000", 100), { start: 50, end: 99 });
    assert.equal(parseRange(undefined, 100), undefined);
    assert.equal(parseRange("bytes=0-1,5-6", 100), undefined, "multiple ranges: whole object");
    assert.equal(parseRange("bytes=9-1", 100), undefined, "invalid syntax: ignored");
    assert.equal(code(() => parseRange("bytes=100-", 100)), "InvalidRange");
    assert.equal(code(() => parseRange("bytes=-0", 100)), "InvalidRange");
    assert.equal(code(() => parseRange("bytes=0-", 0)), "InvalidRange");
  });

  it("removes aws-chunked from Content-Encoding and keeps the rest", () => {
    assert.equal(storedContentEncoding("aws-chunked"), undefined);
    assert.equal(storedContentEncoding("gzip,aws-chunked"), "gzip");
    assert.equal(storedContentEncoding("aws-chunked, br"), "br");
  });

  it("evaluates preconditions in RFC order", () => {
    const modified = new Date("2026-01-01T00:00:00Z");
    const check = (headers: Record<string, string>) => code(() => checkReadPreconditions(headers, "abc", modified));
    assert.equal(check({ "if-match": '"abc"' }), "ok");
    assert.equal(check({ "if-match": '"xyz"' }), "PreconditionFailed");
    assert.equal(check({ "if-match": '"abc"', "if-unmodified-since": "Thu, 01 Jan 2025 00:00:00 GMT" }), "ok");
    assert.equal(check({ "if-unmodified-since": "Thu, 01 Jan 2025 00:00:00 GMT" }), "PreconditionFailed");
    assert.equal(check({ "if-none-match": '"abc"' }), "NotModified");
    assert.equal(check({ "if-none-match": '"xyz"', "if-modified-since": "Fri, 01 Jan 2027 00:00:00 GMT" }), "ok");
    assert.equal(check({ "if-modified-since": "Fri, 01 Jan 2027 00:00:00 GMT" }), "NotModified");
    assert.equal(check({ "if-modified-since": "Wed, 01 Jan 2025 00:00:00 GMT" }), "ok");
  });
});
