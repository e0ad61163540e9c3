// SigV4 math against the worked examples in the AWS S3 API reference:
// "Examples of signature calculations" (sig-v4-header-based-auth) and the chunked upload example (sigv4-streaming).

import { strict as assert } from "node:assert";
import {
  EMPTY_SHA256_HEX,
  canonicalHeaderValue,
  canonicalQueryString,
  canonicalRequest,
  canonicalUriCandidates,
  chunkStringToSign,
  deriveSigningKey,
  parseRawQuery,
  percentDecode,
  requestStringToSign,
  sha256Hex,
  signHex,
  splitRequestTarget,
  uriEncode,
  type CredentialScope,
} from "./sigv4.js";
import { formatAmzDate, parseAmzDate, parseAuthorizationHeader } from "./parse.js";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const AMZ_DATE = "20130524T000000Z";
const SCOPE: CredentialScope = { date: "20130524", region: "us-east-1", service: "s3" };
const HOST = "examplebucket.s3.amazonaws.com";

function signExample(method: string, rawTarget: string, headers: Array<[string, string]>, payloadHash: string): string {
  const target = splitRequestTarget(rawTarget);
  const text = canonicalRequest({
    method,
    canonicalUri: canonicalUriCandidates(target.rawPath)[0]!,
    canonicalQuery: canonicalQueryString(parseRawQuery(target.rawQuery)),
    headers,
    payloadHash,
  });
  return signHex(deriveSigningKey(SECRET, SCOPE), requestStringToSign(AMZ_DATE, SCOPE, text));
}

