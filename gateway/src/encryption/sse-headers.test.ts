import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { S3Error } from "../s3/errors.js";
import { COPY_SOURCE_SSE_PREFIX, customerKeyFromHeaders, encryptionOfWrite, requestedEncryption } from "./sse-headers.js";

const key = randomBytes(32);
const customer = {
  "x-amz-server-side-encryption-customer-algorithm": "AES256",
  "x-amz-server-side-encryption-customer-key": key.toString("base64"),
  "x-amz-server-side-encryption-customer-key-md5": createHash("md5").update(key).digest("base64"),
};

function refusedWith(code: string, message: RegExp) {
  return (error: unknown) => error instanceof S3Error && error.code === code && message.test(error.message);
}

describe("SSE request headers", () => {
  it("reads SSE-S3, SSE-C and nothing, and lets a write's own request win over the bucket default", () => {
    assert.deepEqual(requestedEncryption({ "x-amz-server-side-encryption": "AES256" }), { mode: "SSE-S3" });
    assert.equal(requestedEncryption({}), undefined);
    const sseC = requestedEncryption(customer);
    assert.equal(sseC?.mode, "SSE-C");
    assert.deepEqual(sseC?.mode === "SSE-C" && sseC.customerKey.key, key);
    assert.deepEqual(encryptionOfWrite({}, "AES256"), { mode: "SSE-S3" });
    assert.equal(encryptionOfWrite({}, undefined), undefined);
    assert.equal(encryptionOfWrite(customer, "AES256")?.mode, "SSE-C");
  });

  it("refuses what AWS refuses, with its codes and messages", () => {
    const without = (name: string) => Object.fromEntries(Object.entries(customer).filter(([header]) => header !== name));
    assert.throws(() => requestedEncryption({ "x-amz-server-side-encryption": "aws:kms" }), refusedWith("NotImplemented", /aws:kms/));
    assert.throws(() => requestedEncryption({ "x-amz-server-side-encryption": "AES128" }), refusedWith("InvalidArgument", /not supported/));
    assert.throws(() => requestedEncryption(without("x-amz-server-side-encryption-customer-algorithm")), refusedWith("InvalidArgument", /valid encryption algorithm/));
    assert.throws(() => requestedEncryption(without("x-amz-server-side-encryption-customer-key")), refusedWith("InvalidArgument", /appropriate secret key/));
    assert.throws(() => requestedEncryption(without("x-amz-server-side-encryption-customer-key-md5")), refusedWith("InvalidArgument", /calculated MD5 of the secret key/));
    assert.throws(
      () => requestedEncryption({ ...customer, "x-amz-server-side-encryption-customer-key": "not base64!" }),
      refusedWith("InvalidArgument", /secret key was invalid/),
    );
    assert.throws(
      () => requestedEncryption({ ...customer, "x-amz-server-side-encryption-customer-key-md5": createHash("md5").update("other").digest("base64") }),
      refusedWith("InvalidArgument", /did not match/),
    );
  });

  it("reads a copy source's key from its own headers", () => {
    const source = Object.fromEntries(Object.entries(customer).map(([name, value]) => [name.replace("x-amz-server-side-encryption-customer-", COPY_SOURCE_SSE_PREFIX), value]));
    assert.deepEqual(customerKeyFromHeaders(source, COPY_SOURCE_SSE_PREFIX)?.key, key);
    assert.equal(customerKeyFromHeaders(source), undefined);
  });
});
