// Conditional writes: If-None-Match: * and If-Match: <etag> on PutObject and CompleteMultipartUpload. The decisive
// check runs in meta, under the key's commit lock and inside the commit transaction (meta/src/pg/conditions.ts);
// this file only reads the headers.
import type { IncomingHttpHeaders } from "node:http";
import type { WritePrecondition } from "../../../meta/src/store.js";
import { S3Error } from "../s3/errors.js";
import { headerValue } from "../s3/headers.js";

export function writePreconditionFromRequest(headers: IncomingHttpHeaders): WritePrecondition | undefined {
  const ifNoneMatch = headerValue(headers, "if-none-match")?.trim();
  const ifMatch = headerValue(headers, "if-match")?.trim();
  if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
  // AWS only supports the "*" form on writes (create-if-absent); any other If-None-Match value is refused.
  if (ifNoneMatch !== undefined && ifNoneMatch !== "*") {
    throw new S3Error("NotImplemented", "A header you provided implies functionality that is not implemented", { details: { Header: "If-None-Match" } });
  }
  return {
    ...(ifNoneMatch !== undefined ? { ifNoneMatch: true } : {}),
    ...(ifMatch !== undefined ? { ifMatch: ifMatch === "*" ? "*" : ifMatch.replace(/^W\//, "").replace(/^"|"$/g, "") } : {}),
  };
}
