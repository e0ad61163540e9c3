import assert from "node:assert/strict";
import { S3ServiceException } from "@aws-sdk/client-s3";

/** Awaits a request that must fail with the given S3 error code (and HTTP status). */
export async function expectS3Error(promise: Promise<unknown>, code: string, status?: number): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof S3ServiceException, `expected an S3 error ${code}, got ${error}`);
    assert.equal(error.name, code);
    if (status !== undefined) assert.equal(error.$metadata.httpStatusCode, status);
    return error;
  }
  assert.fail(`expected ${code}, but the request succeeded`);
}
