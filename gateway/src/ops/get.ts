// GetObject and HeadObject: look the version up, apply preconditions and the range, stream the bytes.
import { Readable } from "node:stream";
import { getObjectVersion } from "../../../meta/src/pg/versions.js";
import type { ObjectVersion } from "../../../meta/src/types.js";
import type { S3Context } from "../app.js";
import { openStripedRead, type StoredPart } from "../data/stripe-reader.js";
import { checksumHeaderName, type ChecksumAlgorithm } from "../s3/checksums.js";
import { S3Error } from "../s3/errors.js";
import {
  H,
  checkReadPreconditions,
  headerValue,
  httpDate,
  objectHeadersToResponse,
  parseRange,
  quoteEtag,
  type ByteRange,
} from "../s3/headers.js";
import { loadOwnBucket, objectKey } from "./common.js";

/** Query parameters that override response headers on GET/HEAD (signed requests only, as in AWS). */
const RESPONSE_OVERRIDES: Record<string, string> = {
  "response-content-type": "content-type",
  "response-content-language": "content-language",
  "response-expires": "expires",
  "response-cache-control": "cache-control",
  "response-content-disposition": "content-disposition",
  "response-content-encoding": "content-encoding",
};

export async function getObject(ctx: S3Context): Promise<void> {
  await serveObject(ctx, true);
}

export async function headObject(ctx: S3Context): Promise<void> {
  await serveObject(ctx, false);
}

export async function findVersion(ctx: S3Context, bucketId: number, key: string, versionId: string | undefined): Promise<ObjectVersion> {
  const version = await getObjectVersion(ctx.services.sql, bucketId, key, versionId);
  if (!version) throw new S3Error(versionId === undefined ? "NoSuchKey" : "NoSuchVersion", undefined, versionId === undefined ? {} : { details: { Key: key, VersionId: versionId } });
  if (version.isDeleteMarker) {
    if (versionId !== undefined) throw new S3Error("MethodNotAllowed", undefined, { headers: { [H.deleteMarker]: "true" } });
    throw new S3Error("NoSuchKey", undefined, { headers: { [H.deleteMarker]: "true" } });
  }
  return version;
}

async function serveObject(ctx: S3Context, withBody: boolean): Promise<void> {
  const bucket = await loadOwnBucket(ctx);
  const key = objectKey(ctx);
  const { query } = ctx.state.target;
  const version = await findVersion(ctx, bucket.id, key, query.get("versionId"));

  checkReadPreconditions(ctx.req.headers, version.etag, version.lastModified);
  const range = parseRange(headerValue(ctx.req.headers, "range"), version.size);

  const headers: Record<string, string> = {
    ...objectHeadersToResponse(version),
    etag: quoteEtag(version.etag),
    "last-modified": httpDate(version.lastModified),
    "accept-ranges": "bytes",
  };
  if (version.storageClass !== "STANDARD") headers[H.storageClass] = version.storageClass;
  if (bucket.versioning !== "Unversioned") headers[H.versionId] = version.versionId;
  // A whole-object checksum describes the whole object only: never send it with a range (SDKs would fail).
  if (!range && version.checksumAlgorithm && version.checksumValue && headerValue(ctx.req.headers, H.checksumMode)?.toUpperCase() === "ENABLED") {
    headers[checksumHeaderName(version.checksumAlgorithm as ChecksumAlgorithm)] = version.checksumValue;
    if (version.checksumType) headers[H.checksumType] = version.checksumType;
  }
  for (const [parameter, header] of Object.entries(RESPONSE_OVERRIDES)) {
    const value = query.get(parameter);
    if (value !== undefined) headers[header] = value;
  }

  const served: ByteRange = range ?? { start: 0, end: version.size - 1 };
  const length = served.end - served.start + 1;
  const body = withBody && length > 0 ? await openObjectRead(ctx, version, served) : undefined;

  ctx.status = range ? 206 : 200;
  for (const [name, value] of Object.entries(headers)) ctx.set(name, value);
  if (range) ctx.set("content-range", `bytes ${served.start}-${served.end}/${version.size}`);
  if (body) ctx.body = body;
  else if (withBody) ctx.body = Buffer.alloc(0);
  ctx.length = length;
}

/** Opens the byte stream before any header is sent, so an unreadable object still gets a clean 503. */
async function openObjectRead(ctx: S3Context, version: ObjectVersion, range: ByteRange): Promise<Readable> {
  const inline = version.parts.length === 1 ? version.parts[0].inlineData : undefined;
  if (inline) return Readable.from([inline.subarray(range.start, range.end + 1)]);
  const { io } = ctx.services;
  const parts: StoredPart[] = version.parts.map((part) => ({
    layout: { size: part.size, unit: part.unit, k: part.k, m: part.m },
    datafiles: part.datafiles.map((datafile) => ({
      slot: datafile.slot,
      blobId: datafile.blobId,
      length: datafile.length,
      client: io.clientFor(datafile.ioserverId),
    })),
  }));
  const abort = new AbortController();
  ctx.res.once("close", () => {
    if (!ctx.res.writableFinished) abort.abort(); // the client went away: stop every upstream read
  });
  return openStripedRead(parts, range.start, range.end, { signal: abort.signal, requestId: ctx.state.requestId });
}
