// The metadata the gateway's object layer works with, behind one facade over a pool: each method is one function of
// meta/src/pg (where every statement lives), so a caller never holds the pool or a module of SQL, and a round trip is
// exactly one method call. Credentials, the ioserver registry and the collector keep their own pg modules.
import type { Sql } from "./db.js";
import type { ListRequest } from "./listing.js";
import type { Bucket, ListPage, MultipartUpload, ObjectVersion, UploadedPart, VersioningState } from "./types.js";
import type { VersionListRequest, VersionPage } from "./version-listing.js";
import * as buckets from "./pg/buckets.js";
import * as conditions from "./pg/conditions.js";
import * as cors from "./pg/cors.js";
import * as datafiles from "./pg/datafiles.js";
import * as deletes from "./pg/deletes.js";
import * as lifecycle from "./pg/lifecycle.js";
import * as tags from "./pg/tags.js";
import * as uploads from "./pg/uploads.js";
import * as versionListing from "./pg/version-listing.js";
import * as objectAccess from "./pg/object-access.js";
import * as objectLock from "./pg/object-lock.js";
import * as versions from "./pg/versions.js";

export type { WritePrecondition } from "./pg/conditions.js";
export type { CorsRule } from "./pg/cors.js";
export type { LifecycleFilter, LifecycleRule, LifecycleScope } from "./pg/lifecycle.js";
export type { Tag } from "./pg/tags.js";
export type { CompletedUpload, PartSummary, UploadCursor } from "./pg/uploads.js";
export type { CommitVersion, CommittedVersion, InlineVersion, PendingPart } from "./pg/versions.js";
export type { DeletedObject } from "./pg/deletes.js";
export type { VersionLockOutcome } from "./pg/object-lock.js";

type Tag = tags.Tag;
/** A statement's parameters after its Sql. */
type DropSql<F> = F extends (sql: Sql, ...rest: infer R) => unknown ? R : never;

export class MetaStore {
  constructor(private readonly sql: Sql) {}

  // Buckets.

  createBucket(bucket: Parameters<typeof buckets.createBucket>[1]): ReturnType<typeof buckets.createBucket> {
    return buckets.createBucket(this.sql, bucket);
  }

  /** Sets the ACL of the current version of a key (or the version named); false when there is none. */
  setVersionAcl(bucketId: number, key: string, versionId: string | undefined, acl: unknown): Promise<boolean> {
    return objectAccess.setVersionAcl(this.sql, bucketId, key, versionId, acl);
  }

  getBucket(name: string): Promise<Bucket | undefined> {
    return buckets.getBucket(this.sql, name);
  }

  listBuckets(owner: string): Promise<Bucket[]> {
    return buckets.listBuckets(this.sql, owner);
  }

  setBucketVersioning(bucketId: number, versioning: VersioningState): Promise<boolean> {
    return buckets.setBucketVersioning(this.sql, bucketId, versioning);
  }

  putRetention(...args: DropSql<typeof objectLock.putRetention>): Promise<objectLock.VersionLockOutcome> {
    return objectLock.putRetention(this.sql, ...args);
  }

  putLegalHold(...args: DropSql<typeof objectLock.putLegalHold>): Promise<objectLock.VersionLockOutcome> {
    return objectLock.putLegalHold(this.sql, ...args);
  }

  deleteBucket(bucketId: number): Promise<"deleted" | "not-empty"> {
    return buckets.deleteBucket(this.sql, bucketId);
  }

  // Versions: the commit protocol, lookups, deletes and the listing of current objects.

  insertPendingVersion(pending: Parameters<typeof versions.insertPendingVersion>[1]): Promise<number> {
    return versions.insertPendingVersion(this.sql, pending);
  }

  commitVersion(versionRowId: number, commit: versions.CommitVersion): Promise<versions.CommittedVersion> {
    return versions.commitVersion(this.sql, versionRowId, commit);
  }

  putInlineVersion(version: versions.InlineVersion, commit: versions.CommitVersion, inlineData: Buffer): Promise<versions.CommittedVersion> {
    return versions.putInlineVersion(this.sql, version, commit, inlineData);
  }

  abortVersion(versionRowId: number): Promise<void> {
    return versions.abortVersion(this.sql, versionRowId);
  }

  getObjectVersion(bucketId: number, key: string, versionId?: string): Promise<ObjectVersion | undefined> {
    return versions.getObjectVersion(this.sql, bucketId, key, versionId);
  }

  getBucketAndObjectVersion(
    bucketName: string,
    key: string,
    versionId: string | undefined,
    withInlineData: boolean,
  ): Promise<{ bucket: Bucket; version?: ObjectVersion } | undefined> {
    return versions.getBucketAndObjectVersion(this.sql, bucketName, key, versionId, withInlineData);
  }

