// Who is asking: the one identity type that both bucket policies and ACLs are evaluated against.

/** A Weft user is known by a unique name and a 64-hex canonical id (the id ACLs and CanonicalUser principals use). */
export type Requester = { kind: "anonymous" } | { kind: "user"; name: string; canonicalId: string };

const CANONICAL_ID = /^[0-9a-f]{64}$/i;

export function isCanonicalId(text: string): boolean {
  return CANONICAL_ID.test(text);
}
