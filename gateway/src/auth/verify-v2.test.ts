// verifyRequest for SigV2 against real HTTP requests on 127.0.0.1. Each test spells out the string to sign it
// expects and signs it with node:crypto directly, so the canonicalization under test is not its own oracle.

import { strict as assert } from "node:assert";
import { createHash, createHmac } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { S3Error } from "../s3/errors.js";
import { StaticCredentialStore } from "./credentials.js";
import { verifyRequest } from "./verify-request.js";

const ACCESS_KEY = "WEFTV2KEY";
const SECRET = "v2/secret+key=";
const credentials = new StaticCredentialStore({ [ACCESS_KEY]: SECRET });

type Answer = { status: number; code?: string; message?: string; details?: Record<string, string>; auth?: Record<string, unknown>; body?: string };

let server: http.Server;
let port = 0;
let verifyOptions: { now?: number; virtualHostBucket?: string } = {};

function sign(stringToSign: string): string {
  return createHmac("sha1", SECRET).update(stringToSign, "utf8").digest("base64");
}

async function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  // Bytes, not a string: fetch would add a Content-Type of its own, which SigV2 signs.
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, body: body === undefined ? undefined : Buffer.from(body) });
  return (await response.json()) as Answer;
}

function expectRefusal(answer: Answer, code: string, message?: string): Answer {
  assert.equal(answer.code, code, JSON.stringify(answer));
  if (message !== undefined) assert.equal(answer.message, message);
  return answer;
}

const DATE = () => new Date().toUTCString();

