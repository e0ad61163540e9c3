// The write path shared by PutObject, PostObject, UploadPart, CopyObject and UploadPartCopy (docs/architecture.md,
// Commit protocol): reserve a pending row with the layout and datafile ids, stream the verified body to k+m
// ioservers, then hand back what the caller's commit needs. A tiny whole object skips all that: it is kept inline,
// reserved and committed in one statement (storeInlineObject). A failure after the reservation aborts the row, so its
// datafiles become garbage and whatever was there before stays intact. The body is a request body verified by auth,
// or (copies) bytes read back from stored objects, wrapped by copiedBody. An encrypted part is sealed on its way to the
// striper (sealedBody), and an encrypted object is never inline: see docs/architecture.md, Encryption at rest.
import { Transform, pipeline, type Readable, type TransformCallback } from "node:stream";
import type { CommitVersion, CommittedVersion, MetaStore, WritePrecondition } from "../../../meta/src/store.js";
import type { Bucket, DatafileRef, MultipartUpload, ObjectAccess, ObjectHeaders, ObjectLockRequest } from "../../../meta/src/types.js";
import { streamingMd5 } from "../auth/md5-in-background.js";
import type { VerifiedBody } from "../auth/verify-request.js";
import { chooseLayout, datafileLength, type StripeLayout } from "../data/layout.js";
import { placeSlots } from "../data/placement.js";
import { StripeWriteError, writeStriped, type SlotTarget } from "../data/striper.js";
import { IoServerError } from "../../../ioserver/src/client.js";
import { customerEtag, newPartSalt, partKey, type EncryptionRequest } from "../encryption/object-keys.js";
import { sealedSize, sealingStream } from "../encryption/packages.js";
import { createChecksum, type ChecksumAlgorithm } from "../s3/checksums.js";
import { S3Error } from "../s3/errors.js";
import { ownBucket } from "./buckets.js";
import { newId } from "./ids.js";
import type { ObjectDeps } from "./object-store.js";

/** AWS's limit for a single PUT and for one part. */
export const MAX_PART_SIZE = 5 * 1024 ** 3;

export interface PendingPart {
  /** The bytes stored: for an encrypted part, its sealed size. */
  size: number;
  unit: number;
  k: number;
  m: number;
  datafiles: DatafileRef[];
  encryptionSalt?: Buffer;
}

export interface StoredPart {
  /** The reserved row; absent for an inline object, which the commit itself inserts. */
  rowId?: number;
  /** The plaintext's size. */
  size: number;
  /** What the part stores, when that differs from `size`: an encrypted part's sealed bytes. */
  storedSize?: number;
  /** The ETag, unquoted: the body's MD5, or for SSE-C a keyed digest of it (customerEtag). */
  md5Hex: string;
  checksum?: { algorithm: ChecksumAlgorithm; base64: string };
  /** `length` set when the size was unknown at reservation (sizeLimit): commitVersion records it. */
  datafileCrcs: { slot: number; crc32c: string; length?: number }[];
  inlineData?: Buffer;
}

export interface StorePartPlan {
  storageClass: string;
  /** Spreads placement: a version id or upload id + part number. */
  placementSeed: string;
  /**
   * The body's length is unknown (a POST form's file), at most this. It is written with the default stripe unit
   * and chunked datafile PUTs, reserved with size 0 and learned at the end (StoredPart.size, datafile lengths),
   * never inline. The alternative, cutting the body into fixed-size parts of one version, would still leave the
   * last part's size unknown without buffering it, and would make the object look multipart to partNumber reads.
   */
  sizeLimit?: number;
  /** Set when the part is encrypted: the object's data key, which the part's own key is derived from. */
  dataKey?: Buffer;
  reservation: Reservation;
}

/** The pending row a part is stored under: a whole object's version, or one part of a multipart upload. */
export interface Reservation {
  reserve(part: PendingPart): Promise<number>;
  abort(rowId: number): Promise<void>;
  /** Forgets the datafiles of slots a degraded write did not store (their blobs are queued for collection). */
  dropUnwritten(rowId: number, slots: number[]): Promise<number>;
}

