// Request headers that ask for something Weft does not do for the operation at hand: SSE-KMS, encryption or object
// lock on an operation that does not apply them, website redirects. Each is refused with 501 NotImplemented, never
// taken with a 200 that pretends: a backup tool told its data is encrypted or immutable when it is not is worse off
// than one told no.
import type { S3OperationName } from "../router/resolve.js";
import { S3Error } from "./errors.js";

const UNHONOURED_PREFIXES = [
  "x-amz-server-side-encryption", // SSE-S3, SSE-KMS, SSE-C and its key headers
  "x-amz-copy-source-server-side-encryption", // SSE-C of a copy's source
  "x-amz-object-lock-", // mode, retain-until-date, legal-hold
  "x-amz-website-redirect-location",
];

const SSE_S3 = "x-amz-server-side-encryption";
const SSE_C = ["x-amz-server-side-encryption-customer-algorithm", "x-amz-server-side-encryption-customer-key", "x-amz-server-side-encryption-customer-key-md5"];
const SOURCE_SSE_C = SSE_C.map((name) => name.replace("x-amz-", "x-amz-copy-source-"));
const OBJECT_LOCK = ["x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date", "x-amz-object-lock-legal-hold"];
/** CreateBucket's request for object lock; elsewhere only `false`, which asks for nothing, passes. */
const BUCKET_LOCK = "x-amz-bucket-object-lock-enabled";

/**
 * The encryption and object lock headers each operation honours (docs/architecture.md, Encryption at rest and Object
 * lock); their values are checked by gateway/src/encryption/sse-headers.ts (which refuses SSE-KMS itself) and
 * gateway/src/ops/object-lock.ts. Any other such header is 501.
 */
const HONOURED: Partial<Record<S3OperationName, ReadonlySet<string>>> = {
  CreateBucket: new Set([BUCKET_LOCK]),
  PutObject: new Set([SSE_S3, ...SSE_C, ...OBJECT_LOCK]),
  CreateMultipartUpload: new Set([SSE_S3, ...SSE_C, ...OBJECT_LOCK]),
  UploadPart: new Set(SSE_C),
  CopyObject: new Set([SSE_S3, ...SSE_C, ...SOURCE_SSE_C, ...OBJECT_LOCK]),
  PostObject: new Set([SSE_S3, ...SSE_C]),
  UploadPartCopy: new Set([...SSE_C, ...SOURCE_SSE_C]),
  GetObject: new Set(SSE_C),
  HeadObject: new Set(SSE_C),
  GetObjectAttributes: new Set(SSE_C),
};

/**
 * Throws NotImplemented naming the first header (lowercase names, as node gives them) that asks for what Weft does not
 * do for `operation` (a POST form's fields stand for headers: PostObject).
 */
export function refuseUnhonouredHeaders(headers: Readonly<Record<string, string | string[] | undefined>>, operation: S3OperationName): void {
  const honoured = HONOURED[operation];
  for (const name in headers) {
    if (!name.startsWith("x-amz-") || honoured?.has(name)) continue;
    const unhonoured = name === BUCKET_LOCK ? String(headers[name]).trim().toLowerCase() !== "false" : UNHONOURED_PREFIXES.some((prefix) => name.startsWith(prefix));
    if (unhonoured) {
      throw new S3Error("NotImplemented", `This server does not implement what the ${name} header asks for; the request was not carried out.`, {
        details: { Header: name },
      });
    }
  }
}
