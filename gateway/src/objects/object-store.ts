// The object layer: what the S3 operations do to buckets and objects, in plain values (names, keys, version ids, the
// bucket owner access was decided against, verified bodies, parsed headers), between the gateway's HTTP handling (ops/) and the metadata and stripe
// engine. It owns the ownership check, inline versus striped storage, the write guard, versions, copies, multipart
// rules, deletes and reads; ops/ only parse requests and render answers. Every method makes the same metadata calls,
// in the same order, as the operation needs: the small PUT, DELETE and GET paths stay one statement each.
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import { ObjectLockedError } from "../../../meta/src/errors.js";
import type { CompletedUpload, CorsRule, LifecycleRule, PartSummary, Tag, VersionLockOutcome } from "../../../meta/src/store.js";
import type { MetaStore } from "../../../meta/src/store.js";
import type { ListRequest } from "../../../meta/src/listing.js";
import type { Bucket, ListPage, MultipartUpload, ObjectVersion, Retention, VersioningState } from "../../../meta/src/types.js";
import type { VersionListRequest, VersionPage } from "../../../meta/src/version-listing.js";
import type { VerifiedBody } from "../auth/verify-request.js";
import type { GatewayConfig } from "../config.js";
import type { IoPool } from "../data/io-pool.js";
import type { CustomerKey, ObjectKeys } from "../encryption/object-keys.js";
import { S3Error } from "../s3/errors.js";
import type { ByteRange } from "../s3/headers.js";
import * as buckets from "./buckets.js";
import * as copies from "./copy.js";
import * as deletes from "./delete.js";
import * as multipart from "./multipart.js";
import * as reads from "./read.js";
import * as writes from "./write.js";

/** What the object layer's functions work with. */
export interface ObjectDeps {
  config: GatewayConfig;
  meta: MetaStore;
  io: IoPool;
  log: Logger;
  /** Wraps and unwraps the data keys of encrypted objects (SSE-S3 under the master key, SSE-C under the customer's). */
  objectKeys: ObjectKeys;
  /** Told about each read that rebuilds bytes from parity (the gateway's metrics count them). */
  onDegradedRead?: () => void;
}

export class ObjectStore {
  constructor(private readonly deps: ObjectDeps) {}

  /** The storage class a write asked for (the default when none), checked against the configured ones. */
  requestedStorageClass(requested: string | undefined): string | undefined {
    return writes.requestedStorageClass(this.deps, requested);
  }

  // Buckets. Operations on a bucket start with ownBucket: NoSuchBucket or AccessDenied come before anything else.

  ownBucket(bucketName: string, bucketOwner: string): Promise<Bucket> {
    return buckets.ownBucket(this.deps, bucketName, bucketOwner);
  }

  listBuckets(owner: string): Promise<Bucket[]> {
    return this.deps.meta.listBuckets(owner);
  }

  createBucket(name: string, owner: string, settings: buckets.NewBucketSettings): Promise<void> {
    return buckets.createBucket(this.deps, name, owner, settings);
  }

  deleteBucket(bucket: Bucket): Promise<void> {
    return buckets.deleteBucket(this.deps, bucket);
  }

  setBucketVersioning(bucket: Bucket, status: Exclude<VersioningState, "Unversioned">): Promise<void> {
    return buckets.setBucketVersioning(this.deps, bucket, status);
  }

  getBucketTags(bucket: Bucket): Promise<Tag[]> {
    return buckets.getBucketTags(this.deps, bucket);
  }

  /** Undefined removes the tag set. */
  /** Sets the ACL of the version a request named (checked to exist by the caller); false if it is gone meanwhile. */
  setObjectAcl(bucket: Bucket, key: string, versionId: string | undefined, acl: unknown): Promise<boolean> {
    return this.deps.meta.setVersionAcl(bucket.id, key, versionId, acl);
  }

  // Object lock (docs/architecture.md, Object lock).

  /** Sets or removes (undefined) the retention of the current version of a key, or of the version named. */
  async putRetention(bucket: Bucket, target: { key: string; versionId: string | undefined }, retention: Retention | undefined, bypassGovernance: boolean): Promise<void> {
    const outcome = await this.deps.meta.putRetention({ bucketId: bucket.id, ...target }, retention, bypassGovernance).catch(lockRefusal);
    requireLockable(outcome, target);
  }

  async putLegalHold(bucket: Bucket, target: { key: string; versionId: string | undefined }, on: boolean): Promise<void> {
    requireLockable(await this.deps.meta.putLegalHold({ bucketId: bucket.id, ...target }, on), target);
  }

  putBucketTags(bucket: Bucket, tags: Tag[] | undefined): Promise<void> {
    return this.deps.meta.putBucketTags(bucket.id, tags);
  }

  getBucketCors(bucket: Bucket): Promise<CorsRule[]> {
    return buckets.getBucketCors(this.deps, bucket);
  }

  /** Undefined removes the rules. */
  putBucketCors(bucket: Bucket, rules: CorsRule[] | undefined): Promise<void> {
    return this.deps.meta.putBucketCors(bucket.id, rules);
  }

  /** A bucket's CORS rules by name, with no credentials: a preflight carries no credentials. */
  bucketCorsByName(bucketName: string): Promise<{ exists: boolean; rules?: CorsRule[] }> {
    return this.deps.meta.getBucketCorsByName(bucketName);
  }

  getBucketLifecycle(bucket: Bucket): Promise<LifecycleRule[]> {
    return buckets.getBucketLifecycle(this.deps, bucket);
  }

  /** Undefined removes the rules. */
  putBucketLifecycle(bucket: Bucket, rules: LifecycleRule[] | undefined): Promise<void> {
    return this.deps.meta.putBucketLifecycle(bucket.id, rules);
  }