/** How UploadPart and UploadPartCopy store part `partNumber` of `upload` (sealed under `dataKey` when encrypted). */
export function uploadPartPlan(meta: MetaStore, upload: MultipartUpload, partNumber: number, dataKey?: Buffer): StorePartPlan {
  return {
    storageClass: upload.storageClass,
    placementSeed: `${upload.uploadId}/${partNumber}`,
    dataKey,
    reservation: {
      reserve: (part) => meta.insertPendingPart({ uploadId: upload.uploadId, partNumber, ...part }),
      abort: (rowId) => meta.abortPart(rowId),
      dropUnwritten: (rowId, slots) => meta.dropUnwrittenSlots({ partRowId: rowId }, slots),
    },
  };
}

export function declaredSize(body: VerifiedBody): number {
  if (body.declaredLength === undefined) throw new S3Error("MissingContentLength");
  if (body.declaredLength > MAX_PART_SIZE) throw new S3Error("EntityTooLarge");
  return body.declaredLength;
}

/** The storage class a request names, if any, checked against the configured ones (else 400 InvalidStorageClass). */
export function requestedStorageClass(deps: ObjectDeps, requested: string | undefined): string | undefined {
  if (requested !== undefined && !deps.config.storageClasses[requested]) {
    throw new S3Error("InvalidStorageClass", undefined, { details: { StorageClassRequested: requested } });
  }
  return requested;
}

/**
 * The class a write into `bucket` is stored as: the one it asked for, else the bucket's default (a Weft extension),
 * else the gateway's. A bucket default naming a class no longer configured is passed over, loudly.
 */
export function storageClassOf(deps: ObjectDeps, requested: string | undefined, bucket: Bucket): string {
  if (requested !== undefined) return requestedStorageClass(deps, requested)!;
  const bucketDefault = bucket.defaultStorageClass;
  if (bucketDefault !== undefined && deps.config.storageClasses[bucketDefault]) return bucketDefault;
  if (bucketDefault !== undefined) deps.log.warn({ bucket: bucket.name, storageClass: bucketDefault }, "the bucket's default storage class is not configured here; the gateway's default is used");
  return deps.config.defaultStorageClass;
}

/**
 * Stripes one part's body over k+m ioservers, or as few as its storage class may be written with (minimumSlots);
 * the slots it could not store are dropped from the reservation and so recorded as missing. The caller commits the
 * returned rowId, or aborts it.
 */
