// SigV2 math against the worked "johnsmith" examples of AWS's "Signing and authenticating REST requests"
// (Authentication examples, and the query string authentication example), built from the requests as sent.

import { strict as assert } from "node:assert";
import { splitRequestTarget } from "./sigv4.js";
import {
  canonicalizedAmzHeaders,
  canonicalizedResource,
  requestStringsToSignV2,
  resourcePathCandidates,
  signV2,
  signaturesEqualV2,
  stringToSignV2,
} from "./sigv2.js";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/** Lowercase name → values, in the order sent. */
function headerMap(headers: ReadonlyArray<readonly [string, string]>): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const [name, value] of headers) map.set(name.toLowerCase(), [...(map.get(name.toLowerCase()) ?? []), value]);
  return map;
}

interface Example {
  name: string;
  method: string;
  target: string;
  /** The bucket the Host header names (johnsmith.s3.amazonaws.com, or the CNAME static.johnsmith.net). */
  hostBucket?: string;
  headers: Array<[string, string]>;
  expires?: string;
  stringToSign: string;
  signature: string;
}

const EXAMPLES: Example[] = [
  {
    name: "object GET",
    method: "GET",
    target: "/photos/puppy.jpg",
    hostBucket: "johnsmith",
    headers: [["Date", "Tue, 27 Mar 2007 19:36:42 +0000"]],
    stringToSign: "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg",
    signature: "bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
  },
  {
    name: "object PUT",
    method: "PUT",
    target: "/photos/puppy.jpg",
    hostBucket: "johnsmith",
    headers: [
      ["Content-Type", "image/jpeg"],
      ["Content-Length", "94328"],
      ["Date", "Tue, 27 Mar 2007 21:15:45 +0000"],
    ],
    stringToSign: "PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg",
    signature: "MyyxeRY7whkBe+bq8fHCL/2kKUg=",
  },
  {
    name: "list (prefix, max-keys and marker are not signed)",
    method: "GET",
    target: "/?prefix=photos&max-keys=50&marker=puppy",
    hostBucket: "johnsmith",
    headers: [
      ["User-Agent", "Mozilla/5.0"],
      ["Date", "Tue, 27 Mar 2007 19:42:41 +0000"],
    ],
    stringToSign: "GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/",
    signature: "htDYFYduRNen8P9ZfE/s9SuKy0U=",
  },
  {
    name: "fetch ACL (a sub-resource without value)",
    method: "GET",
    target: "/?acl",
    hostBucket: "johnsmith",
    headers: [["Date", "Tue, 27 Mar 2007 19:44:46 +0000"]],
    stringToSign: "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl",
    signature: "c2WLPFtWHVgbEmeEG93a4cG37dM=",
  },
  {
    name: "DELETE, path style, with x-amz-date on the Date line",
    method: "DELETE",
    target: "/johnsmith/photos/puppy.jpg",
    headers: [
      ["User-Agent", "dotnet"],
      ["Date", "Tue, 27 Mar 2007 21:20:27 +0000"],
      ["x-amz-date", "Tue, 27 Mar 2007 21:20:26 +0000"],
    ],
    stringToSign: "DELETE\n\n\nTue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg",
    signature: "lx3byBScXR6KzyMaifNkardMwNk=",
  },
  {
    name: "upload with Content-MD5 and repeated, mixed-case x-amz-* headers",
    method: "PUT",
    target: "/db-backup.dat.gz",
    hostBucket: "static.johnsmith.net",
    headers: [
      ["User-Agent", "curl/7.15.5"],
      ["Date", "Tue, 27 Mar 2007 21:06:08 +0000"],
      ["x-amz-acl", "public-read"],
      ["content-type", "application/x-download"],
      ["Content-MD5", "4gJE4saaMU4BqNR0kLY+lw=="],
      ["X-Amz-Meta-ReviewedBy", "joe@johnsmith.net"],
      ["X-Amz-Meta-ReviewedBy", "jane@johnsmith.net"],
      ["X-Amz-Meta-FileChecksum", "0x02661779"],
      ["X-Amz-Meta-ChecksumAlgorithm", "crc32"],
      ["Content-Disposition", "attachment; filename=database.dat"],
      ["Content-Encoding", "gzip"],
      ["Content-Length", "5913339"],
    ],
    stringToSign:
      "PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n" +
      "x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n" +
      "x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n/static.johnsmith.net/db-backup.dat.gz",
    signature: "ilyl83RwaSoYIEdixDQcA4OnAnc=",
  },
  {
    name: "list all my buckets",
    method: "GET",
    target: "/",
    headers: [["Date", "Wed, 28 Mar 2007 01:29:59 +0000"]],
    stringToSign: "GET\n\n\nWed, 28 Mar 2007 01:29:59 +0000\n/",
    signature: "qGdzdERIC03wnaRNKh6OqZehG9s=",
  },
  {
    name: "unicode keys (the path is signed as sent, mixed-case hex included)",
    method: "GET",
    target: "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
    headers: [["Date", "Wed, 28 Mar 2007 01:49:49 +0000"]],
    stringToSign: "GET\n\n\nWed, 28 Mar 2007 01:49:49 +0000\n/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
    signature: "DNEZGsoieTZ92F3bUfSPQcbGmlM=",
  },
  {
    name: "query string authentication (Expires on the Date line)",
    method: "GET",
    target: "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620",
    hostBucket: "johnsmith",
    headers: [],
    expires: "1175139620",
    stringToSign: "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg",
    signature: "NpgCjnDzrM+WFzoENXmpNDUsSn8=",
  },
];

