// Parsing of the SigV4 authorization material: the Authorization header, the presigned query parameters,
// and the x-amz-date timestamp. Failures are S3Errors with the codes and messages AWS uses.

import { S3Error } from "../s3/errors.js";
import { SCOPE_TERMINATOR, SIGV4_ALGORITHM, type CredentialScope, type QueryParameter } from "./sigv4.js";

export const S3_SERVICE = "s3";
export const MAX_PRESIGNED_EXPIRES_SECONDS = 604800;

export const PRESIGNED_PARAMETERS = {
  algorithm: "X-Amz-Algorithm",
  credential: "X-Amz-Credential",
  date: "X-Amz-Date",
  expires: "X-Amz-Expires",
  signedHeaders: "X-Amz-SignedHeaders",
  signature: "X-Amz-Signature",
  contentSha256: "X-Amz-Content-Sha256",
} as const;

export interface SignatureV4Fields {
  accessKeyId: string;
  scope: CredentialScope;
  /** As listed by the client (normally lowercase and sorted); the canonical request uses them verbatim. */
  signedHeaders: string[];
  signature: string;
}

export interface PresignedFields extends SignatureV4Fields {
  amzDate: string;
  expiresSeconds: number;
  /** X-Amz-Content-Sha256 from the query, when the presigner put one there. */
  payloadHash: string | undefined;
}

const CREDENTIAL_SHAPE = `expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/${SCOPE_TERMINATOR}".`;
const HEADER_MALFORMED = "The authorization header is malformed;";
const CREDENTIAL_PARAMETER_MALFORMED = "Error parsing the X-Amz-Credential parameter;";

/** Parses `AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=a;b, Signature=hex`. */
export function parseAuthorizationHeader(header: string): SignatureV4Fields {
  const malformed = (detail: string) => new S3Error("AuthorizationHeaderMalformed", `${HEADER_MALFORMED} ${detail}`);
  const trimmed = header.trim();
  if (!trimmed.startsWith(`${SIGV4_ALGORITHM} `)) throw malformed(`the authorization mechanism must be ${SIGV4_ALGORITHM}.`);
  const components = new Map<string, string>();
  // s3cmd sends no space after the commas, the SDKs send one: split on commas and trim either way.
  for (const component of trimmed.slice(SIGV4_ALGORITHM.length).split(",")) {
    const piece = component.trim();
    if (piece === "") continue;
    const equals = piece.indexOf("=");
    if (equals <= 0) throw malformed(`the authorization component "${piece}" is malformed.`);
    const name = piece.slice(0, equals).trim();
    if (components.has(name)) throw malformed(`the authorization component "${name}" is repeated.`);
    components.set(name, piece.slice(equals + 1).trim());
  }
  const credential = components.get("Credential");
  const signedHeaders = components.get("SignedHeaders");
  const signature = components.get("Signature");
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    throw malformed("the authorization header requires three components: Credential, SignedHeaders, and Signature.");
  }
  const { accessKeyId, scope } = parseCredential(credential, (detail) => malformed(detail));
  return {
    accessKeyId,
    scope,
    signedHeaders: parseSignedHeaders(signedHeaders, () => malformed("the SignedHeaders component is malformed.")),
    signature: parseSignature(signature, () => malformed("the Signature component is malformed.")),
  };
}

/** Parses the X-Amz-* query parameters of a presigned URL. */
export function parsePresignedQuery(parameters: readonly QueryParameter[]): PresignedFields {
  const queryError = (message: string) => new S3Error("AuthorizationQueryParametersError", message);
  const get = (name: string) => parameters.find((parameter) => parameter.name === name)?.value;
  const algorithm = get(PRESIGNED_PARAMETERS.algorithm);
  const credential = get(PRESIGNED_PARAMETERS.credential);
  const amzDate = get(PRESIGNED_PARAMETERS.date);
  const expires = get(PRESIGNED_PARAMETERS.expires);
  const signedHeaders = get(PRESIGNED_PARAMETERS.signedHeaders);
  const signature = get(PRESIGNED_PARAMETERS.signature);
  if (
    algorithm === undefined ||
    credential === undefined ||
    amzDate === undefined ||
    expires === undefined ||
    signedHeaders === undefined ||
    signature === undefined
  ) {
    throw queryError(
      "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
    );
  }
  if (algorithm !== SIGV4_ALGORITHM) throw queryError(`X-Amz-Algorithm only supports "${SIGV4_ALGORITHM}"`);
  const { accessKeyId, scope } = parseCredential(credential, (detail) => queryError(`${CREDENTIAL_PARAMETER_MALFORMED} ${detail}`));
  if (parseAmzDate(amzDate) === undefined) {
    throw queryError(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
  }
  if (!/^-?\d{1,10}$/.test(expires)) throw queryError("X-Amz-Expires should be a number");
  const expiresSeconds = Number(expires);
  if (expiresSeconds < 0) throw queryError("X-Amz-Expires must be non-negative");
  if (expiresSeconds > MAX_PRESIGNED_EXPIRES_SECONDS) {
    throw queryError(`X-Amz-Expires must be less than a week (in seconds) that is ${MAX_PRESIGNED_EXPIRES_SECONDS}`);
  }
  if (expiresSeconds === 0) throw queryError("X-Amz-Expires must be at least 1 second");
  return {
    accessKeyId,
    scope,
    amzDate,
    expiresSeconds,
    signedHeaders: parseSignedHeaders(signedHeaders, () => queryError("X-Amz-SignedHeaders is malformed.")),
    signature: parseSignature(signature, () => queryError("X-Amz-Signature is malformed.")),
    payloadHash: get(PRESIGNED_PARAMETERS.contentSha256),
  };
}

function parseCredential(
  credential: string,
  malformed: (detail: string) => S3Error,
): { accessKeyId: string; scope: CredentialScope } {
  const parts = credential.split("/");
  if (parts.length !== 5) throw malformed(`the Credential is mal-formed; ${CREDENTIAL_SHAPE}`);
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  if (accessKeyId === "" || region === "" || !/^\d{8}$/.test(date)) {
    throw malformed(`the Credential is mal-formed; ${CREDENTIAL_SHAPE}`);
  }
  if (service !== S3_SERVICE) throw malformed(`incorrect service "${service}". This endpoint belongs to "${S3_SERVICE}".`);
  if (terminator !== SCOPE_TERMINATOR) {
    throw malformed(`incorrect terminal "${terminator}". This endpoint uses "${SCOPE_TERMINATOR}".`);
  }
  return { accessKeyId, scope: { date, region, service } };
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function parseSignedHeaders(list: string, malformed: () => S3Error): string[] {
  const names = list.split(";");
  if (names.some((name) => !HEADER_NAME.test(name))) throw malformed();
  return names;
}

function parseSignature(signature: string, malformed: () => S3Error): string {
  if (!/^[0-9a-fA-F]{64}$/.test(signature)) throw malformed();
  return signature;
}

/** Milliseconds since the epoch for `yyyymmddThhmmssZ`, or undefined when malformed or not a real instant. */
export function parseAmzDate(value: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC carries fields over (30 February is 2 March; years 0-99 are 1900-1999): a real instant reads back the
  // same fields. Checked on every request, so without formatting a string to compare.
  const date = new Date(ms);
  const real =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  return real ? ms : undefined;
}

/** `yyyymmddThhmmssZ` */
export function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}
