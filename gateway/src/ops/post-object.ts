// POST Object: a browser form upload (multipart/form-data) to a bucket, authorized not by the request's own
// signature but by a policy document the bucket owner signed beforehand (AWS "Browser-based uploads using POST",
// SigV4 and SigV2 flavours). The fields before the file are buffered (capped); the file streams into the write path
// like a PUT body, its length unknown until it ends; anything after the file is read and ignored, as AWS does.
import { requireRegion } from "../auth/region.js";
import busboy from "busboy";
import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { Transform, pipeline, type Readable, type TransformCallback } from "node:stream";
import { authorizeRequest, authorizedOwner } from "../access/request-access.js";
import { ANONYMOUS, principalOf } from "../auth/key-store.js";
import type { S3Context } from "../context.js";
import type { VerifiedBody } from "../auth/verify-request.js";
import { SIGV4_ALGORITHM, SCOPE_TERMINATOR, deriveSigningKey, signHex, signaturesEqual } from "../auth/sigv4.js";
import { signV2, signaturesEqualV2 } from "../auth/sigv2.js";
import { signatureMismatchV2 } from "../auth/verify-v2.js";
import { S3Error } from "../s3/errors.js";
import { H, objectHeadersFromRequest, quoteEtag } from "../s3/headers.js";
import { refuseUnhonouredHeaders } from "../s3/unhonoured-headers.js";
import { encryptionOfWrite, requestedEncryptionHeaders } from "../encryption/sse-headers.js";
import { checkObjectKey } from "../s3/object-key.js";
import { renderXml } from "../s3/xml.js";
import { MAX_PART_SIZE } from "../objects/write.js";
import { setWrittenVersionId } from "./common.js";

/** AWS's cap on the form fields that precede the file. */
export const MAX_PRE_DATA_BYTES = 20 * 1024;

/** Fields the policy need not mention, besides the signature fields of the form's signature version. */
function exemptFromPolicy(name: string): boolean {
  return name === "file" || name === "policy" || name.startsWith("x-ignore-");
}

/** The fields that carry a form's signature (lowercase): the policy cannot sign them. */
const SIGNATURE_FIELDS = { 4: ["x-amz-signature"], 2: ["awsaccesskeyid", "signature"] } as const;

interface PolicySigner {
  accessKeyId: string;
  signatureFields: readonly string[];
}

interface FormFile {
  stream: Readable;
  filename: string;
}

interface ParsedForm {
  /** Lowercase field name → value (field names are case-insensitive; the first occurrence wins). */
  fields: Map<string, string>;
  file: FormFile;
  /** Settles once the whole request body has been parsed (fields after the file included). */
  finished: Promise<void>;
}

function policyDenied(why: string): S3Error {
  return new S3Error("AccessDenied", `Invalid according to Policy: ${why}`);
}

function formError(message: string): S3Error {
  return new S3Error("MalformedPOSTRequest", message);
}

/** Reads the form up to the file part. Rejects with an S3Error for a malformed form or too many field bytes. */
function parseFormUntilFile(ctx: S3Context): Promise<ParsedForm> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: ctx.req.headers, limits: { fieldSize: MAX_PRE_DATA_BYTES, fieldNameSize: 1024 } });
    } catch (error) {
      reject(formError(`The body of your POST request is not well-formed multipart/form-data. ${error instanceof Error ? error.message : ""}`.trim()));
      return;
    }
    const fields = new Map<string, string>();
    let preDataBytes = 0;
    let file: FormFile | undefined;
    let settleFinished: { resolve: () => void; reject: (error: Error) => void } | undefined;
    const finished = new Promise<void>((resolveFinished, rejectFinished) => {
      settleFinished = { resolve: resolveFinished, reject: rejectFinished };
    });
    finished.catch(() => {}); // observed by the handler once the file is stored; a failure before that is the file's

    const stop = (error: S3Error) => {
      ctx.req.unpipe(parser);
      parser.removeAllListeners("field");
      parser.removeAllListeners("file");
      reject(error);
    };
    parser.on("field", (name, value, info) => {
      if (file) return; // AWS ignores whatever follows the file
      preDataBytes += Buffer.byteLength(name) + Buffer.byteLength(value);
      if (preDataBytes > MAX_PRE_DATA_BYTES || info.valueTruncated || info.nameTruncated) {
        stop(new S3Error("MaxPostPreDataLengthExceeded"));
        return;
      }
      const lower = name.toLowerCase();
      if (!fields.has(lower)) fields.set(lower, value);
    });
    parser.on("file", (name, stream, info) => {
      if (file || name.toLowerCase() !== "file") {
        stream.resume(); // a second file, or a file input under another name: ignored
        return;
      }
      file = { stream, filename: info.filename ?? "" };
      resolve({ fields, file, finished });
    });
    parser.on("error", (error: Error) => {
      const failure = formError(`The body of your POST request is not well-formed multipart/form-data. ${error.message}`);
      if (!file) stop(failure);
      else {
        file.stream.destroy(failure);
        settleFinished?.reject(failure);
      }
    });
    parser.on("close", () => {
      if (!file) stop(new S3Error("InvalidArgument", "POST requires exactly one file upload per request.", { details: { ArgumentName: "file", ArgumentValue: "0" } }));
      else settleFinished?.resolve();
    });
    ctx.req.pipe(parser);
  });
}

