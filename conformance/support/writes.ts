// Writes the suites make in more than one way: a multipart upload of given pieces, and a browser form upload.
import { Readable } from "node:stream";
import assert from "node:assert/strict";
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand, type S3Client } from "@aws-sdk/client-s3";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";

/** CreateMultipartUpload, one UploadPart per piece, CompleteMultipartUpload. */
export async function uploadInParts(s3: S3Client, bucket: string, key: string, pieces: Buffer[]): Promise<void> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const parts = [];
  for (const [index, piece] of pieces.entries()) {
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: index + 1, Body: piece }));
    parts.push({ ETag, PartNumber: index + 1 });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
}

/** POST Object with a presigned form, as a browser sends it (no declared length for the file); expects 204. */
export async function postForm(s3: S3Client, bucket: string, key: string, data: Buffer, extraFields: Record<string, string> = {}): Promise<Response> {
  const { url, fields } = await createPresignedPost(s3, { Bucket: bucket, Key: key, Fields: extraFields });
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append("file", new Blob([new Uint8Array(data)]), "file.bin");
  const response = await fetch(url, { method: "POST", body: form });
  assert.equal(response.status, 204, await response.text());
  return response;
}

/** `bytes` in `chunk`-sized pieces spread over about `ms`, so that a fault can strike while the body is still arriving. */
export function pacedBody(bytes: Buffer, ms: number, chunk = 64 * 1024): Readable {
  const pause = ms / Math.ceil(bytes.length / chunk);
  return Readable.from(
    (async function* () {
      for (let offset = 0; offset < bytes.length; offset += chunk) {
        yield bytes.subarray(offset, offset + chunk);
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    })(),
  );
}
