// verifyRequest against real HTTP requests: a node:http server on 127.0.0.1 authenticates each request and reads
// its body; requests are signed by aws4 (the oracle), by hand for aws-chunked bodies, and by @aws-sdk/client-s3.

import { strict as assert } from "node:assert";
import { createHash, createHmac, randomBytes } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { crc32 } from "node:zlib";
import aws4 from "aws4";
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type ChecksumAlgorithm as SdkChecksumAlgorithm } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createChecksum, type ChecksumAlgorithm } from "../s3/checksums.js";
import { S3Error } from "../s3/errors.js";
import { StaticCredentialStore } from "./credentials.js";
import { parseRawQuery, splitRequestTarget } from "./sigv4.js";
import { verifyRequest, type OpenBodyOptions } from "./verify-request.js";
import type { PayloadDigests } from "./payload-integrity.js";

const ACCESS_KEY = "WEFTTESTKEY";
const SECRET = "weft/test+secret=key";
const EXAMPLE_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE";
const EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const credentials = new StaticCredentialStore({ [ACCESS_KEY]: SECRET, [EXAMPLE_ACCESS_KEY]: EXAMPLE_SECRET });

type Outcome =
  | {
      ok: true;
      accessKeyId: string | undefined;
      authType: string;
      payloadMode: string;
      body: Buffer;
      digests: PayloadDigests;
      declaredLength: number | undefined;
      headers: IncomingMessage["headers"];
      query: Record<string, string>;
      rawPath: string;
    }
  | { ok: false; code: string; message: string; status: number; details: Record<string, string>; streamEnded?: boolean };

// ---- the server under test -------------------------------------------------------------------------------------

let server: http.Server;
let port = 0;
let serverNow: number | undefined;
let bodyOptions: OpenBodyOptions = {};
let resolveOutcome: (outcome: Outcome) => void = () => {};
let outcome: Promise<Outcome> = Promise.resolve({ ok: false, code: "", message: "", status: 0, details: {} });

function expectOutcome(): Promise<Outcome> {
  outcome = new Promise((resolve) => (resolveOutcome = resolve));
  return outcome;
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let result: Outcome;
  let streamEnded = false;
  try {
    const auth = await verifyRequest(req, credentials, { now: serverNow });
    const body = auth.openBody(bodyOptions);
    body.stream.once("end", () => (streamEnded = true));
    const pieces: Buffer[] = [];
    for await (const piece of body.stream) pieces.push(piece as Buffer);
    const digests = body.digests();
    const target = splitRequestTarget(req.url ?? "/");
    result = {
      ok: true,
      accessKeyId: auth.accessKeyId,
      authType: auth.authType,
      payloadMode: auth.payloadMode.kind === "aws-chunked" ? describeChunked(auth.payloadMode) : auth.payloadMode.kind,
      body: Buffer.concat(pieces),
      digests,
      declaredLength: body.declaredLength,
      headers: req.headers,
      query: Object.fromEntries(parseRawQuery(target.rawQuery).map((parameter) => [parameter.name, parameter.value])),
      rawPath: target.rawPath,
    };
    const headers: Record<string, string> = { etag: `"${digests.md5Hex}"`, "content-type": "application/xml" };
    let xml = "";
    if (req.method === "GET" && result.query["list-type"] === "2") {
      xml = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix>${escapeXml(result.query.prefix ?? "")}</Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`;
    } else if (req.method === "POST" && "delete" in result.query) {
      xml = `<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></DeleteResult>`;
    }
    res.writeHead(200, headers);
    res.end(xml);
  } catch (error) {
    if (!(error instanceof S3Error)) {
      res.writeHead(500, { connection: "close" }).end(String(error));
      resolveOutcome({ ok: false, code: "Unexpected", message: String(error), status: 500, details: {} });
      return;
    }
    result = { ok: false, code: error.code, message: error.message, status: error.status, details: error.details, streamEnded };
    // Connection: close because the rest of the body may still be unread.
    res.writeHead(error.status, { "content-type": "application/xml", connection: "close" });
    res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${error.code}</Code><Message>${escapeXml(error.message)}</Message></Error>`);
  }
  resolveOutcome(result);
}

function describeChunked(mode: { signedChunks: boolean; trailer: boolean }): string {
  return `aws-chunked${mode.signedChunks ? "-signed" : "-unsigned"}${mode.trailer ? "-trailer" : ""}`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// ---- client helpers ------------------------------------------------------------------------------------------------

interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string | number>;
  /** Written piece by piece (no Content-Length given ⇒ node sends Transfer-Encoding: chunked). */
  body?: Buffer | Buffer[];
  /** Destroy the connection after writing the body instead of finishing the request. */
  cutOff?: boolean;
}