describe("SigV2 (AWS's johnsmith examples)", () => {
  for (const example of EXAMPLES) {
    it(example.name, () => {
      const target = splitRequestTarget(example.target);
      const candidates = requestStringsToSignV2({
        method: example.method,
        headers: headerMap(example.headers),
        virtualHostBucket: example.hostBucket,
        rawPath: target.rawPath,
        rawQuery: target.rawQuery,
        expires: example.expires,
      });
      assert.ok(candidates.includes(example.stringToSign), `${JSON.stringify(example.stringToSign)} among ${JSON.stringify(candidates)}`);
      assert.equal(signV2(SECRET, example.stringToSign), example.signature);
    });
  }

  it("with x-amz-date, the Date line may also be empty with x-amz-date among the signed headers", () => {
    const candidates = requestStringsToSignV2({
      method: "DELETE",
      headers: headerMap([
        ["Date", "Tue, 27 Mar 2007 21:20:27 +0000"],
        ["x-amz-date", "Tue, 27 Mar 2007 21:20:26 +0000"],
      ]),
      virtualHostBucket: undefined,
      rawPath: "/johnsmith/photos/puppy.jpg",
      rawQuery: "",
    });
    assert.deepEqual(candidates, [
      "DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg",
      "DELETE\n\n\nTue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg",
    ]);
  });

  it("signs the sub-resources sorted, values decoded, and nothing else of the query", () => {
    assert.equal(
      canonicalizedResource("/b/k", "x-id=GetObject&versionId=3%2F4&response-content-disposition=attachment%3B%20filename%3D%22a%20b%22&partNumber=2&uploadId=u1"),
      '/b/k?partNumber=2&response-content-disposition=attachment; filename="a b"&uploadId=u1&versionId=3/4',
    );
    assert.equal(canonicalizedResource("/b/", "uploads&prefix=x"), "/b/?uploads");
    assert.equal(canonicalizedResource("/b/", "delete="), "/b/?delete=");
    assert.equal(canonicalizedResource("/b/", "tagging&versioning"), "/b/?tagging&versioning");
  });

  it("names a bucket as /bucket/, and also as sent when a path-style request leaves the slash out", () => {
    assert.deepEqual(resourcePathCandidates("b", "/"), ["/b/"]);
    assert.deepEqual(resourcePathCandidates("b", "/k/x"), ["/b/k/x"]);
    assert.deepEqual(resourcePathCandidates(undefined, "/b"), ["/b/", "/b"]);
    assert.deepEqual(resourcePathCandidates(undefined, "/b/"), ["/b/"]);
    assert.deepEqual(resourcePathCandidates(undefined, "/"), ["/"]);
  });

  it("unfolds and trims x-amz-* values, and joins repeated ones", () => {
    assert.equal(
      canonicalizedAmzHeaders([
        ["X-Amz-Meta-B", ["  two  "]],
        ["x-amz-meta-a", ["one", "uno"]],
        ["content-type", ["text/plain"]],
        ["x-amz-meta-c", ["folded\r\n   line"]],
      ]),
      "x-amz-meta-a:one,uno\nx-amz-meta-b:two\nx-amz-meta-c:folded line\n",
    );
  });

  it("signs a POST form's base64 policy as the string to sign", () => {
    assert.equal(stringToSignV2({ method: "GET", contentMd5: "", contentType: "", date: "1", amzHeaders: "", resource: "/" }), "GET\n\n\n1\n/");
    const signature = signV2(SECRET, "eyJleHBpcmF0aW9uIjoiMjAwNy0xMi0wMVQxMjowMDowMC4wMDBaIn0=");
    assert.ok(signaturesEqualV2(signature, signature));
    assert.ok(!signaturesEqualV2(signature, signature.toLowerCase()));
    assert.ok(!signaturesEqualV2(signature, signature.slice(1)));
  });
});
