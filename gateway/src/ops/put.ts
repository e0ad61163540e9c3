// PutObject: parse the object's headers, hand the verified body to the object layer, answer its ETag, checksum and
// encryption.
import { authorizedOwner } from "../access/request-access.js";
import type { S3Context } from "../context.js";
import { encryptionOfWrite, requestedEncryptionHeaders } from "../encryption/sse-headers.js";
import { checksumHeaderName } from "../s3/checksums.js";
import { H, headerValue, objectHeadersFromRequest, quoteEtag } from "../s3/headers.js";
import { objectKey, respondEmpty, setWrittenVersionId } from "./common.js";
import { setExpirationHeader } from "./lifecycle.js";
import { objectLockOfWrite, requireDigestOfLockedPut } from "./object-lock.js";
import { tagsFromHeader } from "./tagging.js";
import { writePreconditionFromRequest } from "./write-conditions.js";

export async function putObject(ctx: S3Context): Promise<void> {
  const { objects } = ctx.services;
  const key = objectKey(ctx);
  const headers = objectHeadersFromRequest(ctx.req.headers);
  const storageClass = objects.requestedStorageClass(headerValue(ctx.req.headers, H.storageClass));
  const body = ctx.state.auth.openBody();
  const precondition = writePreconditionFromRequest(ctx.req.headers);
  const tags = tagsFromHeader(ctx.req.headers);
  const lock = objectLockOfWrite(ctx, key);
  requireDigestOfLockedPut(ctx, lock);
  const encryption = encryptionOfWrite(ctx.req.headers, ctx.state.bucketAccess?.defaultEncryption);
  const written = await objects.putObject({
    bucketName: ctx.state.operation.bucket!,
    bucketOwner: authorizedOwner(ctx),
    requestId: ctx.state.requestId,
    key,
    storageClass,
    headers,
    tags,
    precondition,
    access: ctx.state.newObjectAccess,
    lock,
    encryption,
    body,
  });

  const { stored } = written;
  ctx.set("etag", quoteEtag(stored.md5Hex));
  if (stored.checksum) {
    ctx.set(checksumHeaderName(stored.checksum.algorithm), stored.checksum.base64);
    ctx.set(H.checksumType, "FULL_OBJECT");
  }
  ctx.set(requestedEncryptionHeaders(encryption));
  setWrittenVersionId(ctx, written);
  setExpirationHeader(ctx, { key, lastModified: written.lastModified, size: stored.size, tags: tags ?? [] });
  respondEmpty(ctx, 200);
}
