// GetObjectAttributes: an object's ETag, checksum, parts, storage class and size in one XML document, without its
// bytes; which of them is chosen by x-amz-object-attributes.
import type { S3Context } from "../context.js";
import { S3Error } from "../s3/errors.js";
import { H, headerValue, httpDate } from "../s3/headers.js";
import { renderXml, type XmlObject } from "../s3/xml.js";
import { customerKeyFromHeaders } from "../encryption/sse-headers.js";
import { plainPartSize } from "../objects/read.js";
import { findAuthorizedVersion } from "./common.js";

const ATTRIBUTES = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"] as const;
type Attribute = (typeof ATTRIBUTES)[number];

const HEADERS = {
  attributes: "x-amz-object-attributes",
  maxParts: "x-amz-max-parts",
  partNumberMarker: "x-amz-part-number-marker",
} as const;

function requestedAttributes(ctx: S3Context): Set<Attribute> {
  const raw = ctx.req.headers[HEADERS.attributes];
  const text = Array.isArray(raw) ? raw.join(",") : raw;
  const names = (text ?? "").split(",").map((name) => name.trim()).filter((name) => name !== "");
  if (names.length === 0) {
    throw new S3Error("InvalidArgument", "Missing required header for this request: x-amz-object-attributes", {
      details: { ArgumentName: HEADERS.attributes, ArgumentValue: text ?? "" },
    });
  }
  for (const name of names) {
    if (!(ATTRIBUTES as readonly string[]).includes(name)) {
      throw new S3Error("InvalidArgument", "Invalid attribute name specified.", { details: { ArgumentName: HEADERS.attributes, ArgumentValue: name } });
    }
  }
  return new Set(names as Attribute[]);
}

function nonNegativeHeader(ctx: S3Context, name: string, fallback: number): number {
  const text = headerValue(ctx.req.headers, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new S3Error("InvalidArgument", `Provided ${name} not an integer or within integer range`, { details: { ArgumentName: name, ArgumentValue: text } });
  }
  return value;
}

export async function getObjectAttributes(ctx: S3Context): Promise<void> {
  const wanted = requestedAttributes(ctx);
  const maxParts = Math.min(1000, nonNegativeHeader(ctx, HEADERS.maxParts, 1000));
  const marker = nonNegativeHeader(ctx, HEADERS.partNumberMarker, 0);
  const { bucket, version } = await findAuthorizedVersion(ctx, false);
  // An SSE-C object's attributes need its key, as its bytes do.
  ctx.services.objects.dataKeyOf(version, customerKeyFromHeaders(ctx.req.headers));

  const body: XmlObject = {};
  if (wanted.has("ETag")) body.ETag = version.etag;
  if (wanted.has("Checksum") && version.checksumAlgorithm && version.checksumValue) {
    body.Checksum = {
      [`Checksum${version.checksumAlgorithm}`]: version.checksumValue,
      ...(version.checksumType ? { ChecksumType: version.checksumType } : {}),
    };
  }
  // Only a multipart object has parts to tell of (its ETag is md5-of-md5s-N).
  if (wanted.has("ObjectParts") && /-\d+$/.test(version.etag)) {
    const after = version.parts.filter((part) => part.partNumber > marker);
    const page = after.slice(0, maxParts);
    const truncated = after.length > page.length;
    body.ObjectParts = {
      PartsCount: version.parts.length, // the SDKs' TotalPartsCount
      PartNumberMarker: marker,
      ...(page.length > 0 ? { NextPartNumberMarker: page[page.length - 1].partNumber } : {}),
      MaxParts: maxParts,
      IsTruncated: truncated,
      Part: page.map((part) => ({
        PartNumber: part.partNumber,
        Size: plainPartSize(part),
        ...(part.checksumAlgorithm && part.checksumValue ? { [`Checksum${part.checksumAlgorithm}`]: part.checksumValue } : {}),
      })),
    };
  }
  if (wanted.has("StorageClass")) body.StorageClass = version.storageClass;
  if (wanted.has("ObjectSize")) body.ObjectSize = version.size;

  ctx.set("last-modified", httpDate(version.lastModified));
  if (bucket.versioning !== "Unversioned") ctx.set(H.versionId, version.versionId);
  ctx.type = "application/xml";
  ctx.body = renderXml("GetObjectAttributesResponse", body);
}
