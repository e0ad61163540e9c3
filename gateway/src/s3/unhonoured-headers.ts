// Request headers that ask for something Weft does not do: encryption at rest, object lock, website redirects. Each
// is refused with 501 NotImplemented, never taken with a 200 that pretends: a backup tool told its data is encrypted
// or immutable when it is not is worse off than one told no.
import { S3Error } from "./errors.js";

const UNHONOURED_PREFIXES = [
  "x-amz-server-side-encryption", // SSE-S3, SSE-KMS, SSE-C and its key headers
  "x-amz-copy-source-server-side-encryption", // SSE-C of a copy's source
  "x-amz-object-lock-", // mode, retain-until-date, legal-hold
  "x-amz-website-redirect-location",
];

/** `x-amz-bucket-object-lock-enabled: false` asks for what every Weft bucket is; any other value asks for a lock. */
const BUCKET_LOCK = "x-amz-bucket-object-lock-enabled";

/** Throws NotImplemented naming the first header (lowercase names, as node gives them) that asks for what Weft does not do. */
export function refuseUnhonouredHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): void {
  for (const name in headers) {
    if (!name.startsWith("x-amz-")) continue;
    const unhonoured = name === BUCKET_LOCK ? String(headers[name]).trim().toLowerCase() !== "false" : UNHONOURED_PREFIXES.some((prefix) => name.startsWith(prefix));
    if (unhonoured) {
      throw new S3Error("NotImplemented", `This server does not implement what the ${name} header asks for; the request was not carried out.`, {
        details: { Header: name },
      });
    }
  }
}
