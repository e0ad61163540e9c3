import assert from "node:assert/strict";
import { MasterKeys, SealedValueError, newMasterKeyText, parseMasterKey } from "./master-keys.js";

describe("master keys", () => {
  const oldKey = parseMasterKey(newMasterKeyText())!;
  const newKey = parseMasterKey(newMasterKeyText())!;

  it("seals a secret so that it opens only for what it is bound to, and never shows it", () => {
    const keys = new MasterKeys(oldKey);
    const sealed = keys.seal("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "WKALICE");
    assert.ok(!sealed.includes(Buffer.from("wJalrXUtnFEMI")));
    assert.notDeepEqual(keys.seal("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "WKALICE"), sealed, "a fresh IV each time");
    assert.equal(keys.open(sealed, "WKALICE"), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    assert.throws(() => keys.open(sealed, "WKMALLORY"), SealedValueError);
    const altered = Buffer.from(sealed);
    altered[altered.length - 1]! ^= 1;
    assert.throws(() => keys.open(altered, "WKALICE"), SealedValueError);
  });

  it("opens what a previous key sealed, and tells which values to seal again", () => {
    const sealedBefore = new MasterKeys(oldKey).seal("secret", "WK1");
    const rotated = new MasterKeys(newKey, [oldKey]);
    assert.equal(rotated.isCurrent(sealedBefore), false);
    assert.equal(rotated.open(sealedBefore, "WK1"), "secret");
    assert.equal(rotated.isCurrent(rotated.seal("secret", "WK1")), true);
    assert.throws(() => new MasterKeys(newKey).open(sealedBefore, "WK1"), /neither WEFT_MASTER_KEY nor in WEFT_MASTER_KEY_PREVIOUS/);
  });

  it("reads 64 hex digits or the base64 of 32 bytes, and nothing else", () => {
    assert.equal(parseMasterKey("00".repeat(32))?.length, 32);
    assert.equal(parseMasterKey(Buffer.alloc(32, 1).toString("base64"))?.length, 32);
    assert.equal(parseMasterKey("00".repeat(31)), undefined);
    assert.equal(parseMasterKey(Buffer.alloc(31, 1).toString("base64")), undefined);
    assert.equal(parseMasterKey("passphrase"), undefined);
  });
});
