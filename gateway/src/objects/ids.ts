// The ids Weft mints: version ids, upload ids, datafile ids.
import { randomUUID } from "node:crypto";

/**
 * Opaque ids (version ids, upload ids, datafile ids): 32 lowercase hex digits, 122 of their bits random (a v4 UUID
 * without dashes). randomUUID draws from a cached entropy pool; randomBytes costs a system call per id.
 */
export function newId(): string {
  return randomUUID().replaceAll("-", "");
}

/** The version ids Weft mints (32 lowercase hex digits), and "null": the version of objects written unversioned. */
const VERSION_ID = /^(?:null|[0-9a-f]{32})$/;

export function isVersionId(value: string): boolean {
  return VERSION_ID.test(value);
}
