// What an object key may be, checked wherever a key arrives that the request path has not already checked.
import { S3Error } from "./errors.js";

/** AWS: a key is at most 1024 bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;

/**
 * The key, if Weft can store it. AWS takes any UTF-8 but PostgreSQL text cannot hold a NUL: such a key is refused as
 * the client's bad argument rather than failing in the database as a server error. (A NUL in the request path is
 * already InvalidURI, gateway/src/http/request-target.ts; XML cannot carry one at all, gateway/src/s3/xml.ts.)
 */
export function checkObjectKey(key: string, argumentName = "key"): string {
  if (key.includes("\u0000")) {
    throw new S3Error("InvalidArgument", "Object key must not contain a NUL character.", { details: { ArgumentName: argumentName } });
  }
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new S3Error("KeyTooLongError");
  return key;
}
