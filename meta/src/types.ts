// Sizes and offsets are JS numbers: every size fits in 2^53 (db.ts refuses bigger ones instead of rounding).

export type VersioningState = "Unversioned" | "Enabled" | "Suspended";

export interface Bucket {
  id: number;
  name: string;
  owner: string;
  createdAt: Date;
  versioning: VersioningState;
  region: string;
  /** What a write that names no storage class is stored as (a Weft extension); absent: the gateway's default. */
  defaultStorageClass?: string;
}

export interface DatafileRef {
  slot: number;
  ioserverId: string;
  blobId: string;
  length: number;
  crc32c?: string;
}

export interface PartRecord {
  /** 1 for a plain PUT. */
  partNumber: number;
  size: number;
  /** MD5 hex, unquoted. */
  etag: string;
  /** Stripe layout of this part. */
  unit: number;
  k: number;
  m: number;
  /** k+m entries, slot 0..k+m-1; empty when the part is inline. */
  datafiles: DatafileRef[];
  /** Tiny objects stored in PostgreSQL instead of datafiles (absent, too, when read without their bytes: HEAD). */
  inlineData?: Buffer;
  checksumAlgorithm?: string;
  checksumValue?: string;
  /** Set when the part is encrypted: its key is derived with it, and `size` counts the sealed bytes stored. */
  encryptionSalt?: Buffer;
}

export interface ObjectHeaders {
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: string;
  userMetadata: Record<string, string>;
}

export type ChecksumType = "FULL_OBJECT" | "COMPOSITE";

export interface ObjectVersion extends ObjectHeaders {
  /** Internal row id. */
  id: number;
  bucketId: number;
  key: string;
  versionId: string;
  isDeleteMarker: boolean;
  size: number;
  etag: string;
  lastModified: Date;
  storageClass: string;
  checksumAlgorithm?: string;
  checksumValue?: string;
  checksumType?: ChecksumType;
  /** How many tags the version has (x-amz-tagging-count). */
  tagCount: number;
  /** Its tags (lifecycle rules may select by them). */
  tags: { Key: string; Value: string }[];
  /** Ordered by partNumber. */
  parts: PartRecord[];
  /** Its ACL and owner, in a bucket with ACLs enabled (gateway/src/access/acl.ts); absent: private, the bucket owner's. */
  acl?: unknown;
  objectOwner?: string;
  /** How its data key is wrapped (gateway/src/encryption/object-keys.ts, ObjectEncryption); absent: stored in plain. */
  encryption?: unknown;
  /** Object lock: its retention, and its legal hold (absent: never set). */
  retention?: Retention;
  legalHold?: boolean;
}

export type RetentionMode = "GOVERNANCE" | "COMPLIANCE";

/** A version's object lock retention: it cannot be deleted before `retainUntil` (docs/architecture.md, Object lock). */
export interface Retention {
  mode: RetentionMode;
  retainUntil: Date;
}

/** A bucket's default retention, which new versions get when their write asks for none: a period of days or years. */
export interface DefaultRetention {
  mode: RetentionMode;
  days?: number;
  years?: number;
}

/** What a write asks of object lock for its new version; absent retention: the bucket's default, absent hold: none. */
export interface ObjectLockRequest {
  retention?: Retention;
  legalHold?: boolean;
}

/** What a bucket with ACLs enabled records of a new object: its ACL and its owner (absent: the bucket's owner). */
export interface ObjectAccess {
  acl?: unknown;
  objectOwner?: string;
}

export interface ObjectSummary {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
  storageClass: string;
}

export interface ListPage {
  contents: ObjectSummary[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The last key or common prefix returned, when truncated. */
  nextMarker?: string;
}

export interface MultipartUpload extends ObjectHeaders {
  uploadId: string;
  bucketId: number;
  key: string;
  initiated: Date;
  storageClass: string;
  checksumAlgorithm?: string;
  checksumType?: string;
  owner: string;
  /** Given to the completed object. */
  access?: ObjectAccess;
  /** Its CreateMultipartUpload asked for a retention or a legal hold (each part must then carry a digest). */
  asksForLock: boolean;
  /** How the data key of its parts is wrapped (as ObjectVersion.encryption), given to the completed object. */
  encryption?: unknown;
}

export interface UploadedPart extends PartRecord {
  lastModified: Date;
}

export interface GarbageItem {
  id: number;
  ioserverId: string;
  blobId: string;
}
