// Whose key opens an encrypted object (docs/architecture.md, Encryption at rest). Every object gets a random data
// key; what PostgreSQL keeps is that key wrapped (AES-256-GCM), never the key itself:
// - SSE-S3: wrapped under a key derived from the cluster master key (MasterKeys.derive), which records the master
//   key's fingerprint, so objects sealed before a rotation open with WEFT_MASTER_KEY_PREVIOUS.
// - SSE-C: wrapped under a key derived (HKDF, a random salt per object) from the customer's key, which is never stored;
//   a salted HMAC of it tells a wrong key (403) from a damaged record.
// Each part's bytes are sealed under its own key, derived from the data key and a random salt of the part's
// (partKey), so the counter nonces of packages.ts never repeat under one key, however often a part is uploaded again.
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import { MasterKeys } from "../auth/master-keys.js";
import { S3Error } from "../s3/errors.js";

const KEY_BYTES = 32;
const SALT_BYTES = 16;
const DATA_KEY_PURPOSE = "weft object data keys";
const WRAPPED_DATA_KEY = "weft object data key";

/** What the metadata records of an encrypted object (versions.encryption, uploads.encryption), as JSON. */
export type ObjectEncryption =
  | { mode: "SSE-S3"; wrappedKey: string; masterKey: string }
  | { mode: "SSE-C"; wrappedKey: string; keySalt: string; keyCheck: string };

/** A customer key as a request carries it, checked (parseCustomerKey in sse-headers.ts). */
export interface CustomerKey {
  key: Buffer;
  md5Base64: string;
}

/** What a write asks for: SSE-S3, or SSE-C with the customer's key. */
export type EncryptionRequest = { mode: "SSE-S3" } | { mode: "SSE-C"; customerKey: CustomerKey };

export function customerKeyMd5(key: Buffer): string {
  return createHash("md5").update(key).digest("base64");
}

function hkdf(key: Buffer, salt: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync("sha256", key, salt, info, KEY_BYTES));
}

function customerKeyCheck(customerKey: Buffer, salt: Buffer): Buffer {
  return createHmac("sha256", hkdf(customerKey, salt, "weft sse-c key check")).update("weft sse-c key check").digest();
}

/** The customer key's own wrapping: MasterKeys' format under a key only the customer's key derives. */
function customerWrapping(customerKey: Buffer, salt: Buffer): MasterKeys {
  return new MasterKeys(hkdf(customerKey, salt, "weft sse-c data key wrapping"));
}

/** Wraps and unwraps the data keys of objects; one per gateway, built from its master keys. */
export class ObjectKeys {
  private readonly wrapping: MasterKeys;

  constructor(masterKeys: MasterKeys) {
    this.wrapping = masterKeys.derive(DATA_KEY_PURPOSE);
  }

  /** A new object's data key and the record that will open it again. */
  newDataKey(request: EncryptionRequest): { dataKey: Buffer; encryption: ObjectEncryption } {
    const dataKey = randomBytes(KEY_BYTES);
    if (request.mode === "SSE-S3") {
      const wrapped = this.wrapping.sealBytes(dataKey, WRAPPED_DATA_KEY);
      return { dataKey, encryption: { mode: "SSE-S3", wrappedKey: wrapped.toString("base64"), masterKey: MasterKeys.fingerprintOf(wrapped) } };
    }
    const salt = randomBytes(SALT_BYTES);
    const customer = request.customerKey.key;
    const wrapped = customerWrapping(customer, salt).sealBytes(dataKey, WRAPPED_DATA_KEY);
    return {
      dataKey,
      encryption: { mode: "SSE-C", wrappedKey: wrapped.toString("base64"), keySalt: salt.toString("base64"), keyCheck: customerKeyCheck(customer, salt).toString("base64") },
    };
  }

  /**
   * An SSE-S3 data key wrapped under a previous master key, wrapped again under the current one; undefined when it is
   * under the current one already. Throws SealedValueError when no configured master key opens it.
   */
  rewrapped(wrappedKey: string): { wrappedKey: string; masterKey: string } | undefined {
    const wrapped = Buffer.from(wrappedKey, "base64");
    if (this.wrapping.isCurrent(wrapped)) return undefined;
    const rewrapped = this.wrapping.sealBytes(this.wrapping.openBytes(wrapped, WRAPPED_DATA_KEY), WRAPPED_DATA_KEY);
    return { wrappedKey: rewrapped.toString("base64"), masterKey: MasterKeys.fingerprintOf(rewrapped) };
  }

  /** The fingerprint of the master key new data keys are wrapped under. */
  get masterKey(): string {
    return this.wrapping.currentFingerprint;
  }

  /**
   * The data key of an encrypted object, for a request that brought `customerKey` (or none). SSE-C without the key is
   * 400 InvalidRequest and with another key 403 AccessDenied, as AWS answers; a key for an object that is not SSE-C
   * is 400 InvalidRequest (see checkCustomerKeyFits).
   */
  openDataKey(encryption: ObjectEncryption, customerKey: CustomerKey | undefined): Buffer {
    checkCustomerKeyFits(encryption, customerKey);
    const wrapped = Buffer.from(encryption.wrappedKey, "base64");
    if (encryption.mode === "SSE-S3") return this.wrapping.openBytes(wrapped, WRAPPED_DATA_KEY);
    const salt = Buffer.from(encryption.keySalt, "base64");
    if (!timingSafeEqual(customerKeyCheck(customerKey!.key, salt), Buffer.from(encryption.keyCheck, "base64"))) {
      throw new S3Error("AccessDenied", "Access Denied");
    }
    return customerWrapping(customerKey!.key, salt).openBytes(wrapped, WRAPPED_DATA_KEY);
  }
}

/** Whether a request's customer key (or its absence) fits how the object is stored, as AWS judges it. */
export function checkCustomerKeyFits(encryption: ObjectEncryption | undefined, customerKey: CustomerKey | undefined): void {
  if (encryption?.mode === "SSE-C" && !customerKey) {
    throw new S3Error("InvalidRequest", "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.");
  }
  if (encryption?.mode !== "SSE-C" && customerKey) {
    throw new S3Error("InvalidRequest", "The encryption parameters are not applicable to this object.");
  }
}

/** The key one part's packages are sealed under: its own, from the object's data key and the part's random salt. */
export function partKey(dataKey: Buffer, partSalt: Buffer): Buffer {
  return hkdf(dataKey, partSalt, "weft part key");
}

export function newPartSalt(): Buffer {
  return randomBytes(SALT_BYTES);
}

/**
 * The ETag of an SSE-C object: AWS's is not the MD5 of the plaintext, which would tell anyone who may list the bucket
 * something of data they cannot read. A keyed digest of it: stable for the object, meaningless without its key.
 */
export function customerEtag(dataKey: Buffer, plaintextMd5Hex: string): string {
  return createHmac("sha256", dataKey).update(plaintextMd5Hex).digest("hex").slice(0, 32);
}