interface Credential {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

function parseCredential(value: string): Credential {
  const parts = value.split("/");
  if (parts.length !== 5 || parts[4] !== SCOPE_TERMINATOR || !/^\d{8}$/.test(parts[1]) || parts.some((part) => part === "")) {
    throw new S3Error("InvalidArgument", "Invalid credential in the form's x-amz-credential field.", {
      details: { ArgumentName: "x-amz-credential", ArgumentValue: value },
    });
  }
  return { accessKeyId: parts[0], date: parts[1], region: parts[2], service: parts[3] };
}

function requiredField(fields: Map<string, string>, name: string): string {
  const value = fields.get(name);
  if (value === undefined) {
    throw new S3Error("InvalidArgument", `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`, {
      details: { ArgumentName: name, ArgumentValue: "" },
    });
  }
  return value;
}

/**
 * The policy's signature: SigV2 when the form has AWSAccessKeyId and no x-amz-algorithm (base64 HMAC-SHA1 of the
 * policy under the secret key, as boto3's presigned POST makes it with signature_version "s3"), SigV4 otherwise.
 */
async function verifyPolicySignature(ctx: S3Context, fields: Map<string, string>, policy: string): Promise<PolicySigner> {
  if (fields.has("awsaccesskeyid") && !fields.has("x-amz-algorithm")) {
    return { accessKeyId: await verifyPolicySignatureV2(ctx, fields, policy), signatureFields: SIGNATURE_FIELDS[2] };
  }
  return { accessKeyId: await verifyPolicySignatureV4(ctx, fields, policy), signatureFields: SIGNATURE_FIELDS[4] };
}

/** SigV2 names no region: the form is good in any. */
async function verifyPolicySignatureV2(ctx: S3Context, fields: Map<string, string>, policy: string): Promise<string> {
  const accessKeyId = requiredField(fields, "awsaccesskeyid");
  const signature = requiredField(fields, "signature");
  const secret = await ctx.services.credentials.secretFor(accessKeyId);
  if (secret === undefined) throw new S3Error("InvalidAccessKeyId", undefined, { details: { AWSAccessKeyId: accessKeyId } });
  if (!signaturesEqualV2(signV2(secret, policy), signature)) throw signatureMismatchV2(accessKeyId, signature, policy);
  return accessKeyId;
}

/** Checked with the signing key of the credential the form names. Returns the access key id. */
async function verifyPolicySignatureV4(ctx: S3Context, fields: Map<string, string>, policy: string): Promise<string> {
  const algorithm = requiredField(fields, "x-amz-algorithm");
  if (algorithm !== SIGV4_ALGORITHM) {
    throw new S3Error("InvalidArgument", "Only AWS4-HMAC-SHA256 is supported as x-amz-algorithm.", {
      details: { ArgumentName: "x-amz-algorithm", ArgumentValue: algorithm },
    });
  }
  const credential = parseCredential(requiredField(fields, "x-amz-credential"));
  requiredField(fields, "x-amz-date");
  const signature = requiredField(fields, "x-amz-signature");
  const secret = await ctx.services.credentials.secretFor(credential.accessKeyId);
  if (secret === undefined) throw new S3Error("InvalidAccessKeyId", undefined, { details: { AWSAccessKeyId: credential.accessKeyId } });
  const expected = signHex(deriveSigningKey(secret, credential), policy);
  if (!signaturesEqual(expected, signature)) {
    throw new S3Error("SignatureDoesNotMatch", undefined, { details: { AWSAccessKeyId: credential.accessKeyId, StringToSign: policy } });
  }
  // The form's x-amz-credential is a query-style credential: refused as a presigned URL's would be.
  requireRegion({ authType: "presigned", region: credential.region }, ctx.services.config.region);
  return credential.accessKeyId;
}

interface LengthRange {
  min: number;
  max: number;
}

/**
 * Checks the policy's expiration and conditions against the form (the raw field values, before `${filename}`
 * substitution) and returns its content-length-range, if any.
 */
export function checkPolicy(
  policyBase64: string,
  fields: Map<string, string>,
  bucket: string,
  now: Date,
  signatureFields: readonly string[],
): LengthRange | undefined {
  let policy: { expiration?: unknown; conditions?: unknown };
  try {
    policy = JSON.parse(Buffer.from(policyBase64, "base64").toString("utf8")) as typeof policy;
  } catch {
    throw new S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid JSON.");
  }
  if (typeof policy !== "object" || policy === null || typeof policy.expiration !== "string" || !Array.isArray(policy.conditions)) {
    throw new S3Error("InvalidPolicyDocument", "Invalid Policy: Policy must contain an expiration and a conditions list.");
  }
  const expires = Date.parse(policy.expiration);
  if (Number.isNaN(expires)) throw new S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid 'expiration' value.");
  if (expires < now.getTime()) throw policyDenied("Policy expired.");

  // `bucket` is not a form field the client chooses: the bucket is the one the form is posted to.
  const valueOf = (name: string): string => (name === "bucket" ? bucket : (fields.get(name) ?? ""));
  const covered = new Set<string>(["bucket"]);
  let range: LengthRange | undefined;
  const malformed = (condition: unknown) => new S3Error("InvalidPolicyDocument", `Invalid Policy: Invalid Condition: ${JSON.stringify(condition)}`);
  const failed = (condition: unknown) => policyDenied(`Policy Condition failed: ${JSON.stringify(condition)}`);

  for (const condition of policy.conditions as unknown[]) {
    if (Array.isArray(condition)) {
      const [operator, first, second] = condition as unknown[];
      if (condition.length !== 3 || typeof operator !== "string") throw malformed(condition);
      if (operator.toLowerCase() === "content-length-range") {
        const min = Number(first);
        const max = Number(second);
        if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || max < min) throw malformed(condition);
        range = { min, max };
        continue;
      }
      if (typeof first !== "string" || !first.startsWith("$") || typeof second !== "string") throw malformed(condition);
      const name = first.slice(1).toLowerCase();
      const value = valueOf(name);
      covered.add(name);
      if (operator.toLowerCase() === "eq") {
        if (value !== second) throw failed(condition);
      } else if (operator.toLowerCase() === "starts-with") {
        // For Content-Type a comma-separated list is allowed, each entry starting with the prefix.
        const values = name === "content-type" ? value.split(",").map((item) => item.trim()) : [value];
        if (!values.every((item) => item.startsWith(second))) throw failed(condition);
      } else throw malformed(condition);
    } else if (typeof condition === "object" && condition !== null) {
      const entries = Object.entries(condition as Record<string, unknown>);
      if (entries.length !== 1 || typeof entries[0][1] !== "string") throw malformed(condition);
      const [rawName, expected] = entries[0] as [string, string];
      const name = rawName.toLowerCase();
      covered.add(name);
      if (valueOf(name) !== expected) throw failed(["eq", `$${rawName}`, expected]);
    } else throw malformed(condition);
  }