function send(request: RawRequest): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const clientRequest = http.request(
      { host: "127.0.0.1", port, method: request.method, path: request.path, headers: request.headers, agent: false },
      (response) => {
        const pieces: Buffer[] = [];
        response.on("data", (piece: Buffer) => pieces.push(piece));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(pieces).toString() }));
        response.on("error", reject);
      },
    );
    clientRequest.on("error", (error) => (request.cutOff ? resolve({ status: 0, text: "" }) : reject(error)));
    const pieces = request.body === undefined ? [] : Array.isArray(request.body) ? request.body : [request.body];
    for (const piece of pieces) clientRequest.write(piece);
    if (request.cutOff) setTimeout(() => clientRequest.destroy(), 50);
    else clientRequest.end();
  });
}

/** Sends and returns what the server concluded. */
async function exchange(request: RawRequest): Promise<Outcome> {
  const result = expectOutcome();
  await send(request);
  return result;
}

interface SignOptions {
  headers?: Record<string, string | number>;
  body?: Buffer | string;
  secret?: string;
  accessKeyId?: string;
  region?: string;
  signQuery?: boolean;
}

/** Signs with aws4 (the oracle) and returns a request ready for send(). */
function signed(method: string, path: string, options: SignOptions = {}): RawRequest {
  const request: aws4.Request & { headers: Record<string, string | number> } = {
    host: "127.0.0.1",
    port,
    method,
    path,
    service: "s3",
    region: options.region ?? "us-east-1",
    headers: { ...(options.headers ?? {}) },
    body: options.body,
    signQuery: options.signQuery,
  } as aws4.Request & { headers: Record<string, string | number> };
  aws4.sign(request, { accessKeyId: options.accessKeyId ?? ACCESS_KEY, secretAccessKey: options.secret ?? SECRET });
  return {
    method,
    path: request.path!,
    headers: request.headers,
    body: options.body === undefined ? undefined : Buffer.from(options.body),
  };
}

function expectOk(result: Outcome): Extract<Outcome, { ok: true }> {
  if (!result.ok) assert.fail(`expected success, got ${result.code}: ${result.message}`);
  return result;
}

function expectError(result: Outcome, code: string, message?: string | RegExp): Extract<Outcome, { ok: false }> {
  if (result.ok) assert.fail(`expected ${code}, got success`);
  assert.equal(result.code, code, result.message);
  assert.equal(result.streamEnded, false, "a failed body must never end cleanly");
  if (typeof message === "string") assert.equal(result.message, message);
  else if (message) assert.match(result.message, message);
  return result;
}

function checksumOf(algorithm: ChecksumAlgorithm, data: Buffer): string {
  const checksum = createChecksum(algorithm);
  checksum.update(data);
  return checksum.digestBase64();
}

function crc32Base64(data: Buffer): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc32(data));
  return bytes.toString("base64");
}

// ---- aws-chunked bodies, encoded independently of the code under test ----------------------------------------------

interface ChunkSigner {
  key: Buffer;
  amzDate: string;
  scope: string;
  seed: string;
}

function hmac(key: Buffer | string, text: string): Buffer {
  return createHmac("sha256", key).update(text).digest();
}

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

function chunkSignerFor(request: RawRequest, secret = SECRET): ChunkSigner {
  const authorization = String(request.headers.Authorization);
  const [, accessScope, seed] = /Credential=([^,]+), SignedHeaders=[^,]+, Signature=([0-9a-f]{64})/.exec(authorization)!;
  const [, date, region, service] = accessScope!.split("/") as [string, string, string, string];
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), "aws4_request");
  return { key, amzDate: String(request.headers["X-Amz-Date"]), scope: `${date}/${region}/${service}/aws4_request`, seed: seed! };
}

interface ChunkedBodyOptions {
  signer?: ChunkSigner;
  trailer?: { name: string; value: string };
  /** Sign the trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER). */
  signTrailer?: boolean;
  tamperChunk?: number;
  finalBlankLine?: boolean;
}

