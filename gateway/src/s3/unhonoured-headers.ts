// Request headers that ask for something Weft does not do: encryption where it is not implemented (SSE-KMS, and SSE
// on the operations not listed in HONOURED_ENCRYPTION), object lock, website redirects. Each is refused with 501
// NotImplemented, never taken with a 200 that pretends: a backup tool told its data is encrypted or immutable when it
// is not is worse off than one told no.
import type { S3OperationName } from "../router/resolve.js";
import { S3Error } from "./errors.js";

const ENCRYPTION_PREFIXES = [
  "x-amz-server-side-encryption", // SSE-S3, SSE-KMS, SSE-C and its key headers
  "x-amz-copy-source-server-side-encryption", // SSE-C of a copy's source
];

const UNHONOURED_PREFIXES = [
  ...ENCRYPTION_PREFIXES,
  "x-amz-object-lock-", // mode, retain-until-date, legal-hold
  "x-amz-website-redirect-location",
];

const SSE_S3 = "x-amz-server-side-encryption";
const SSE_C = ["x-amz-server-side-encryption-customer-algorithm", "x-amz-server-side-encryption-customer-key", "x-amz-server-side-encryption-customer-key-md5"];
const SOURCE_SSE_C = SSE_C.map((name) => name.replace("x-amz-", "x-amz-copy-source-"));

/**
 * The encryption headers each operation honours (docs/architecture.md, Encryption at rest); their values are checked
 * by gateway/src/encryption/sse-headers.ts, which refuses SSE-KMS itself. Any other encryption header is 501.
 */
const HONOURED_ENCRYPTION: Partial<Record<S3OperationName, ReadonlySet<string>>> = {
  PutObject: new Set([SSE_S3, ...SSE_C]),
  CreateMultipartUpload: new Set([SSE_S3, ...SSE_C]),
  UploadPart: new Set(SSE_C),
  CopyObject: new Set([SSE_S3, ...SSE_C, ...SOURCE_SSE_C]),
  PostObject: new Set([SSE_S3, ...SSE_C]),
  UploadPartCopy: new Set([...SSE_C, ...SOURCE_SSE_C]),
  GetObject: new Set(SSE_C),
  HeadObject: new Set(SSE_C),
  GetObjectAttributes: new Set(SSE_C),
};

/** `x-amz-bucket-object-lock-enabled: false` asks for what every Weft bucket is; any other value asks for a lock. */
const BUCKET_LOCK = "x-amz-bucket-object-lock-enabled";

/**
 * Throws NotImplemented naming the first header (lowercase names, as node gives them) that asks for what Weft does not
 * do, for `operation` (undefined: none honoured).
 */
export function refuseUnhonouredHeaders(headers: Readonly<Record<string, string | string[] | undefined>>, operation?: S3OperationName): void {
  const honoured = operation === undefined ? undefined : HONOURED_ENCRYPTION[operation];
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