export async function storePart(deps: ObjectDeps, requestId: string, body: VerifiedBody, plan: StorePartPlan): Promise<StoredPart & { rowId: number }> {
  const { config, io } = deps;
  const { reservation } = plan;
  const unknownSize = plan.sizeLimit !== undefined;
  const plainSize = plan.sizeLimit ?? declaredSize(body);
  const encryptionSalt = plan.dataKey && newPartSalt();
  const size = encryptionSalt ? sealedSize(plainSize) : plainSize;
  const storageClass = config.storageClasses[plan.storageClass];
  // A body of unknown length may turn out large: never replicated.
  const replicateUpTo = unknownSize ? -1 : config.replicationThreshold;
  const layout = chooseLayout(size, storageClass.k, storageClass.m, config.stripeUnit, replicateUpTo);
  const { k, m } = layout;
  const minSlots = minimumSlots(layout, config.minParityWritten);
  const writable = io.writableIds();
  if (writable.length < minSlots) {
    throw new S3Error("ServiceUnavailable", `Only ${writable.length} ioservers can take new data; this storage class needs at least ${minSlots}.`);
  }
  // With fewer disks than slots the last (parity) slots stay empty: reads keep their fast path over the data slots.
  const servers = placeSlots(plan.placementSeed, writable, Math.min(k + m, writable.length));
  const datafiles: DatafileRef[] = servers.map((ioserverId, slot) => ({ slot, ioserverId, blobId: newId(), length: 0 }));
  const targets: SlotTarget[] = datafiles.map(({ slot, ioserverId, blobId }) => ({ slot, blobId, client: io.clientFor(ioserverId)! }));
  const rowId = await reservation.reserve({
    size: unknownSize ? 0 : size,
    unit: layout.unit,
    k,
    m,
    datafiles: unknownSize ? datafiles : withLengths(datafiles, layout),
    encryptionSalt,
  });
  // Keep the next PUTs off a server that just failed, rather than wait for its health check (every 2 s).
  const noteUnreachable = (failure: StripeWriteError) => {
    if (failure.cause instanceof IoServerError && failure.cause.unreachable) io.reportFailure(datafiles[failure.slot]!.ioserverId);
  };
  const onSlotFailure = (failure: StripeWriteError) => {
    noteUnreachable(failure);
    deps.log.warn({ err: failure, requestId, slot: failure.slot, ioserver: datafiles[failure.slot]!.ioserverId }, "slot write failed; the part goes on without it");
  };
  try {
    const source = encryptionSalt ? sealedBody(body, partKey(plan.dataKey!, encryptionSalt)) : body;
    const written = await writeStriped(source.stream, layout, targets, { requestId, sizeIsLimit: unknownSize, minSlots, onSlotFailure });
    const unwritten = datafiles.map(({ slot }) => slot).filter((slot) => !written.some((datafile) => datafile.slot === slot));
    if (written.length < k + m) deps.log.warn({ requestId, written: written.length, slots: k + m }, "part stored degraded");
    await reservation.dropUnwritten(rowId, unwritten);
    const digests = body.digests();
    const storedPlainSize = unknownSize ? digests.size : plainSize;
    return {
      rowId,
      size: storedPlainSize,
      ...(encryptionSalt ? { storedSize: sealedSize(storedPlainSize) } : {}),
      md5Hex: digests.md5Hex,
      checksum: digests.checksum,
      datafileCrcs: written.map(({ slot, crc32c, length }) => (unknownSize ? { slot, crc32c, length } : { slot, crc32c })),
    };
  } catch (error) {
    if (error instanceof StripeWriteError) noteUnreachable(error);
    body.stream.destroy(); // and the sealing stream after it
    await reservation.abort(rowId).catch((abortError) => deps.log.error({ err: abortError, rowId }, "could not abort pending row"));
    throw error;
  }
}

/**
 * Fewest slots a part is acknowledged with: its k data slots plus `minParityWritten` parity slots (all of them
 * when it has fewer), so an acknowledged part always survives the loss of one more disk unless m = 0.
 */
export function minimumSlots(layout: Pick<StripeLayout, "k" | "m">, minParityWritten: number): number {
  return layout.k + Math.min(layout.m, minParityWritten);
}

function withLengths(datafiles: DatafileRef[], layout: StripeLayout): DatafileRef[] {
  return datafiles.map((datafile) => ({ ...datafile, length: datafileLength(layout, datafile.slot) }));
}

/** `body` sealed in packages (encryption/packages.ts) under `key`: what storePart stripes for an encrypted part. */
function sealedBody(body: VerifiedBody, key: Buffer): VerifiedBody {
  const sealing = sealingStream(key);
  pipeline(body.stream, sealing, () => {}); // errors surface through `sealing`, which storePart reads
  const { declaredLength } = body;
  return { stream: sealing, declaredLength: declaredLength === undefined ? undefined : sealedSize(declaredLength), digests: () => body.digests() };
}

/** An inline object's whole body (at most the inline threshold: a few KiB). */
async function readInline(body: VerifiedBody, size: number): Promise<StoredPart & { inlineData: Buffer }> {
  const buffer = Buffer.allocUnsafe(size);
  let filled = 0;
  for await (const chunk of body.stream as AsyncIterable<Buffer>) {
    if (filled + chunk.length > size) throw new S3Error("IncompleteBody");
    chunk.copy(buffer, filled);
    filled += chunk.length;
  }
  if (filled !== size) throw new S3Error("IncompleteBody");
  const digests = body.digests();
  return { size, md5Hex: digests.md5Hex, checksum: digests.checksum, datafileCrcs: [], inlineData: buffer };
}

