import assert from "node:assert/strict";
import { S3Error } from "../s3/errors.js";
import { parseCopySource, parseCopySourceRange } from "./copy.js";

const code = (expected: string) => (error: unknown) => error instanceof S3Error && error.code === expected;

describe("copy source parsing", () => {
  it("decodes bucket and key once, with or without a leading slash, and takes ?versionId", () => {
    assert.deepEqual(parseCopySource("b/a%20b/c%2Bd+e"), { bucket: "b", key: "a b/c+d+e" });
    const versionId = "0123456789abcdef0123456789abcdef";
    assert.deepEqual(parseCopySource(`/b/k%3Fx%3D1?versionId=${versionId}`), { bucket: "b", key: "k?x=1", versionId });
    assert.deepEqual(parseCopySource("b/k?versionId=null"), { bucket: "b", key: "k", versionId: "null" });
    assert.deepEqual(parseCopySource("b/%C3%BC%25"), { bucket: "b", key: "ü%" });
  });

  it("refuses sources without a key, broken encodings and other query parameters", () => {
    for (const bad of ["b", "/b", "b/", "/b/", "b/%E0%A4%A", "b/k?versionId=", "b/k?versionId=v1", "b/k?other=1"]) {
      assert.throws(() => parseCopySource(bad), code("InvalidArgument"), bad);
    }
  });

  it("parses bytes=first-last only, InvalidRange past the end", () => {
    assert.equal(parseCopySourceRange(undefined, 10), undefined);
    assert.deepEqual(parseCopySourceRange("bytes=0-9", 10), { start: 0, end: 9 });
    assert.deepEqual(parseCopySourceRange("bytes=4-4", 10), { start: 4, end: 4 });
    for (const bad of ["bytes=-", "bytes=-2", "bytes=2-", "bytes=2--3", "bytes=", "2-3", "bytes=3-2", "bytes=0-1,3-4"]) {
      assert.throws(() => parseCopySourceRange(bad, 10), code("InvalidArgument"), bad);
    }
    assert.throws(() => parseCopySourceRange("bytes=0-10", 10), code("InvalidRange"));
    assert.throws(() => parseCopySourceRange("bytes=0-0", 0), code("InvalidRange"));
  });
});
