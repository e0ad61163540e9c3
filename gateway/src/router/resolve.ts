// method + bucket/key + query + headers → the S3 operation, by its AWS action name. The one place that decides.
// Every sub-resource we do not serve answers NotImplemented: a request is never silently taken for another.
import { S3Error } from "../s3/errors.js";
import type { RequestTarget } from "../http/request-target.js";

export type S3OperationName =
  | "ListBuckets"
  | "CreateBucket"
  | "DeleteBucket"
  | "HeadBucket"
  | "GetBucketLocation"
  | "ListObjects"
  | "ListObjectsV2"
  | "PutObject"
  | "GetObject"
  | "HeadObject"
  | "DeleteObject"
  | "CreateMultipartUpload"
  | "UploadPart"
  | "CompleteMultipartUpload"
  | "AbortMultipartUpload"
  | "CopyObject"
  | "UploadPartCopy"
  | "DeleteObjects"
  | "ListParts"
  | "ListMultipartUploads"
  | "GetObjectTagging"
  | "PutObjectTagging"
  | "DeleteObjectTagging"
  | "GetBucketTagging"
  | "PutBucketTagging"
  | "DeleteBucketTagging"
  | "GetBucketCors"
  | "PutBucketCors"
  | "DeleteBucketCors"
  | "PostObject"
  | "GetObjectAttributes"
  | "GetBucketVersioning"
  | "PutBucketVersioning"
  | "ListObjectVersions"
  | "GetBucketPolicy"
  | "PutBucketPolicy"
  | "DeleteBucketPolicy"
  | "GetBucketPolicyStatus"
  | "GetPublicAccessBlock"
  | "PutPublicAccessBlock"
  | "DeletePublicAccessBlock"
  | "GetBucketAcl"
  | "PutBucketAcl"
  | "GetObjectAcl"
  | "PutObjectAcl"
  | "GetBucketOwnershipControls"
  | "PutBucketOwnershipControls"
  | "DeleteBucketOwnershipControls"
  | "GetObjectLockConfiguration"
  | "PutObjectLockConfiguration"
  | "GetObjectRetention"
  | "PutObjectRetention"
  | "GetObjectLegalHold"
  | "PutObjectLegalHold"
  | "GetBucketLifecycleConfiguration"
  | "PutBucketLifecycleConfiguration"
  | "DeleteBucketLifecycle"
  | "GetBucketEncryption"
  | "PutBucketEncryption"
  | "DeleteBucketEncryption";

export interface S3Operation {
  name: S3OperationName;
  bucket?: string;
  key?: string;
}

/** Query parameters that name a sub-resource (an operation of their own) rather than modify one. */
const SUB_RESOURCES = new Set([
  "accelerate", "acl", "analytics", "attributes", "cors", "delete", "encryption", "intelligent-tiering", "inventory",
  "legal-hold", "lifecycle", "location", "logging", "metadataConfiguration", "metadataTable", "metrics", "notification",
  "object-lock", "ownershipControls", "partNumber", "policy", "policyStatus", "publicAccessBlock", "renameObject",
  "replication", "requestPayment", "restore", "retention", "select", "session", "tagging", "torrent", "uploadId",
  "uploads", "versioning", "versions", "website",
]);

function subResources(query: Map<string, string>): string[] {
  return [...query.keys()].filter((name) => SUB_RESOURCES.has(name));
}

function notImplemented(what: string): never {
  throw new S3Error("NotImplemented", `${what} is not implemented by this server.`);
}