  deleteCurrentObject(target: { bucketName: string; owner: string; key: string }): Promise<deletes.DeletedObject> {
    return deletes.deleteCurrentObject(this.sql, target);
  }

  deleteObjectVersion(target: Parameters<typeof deletes.deleteObjectVersion>[1]): ReturnType<typeof deletes.deleteObjectVersion> {
    return deletes.deleteObjectVersion(this.sql, target);
  }

  listObjects(bucketId: number, request: ListRequest): Promise<ListPage> {
    return versions.listObjects(this.sql, bucketId, request);
  }

  listObjectVersions(bucketId: number, request: VersionListRequest): Promise<VersionPage> {
    return versionListing.listObjectVersions(this.sql, bucketId, request);
  }

  checkWritePrecondition(bucketId: number, key: string, precondition: conditions.WritePrecondition | undefined): Promise<void> {
    return conditions.checkWritePrecondition(this.sql, bucketId, key, precondition);
  }

  // Multipart uploads.

  createUpload(upload: Parameters<typeof uploads.createUpload>[1]): Promise<void> {
    return uploads.createUpload(this.sql, upload);
  }

  getUpload(bucketId: number, key: string, uploadId: string): Promise<MultipartUpload | undefined> {
    return uploads.getUpload(this.sql, bucketId, key, uploadId);
  }

  insertPendingPart(part: Parameters<typeof uploads.insertPendingPart>[1]): Promise<number> {
    return uploads.insertPendingPart(this.sql, part);
  }

  commitPart(partRowId: number, commit: Parameters<typeof uploads.commitPart>[2]): Promise<void> {
    return uploads.commitPart(this.sql, partRowId, commit);
  }

  abortPart(partRowId: number): Promise<void> {
    return uploads.abortPart(this.sql, partRowId);
  }

  dropUnwrittenSlots(reservation: { versionRowId: number } | { partRowId: number }, slots: number[]): Promise<number> {
    return datafiles.dropUnwrittenSlots(this.sql, reservation, slots);
  }

  listUploadParts(uploadId: string): Promise<UploadedPart[]> {
    return uploads.listUploadParts(this.sql, uploadId);
  }

  completeUpload(completion: Parameters<typeof uploads.completeUpload>[1]): Promise<uploads.CompletedUpload> {
    return uploads.completeUpload(this.sql, completion);
  }

  findCompletedUpload(bucketId: number, key: string, uploadId: string): Promise<uploads.CompletedUpload | undefined> {
    return uploads.findCompletedUpload(this.sql, bucketId, key, uploadId);
  }

  abortUpload(uploadId: string): Promise<boolean> {
    return uploads.abortUpload(this.sql, uploadId);
  }

  listPartsPage(uploadId: string, after: number, limit: number): Promise<uploads.PartSummary[]> {
    return uploads.listPartsPage(this.sql, uploadId, after, limit);
  }

  seekUploads(bucketId: number, cursor: uploads.UploadCursor, below: string | undefined, limit: number): Promise<MultipartUpload[]> {
    return uploads.seekUploads(this.sql, bucketId, cursor, below, limit);
  }

  // Tags and CORS.

  getObjectTags(bucketId: number, key: string, versionId?: string): Promise<{ versionId: string; tags: Tag[] } | undefined> {
    return tags.getObjectTags(this.sql, bucketId, key, versionId);
  }

  putObjectTags(bucketId: number, key: string, versionId: string | undefined, objectTags: Tag[]): Promise<{ versionId: string } | undefined> {
    return tags.putObjectTags(this.sql, bucketId, key, versionId, objectTags);
  }

  getBucketTags(bucketId: number): Promise<Tag[] | undefined> {
    return tags.getBucketTags(this.sql, bucketId);
  }

  putBucketTags(bucketId: number, bucketTags: Tag[] | undefined): Promise<void> {
    return tags.putBucketTags(this.sql, bucketId, bucketTags);
  }

  getBucketCors(bucketId: number): Promise<cors.CorsRule[] | undefined> {
    return cors.getBucketCors(this.sql, bucketId);
  }

  getBucketCorsByName(name: string): Promise<{ exists: boolean; rules?: cors.CorsRule[] }> {
    return cors.getBucketCorsByName(this.sql, name);
  }

  putBucketCors(bucketId: number, rules: cors.CorsRule[] | undefined): Promise<void> {
    return cors.putBucketCors(this.sql, bucketId, rules);
  }

  getBucketLifecycle(bucketId: number): Promise<lifecycle.LifecycleRule[] | undefined> {
    return lifecycle.getBucketLifecycle(this.sql, bucketId);
  }

  putBucketLifecycle(bucketId: number, rules: lifecycle.LifecycleRule[] | undefined): Promise<void> {
    return lifecycle.putBucketLifecycle(this.sql, bucketId, rules);
  }
}
