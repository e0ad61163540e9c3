// Request headers that ask for something Weft does not do: encryption at rest, website redirects, and object lock
// where the operation does not apply it. Each is refused with 501 NotImplemented, never taken with a 200 that
// pretends: a backup tool told its data is encrypted or immutable when it is not is worse off than one told no.
import type { S3OperationName } from "../router/resolve.js";
import { S3Error } from "./errors.js";

const UNHONOURED_PREFIXES = [
  "x-amz-server-side-encryption", // SSE-S3, SSE-KMS, SSE-C and its key headers
  "x-amz-copy-source-server-side-encryption", // SSE-C of a copy's source
  "x-amz-website-redirect-location",
];

/** Mode, retain-until date and legal hold of a new object (ops/object-lock.ts): honoured by these operations only. */
const OBJECT_LOCK_PREFIX = "x-amz-object-lock-";
const APPLIES_OBJECT_LOCK: ReadonlySet<S3OperationName> = new Set<S3OperationName>(["PutObject", "CopyObject", "CreateMultipartUpload"]);

/** CreateBucket's request for object lock; elsewhere only `false`, which asks for nothing, passes. */
const BUCKET_LOCK = "x-amz-bucket-object-lock-enabled";

/**
 * Throws NotImplemented naming the first header (lowercase names, as node gives them) that asks for what Weft does
 * not do for `operation` (a POST form's fields stand for headers: PostObject).
 */
export function refuseUnhonouredHeaders(headers: Readonly<Record<string, string | string[] | undefined>>, operation: S3OperationName): void {
  for (const name in headers) {
    if (!name.startsWith("x-amz-")) continue;
    const unhonoured =
      name === BUCKET_LOCK ? operation !== "CreateBucket" && String(headers[name]).trim().toLowerCase() !== "false"
      : name.startsWith(OBJECT_LOCK_PREFIX) ? !APPLIES_OBJECT_LOCK.has(operation)
      : UNHONOURED_PREFIXES.some((prefix) => name.startsWith(prefix));
    if (unhonoured) {
      throw new S3Error("NotImplemented", `This server does not implement what the ${name} header asks for; the request was not carried out.`, {
        details: { Header: name },
      });
    }
  }
}