function encodeChunked(data: Buffer, chunkSize: number, options: ChunkedBodyOptions = {}): Buffer {
  const pieces: Buffer[] = [];
  let previous = options.signer?.seed ?? "";
  const sizes: number[] = [];
  for (let offset = 0; offset < data.length; offset += chunkSize) sizes.push(Math.min(chunkSize, data.length - offset));
  sizes.push(0);
  let offset = 0;
  sizes.forEach((size, index) => {
    const chunk = Buffer.from(data.subarray(offset, offset + size));
    offset += size;
    let header = size.toString(16);
    if (options.signer) {
      const { key, amzDate, scope } = options.signer;
      previous = createHmac("sha256", key)
        .update(["AWS4-HMAC-SHA256-PAYLOAD", amzDate, scope, previous, sha256(""), sha256(chunk)].join("\n"))
        .digest("hex");
      header += `;chunk-signature=${previous}`;
    }
    if (options.tamperChunk === index) chunk[0] = chunk[0]! ^ 1;
    pieces.push(Buffer.from(`${header}\r\n`));
    if (size > 0) pieces.push(chunk, Buffer.from("\r\n"));
  });
  if (options.trailer) {
    const canonical = `${options.trailer.name}:${options.trailer.value}\n`;
    pieces.push(Buffer.from(canonical.replace("\n", "\r\n")));
    if (options.signTrailer && options.signer) {
      const { key, amzDate, scope } = options.signer;
      const signature = createHmac("sha256", key)
        .update(["AWS4-HMAC-SHA256-TRAILER", amzDate, scope, previous, sha256(canonical)].join("\n"))
        .digest("hex");
      pieces.push(Buffer.from(`x-amz-trailer-signature:${signature}\r\n`));
    }
  }
  if (options.finalBlankLine ?? true) pieces.push(Buffer.from("\r\n"));
  return Buffer.concat(pieces);
}

// ---- the tests ---------------------------------------------------------------------------------------------------

