import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { MasterKeys } from "../auth/master-keys.js";
import { S3Error } from "../s3/errors.js";
import { ObjectKeys, customerEtag, customerKeyMd5, partKey, type CustomerKey } from "./object-keys.js";

function customerKey(): CustomerKey {
  const key = randomBytes(32);
  return { key, md5Base64: customerKeyMd5(key) };
}

function s3Code(code: string) {
  return (error: unknown) => error instanceof S3Error && error.code === code;
}

describe("object data keys", () => {
  const oldMaster = randomBytes(32);
  const newMaster = randomBytes(32);

  it("wraps SSE-S3 data keys under a key derived from the master key, and opens them after a rotation", () => {
    const before = new ObjectKeys(new MasterKeys(oldMaster));
    const { dataKey, encryption } = before.newDataKey({ mode: "SSE-S3" });
    assert.equal(encryption.mode, "SSE-S3");
    assert.equal(Buffer.from(encryption.wrappedKey, "base64").indexOf(dataKey), -1);
    assert.equal(encryption.mode === "SSE-S3" && encryption.masterKey, new MasterKeys(oldMaster).currentFingerprint);
    assert.deepEqual(before.openDataKey(encryption, undefined), dataKey);
    assert.deepEqual(new ObjectKeys(new MasterKeys(newMaster, [oldMaster])).openDataKey(encryption, undefined), dataKey);
    assert.throws(() => new ObjectKeys(new MasterKeys(newMaster)).openDataKey(encryption, undefined), /neither WEFT_MASTER_KEY nor/);
  });

  it("never lets the master key's other purpose open a data key", () => {
    const masterKeys = new MasterKeys(oldMaster);
    const { encryption } = new ObjectKeys(masterKeys).newDataKey({ mode: "SSE-S3" });
    assert.throws(() => masterKeys.openBytes(Buffer.from(encryption.wrappedKey, "base64"), "weft object data key"), /does not open/);
  });

  it("opens SSE-C data keys with the customer's key only, as AWS answers", () => {
    const keys = new ObjectKeys(new MasterKeys(oldMaster));
    const customer = customerKey();
    const { dataKey, encryption } = keys.newDataKey({ mode: "SSE-C", customerKey: customer });
    assert.equal(JSON.stringify(encryption).includes(customer.key.toString("base64")), false, "the customer key is never recorded");
    assert.equal(JSON.stringify(encryption).includes(customer.md5Base64), false);
    assert.deepEqual(keys.openDataKey(encryption, customer), dataKey);
    assert.throws(() => keys.openDataKey(encryption, customerKey()), s3Code("AccessDenied"));
    assert.throws(() => keys.openDataKey(encryption, undefined), s3Code("InvalidRequest"));
    const sseS3 = keys.newDataKey({ mode: "SSE-S3" }).encryption;
    assert.throws(() => keys.openDataKey(sseS3, customer), s3Code("InvalidRequest"));
  });

  it("gives every part its own key and SSE-C objects an ETag that is not the plaintext's MD5", () => {
    const dataKey = randomBytes(32);
    assert.notDeepEqual(partKey(dataKey, randomBytes(16)), partKey(dataKey, randomBytes(16)));
    const salt = randomBytes(16);
    assert.deepEqual(partKey(dataKey, salt), partKey(dataKey, salt));
    const md5 = "9e107d9d372bb6826bd81d3542a419d6";
    assert.match(customerEtag(dataKey, md5), /^[0-9a-f]{32}$/);
    assert.notEqual(customerEtag(dataKey, md5), md5);
    assert.notEqual(customerEtag(randomBytes(32), md5), customerEtag(dataKey, md5));
  });
});