  const extra = [...fields.keys()].filter((name) => !exemptFromPolicy(name) && !signatureFields.includes(name) && !covered.has(name));
  if (extra.length > 0) throw policyDenied(`Extra input fields: ${extra.join(", ")}`);
  return range;
}

/**
 * The form's file as the VerifiedBody the write path takes: hashed (MD5, the ETag) and counted on the way, failing
 * with EntityTooLarge as soon as it passes `range.max` and with EntityTooSmall at its end below `range.min`.
 */
function postedFileBody(file: Readable, range: LengthRange): VerifiedBody {
  const md5 = createHash("md5");
  let seen = 0;
  let digests: ReturnType<VerifiedBody["digests"]> | undefined;
  const hasher = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > range.max) {
        return callback(new S3Error("EntityTooLarge", undefined, { details: { ProposedSize: String(seen), MaxSizeAllowed: String(range.max) } }));
      }
      md5.update(chunk);
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      if (seen < range.min) {
        return callback(new S3Error("EntityTooSmall", undefined, { details: { ProposedSize: String(seen), MinSizeAllowed: String(range.min) } }));
      }
      digests = { md5Hex: md5.digest("hex"), size: seen };
      callback();
    },
  });
  pipeline(file, hasher, () => {}); // errors surface through `hasher`, which the write path reads
  return {
    stream: hasher,
    declaredLength: undefined,
    digests() {
      if (!digests) throw new Error("form file digests are only available after the stream has ended cleanly");
      return digests;
    },
  };
}

/** Form fields that become the object's headers, in the shape objectHeadersFromRequest reads. */
function headersFromFields(fields: Map<string, string>): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of fields) {
    if (name.startsWith(H.metaPrefix) || ([H.contentType, H.contentEncoding, H.contentDisposition, H.contentLanguage, H.cacheControl, H.expires] as string[]).includes(name)) {
      headers[name] = value;
    }
  }
  return headers;
}