describe("sigv4 math (AWS published examples)", () => {
  it("GET object with a Range header", () => {
    const signature = signExample(
      "GET",
      "/test.txt",
      [
        ["host", HOST],
        ["range", "bytes=0-9"],
        ["x-amz-content-sha256", EMPTY_SHA256_HEX],
        ["x-amz-date", AMZ_DATE],
      ],
      EMPTY_SHA256_HEX,
    );
    assert.equal(signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  });

  it("PUT object (key test$file.text, sent encoded as test%24file.text)", () => {
    const payloadHash = sha256Hex("Welcome to Amazon S3.");
    assert.equal(payloadHash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    const signature = signExample(
      "PUT",
      "/test%24file.text",
      [
        ["date", "Fri, 24 May 2013 00:00:00 GMT"],
        ["host", HOST],
        ["x-amz-content-sha256", payloadHash],
        ["x-amz-date", AMZ_DATE],
        ["x-amz-storage-class", "REDUCED_REDUNDANCY"],
      ],
      payloadHash,
    );
    assert.equal(signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  });

  const bucketHeaders: Array<[string, string]> = [
    ["host", HOST],
    ["x-amz-content-sha256", EMPTY_SHA256_HEX],
    ["x-amz-date", AMZ_DATE],
  ];

  it("GET bucket lifecycle (?lifecycle, a parameter without a value)", () => {
    assert.equal(signExample("GET", "/?lifecycle", bucketHeaders, EMPTY_SHA256_HEX), "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  });

  it("GET bucket (list objects, query sorted by name)", () => {
    assert.equal(
      signExample("GET", "/?prefix=J&max-keys=2", bucketHeaders, EMPTY_SHA256_HEX),
      "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
    );
  });

  it("chunked upload: seed signature and the chained chunk signatures of 65536 + 1024 bytes of 'a'", () => {
    const streaming = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
    const seedScope: CredentialScope = SCOPE;
    const key = deriveSigningKey(SECRET, seedScope);
    const seedRequest = canonicalRequest({
      method: "PUT",
      canonicalUri: "/examplebucket/chunkObject.txt",
      canonicalQuery: "",
      headers: [
        ["content-encoding", "aws-chunked"],
        ["content-length", "66824"],
        ["host", "s3.amazonaws.com"],
        ["x-amz-content-sha256", streaming],
        ["x-amz-date", AMZ_DATE],
        ["x-amz-decoded-content-length", "66560"],
        ["x-amz-storage-class", "REDUCED_REDUNDANCY"],
      ],
      payloadHash: streaming,
    });
    const seed = signHex(key, requestStringToSign(AMZ_DATE, seedScope, seedRequest));
    assert.equal(seed, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
    const expected = [
      [65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"],
      [1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"],
      [0, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"],
    ] as const;
    let previous = seed;
    for (const [size, signature] of expected) {
      const chunkHash = sha256Hex(Buffer.alloc(size, "a"));
      previous = signHex(key, chunkStringToSign(AMZ_DATE, seedScope, previous, chunkHash));
      assert.equal(previous, signature, `chunk of ${size} bytes`);
    }
  });
});

describe("sigv4 canonical forms", () => {
  it("keeps the wire path as the first candidate and offers the AWS re-encoding second", () => {
    assert.deepEqual(canonicalUriCandidates("/b/a%20b"), ["/b/a%20b"]);
    assert.deepEqual(canonicalUriCandidates("/b/x!'()*"), ["/b/x!'()*", "/b/x%21%27%28%29%2A"]);
    assert.deepEqual(canonicalUriCandidates("/b/%c3%bc"), ["/b/%c3%bc", "/b/%C3%BC"]);
    assert.deepEqual(canonicalUriCandidates("/b/a+b"), ["/b/a+b", "/b/a%2Bb"], "'+' in a path is a plus, never a space");
    assert.deepEqual(canonicalUriCandidates("/b//./../k"), ["/b//./../k"], "no dot-segment or slash normalisation");
  });

  it("splits origin-form and absolute-form targets without decoding", () => {
    assert.deepEqual(splitRequestTarget("/b/k%2F?x=1&y"), { rawPath: "/b/k%2F", rawQuery: "x=1&y" });
    assert.deepEqual(splitRequestTarget("http://host:9000/b/k?acl"), { rawPath: "/b/k", rawQuery: "acl" });
    assert.deepEqual(splitRequestTarget("?list-type=2"), { rawPath: "/", rawQuery: "list-type=2" });
  });

  it("canonicalises queries: decode, RFC 3986 re-encode, sort by name then value, keep empty values", () => {
    const query = parseRawQuery("x-id=PutObject&prefix=a+b%2Bc%2fd&acl&b=2&b=1&%7e=~&uploads=");
    assert.equal(canonicalQueryString(query), "acl=&b=1&b=2&prefix=a%20b%2Bc%2Fd&uploads=&x-id=PutObject&~=~");
    assert.equal(query.find((parameter) => parameter.name === "prefix")?.value, "a b+c/d");
    assert.equal(canonicalQueryString(parseRawQuery("X-Amz-Signature=abc&a=1"), "X-Amz-Signature"), "a=1");
  });

  it("encodes like AWS UriEncode and decodes invalid escapes literally", () => {
    assert.equal(uriEncode("ü é/~._-*", false), "%C3%BC%20%C3%A9%2F~._-%2A");
    assert.equal(uriEncode("a/b", true), "a/b");
    assert.equal(percentDecode("100%", false).toString(), "100%");
    assert.equal(percentDecode("%zz%41", false).toString(), "%zzA");
    assert.equal(percentDecode("a+b", true).toString(), "a b");
  });

  it("trims header values, collapses inner whitespace, joins repeats with ','", () => {
    assert.equal(canonicalHeaderValue(["  a   b  "]), "a b");
    assert.equal(canonicalHeaderValue(["x", " y  z"]), "x,y z");
  });

  it("parses Authorization headers with or without spaces after the commas", () => {
    const spaced = parseAuthorizationHeader(
      `AWS4-HMAC-SHA256 Credential=AK/20130524/eu-west-3/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"a".repeat(64)}`,
    );
    const compact = parseAuthorizationHeader(
      `AWS4-HMAC-SHA256 Credential=AK/20130524/eu-west-3/s3/aws4_request,SignedHeaders=host;x-amz-date,Signature=${"a".repeat(64)}`,
    );
    assert.deepEqual(spaced, compact);
    assert.equal(spaced.scope.region, "eu-west-3");
    assert.deepEqual(spaced.signedHeaders, ["host", "x-amz-date"]);
    assert.throws(
      () => parseAuthorizationHeader(`AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=${"a".repeat(64)}`),
      { code: "AuthorizationHeaderMalformed" },
    );
    assert.throws(() => parseAuthorizationHeader("AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request"), {
      code: "AuthorizationHeaderMalformed",
    });
  });

  it("round-trips x-amz-date and rejects impossible dates", () => {
    assert.equal(formatAmzDate(parseAmzDate(AMZ_DATE)!), AMZ_DATE);
    assert.equal(parseAmzDate("20130230T000000Z"), undefined);
    assert.equal(parseAmzDate("2013-05-24T00:00:00Z"), undefined);
    for (const impossible of ["20130524T240000Z", "20130524T236000Z", "20130524T235960Z", "20131301T000000Z", "00500524T000000Z"]) {
      assert.equal(parseAmzDate(impossible), undefined, impossible);
    }
    assert.equal(parseAmzDate("20240229T235959Z"), Date.UTC(2024, 1, 29, 23, 59, 59));
  });
});