export function resolveOperation(method: string, target: RequestTarget, headers: Record<string, unknown>): S3Operation {
  const { bucket, key, query } = target;
  const subs = subResources(query);
  const has = (...names: string[]) => subs.length === names.length && names.every((name) => query.has(name));
  const describe = `${method} ${key !== undefined ? "object" : bucket !== undefined ? "bucket" : "service"}${subs.length ? `?${subs.join("&")}` : ""}`;

  if (bucket === undefined) {
    if (method === "GET" && subs.length === 0) return { name: "ListBuckets" };
    notImplemented(describe);
  }

  if (key === undefined) {
    switch (method) {
      case "PUT":
        if (has("tagging")) return { name: "PutBucketTagging", bucket };
        if (has("cors")) return { name: "PutBucketCors", bucket };
        if (has("versioning")) return { name: "PutBucketVersioning", bucket };
        if (has("policy")) return { name: "PutBucketPolicy", bucket };
        if (has("publicAccessBlock")) return { name: "PutPublicAccessBlock", bucket };
        if (has("acl")) return { name: "PutBucketAcl", bucket };
        if (has("ownershipControls")) return { name: "PutBucketOwnershipControls", bucket };
        if (has("object-lock")) return { name: "PutObjectLockConfiguration", bucket };
        if (has("lifecycle")) return { name: "PutBucketLifecycleConfiguration", bucket };
        if (has("encryption")) return { name: "PutBucketEncryption", bucket };
        if (subs.length === 0) return { name: "CreateBucket", bucket };
        break;
      case "DELETE":
        if (has("tagging")) return { name: "DeleteBucketTagging", bucket };
        if (has("cors")) return { name: "DeleteBucketCors", bucket };
        if (has("policy")) return { name: "DeleteBucketPolicy", bucket };
        if (has("publicAccessBlock")) return { name: "DeletePublicAccessBlock", bucket };
        if (has("ownershipControls")) return { name: "DeleteBucketOwnershipControls", bucket };
        if (has("lifecycle")) return { name: "DeleteBucketLifecycle", bucket };
        if (has("encryption")) return { name: "DeleteBucketEncryption", bucket };
        if (subs.length === 0) return { name: "DeleteBucket", bucket };
        break;
      case "HEAD":
        if (subs.length === 0) return { name: "HeadBucket", bucket };
        break;
      case "GET":
        if (has("location")) return { name: "GetBucketLocation", bucket };
        if (has("tagging")) return { name: "GetBucketTagging", bucket };
        if (has("cors")) return { name: "GetBucketCors", bucket };
        if (has("uploads")) return { name: "ListMultipartUploads", bucket };
        if (has("versioning")) return { name: "GetBucketVersioning", bucket };
        if (has("versions")) return { name: "ListObjectVersions", bucket };
        if (has("policy")) return { name: "GetBucketPolicy", bucket };
        if (has("policyStatus")) return { name: "GetBucketPolicyStatus", bucket };
        if (has("publicAccessBlock")) return { name: "GetPublicAccessBlock", bucket };
        if (has("acl")) return { name: "GetBucketAcl", bucket };
        if (has("ownershipControls")) return { name: "GetBucketOwnershipControls", bucket };
        if (has("object-lock")) return { name: "GetObjectLockConfiguration", bucket };
        if (has("lifecycle")) return { name: "GetBucketLifecycleConfiguration", bucket };
        if (has("encryption")) return { name: "GetBucketEncryption", bucket };
        if (subs.length === 0) return { name: query.get("list-type") === "2" ? "ListObjectsV2" : "ListObjects", bucket };
        break;
      case "POST":
        if (has("delete")) return { name: "DeleteObjects", bucket };
        // A browser form upload; authorized by the form's signed policy, not by the request (see app.ts).
        if (subs.length === 0 && /^multipart\/form-data\b/i.test(String(headers["content-type"] ?? ""))) return { name: "PostObject", bucket };
        break;
    }
    notImplemented(describe);
  }

  const copySource = headers["x-amz-copy-source"] !== undefined;
  switch (method) {
    case "PUT":
      if (has("partNumber", "uploadId") && !copySource) return { name: "UploadPart", bucket, key };
      if (subs.length === 0 && !copySource) return { name: "PutObject", bucket, key };
      if (has("tagging") && !copySource) return { name: "PutObjectTagging", bucket, key };
      if (has("acl") && !copySource) return { name: "PutObjectAcl", bucket, key };
      if (has("retention") && !copySource) return { name: "PutObjectRetention", bucket, key };
      if (has("legal-hold") && !copySource) return { name: "PutObjectLegalHold", bucket, key };
      if (has("partNumber", "uploadId") && copySource) return { name: "UploadPartCopy", bucket, key };
      if (subs.length === 0 && copySource) return { name: "CopyObject", bucket, key };
      break;
    case "GET":
      if (subs.length === 0 || has("partNumber")) return { name: "GetObject", bucket, key };
      if (has("uploadId")) return { name: "ListParts", bucket, key };
      if (has("tagging")) return { name: "GetObjectTagging", bucket, key };
      if (has("attributes")) return { name: "GetObjectAttributes", bucket, key };
      if (has("acl")) return { name: "GetObjectAcl", bucket, key };
      if (has("retention")) return { name: "GetObjectRetention", bucket, key };
      if (has("legal-hold")) return { name: "GetObjectLegalHold", bucket, key };
      break;
    case "HEAD":
      if (subs.length === 0 || has("partNumber")) return { name: "HeadObject", bucket, key };
      break;
    case "DELETE":
      if (has("uploadId")) return { name: "AbortMultipartUpload", bucket, key };
      if (has("tagging")) return { name: "DeleteObjectTagging", bucket, key };
      if (subs.length === 0) return { name: "DeleteObject", bucket, key };
      break;
    case "POST":
      if (has("uploads")) return { name: "CreateMultipartUpload", bucket, key };
      if (has("uploadId")) return { name: "CompleteMultipartUpload", bucket, key };
      break;
  }
  notImplemented(describe);
}