function successStatus(value: string | undefined): 200 | 201 | 204 {
  return value === "200" ? 200 : value === "201" ? 201 : 204;
}

/** Small bodies are read to their end before an error is answered; see postObject. */
const DRAIN_LIMIT = 8 * 1024 * 1024;

function drainSmallRequest(ctx: S3Context): Promise<void> {
  if (ctx.req.complete || !(Number(ctx.get("content-length")) <= DRAIN_LIMIT)) return Promise.resolve();
  return new Promise((resolve) => {
    ctx.req.unpipe();
    ctx.req.once("end", resolve);
    ctx.req.once("close", resolve);
    ctx.req.once("error", () => resolve());
    ctx.req.resume();
  });
}

export async function postObject(ctx: S3Context): Promise<void> {
  try {
    await storePostedObject(ctx);
  } catch (error) {
    // A form is usually rejected before its file has been read. Closing a socket with unread bytes resets it, and
    // the browser would see a network error instead of the answer: a small body is read first (bigger ones are
    // answered with Connection: close).
    await drainSmallRequest(ctx);
    throw error;
  }
}

async function storePostedObject(ctx: S3Context): Promise<void> {
  const bucketName = ctx.state.operation.bucket!;
  const { objects } = ctx.services;
  const form = await parseFormUntilFile(ctx);
  const { fields } = form;
  const rawKey = requiredField(fields, "key");
  const policy = fields.get("policy");
  // A form without a policy is anonymous: only a bucket whose policy lets everyone put objects takes it.
  let principal = ANONYMOUS;
  let range: LengthRange = { min: 0, max: MAX_PART_SIZE };
  if (policy !== undefined) {
    const { accessKeyId, signatureFields } = await verifyPolicySignature(ctx, fields, policy);
    range = checkPolicy(policy, fields, bucketName, new Date(), signatureFields) ?? range;
    if (range.max > MAX_PART_SIZE) range.max = MAX_PART_SIZE;
    principal = await principalOf(ctx.services.credentials, accessKeyId);
  }
  ctx.state.principal = principal;
  const key = rawKey.replaceAll("${filename}", form.file.filename);
  if (key === "") throw new S3Error("InvalidArgument", "User key must have a length greater than 0.", { details: { ArgumentName: "key", ArgumentValue: "" } });
  checkObjectKey(key);
  await authorizeRequest(ctx, { key, fields: Object.fromEntries(fields) });
  const bucket = await objects.ownBucket(bucketName, authorizedOwner(ctx));
  // A form's fields stand for the headers of a PUT: one asking for a lock is refused the same way, and encryption is
  // asked for as on a PUT.
  const fieldHeaders = Object.fromEntries(fields);
  refuseUnhonouredHeaders(fieldHeaders, "PostObject");
  const encryption = encryptionOfWrite(fieldHeaders, ctx.state.bucketAccess?.defaultEncryption);
  const headers = objectHeadersFromRequest(headersFromFields(fields));
  const storageClass = objects.requestedStorageClass(fields.get(H.storageClass));
  const redirect = fields.get("success_action_redirect") ?? fields.get("redirect");
  const status = successStatus(fields.get("success_action_status"));

  const body = postedFileBody(form.file.stream, range);
  const written = await objects.postObject(bucket, {
    requestId: ctx.state.requestId,
    body,
    key,
    access: ctx.state.newObjectAccess,
    storageClass,
    headers,
    sizeLimit: range.max,
    encryption,
    beforeCommit: () => form.finished, // a form cut short after the file is not an upload
  });
  ctx.set(requestedEncryptionHeaders(encryption));

  const etag = quoteEtag(written.stored.md5Hex);
  const location = `${ctx.protocol}://${ctx.host}/${bucketName}/${encodeURIComponent(key).replaceAll("%2F", "/")}`;
  ctx.set("etag", etag);
  setWrittenVersionId(ctx, written);
  if (redirect !== undefined && /^https?:\/\//i.test(redirect)) {
    const url = new URL(redirect);
    url.searchParams.set("bucket", bucketName);
    url.searchParams.set("key", key);
    url.searchParams.set("etag", etag);
    ctx.status = 303;
    ctx.set("location", url.toString());
    ctx.body = null;
    ctx.status = 303;
    return;
  }
  ctx.set("location", location);
  if (status === 201) {
    ctx.status = 201;
    ctx.type = "application/xml";
    ctx.body = renderXml("PostResponse", { Location: location, Bucket: bucketName, Key: key, ETag: etag }, null);
    return;
  }
  ctx.body = null;
  ctx.status = status;
}
