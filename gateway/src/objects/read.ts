// Reads: the one-round-trip lookup of GET, HEAD and GetObjectAttributes, and opening a version's bytes (inline, or
// striped over its ioservers, and opened package by package when encrypted) before any header goes out.
import { pipeline, Readable } from "node:stream";
import type { Bucket, ObjectVersion, PartRecord } from "../../../meta/src/types.js";
import { datafileLength } from "../data/layout.js";
import { openStripedRead, type StoredPart } from "../data/stripe-reader.js";
import { checkCustomerKeyFits, partKey, type CustomerKey, type ObjectEncryption } from "../encryption/object-keys.js";
import { openingStream, plainSize, sealedRangeOf, type SealedSegment } from "../encryption/packages.js";
import { S3Error } from "../s3/errors.js";
import { H, httpDate, type ByteRange } from "../s3/headers.js";
import { checkOwner } from "./buckets.js";
import type { ObjectDeps } from "./object-store.js";

export interface VersionLookup {
  bucketName: string;
  bucketOwner: string;
  key: string;
  versionId?: string;
  /** An inline object's bytes come along only when they are to be sent (not for HEAD). */
  withBody: boolean;
}

/** The bucket, still `bucketOwner`'s, and the version named (one round trip for both); delete markers answer as AWS does. */
export async function findVersion(deps: ObjectDeps, lookup: VersionLookup): Promise<{ bucket: Bucket; version: ObjectVersion }> {
  const { key, versionId } = lookup;
  const found = await deps.meta.getBucketAndObjectVersion(lookup.bucketName, key, versionId, lookup.withBody);
  const bucket = checkOwner(lookup.bucketName, lookup.bucketOwner, found?.bucket);
  const version = found?.version;
  if (!version) throw new S3Error(versionId === undefined ? "NoSuchKey" : "NoSuchVersion", undefined, versionId === undefined ? {} : { details: { Key: key, VersionId: versionId } });
  if (version.isDeleteMarker) {
    const headers = { [H.deleteMarker]: "true", [H.versionId]: version.versionId, "last-modified": httpDate(version.lastModified) };
    // AWS: a delete marker named by its id is not an object one may GET (405); the latest version being one is 404.
    if (versionId !== undefined) throw new S3Error("MethodNotAllowed", undefined, { headers: { ...headers, allow: "DELETE" } });
    throw new S3Error("NoSuchKey", undefined, { headers });
  }
  return { bucket, version };
}

/** The range of an object stored inline in PostgreSQL; undefined for a striped one. */
export function inlineBytes(version: ObjectVersion, range: ByteRange): Buffer | undefined {
  const inline = version.parts.length === 1 ? version.parts[0].inlineData : undefined;
  return inline?.subarray(range.start, range.end + 1);
}

export interface ReadOptions {
  /** For the ioservers' logs. */
  requestId: string;
  /** Aborted when the client went away: every upstream read stops. */
  signal: AbortSignal;
  /** The data key of an encrypted version (dataKeyOf); required for one. */
  dataKey?: Buffer;
}

/**
 * The data key of a version or multipart upload for a request that brought `customerKey` (SSE-C) or none, checked as
 * AWS checks it (see ObjectKeys.openDataKey); undefined for one stored in plain.
 */
export function dataKeyOf(deps: ObjectDeps, stored: { encryption?: unknown }, customerKey: CustomerKey | undefined): Buffer | undefined {
  const encryption = stored.encryption as ObjectEncryption | undefined;
  checkCustomerKeyFits(encryption, customerKey);
  return encryption && deps.objectKeys.openDataKey(encryption, customerKey);
}

/** A part's plaintext size: what it stores, less the packages' tags when it is encrypted. */
export function plainPartSize(part: PartRecord): number {
  return part.encryptionSalt ? plainSize(part.size) : part.size;
}

/**
 * The stored bytes (start..end of the parts' concatenation, inclusive) that hold plaintext `range` of an encrypted
 * version, and how each part's share of them opens. Parts in between are read whole; the ends, whole packages.
 */
function sealedReadOf(parts: PartRecord[], range: ByteRange, dataKey: Buffer): { start: number; end: number; segments: SealedSegment[] } {
  const segments: SealedSegment[] = [];
  let start = -1;
  let end = -1;
  let plainOffset = 0;
  let storedOffset = 0;
  for (const part of parts) {
    const size = plainPartSize(part);
    const from = Math.max(range.start, plainOffset);
    const to = Math.min(range.end, plainOffset + size - 1);
    if (from <= to) {
      const sealed = sealedRangeOf(from - plainOffset, to - plainOffset, size);
      if (start < 0) start = storedOffset + sealed.start;
      end = storedOffset + sealed.end;
      segments.push({ key: partKey(dataKey, part.encryptionSalt!), range: sealed });
    }
    plainOffset += size;
    storedOffset += part.size;
  }
  return { start, end, segments };
}

/** Opens the byte stream before any header is sent, so an unreadable object still gets a clean 503. */
export async function openVersionRead(deps: ObjectDeps, version: ObjectVersion, range: ByteRange, options: ReadOptions): Promise<Readable> {
  const inline = inlineBytes(version, range);
  if (inline) return Readable.from([inline]);
  const { io } = deps;
  const parts: StoredPart[] = version.parts.map((part) => {
    const layout = { size: part.size, unit: part.unit, k: part.k, m: part.m };
    // A slot without a datafile row (a degraded write, or a lost datafile not yet rebuilt) reads as a disk that is down.
    const datafiles = Array.from({ length: part.k + part.m }, (_, slot) => {
      const datafile = part.datafiles.find((candidate) => candidate.slot === slot);
      if (!datafile) return { slot, blobId: "", length: datafileLength(layout, slot), client: undefined };
      return { slot, blobId: datafile.blobId, length: datafile.length, client: io.clientFor(datafile.ioserverId) };
    });
    return { layout, datafiles };
  });
  const striped = { signal: options.signal, requestId: options.requestId, onDegraded: deps.onDegradedRead };
  if (version.encryption === undefined) return openStripedRead(parts, range.start, range.end, striped);
  if (!options.dataKey) throw new Error("an encrypted version is read with its data key");
  const sealed = sealedReadOf(version.parts, range, options.dataKey);
  const opening = openingStream(sealed.segments);
  pipeline(await openStripedRead(parts, sealed.start, sealed.end, striped), opening, () => {}); // errors surface through `opening`
  return opening;
}
