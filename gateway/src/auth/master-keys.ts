// The cluster master key seals what must not sit in PostgreSQL in plain text (access key secrets): AES-256-GCM with a
// fresh IV per seal and the owner's identity (an access key id) as additional data, so a sealed value copied to
// another row does not open. Rotation (docs/operations.md): gateways start with the new key as WEFT_MASTER_KEY and
// the old one in WEFT_MASTER_KEY_PREVIOUS; whatever a previous key sealed opens and is sealed again under the new one.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";

export const MASTER_KEY_BYTES = 32;
const FORMAT_VERSION = 1;
const FINGERPRINT_BYTES = 8;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + FINGERPRINT_BYTES + IV_BYTES + TAG_BYTES;

/** A master key as configured: 64 hex digits or the base64 of 32 bytes; undefined when it is neither. */
export function parseMasterKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, "hex");
  if (/^[A-Za-z0-9+/]{43}=?$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed, "base64");
    if (bytes.length === MASTER_KEY_BYTES) return bytes;
  }
  return undefined;
}

/** A new master key, as `parseMasterKey` reads it. */
export function newMasterKeyText(): string {
  return randomBytes(MASTER_KEY_BYTES).toString("hex");
}

/** Names a key without revealing it: sealed values record which key sealed them. */
function fingerprintOf(key: Buffer): Buffer {
  return createHmac("sha256", key).update("weft master key fingerprint").digest().subarray(0, FINGERPRINT_BYTES);
}

/** A sealed value that no configured master key opens, or that was altered. */
export class SealedValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SealedValueError";
  }
}

export class MasterKeys {
  private readonly current: { key: Buffer; fingerprint: Buffer };
  private readonly byFingerprint: Map<string, Buffer>;

  /** With `purpose`, the keys used are derived from the master keys (see derive); fingerprints stay the masters'. */
  constructor(
    private readonly masterKey: Buffer,
    private readonly previousMasterKeys: readonly Buffer[] = [],
    purpose?: string,
  ) {
    const use = (key: Buffer) => (purpose === undefined ? key : Buffer.from(hkdfSync("sha256", key, Buffer.alloc(0), purpose, MASTER_KEY_BYTES)));
    this.current = { key: use(masterKey), fingerprint: fingerprintOf(masterKey) };
    this.byFingerprint = new Map([masterKey, ...previousMasterKeys].map((key) => [fingerprintOf(key).toString("hex"), use(key)]));
  }

  /**
   * Keys for another purpose, derived from the master keys with HKDF-SHA256 and `purpose` as its info, so that one
   * secret never serves two purposes. What they seal records the master key's fingerprint, as `weft status` shows it.
   */
  derive(purpose: string): MasterKeys {
    return new MasterKeys(this.masterKey, this.previousMasterKeys, purpose);
  }

  seal(plaintext: string, boundTo: string): Buffer {
    return this.sealBytes(Buffer.from(plaintext, "utf8"), boundTo);
  }

  open(sealed: Buffer, boundTo: string): string {
    return this.openBytes(sealed, boundTo).toString("utf8");
  }

  sealBytes(plaintext: Buffer, boundTo: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.current.key, iv);
    cipher.setAAD(Buffer.from(boundTo, "utf8"));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.of(FORMAT_VERSION), this.current.fingerprint, iv, cipher.getAuthTag(), ciphertext]);
  }

  openBytes(sealed: Buffer, boundTo: string): Buffer {
    if (sealed.length < HEADER_BYTES || sealed[0] !== FORMAT_VERSION) throw new SealedValueError("not a sealed value of this format");
    const fingerprint = sealed.subarray(1, 1 + FINGERPRINT_BYTES);
    const key = this.byFingerprint.get(fingerprint.toString("hex"));
    if (!key) throw new SealedValueError(`sealed under master key ${fingerprint.toString("hex")}, which is neither WEFT_MASTER_KEY nor in WEFT_MASTER_KEY_PREVIOUS`);
    const ivEnd = 1 + FINGERPRINT_BYTES + IV_BYTES;
    const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(1 + FINGERPRINT_BYTES, ivEnd));
    decipher.setAAD(Buffer.from(boundTo, "utf8"));
    decipher.setAuthTag(sealed.subarray(ivEnd, HEADER_BYTES));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES)), decipher.final()]);
    } catch {
      throw new SealedValueError("the sealed value does not open: altered, or bound to something else");
    }
  }

  /** The fingerprint of the master key `sealed` was sealed under, in hex. */
  static fingerprintOf(sealed: Buffer): string {
    return sealed.subarray(1, 1 + FINGERPRINT_BYTES).toString("hex");
  }

  /** Whether `sealed` was sealed under the current key (else `open` then `seal` moves it there). */
  isCurrent(sealed: Buffer): boolean {
    return sealed.subarray(1, 1 + FINGERPRINT_BYTES).equals(this.current.fingerprint);
  }

  /** Fingerprint of the current key, for `weft status` and the log. */
  get currentFingerprint(): string {
    return this.current.fingerprint.toString("hex");
  }
}