describe("verifyRequest: SigV2", () => {
  before(async () => {
    server = http.createServer(async (req, res) => {
      let answer: Answer;
      try {
        const auth = await verifyRequest(req, credentials, verifyOptions);
        const chunks: Buffer[] = [];
        for await (const chunk of auth.openBody().stream) chunks.push(chunk as Buffer);
        const { openBody: _, ...described } = auth;
        answer = { status: 200, auth: described, body: Buffer.concat(chunks).toString() };
      } catch (error) {
        if (!(error instanceof S3Error)) throw error;
        answer = { status: error.status, code: error.code, message: error.message, details: error.details };
      }
      res.writeHead(answer.status, { "content-type": "application/json", connection: "close" }).end(JSON.stringify(answer));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => (verifyOptions = {}));

  it("accepts header auth over Content-MD5, Content-Type, Date and the x-amz-* headers (trimmed, sorted), and checks the body's MD5", async () => {
    const body = "hello, v2";
    const md5 = createHash("md5").update(body).digest("base64");
    const date = DATE();
    const stringToSign = `PUT\n${md5}\ntext/plain\n${date}\nx-amz-meta-a:one\nx-amz-meta-b:x\n/bucket/a%20key.txt`;
    const headers = {
      "Content-MD5": md5,
      "Content-Type": "text/plain",
      Date: date,
      "X-Amz-Meta-B": " x ",
      "x-amz-meta-a": "one",
      Authorization: `AWS ${ACCESS_KEY}:${sign(stringToSign)}`,
    };
    const answer = await send("PUT", "/bucket/a%20key.txt", headers, body);
    assert.equal(answer.status, 200, JSON.stringify(answer));
    assert.deepEqual(answer.auth, { accessKeyId: ACCESS_KEY, authType: "header", signatureVersion: 2, payloadMode: { kind: "unsigned" } });
    assert.equal(answer.body, body);

    const wrongMd5 = createHash("md5").update("other").digest("base64");
    const badDigest = `PUT\n${wrongMd5}\n\n${date}\n/bucket/k`;
    expectRefusal(await send("PUT", "/bucket/k", { "Content-MD5": wrongMd5, Date: date, Authorization: `AWS ${ACCESS_KEY}:${sign(badDigest)}` }, body), "BadDigest");
  });

  it("signs the virtual-hosted bucket and the sub-resources into the resource", async () => {
    verifyOptions = { virtualHostBucket: "vhost" };
    const date = DATE();
    const stringToSign = `GET\n\n\n${date}\n/vhost/key?response-content-type=text/html&versionId=v1`;
    const answer = await send("GET", "/key?versionId=v1&x-id=GetObject&response-content-type=text%2Fhtml", {
      Date: date,
      Authorization: `AWS ${ACCESS_KEY}:${sign(stringToSign)}`,
    });
    assert.equal(answer.status, 200, JSON.stringify(answer));
  });

  it("with x-amz-date and no Date, signs an empty Date line", async () => {
    const date = DATE();
    const stringToSign = `DELETE\n\n\n\nx-amz-date:${date}\n/bucket/key`;
    const answer = await send("DELETE", "/bucket/key", { "x-amz-date": date, Authorization: `AWS ${ACCESS_KEY}:${sign(stringToSign)}` });
    assert.equal(answer.status, 200, JSON.stringify(answer));
  });

  it("answers SignatureDoesNotMatch with the string to sign, InvalidAccessKeyId for a stranger", async () => {
    const date = DATE();
    const refused = expectRefusal(
      await send("GET", "/bucket/key?acl", { Date: date, Authorization: `AWS ${ACCESS_KEY}:${sign("something else")}` }),
      "SignatureDoesNotMatch",
    );
    assert.equal(refused.status, 403);
    assert.equal(refused.details!.StringToSign, `GET\n\n\n${date}\n/bucket/key?acl`);
    assert.equal(refused.details!.SignatureProvided, sign("something else"));
    assert.equal(refused.details!.AWSAccessKeyId, ACCESS_KEY);
    assert.match(refused.details!.StringToSignBytes!, /^47 45 54 0a/);
    expectRefusal(await send("GET", "/bucket/key", { Date: date, Authorization: `AWS STRANGER:${sign("x")}` }), "InvalidAccessKeyId");
    expectRefusal(await send("GET", "/bucket/key", { Date: date, Authorization: "AWS no-colon" }), "InvalidArgument");
  });

  it("wants a Date or x-amz-date within 15 minutes", async () => {
    const noDate = await send("GET", "/bucket/key", { Authorization: `AWS ${ACCESS_KEY}:${sign("GET\n\n\n\n/bucket/key")}` });
    expectRefusal(noDate, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
    const old = new Date(Date.now() - 16 * 60_000).toUTCString();
    const skewed = await send("GET", "/bucket/key", { Date: old, Authorization: `AWS ${ACCESS_KEY}:${sign(`GET\n\n\n${old}\n/bucket/key`)}` });
    assert.equal(expectRefusal(skewed, "RequestTimeTooSkewed").status, 403);
  });

  it("accepts a presigned URL until its Expires, then answers AccessDenied 'Request has expired'", async () => {
    const expires = String(Math.floor(Date.now() / 1000) + 60);
    const url = (expiry: string, signature: string) =>
      `/bucket/key?AWSAccessKeyId=${ACCESS_KEY}&Expires=${expiry}&Signature=${encodeURIComponent(signature)}`;
    const ok = await send("GET", url(expires, sign(`GET\n\n\n${expires}\n/bucket/key`)), {});
    assert.equal(ok.status, 200, JSON.stringify(ok));
    assert.equal(ok.auth!.authType, "presigned");

    const past = String(Math.floor(Date.now() / 1000) - 1);
    const expired = expectRefusal(await send("GET", url(past, sign(`GET\n\n\n${past}\n/bucket/key`)), {}), "AccessDenied", "Request has expired");
    assert.equal(expired.status, 403);
    expectRefusal(await send("GET", url(expires, sign(`GET\n\n\n${expires}\n/bucket/other`)), {}), "SignatureDoesNotMatch");
    expectRefusal(await send("GET", `/bucket/key?AWSAccessKeyId=${ACCESS_KEY}&Expires=${expires}`, {}), "AccessDenied");
  });

  it("signs headers a presigner moved into the query; a header sent wins", async () => {
    const expires = String(Math.floor(Date.now() / 1000) + 60);
    const stringToSign = `PUT\n\ntext/plain\n${expires}\nx-amz-meta-from:query\n/bucket/key`;
    const path = `/bucket/key?content-type=text%2Fplain&x-amz-meta-from=query&AWSAccessKeyId=${ACCESS_KEY}&Expires=${expires}&Signature=${encodeURIComponent(sign(stringToSign))}`;
    assert.equal((await send("PUT", path, {}, "x")).status, 200);
    expectRefusal(await send("PUT", path, { "Content-Type": "image/png" }, "x"), "SignatureDoesNotMatch");
  });

  it("refuses chunk-signed bodies, which need the SigV4 key, and mixed mechanisms", async () => {
    const date = DATE();
    const sha = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
    const stringToSign = `PUT\n\n\n${date}\nx-amz-content-sha256:${sha}\n/bucket/key`;
    const chunked = await send("PUT", "/bucket/key", { Date: date, "x-amz-content-sha256": sha, Authorization: `AWS ${ACCESS_KEY}:${sign(stringToSign)}` }, "x");
    expectRefusal(chunked, "InvalidRequest");
    const both = await send("GET", `/bucket/key?Signature=abc`, { Date: date, Authorization: `AWS ${ACCESS_KEY}:abc` });
    expectRefusal(both, "InvalidArgument");
  });
});