  // Listings.

  listObjects(bucket: Bucket, request: ListRequest): Promise<ListPage> {
    return this.deps.meta.listObjects(bucket.id, request);
  }

  listObjectVersions(bucket: Bucket, request: VersionListRequest): Promise<VersionPage> {
    return this.deps.meta.listObjectVersions(bucket.id, request);
  }

  // Objects.

  putObject(request: writes.PutObjectRequest): Promise<writes.StoredObjectVersion> {
    return writes.putObject(this.deps, request);
  }

  /** A body of unknown length (a POST form's file) into a bucket already authorized and loaded. */
  postObject(
    bucket: Bucket,
    request: Pick<writes.NewObjectVersion, "key" | "storageClass" | "headers" | "beforeCommit" | "access" | "encryption"> & {
      sizeLimit: number;
      requestId: string;
      body: VerifiedBody;
    },
  ): Promise<writes.StoredObjectVersion> {
    const { requestId, body, ...version } = request;
    return writes.storeObjectVersion(this.deps, requestId, body, { ...version, bucket });
  }

  findVersion(lookup: reads.VersionLookup): Promise<{ bucket: Bucket; version: ObjectVersion }> {
    return reads.findVersion(this.deps, lookup);
  }

  /** The data key of a version or upload, for a request that brought `customerKey` (SSE-C) or none; undefined when plain. */
  dataKeyOf(stored: { encryption?: unknown }, customerKey: CustomerKey | undefined): Buffer | undefined {
    return reads.dataKeyOf(this.deps, stored, customerKey);
  }

  openRead(version: ObjectVersion, range: ByteRange, options: reads.ReadOptions): Promise<Readable> {
    return reads.openVersionRead(this.deps, version, range, options);
  }

  deleteObject(target: deletes.DeleteTarget): Promise<deletes.DeleteResult> {
    return deletes.deleteObject(this.deps, target);
  }

  deleteObjects(request: deletes.DeleteObjectsRequest): Promise<deletes.DeleteOutcome[]> {
    return deletes.deleteObjects(this.deps, request);
  }

  copyObject(request: copies.CopyObjectRequest): Promise<{ copy: writes.StoredObjectVersion; sourceVersionId?: string }> {
    return copies.copyObject(this.deps, request);
  }

  /** The tags of the current version, or of the one named; NoSuchKey or NoSuchVersion without one. */
  async getObjectTags(bucket: Bucket, key: string, versionId: string | undefined): Promise<{ versionId: string; tags: Tag[] }> {
    const found = await this.deps.meta.getObjectTags(bucket.id, key, versionId);
    if (!found) throw noSuchObject(key, versionId);
    return found;
  }

  /** Replaces the tags (none removes them); returns the version tagged. */
  async putObjectTags(bucket: Bucket, key: string, versionId: string | undefined, tags: Tag[]): Promise<{ versionId: string }> {
    const done = await this.deps.meta.putObjectTags(bucket.id, key, versionId, tags);
    if (!done) throw noSuchObject(key, versionId);
    return done;
  }

  // Multipart uploads.

  createUpload(bucket: Bucket, upload: multipart.NewUpload): Promise<string> {
    return multipart.createUpload(this.deps, bucket, upload);
  }

  findUpload(bucket: Bucket, key: string, uploadId: string): Promise<MultipartUpload | undefined> {
    return multipart.findUpload(this.deps, bucket, key, uploadId);
  }

  loadUpload(bucket: Bucket, key: string, uploadId: string): Promise<MultipartUpload> {
    return multipart.loadUpload(this.deps, bucket, key, uploadId);
  }

  uploadPart(request: Parameters<typeof multipart.uploadPart>[1]): ReturnType<typeof multipart.uploadPart> {
    return multipart.uploadPart(this.deps, request);
  }

  uploadPartCopy(request: copies.UploadPartCopyRequest): ReturnType<typeof copies.uploadPartCopy> {
    return copies.uploadPartCopy(this.deps, request);
  }

  completeUpload(completion: multipart.Completion): Promise<CompletedUpload> {
    return multipart.completeUpload(this.deps, completion);
  }

  repeatedCompletion(bucket: Bucket, key: string, uploadId: string): Promise<CompletedUpload> {
    return multipart.repeatedCompletion(this.deps, bucket, key, uploadId);
  }

  abortUpload(upload: MultipartUpload): Promise<void> {
    return multipart.abortUpload(this.deps, upload);
  }

  listParts(upload: MultipartUpload, marker: number, maxParts: number): Promise<{ parts: PartSummary[]; isTruncated: boolean }> {
    return multipart.listParts(this.deps, upload, marker, maxParts);
  }

  listUploads(bucket: Bucket, request: multipart.UploadsRequest): Promise<multipart.UploadsPage> {
    return multipart.listUploads(this.deps, bucket, request);
  }
}

/** AWS: a retention or legal hold is set on an object version, never on a delete marker (405). */
function requireLockable(outcome: VersionLockOutcome, target: { key: string; versionId: string | undefined }): void {
  if (outcome === "missing") throw noSuchObject(target.key, target.versionId);
  if (outcome === "delete-marker") throw new S3Error("MethodNotAllowed");
}

/** What AWS answers a change object lock forbids. */
export function lockRefusal(error: unknown): never {
  if (error instanceof ObjectLockedError) throw new S3Error("AccessDenied", "Access Denied because object protected by object lock.", { cause: error });
  throw error;
}

function noSuchObject(key: string, versionId: string | undefined): S3Error {
  return versionId === undefined ? new S3Error("NoSuchKey") : new S3Error("NoSuchVersion", undefined, { details: { Key: key, VersionId: versionId } });
}
