// The encryption headers of S3 requests and responses: what a write asks for (x-amz-server-side-encryption: AES256 for
// SSE-S3, the x-amz-server-side-encryption-customer-* trio for SSE-C), the customer key a read brings, and what the
// answer says of the object. Messages are AWS's.
import type { IncomingHttpHeaders } from "node:http";
import { S3Error } from "../s3/errors.js";
import { headerValue } from "../s3/headers.js";
import { customerKeyMd5, type CustomerKey, type EncryptionRequest, type ObjectEncryption } from "./object-keys.js";

export const SSE = {
  algorithm: "x-amz-server-side-encryption",
  customerAlgorithm: "x-amz-server-side-encryption-customer-algorithm",
  customerKey: "x-amz-server-side-encryption-customer-key",
  customerKeyMd5: "x-amz-server-side-encryption-customer-key-md5",
} as const;

/** The SSE-C headers of a copy's source (CopyObject, UploadPartCopy). */
export const COPY_SOURCE_SSE_PREFIX = "x-amz-copy-source-server-side-encryption-customer-";
const CUSTOMER_PREFIX = "x-amz-server-side-encryption-customer-";

const KMS = /^aws:kms(:dsse)?$/;
const CUSTOMER_KEY_BYTES = 32;

function invalidArgument(message: string, name: string, value?: string): S3Error {
  return new S3Error("InvalidArgument", message, { details: { ArgumentName: name, ...(value === undefined ? {} : { ArgumentValue: value }) } });
}

/**
 * The SSE-C key of a request (prefix: the headers' common start, CUSTOMER_PREFIX or COPY_SOURCE_SSE_PREFIX), checked as
 * AWS checks it; undefined when none of its headers is there.
 */
export function customerKeyFromHeaders(headers: IncomingHttpHeaders, prefix = CUSTOMER_PREFIX): CustomerKey | undefined {
  const algorithmName = `${prefix}algorithm`;
  const algorithm = headerValue(headers, algorithmName);
  const keyText = headerValue(headers, `${prefix}key`);
  const md5 = headerValue(headers, `${prefix}key-md5`);
  if (algorithm === undefined && keyText === undefined && md5 === undefined) return undefined;
  if (algorithm === undefined) {
    throw invalidArgument("Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.", algorithmName);
  }
  if (algorithm !== "AES256") throw invalidArgument("The encryption method specified is not supported", algorithmName, algorithm);
  if (keyText === undefined) {
    throw invalidArgument("Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.", `${prefix}key`);
  }
  const key = Buffer.from(keyText, "base64");
  if (key.length !== CUSTOMER_KEY_BYTES || key.toString("base64") !== keyText.trim()) {
    throw invalidArgument("The secret key was invalid for the specified algorithm.", `${prefix}key`);
  }
  if (md5 === undefined) {
    throw invalidArgument("Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.", `${prefix}key-MD5`);
  }
  const md5Base64 = customerKeyMd5(key);
  if (md5 !== md5Base64) throw invalidArgument("The calculated MD5 hash of the key did not match the hash that was provided.", `${prefix}key-MD5`);
  return { key, md5Base64 };
}

/**
 * What a write's headers ask for: SSE-S3, SSE-C, or (undefined) nothing, in which case the bucket's default applies.
 * SSE-KMS is 501 NotImplemented: no key management service stands behind Weft.
 */
export function requestedEncryption(headers: IncomingHttpHeaders): EncryptionRequest | undefined {
  const algorithm = headerValue(headers, SSE.algorithm);
  const customerKey = customerKeyFromHeaders(headers);
  if (algorithm !== undefined && customerKey) {
    throw invalidArgument("Server Side Encryption with Customer provided key is incompatible with the encryption method specified", SSE.algorithm, algorithm);
  }
  if (customerKey) return { mode: "SSE-C", customerKey };
  if (algorithm === undefined) return undefined;
  if (KMS.test(algorithm)) {
    throw new S3Error("NotImplemented", `Server-side encryption with ${algorithm} (a key management service) is not implemented by this server; AES256 is.`, {
      details: { Header: SSE.algorithm },
    });
  }
  if (algorithm !== "AES256") throw invalidArgument("The encryption method specified is not supported", SSE.algorithm, algorithm);
  return { mode: "SSE-S3" };
}

/** The write's own request, else the bucket's default encryption (SSE-S3), else none. */
export function encryptionOfWrite(headers: IncomingHttpHeaders, bucketDefault: "AES256" | undefined): EncryptionRequest | undefined {
  return requestedEncryption(headers) ?? (bucketDefault === "AES256" ? { mode: "SSE-S3" } : undefined);
}

/** How a version or an upload is encrypted, if it is. */
export function encryptionModeOf(stored: { encryption?: unknown }): ObjectEncryption["mode"] | undefined {
  return (stored.encryption as ObjectEncryption | undefined)?.mode;
}

/** What the answer to a write says of the encryption it was stored with (`encryption`: its request's or the default). */
export function requestedEncryptionHeaders(encryption: EncryptionRequest | undefined): Record<string, string> {
  return encryptionResponseHeaders(encryption?.mode, encryption?.mode === "SSE-C" ? encryption.customerKey : undefined);
}

/** What an answer about an object says of its encryption; nothing for an object stored in plain. */
export function encryptionResponseHeaders(mode: ObjectEncryption["mode"] | undefined, customerKey?: CustomerKey): Record<string, string> {
  if (mode === "SSE-S3") return { [SSE.algorithm]: "AES256" };
  if (mode === "SSE-C" && customerKey) return { [SSE.customerAlgorithm]: "AES256", [SSE.customerKeyMd5]: customerKey.md5Base64 };
  return {};
}