/**
 * Stored bytes being copied, as the VerifiedBody storePart takes: `size` bytes from `source`, hashed on the way
 * (MD5 for the ETag, and `checksumAlgorithm` when the copy is to carry a checksum, reported as digests().checksum).
 * A short or long source fails the stream; destroying the returned stream destroys the source too.
 */
export function copiedBody(source: Readable, size: number, checksumAlgorithm?: ChecksumAlgorithm): VerifiedBody {
  const md5 = streamingMd5(size);
  const checksum = checksumAlgorithm ? createChecksum(checksumAlgorithm) : undefined;
  let seen = 0;
  let digests: ReturnType<VerifiedBody["digests"]> | undefined;
  const hasher = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > size) return callback(new Error(`copy source yielded more than its ${size} bytes`));
      md5.update(chunk);
      checksum?.update(chunk);
      this.push(chunk);
      const waiting = md5.ready();
      if (waiting) waiting.then(() => callback(), callback);
      else callback();
    },
    flush(callback: TransformCallback) {
      if (seen !== size) return callback(new Error(`copy source yielded ${seen} of its ${size} bytes`));
      md5.digest().then((digest) => {
        digests = {
          md5Hex: digest.toString("hex"),
          size,
          checksum: checksum && checksumAlgorithm ? { algorithm: checksumAlgorithm, base64: checksum.digestBase64() } : undefined,
        };
        callback();
      }, callback);
    },
    destroy(error, callback) {
      md5.discard();
      callback(error);
    },
  });
  pipeline(source, hasher, () => {}); // errors surface through `hasher`, which storePart reads
  return {
    stream: hasher,
    declaredLength: size,
    digests() {
      if (!digests) throw new Error("copy digests are only available after the stream has ended cleanly");
      return digests;
    },
  };
}

export interface NewObjectVersion {
  bucket: Bucket;
  key: string;
  /** The class the request named (checked with requestedStorageClass); undefined: the bucket's default. */
  storageClass: string | undefined;
  headers: ObjectHeaders;
  tags?: { Key: string; Value: string }[];
  precondition?: WritePrecondition;
  /** Its ACL and owner, in a bucket with ACLs enabled. */
  access?: ObjectAccess;
  /** Object lock; without a retention the bucket's default applies at commit. */
  lock?: ObjectLockRequest;
  /** See StorePartPlan.sizeLimit: a body of unknown length (never inline). */
  sizeLimit?: number;
  /** Runs after the bytes are stored and before the commit (`stored.md5Hex` is still the MD5); throwing aborts the version. */
  beforeCommit?: (stored: StoredPart) => Promise<void> | void;
  /** Set when the object is to be encrypted (never inline, then). */
  encryption?: EncryptionRequest;
}

export interface StoredObjectVersion extends CommittedVersion {
  stored: StoredPart;
}

/** Whether a whole object's body is kept inline in PostgreSQL rather than striped: known and tiny. */
export function isInlineBody(deps: ObjectDeps, body: VerifiedBody, sizeLimit?: number): boolean {
  return sizeLimit === undefined && declaredSize(body) <= deps.config.inlineThreshold;
}

/**
 * A whole inline object (isInlineBody) in one statement that also finds the bucket by name and checks its owner
 * (putInlineVersion): nothing is written elsewhere, so there is nothing to reserve first.
 */
export async function storeInlineObject(
  deps: ObjectDeps,
  body: VerifiedBody,
  version: Omit<NewObjectVersion, "bucket" | "sizeLimit"> & { bucketName: string; bucketOwner: string },
): Promise<StoredObjectVersion> {
  const stored = await readInline(body, declaredSize(body));
  await version.beforeCommit?.(stored);
  const target = {
    bucketName: version.bucketName,
    owner: version.bucketOwner,
    key: version.key,
    versionId: newId(),
    storageClass: version.storageClass,
    // The bucket is not loaded on this path: the statement applies its default class itself.
    defaultStorageClass: deps.config.defaultStorageClass,
  };
  const committed = await deps.meta.putInlineVersion(target, commitOf(stored, version), stored.inlineData);
  return { stored, ...committed };
}

