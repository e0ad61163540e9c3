// What each S3 operation does, as access control sees it: its IAM action (what bucket policies name) and whether it
// changes anything (what a read-only key may not do). Exhaustive: a new operation does not compile without a line here.
import type { S3OperationName } from "../router/resolve.js";

export interface OperationAccess {
  action: string;
  writes: boolean;
}

const read = (action: string): OperationAccess => ({ action, writes: false });
const write = (action: string): OperationAccess => ({ action, writes: true });

export const OPERATION_ACCESS: Record<S3OperationName, OperationAccess> = {
  ListBuckets: read("s3:ListAllMyBuckets"),
  CreateBucket: write("s3:CreateBucket"),
  DeleteBucket: write("s3:DeleteBucket"),
  HeadBucket: read("s3:ListBucket"),
  GetBucketLocation: read("s3:GetBucketLocation"),
  ListObjects: read("s3:ListBucket"),
  ListObjectsV2: read("s3:ListBucket"),
  ListObjectVersions: read("s3:ListBucketVersions"),
  PutObject: write("s3:PutObject"),
  PostObject: write("s3:PutObject"),
  CopyObject: write("s3:PutObject"),
  GetObject: read("s3:GetObject"),
  HeadObject: read("s3:GetObject"),
  GetObjectAttributes: read("s3:GetObjectAttributes"),
  DeleteObject: write("s3:DeleteObject"),
  DeleteObjects: write("s3:DeleteObject"),
  CreateMultipartUpload: write("s3:PutObject"),
  UploadPart: write("s3:PutObject"),
  UploadPartCopy: write("s3:PutObject"),
  CompleteMultipartUpload: write("s3:PutObject"),
  AbortMultipartUpload: write("s3:AbortMultipartUpload"),
  ListParts: read("s3:ListMultipartUploadParts"),
  ListMultipartUploads: read("s3:ListBucketMultipartUploads"),
  GetObjectTagging: read("s3:GetObjectTagging"),
  PutObjectTagging: write("s3:PutObjectTagging"),
  DeleteObjectTagging: write("s3:DeleteObjectTagging"),
  GetBucketTagging: read("s3:GetBucketTagging"),
  PutBucketTagging: write("s3:PutBucketTagging"),
  DeleteBucketTagging: write("s3:PutBucketTagging"),
  GetBucketCors: read("s3:GetBucketCORS"),
  PutBucketCors: write("s3:PutBucketCORS"),
  DeleteBucketCors: write("s3:PutBucketCORS"),
  GetBucketVersioning: read("s3:GetBucketVersioning"),
  PutBucketVersioning: write("s3:PutBucketVersioning"),
  GetBucketPolicy: read("s3:GetBucketPolicy"),
  PutBucketPolicy: write("s3:PutBucketPolicy"),
  DeleteBucketPolicy: write("s3:DeleteBucketPolicy"),
  GetBucketPolicyStatus: read("s3:GetBucketPolicyStatus"),
  GetPublicAccessBlock: read("s3:GetBucketPublicAccessBlock"),
  PutPublicAccessBlock: write("s3:PutBucketPublicAccessBlock"),
  DeletePublicAccessBlock: write("s3:PutBucketPublicAccessBlock"),
  GetBucketAcl: read("s3:GetBucketAcl"),
  PutBucketAcl: write("s3:PutBucketAcl"),
  GetObjectAcl: read("s3:GetObjectAcl"),
  PutObjectAcl: write("s3:PutObjectAcl"),
  GetBucketOwnershipControls: read("s3:GetBucketOwnershipControls"),
  PutBucketOwnershipControls: write("s3:PutBucketOwnershipControls"),
  DeleteBucketOwnershipControls: write("s3:PutBucketOwnershipControls"),
  GetObjectLockConfiguration: read("s3:GetBucketObjectLockConfiguration"),
  PutObjectLockConfiguration: write("s3:PutBucketObjectLockConfiguration"),
  GetObjectRetention: read("s3:GetObjectRetention"),
  PutObjectRetention: write("s3:PutObjectRetention"),
  GetObjectLegalHold: read("s3:GetObjectLegalHold"),
  PutObjectLegalHold: write("s3:PutObjectLegalHold"),
  GetBucketLifecycleConfiguration: read("s3:GetLifecycleConfiguration"),
  PutBucketLifecycleConfiguration: write("s3:PutLifecycleConfiguration"),
  DeleteBucketLifecycle: write("s3:PutLifecycleConfiguration"),
  GetBucketEncryption: read("s3:GetEncryptionConfiguration"),
  PutBucketEncryption: write("s3:PutEncryptionConfiguration"),
  DeleteBucketEncryption: write("s3:PutEncryptionConfiguration"),
};