describe("verifyRequest over real HTTP", function () {
  this.timeout(20_000);

  before(async () => {
    server = http.createServer((req, res) => void handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    serverNow = undefined;
    bodyOptions = {};
  });

  describe("header auth (aws4)", () => {
    it("accepts a signed GET and names the principal", async () => {
      const result = expectOk(await exchange(signed("GET", "/bucket/key")));
      assert.equal(result.accessKeyId, ACCESS_KEY);
      assert.equal(result.authType, "header");
      assert.equal(result.body.length, 0);
      assert.equal(result.digests.md5Hex, createHash("md5").digest("hex"));
    });

    it("accepts any region in the credential scope", async () => {
      expectOk(await exchange(signed("GET", "/bucket/key", { region: "weft-local-1" })));
    });

    it("verifies a signed payload (hex x-amz-content-sha256) and returns the MD5", async () => {
      const body = randomBytes(70_000);
      const result = expectOk(await exchange(signed("PUT", "/bucket/blob", { body })));
      assert.equal(result.payloadMode, "sha256");
      assert.deepEqual(result.body, body);
      assert.equal(result.digests.md5Hex, createHash("md5").update(body).digest("hex"));
      assert.equal(result.digests.size, body.length);
      assert.equal(result.declaredLength, body.length);
    });

    it("rejects a body that does not match x-amz-content-sha256", async () => {
      const request = signed("PUT", "/bucket/blob", { body: "signed body", headers: { "X-Amz-Content-Sha256": sha256("another body") } });
      expectError(await exchange(request), "XAmzContentSHA256Mismatch");
    });

    it("accepts UNSIGNED-PAYLOAD", async () => {
      const result = expectOk(await exchange(signed("PUT", "/bucket/u", { body: "free text", headers: { "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD" } })));
      assert.equal(result.payloadMode, "unsigned");
      assert.equal(result.body.toString(), "free text");
    });

    it("rejects a wrong signature, an unknown key, and a tampered signed header", async () => {
      expectError(await exchange(signed("GET", "/bucket/key", { secret: "not-the-secret" })), "SignatureDoesNotMatch");
      const unknown = expectError(await exchange(signed("GET", "/bucket/key", { accessKeyId: "NOSUCHKEY" })), "InvalidAccessKeyId");
      assert.equal(unknown.status, 403);
      const tampered = signed("GET", "/bucket/key", { headers: { "X-Amz-Meta-Color": "blue" } });
      tampered.headers["X-Amz-Meta-Color"] = "red";
      const mismatch = expectError(await exchange(tampered), "SignatureDoesNotMatch");
      assert.match(mismatch.details.CanonicalRequest ?? "", /x-amz-meta-color:red/);
    });

    it("rejects x-amz-* headers that are not signed", async () => {
      const request = signed("GET", "/bucket/key");
      request.headers["x-amz-acl"] = "public-read";
      const result = expectError(await exchange(request), "AccessDenied", "There were headers present in the request which were not signed");
      assert.equal(result.details.HeadersNotSigned, "x-amz-acl");
    });

    it("accepts s3cmd-style Authorization headers without spaces after the commas", async () => {
      const request = signed("GET", "/bucket/key");
      request.headers.Authorization = String(request.headers.Authorization).replace(/, /g, ",");
      expectOk(await exchange(request));
    });

    it("canonicalises repeated and badly spaced header values", async () => {
      const request = signed("GET", "/bucket/key", { headers: { "X-Amz-Meta-Note": "a   b    c" } });
      expectOk(await exchange(request));
    });

    it("requires x-amz-content-sha256 and a date", async () => {
      const noHash = signed("GET", "/bucket/key");
      delete noHash.headers["X-Amz-Content-Sha256"];
      expectError(await exchange(noHash), "InvalidRequest", "Missing required header for this request: x-amz-content-sha256");
      const noDate = signed("GET", "/bucket/key");
      delete noDate.headers["X-Amz-Date"];
      expectError(await exchange(noDate), "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
    });

    it("answers RequestTimeTooSkewed beyond 15 minutes either way, and accepts within", async () => {
      serverNow = Date.now() + 16 * 60_000;
      const ahead = expectError(await exchange(signed("GET", "/bucket/key")), "RequestTimeTooSkewed");
      assert.equal(ahead.status, 403);
      assert.equal(ahead.details.MaxAllowedSkewMilliseconds, "900000");
      serverNow = Date.now() - 16 * 60_000;
      expectError(await exchange(signed("GET", "/bucket/key")), "RequestTimeTooSkewed");
      serverNow = Date.now() + 14 * 60_000;
      expectOk(await exchange(signed("GET", "/bucket/key")));
    });

    it("takes an unsigned request as anonymous (access control decides), refuses unknown schemes cleanly (SigV2: verify-v2.test.ts)", async () => {
      const anonymous = expectOk(await exchange({ method: "PUT", path: "/bucket/key", headers: {}, body: Buffer.from("anyone") }));
      assert.deepEqual([anonymous.accessKeyId, anonymous.authType, anonymous.payloadMode, anonymous.body.toString()], [undefined, "anonymous", "unsigned", "anyone"]);
      expectError(await exchange({ method: "GET", path: "/bucket/key", headers: { Authorization: "Bearer token" } }), "InvalidArgument");
      expectError(
        await exchange({ method: "GET", path: "/bucket/key", headers: { Authorization: "AWS4-HMAC-SHA256 Credential=x" } }),
        "AuthorizationHeaderMalformed",
      );
    });
  });

  describe("keys and queries on the wire", () => {
    const keys = ["dir/a b.txt", "a+b", "100%", "ünïcödé/日本語.txt", "tab\tand\nnewline", "semi;colon,comma=eq&amp", "~tilde-._"];
    for (const key of keys) {
      it(`verifies the AWS-encoded key ${JSON.stringify(key)}`, async () => {
        const encoded = key.split("/").map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join("/");
        const result = expectOk(await exchange(signed("PUT", `/bucket/${encoded}`, { body: key })));
        assert.equal(result.rawPath, `/bucket/${encoded}`);
      });
    }

    it("accepts sub-delimiters sent raw but signed encoded (decode → re-encode fallback)", async () => {
      const request = signed("GET", "/bucket/x!'()*");
      assert.equal(request.path, "/bucket/x!'()*");
      expectOk(await exchange(request));
    });

    it("keeps unknown parameters such as x-id and empty values such as ?uploads", async () => {
      const result = expectOk(await exchange(signed("POST", "/bucket/key?uploads&x-id=CreateMultipartUpload")));
      assert.deepEqual(result.query, { uploads: "", "x-id": "CreateMultipartUpload" });
    });

    it("reads a bare '+' in a query value as a space (form encoding)", async () => {
      const request = signed("GET", "/bucket?list-type=2&prefix=a%20b%2Bc");
      request.path = request.path.replace("a%20b", "a+b");
      assert.match(request.path, /prefix=a\+b%2Bc/);
      const result = expectOk(await exchange(request));
      assert.equal(result.query.prefix, "a b+c");
    });
  });

  describe("integrity headers", () => {
    const body = Buffer.from("The quick brown fox jumps over the lazy dog");
    const algorithms: ChecksumAlgorithm[] = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"];
    for (const algorithm of algorithms) {
      it(`verifies x-amz-checksum-${algorithm.toLowerCase()} right and wrong`, async () => {
        const header = `x-amz-checksum-${algorithm.toLowerCase()}`;
        const good = expectOk(await exchange(signed("PUT", "/bucket/k", { body, headers: { [header]: checksumOf(algorithm, body) } })));
        assert.deepEqual(good.digests.checksum, { algorithm, base64: checksumOf(algorithm, body) });
        const wrongValue = checksumOf(algorithm, Buffer.from("something else"));
        expectError(
          await exchange(signed("PUT", "/bucket/k", { body, headers: { [header]: wrongValue } })),
          "BadDigest",
          `The ${algorithm} you specified did not match the calculated checksum.`,
        );
        expectError(
          await exchange(signed("PUT", "/bucket/k", { body, headers: { [header]: "not base64!" } })),
          "InvalidRequest",
          `Value for ${header} header is invalid.`,
        );
      });
    }

    it("verifies Content-MD5 right, wrong and malformed", async () => {
      const md5 = createHash("md5").update(body).digest("base64");
      expectOk(await exchange(signed("PUT", "/bucket/k", { body, headers: { "Content-MD5": md5 } })));
      const wrong = createHash("md5").update("x").digest("base64");
      const bad = expectError(await exchange(signed("PUT", "/bucket/k", { body, headers: { "Content-MD5": wrong } })), "BadDigest");
      assert.equal(bad.status, 400);
      expectError(await exchange(signed("PUT", "/bucket/k", { body, headers: { "Content-MD5": "AAAA" } })), "InvalidDigest");
    });

    it("rejects two checksum headers, and an SDK algorithm without its checksum", async () => {
      const twoHeaders = { "x-amz-checksum-crc32": checksumOf("CRC32", body), "x-amz-checksum-sha1": checksumOf("SHA1", body) };
      expectError(await exchange(signed("PUT", "/bucket/k", { body, headers: twoHeaders })), "InvalidRequest", /Expecting a single x-amz-checksum- header/);
      expectError(
        await exchange(signed("PUT", "/bucket/k", { body, headers: { "x-amz-sdk-checksum-algorithm": "CRC32" } })),
        "InvalidRequest",
        /x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-\* or x-amz-trailer headers were found/,
      );
    });

    it("leaves x-amz-checksum-* alone when the caller says it describes the object, not the body", async () => {
      bodyOptions = { checksumHeadersDescribeBody: false };
      const result = expectOk(await exchange(signed("POST", "/bucket/k?uploadId=1", { body, headers: { "x-amz-checksum-crc32": "AAAAAA==" } })));
      assert.equal(result.digests.checksum, undefined);
    });

    it("fails a body cut short of its Content-Length with IncompleteBody", async () => {
      const request = signed("PUT", "/bucket/k", { body: randomBytes(1000), headers: { "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD" } });
      request.body = (request.body as Buffer).subarray(0, 400);
      request.cutOff = true;
      expectError(await exchange(request), "IncompleteBody");
    });
  });

  describe("aws-chunked bodies", () => {
    const data = randomBytes(200_000);

    function streamingRequest(mode: string, decodedLength: number, extraHeaders: Record<string, string | number> = {}): RawRequest {
      return signed("PUT", "/bucket/chunked", {
        headers: {
          "Content-Encoding": "aws-chunked",
          "X-Amz-Content-Sha256": mode,
          "X-Amz-Decoded-Content-Length": decodedLength,
          ...extraHeaders,
        },
      });
    }

    it("replays the AWS sigv4-streaming example byte for byte", async () => {
      serverNow = Date.UTC(2013, 4, 24, 0, 5, 0);
      const chunk = (size: number, signature: string) =>
        Buffer.concat([Buffer.from(`${size.toString(16)};chunk-signature=${signature}\r\n`), Buffer.alloc(size, "a"), Buffer.from("\r\n")]);
      const wire = Buffer.concat([
        chunk(65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"),
        chunk(1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"),
        chunk(0, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"),
      ]);
      assert.equal(wire.length, 66824);
      const headers = {
        Host: "s3.amazonaws.com",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        Authorization:
          "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": 66560,
        "Content-Length": 66824,
      };
      const result = expectOk(await exchange({ method: "PUT", path: "/examplebucket/chunkObject.txt", headers, body: wire }));
      assert.equal(result.accessKeyId, EXAMPLE_ACCESS_KEY);
      assert.deepEqual(result.body, Buffer.alloc(66560, "a"));
      assert.equal(result.declaredLength, 66560);

      const tampered = Buffer.from(wire);
      tampered[66000] = "b".charCodeAt(0);
      expectError(await exchange({ method: "PUT", path: "/examplebucket/chunkObject.txt", headers, body: tampered }), "SignatureDoesNotMatch");
    });

    it("decodes signed chunks (Content-Length given) and rejects one tampered chunk", async () => {
      const request = streamingRequest("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", data.length, {
        "Content-Length": encodeChunked(data, 65536, { signer: { key: Buffer.alloc(32), amzDate: "", scope: "", seed: "0".repeat(64) } }).length,
      });
      const signer = chunkSignerFor(request);
      const result = expectOk(await exchange({ ...request, body: encodeChunked(data, 65536, { signer }) }));
      assert.equal(result.payloadMode, "aws-chunked-signed");
      assert.deepEqual(result.body, data);
      assert.equal(result.digests.md5Hex, createHash("md5").update(data).digest("hex"));

      const again = streamingRequest("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", data.length);
      const tampered = encodeChunked(data, 65536, { signer: chunkSignerFor(again), tamperChunk: 1 });
      expectError(await exchange({ ...again, body: tampered }), "SignatureDoesNotMatch");
    });

    it("verifies a signed trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER), and rejects a forged one", async () => {
      const trailerHeaders = { "X-Amz-Trailer": "x-amz-checksum-crc32" };
      const request = streamingRequest("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", data.length, trailerHeaders);
      const signer = chunkSignerFor(request);
      const body = encodeChunked(data, 65536, { signer, trailer: { name: "x-amz-checksum-crc32", value: crc32Base64(data) }, signTrailer: true });
      const result = expectOk(await exchange({ ...request, body }));
      assert.equal(result.payloadMode, "aws-chunked-signed-trailer");
      assert.deepEqual(result.digests.checksum, { algorithm: "CRC32", base64: crc32Base64(data) });

      const forged = streamingRequest("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", data.length, trailerHeaders);
      const forgedBody = encodeChunked(data, 65536, { signer: chunkSignerFor(forged), trailer: { name: "x-amz-checksum-crc32", value: crc32Base64(data) }, signTrailer: true });
      const flipped = Buffer.from(forgedBody.toString("latin1").replace(/x-amz-trailer-signature:([0-9a-f])/, (_, c) => `x-amz-trailer-signature:${c === "0" ? "1" : "0"}`), "latin1");
      expectError(await exchange({ ...forged, body: flipped }), "SignatureDoesNotMatch");

      const wrongCrc = streamingRequest("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", data.length, trailerHeaders);
      const wrongBody = encodeChunked(data, 65536, { signer: chunkSignerFor(wrongCrc), trailer: { name: "x-amz-checksum-crc32", value: "AAAAAA==" }, signTrailer: true });
      expectError(await exchange({ ...wrongCrc, body: wrongBody }), "BadDigest", "The CRC32 you specified did not match the calculated checksum.");
    });

    const unsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
    const crcTrailer = { "X-Amz-Trailer": "x-amz-checksum-crc32" };

    it("decodes unsigned chunks with a CRC32 trailer sent with Transfer-Encoding: chunked (no Content-Length)", async () => {
      const request = streamingRequest(unsignedTrailer, data.length, crcTrailer);
      const wire = encodeChunked(data, 70_000, { trailer: { name: "x-amz-checksum-crc32", value: crc32Base64(data) } });
      // Several writes without Content-Length: node frames them with HTTP chunking, which the server strips first.
      const pieces = [wire.subarray(0, 5), wire.subarray(5, 70_003), wire.subarray(70_003, 150_000), wire.subarray(150_000)];
      const result = expectOk(await exchange({ ...request, body: pieces }));
      assert.equal(result.headers["transfer-encoding"], "chunked");
      assert.equal(result.headers["content-length"], undefined);
      assert.deepEqual(result.body, data);
      assert.equal(result.declaredLength, data.length);
    });

    it("tolerates a missing final blank line and a lone \\n after the trailer", async () => {
      const trailer = { name: "x-amz-checksum-crc32", value: crc32Base64(data) };
      const noBlank = encodeChunked(data, 65536, { trailer, finalBlankLine: false });
      expectOk(await exchange({ ...streamingRequest(unsignedTrailer, data.length, crcTrailer), body: noBlank }));
      const loneNewline = Buffer.concat([encodeChunked(data, 65536, { trailer, finalBlankLine: false }), Buffer.from("\n\r\n")]);
      expectOk(await exchange({ ...streamingRequest(unsignedTrailer, data.length, crcTrailer), body: loneNewline }));
    });

    it("reports a missing, malformed or wrong trailer", async () => {
      const missing = encodeChunked(data, 65536);
      expectError(await exchange({ ...streamingRequest(unsignedTrailer, data.length, crcTrailer), body: missing }), "MalformedTrailerError");
      const malformed = encodeChunked(data, 65536, { trailer: { name: "x-amz-checksum-crc32", value: "zzz" } });
      expectError(
        await exchange({ ...streamingRequest(unsignedTrailer, data.length, crcTrailer), body: malformed }),
        "InvalidRequest",
        "Value for x-amz-checksum-crc32 trailing header is invalid.",
      );
      const crc32cTrailer = { "X-Amz-Trailer": "x-amz-checksum-crc32c" };
      const wrong = encodeChunked(data, 65536, { trailer: { name: "x-amz-checksum-crc32c", value: checksumOf("CRC32C", Buffer.from("x")) } });
      expectError(
        await exchange({ ...streamingRequest(unsignedTrailer, data.length, crc32cTrailer), body: wrong }),
        "BadDigest",
        "The CRC32C you specified did not match the calculated checksum.",
      );
    });

    it("rejects a checksum header together with a trailer", async () => {
      const request = streamingRequest(unsignedTrailer, data.length, { ...crcTrailer, "x-amz-checksum-sha256": checksumOf("SHA256", data) });
      const body = encodeChunked(data, 65536, { trailer: { name: "x-amz-checksum-crc32", value: crc32Base64(data) } });
      expectError(await exchange({ ...request, body }), "InvalidRequest", /Expecting a single x-amz-checksum- header/);
    });

    it("fails broken framing, early EOF and a wrong decoded length with IncompleteBody", async () => {
      const trailer = { name: "x-amz-checksum-crc32", value: crc32Base64(data) };
      const good = encodeChunked(data, 65536, { trailer });
      const truncated = good.subarray(0, 100_000);
      expectError(await exchange({ ...streamingRequest(unsignedTrailer, data.length, crcTrailer), body: truncated }), "IncompleteBody");
      const garbled = Buffer.from(good);
      garbled.write("zz", 0, "latin1");
      expectError(await exchange({ ...streamingRequest(unsignedTrailer, data.length, crcTrailer), body: garbled }), "IncompleteBody");
      expectError(await exchange({ ...streamingRequest(unsignedTrailer, data.length + 1, crcTrailer), body: good }), "IncompleteBody");
      expectError(await exchange({ ...streamingRequest(unsignedTrailer, data.length - 1, crcTrailer), body: good }), "IncompleteBody");
      const longLine = Buffer.concat([Buffer.from(`10;${"x".repeat(5000)}\r\n`), good]);
      expectError(await exchange({ ...streamingRequest(unsignedTrailer, data.length, crcTrailer), body: longLine }), "IncompleteBody", /longer than 4096/);
    });

    it("rejects signed chunks larger than 16 MiB before reading them", async () => {
      const request = streamingRequest("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", 32 * 1024 * 1024);
      const header = Buffer.from(`2000000;chunk-signature=${"0".repeat(64)}\r\n`);
      expectError(await exchange({ ...request, body: [header, randomBytes(1000)], cutOff: true }), "InvalidRequest", /larger than the maximum/);
    });
  });

  describe("presigned URLs", () => {
    it("accepts a valid presigned GET and rejects it once expired or tampered", async () => {
      const request = signed("GET", "/bucket/photo.jpg?X-Amz-Expires=60", { signQuery: true });
      const valid = expectOk(await exchange(request));
      assert.equal(valid.authType, "presigned");
      assert.equal(valid.payloadMode, "unsigned");

      serverNow = Date.now() + 61_000;
      expectError(await exchange(request), "AccessDenied", "Request has expired");
      serverNow = undefined;

      expectError(await exchange({ ...request, path: request.path.replace("photo.jpg", "photo.png") }), "SignatureDoesNotMatch");
      expectError(await exchange({ ...request, path: `${request.path}&response-content-type=text%2Fhtml` }), "SignatureDoesNotMatch");
    });

    it("limits X-Amz-Expires to 1..604800 seconds", async () => {
      expectError(await exchange(signed("GET", "/bucket/k?X-Amz-Expires=604801", { signQuery: true })), "AuthorizationQueryParametersError");
      expectError(await exchange(signed("GET", "/bucket/k?X-Amz-Expires=0", { signQuery: true })), "AuthorizationQueryParametersError");
      expectOk(await exchange(signed("GET", "/bucket/k?X-Amz-Expires=604800", { signQuery: true })));
    });

    it("refuses a request that carries both an Authorization header and a query signature", async () => {
      const presigned = signed("GET", "/bucket/k", { signQuery: true });
      const headerSigned = signed("GET", "/bucket/k");
      expectError(await exchange({ ...presigned, headers: headerSigned.headers }), "InvalidArgument", /Only one auth mechanism allowed/);
    });
  });

  describe("@aws-sdk/client-s3 against the server", () => {
    let client: S3Client;

    before(() => {
      client = new S3Client({
        endpoint: `http://127.0.0.1:${port}`,
        region: "us-east-1",
        forcePathStyle: true,
        maxAttempts: 1,
        credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET },
      });
    });

    after(() => client.destroy());

    it("PutObject with a Buffer body sends a CRC32 header checksum", async () => {
      const body = randomBytes(100_000);
      const result = expectOutcome();
      await client.send(new PutObjectCommand({ Bucket: "bucket", Key: "buffer.bin", Body: body }));
      const seen = expectOk(await result);
      assert.deepEqual(seen.body, body);
      assert.equal(seen.headers["x-amz-checksum-crc32"], crc32Base64(body));
      assert.deepEqual(seen.digests.checksum, { algorithm: "CRC32", base64: crc32Base64(body) });
    });

    for (const algorithm of ["CRC32C", "CRC64NVME", "SHA1", "SHA256"] as const) {
      it(`PutObject with ChecksumAlgorithm ${algorithm}`, async () => {
        const body = randomBytes(50_000);
        const result = expectOutcome();
        await client.send(new PutObjectCommand({ Bucket: "bucket", Key: "alg.bin", Body: body, ChecksumAlgorithm: algorithm as SdkChecksumAlgorithm }));
        const seen = expectOk(await result);
        assert.deepEqual(seen.digests.checksum, { algorithm, base64: checksumOf(algorithm, body) });
      });
    }

    it("PutObject with a Readable body sends STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer", async () => {
      const parts = [randomBytes(300_000), randomBytes(1), randomBytes(65_536)];
      const whole = Buffer.concat(parts);
      const result = expectOutcome();
      await client.send(new PutObjectCommand({ Bucket: "bucket", Key: "stream.bin", Body: Readable.from(parts), ContentLength: whole.length }));
      const seen = expectOk(await result);
      assert.equal(seen.payloadMode, "aws-chunked-unsigned-trailer");
      assert.equal(seen.headers["x-amz-trailer"], "x-amz-checksum-crc32");
      assert.equal(seen.declaredLength, whole.length);
      assert.deepEqual(seen.body, whole);
      assert.deepEqual(seen.digests.checksum, { algorithm: "CRC32", base64: crc32Base64(whole) });
    });

    it("keys and prefixes with spaces, '+', '%' and unicode", async () => {
      const key = "dir one/ünï cödé+100%/日本 (1)!.txt";
      const put = expectOutcome();
      await client.send(new PutObjectCommand({ Bucket: "bucket", Key: key, Body: "x" }));
      const seen = expectOk(await put);
      assert.equal(Buffer.from(decodeURIComponent(seen.rawPath)).toString(), `/bucket/${key}`);

      const list = expectOutcome();
      const listed = await client.send(new ListObjectsV2Command({ Bucket: "bucket", Prefix: "a b+c%d/ü", StartAfter: "x y" }));
      assert.equal(listed.Prefix, "a b+c%d/ü");
      const listSeen = expectOk(await list);
      assert.equal(listSeen.query.prefix, "a b+c%d/ü");
      assert.equal(listSeen.query["start-after"], "x y");
    });

    it("DeleteObjects (POST ?delete with an XML body and a checksum header)", async () => {
      const result = expectOutcome();
      await client.send(new DeleteObjectsCommand({ Bucket: "bucket", Delete: { Objects: [{ Key: "a" }, { Key: "b c" }] } }));
      const seen = expectOk(await result);
      assert.match(seen.body.toString(), /<Key>b c<\/Key>/);
      assert.ok(seen.digests.checksum, "the SDK sends a flexible checksum instead of Content-MD5");
    });

    it("surfaces SignatureDoesNotMatch to the SDK for a wrong secret", async () => {
      const wrong = new S3Client({
        endpoint: `http://127.0.0.1:${port}`,
        region: "us-east-1",
        forcePathStyle: true,
        maxAttempts: 1,
        credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: "wrong" },
      });
      const result = expectOutcome();
      await assert.rejects(wrong.send(new PutObjectCommand({ Bucket: "bucket", Key: "k", Body: "x" })), { name: "SignatureDoesNotMatch" });
      expectError(await result, "SignatureDoesNotMatch");
      wrong.destroy();
    });

    it("presigned GET from the SDK presigner", async () => {
      const { GetObjectCommand } = await import("@aws-sdk/client-s3");
      const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: "bucket", Key: "a b/ü+.txt" }), { expiresIn: 300 });
      const target = new URL(url);
      const result = expectOutcome();
      await send({ method: "GET", path: `${target.pathname}${target.search}`, headers: { host: target.host } });
      const seen = expectOk(await result);
      assert.equal(seen.authType, "presigned");
    });

    it("presigned PUT from the SDK presigner: its hoisted empty-body CRC32 fails real content with a pointed message", async () => {
      const url = new URL(await getSignedUrl(client, new PutObjectCommand({ Bucket: "bucket", Key: "upload.bin" }), { expiresIn: 300 }));
      assert.equal(url.searchParams.get("x-amz-checksum-crc32"), "AAAAAA==", "this SDK version presigns the CRC32 of an empty body");
      const path = `${url.pathname}${url.search}`;
      const body = Buffer.from("real content");
      const rejected = await exchange({ method: "PUT", path, headers: { host: url.host, "content-length": body.length }, body });
      expectError(rejected, "BadDigest", /requestChecksumCalculation/);
      const empty = expectOk(await exchange({ method: "PUT", path, headers: { host: url.host, "content-length": 0 } }));
      assert.deepEqual(empty.digests.checksum, { algorithm: "CRC32", base64: "AAAAAA==" });

      const whenRequired = new S3Client({
        endpoint: `http://127.0.0.1:${port}`,
        region: "us-east-1",
        forcePathStyle: true,
        requestChecksumCalculation: "WHEN_REQUIRED",
        credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET },
      });
      const plainUrl = new URL(await getSignedUrl(whenRequired, new PutObjectCommand({ Bucket: "bucket", Key: "upload.bin" }), { expiresIn: 300 }));
      whenRequired.destroy();
      const accepted = expectOk(
        await exchange({ method: "PUT", path: `${plainUrl.pathname}${plainUrl.search}`, headers: { host: plainUrl.host, "content-length": body.length }, body }),
      );
      assert.deepEqual(accepted.body, body);
    });
  });
});