/** What a commit records of a stored body, for either commit path. */
function commitOf(stored: StoredPart, version: Pick<NewObjectVersion, "headers" | "precondition" | "tags" | "access" | "lock">): CommitVersion {
  return {
    size: stored.size,
    partSize: stored.storedSize,
    etag: stored.md5Hex,
    partEtag: stored.md5Hex,
    headers: version.headers,
    checksumAlgorithm: stored.checksum?.algorithm,
    checksumValue: stored.checksum?.base64,
    checksumType: stored.checksum ? "FULL_OBJECT" : undefined,
    datafileCrcs: stored.datafileCrcs,
    precondition: version.precondition,
    tags: version.tags,
    access: version.access,
    lock: version.lock,
  };
}

/**
 * A whole single-part object (PutObject, CopyObject, POST Object): store the body as a pending version, then
 * commit it as the current one (or, inline, both at once). Whatever fails after the reservation aborts the version,
 * so the object that was there before stays and the new datafiles become garbage.
 */
export async function storeObjectVersion(deps: ObjectDeps, requestId: string, body: VerifiedBody, version: NewObjectVersion): Promise<StoredObjectVersion> {
  const { meta } = deps;
  const { bucket, key } = version;
  const storageClass = storageClassOf(deps, version.storageClass, bucket);
  const keyed = version.encryption && deps.objectKeys.newDataKey(version.encryption);
  if (!keyed && isInlineBody(deps, body, version.sizeLimit)) return storeInlineObject(deps, body, { ...version, bucketName: bucket.name, bucketOwner: bucket.owner });

  // Minted here; the commit stores the version under it, or as "null" in a bucket that keeps no versions then.
  const versionId = newId();
  const stored = await storePart(deps, requestId, body, {
    storageClass,
    placementSeed: versionId,
    sizeLimit: version.sizeLimit,
    dataKey: keyed?.dataKey,
    reservation: {
      reserve: (part) => meta.insertPendingVersion({ bucketId: bucket.id, key, versionId, storageClass, part: { partNumber: 1, ...part }, encryption: keyed?.encryption }),
      abort: (rowId) => meta.abortVersion(rowId),
      dropUnwritten: (rowId, slots) => meta.dropUnwrittenSlots({ versionRowId: rowId }, slots),
    },
  });
  try {
    await version.beforeCommit?.(stored);
    if (keyed?.encryption.mode === "SSE-C") stored.md5Hex = customerEtag(keyed.dataKey, stored.md5Hex);
    const committed = await meta.commitVersion(stored.rowId, commitOf(stored, version));
    return { stored, ...committed };
  } catch (error) {
    await meta.abortVersion(stored.rowId).catch(() => undefined);
    throw error;
  }
}

export interface PutObjectRequest {
  bucketName: string;
  bucketOwner: string;
  requestId: string;
  key: string;
  /** The class the request named; undefined: the bucket's default. */
  storageClass: string | undefined;
  headers: ObjectHeaders;
  tags?: { Key: string; Value: string }[];
  precondition?: WritePrecondition;
  /** Its ACL and owner, in a bucket with ACLs enabled. */
  access?: ObjectAccess;
  lock?: ObjectLockRequest;
  /** What the request, or the bucket's default, asks for; undefined: stored in plain. */
  encryption: EncryptionRequest | undefined;
  body: VerifiedBody;
}

/** PutObject: a tiny body is one statement in all (it finds the bucket itself); any other loads the bucket first. */
export async function putObject(deps: ObjectDeps, request: PutObjectRequest): Promise<StoredObjectVersion> {
  const { bucketName, bucketOwner, requestId, body, key, storageClass, headers, tags, precondition, access, lock, encryption } = request;
  const object = { key, storageClass, headers, tags, precondition, access, lock, encryption };
  if (!encryption && isInlineBody(deps, body)) return storeInlineObject(deps, body, { ...object, bucketName, bucketOwner });
  const bucket = await ownBucket(deps, bucketName, bucketOwner);
  // Not atomic (the commit checks again under the key lock): answers a doomed write before its body is streamed.
  if (precondition) await deps.meta.checkWritePrecondition(bucket.id, key, precondition);
  return storeObjectVersion(deps, requestId, body, { ...object, bucket });
}
