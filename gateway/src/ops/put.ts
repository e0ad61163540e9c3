// PutObject: stream the body into a new version, then commit it as the current one.
import { checkWritePrecondition } from "../../../meta/src/pg/conditions.js";
import type { S3Context } from "../context.js";
import { checksumHeaderName } from "../s3/checksums.js";
import { H, headerValue, objectHeadersFromRequest, quoteEtag } from "../s3/headers.js";
import { loadOwnBucket, objectKey, respondEmpty, setWrittenVersionId } from "./common.js";
import { isInlineBody, storageClassOf, storeInlineObject, storeObjectVersion, type StoredObjectVersion } from "./store-part.js";
import { tagsFromHeader } from "./tagging.js";
import { writePreconditionFromRequest } from "./write-conditions.js";

export async function putObject(ctx: S3Context): Promise<void> {
  const key = objectKey(ctx);
  const headers = objectHeadersFromRequest(ctx.req.headers);
  const storageClass = storageClassOf(ctx, headerValue(ctx.req.headers, H.storageClass));
  const body = ctx.state.auth.openBody();
  const precondition = writePreconditionFromRequest(ctx.req.headers);
  const tags = tagsFromHeader(ctx.req.headers);
  const object = { key, storageClass, headers, tags, precondition };

  let written: StoredObjectVersion;
  if (isInlineBody(ctx, body)) {
    // One statement in all: it finds the bucket itself.
    written = await storeInlineObject(ctx, body, { ...object, bucketName: ctx.state.operation.bucket! });
  } else {
    const bucket = await loadOwnBucket(ctx);
    // Not atomic (the commit checks again under the key lock): answers a doomed write before its body is streamed.
    if (precondition) await checkWritePrecondition(ctx.services.sql, bucket.id, key, precondition);
    written = await storeObjectVersion(ctx, body, { ...object, bucket });
  }

  const { stored } = written;
  ctx.set("etag", quoteEtag(stored.md5Hex));
  if (stored.checksum) {
    ctx.set(checksumHeaderName(stored.checksum.algorithm), stored.checksum.base64);
    ctx.set(H.checksumType, "FULL_OBJECT");
  }
  setWrittenVersionId(ctx, written);
  respondEmpty(ctx, 200);
}
