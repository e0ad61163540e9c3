// The dispatch table: one handler per S3 operation, named after its AWS action.
import type { OperationHandler } from "../app.js";
import type { S3OperationName } from "../router/resolve.js";
import { createBucket, deleteBucket, getBucketLocation, headBucket, listBuckets } from "./bucket.js";
import { deleteObject } from "./delete.js";
import { getObject, headObject } from "./get.js";
import { listObjects, listObjectsV2 } from "./list.js";
import { abortMultipartUpload, completeMultipartUpload, createMultipartUpload, uploadPart } from "./multipart.js";
import { putObject } from "./put.js";

export const HANDLERS: Record<S3OperationName, OperationHandler> = {
  ListBuckets: listBuckets,
  CreateBucket: createBucket,
  DeleteBucket: deleteBucket,
  HeadBucket: headBucket,
  GetBucketLocation: getBucketLocation,
  ListObjects: listObjects,
  ListObjectsV2: listObjectsV2,
  PutObject: putObject,
  GetObject: getObject,
  HeadObject: headObject,
  DeleteObject: deleteObject,
  CreateMultipartUpload: createMultipartUpload,
  UploadPart: uploadPart,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
};
