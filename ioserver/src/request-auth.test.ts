import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { GENERATION_MS, NonceCache } from "./nonce-cache.js";
import { ANY_DISK, deriveKeys, HEADERS, MAX_CLOCK_SKEW_MS, NONCE_BYTES, signRequest } from "./protocol.js";
import { RequestAuthenticator, RequestRefused, type IncomingRequest } from "./request-auth.js";

const KEYS = deriveKeys("test-cluster-secret");
const DISK = "disk-a";

describe("ioserver: the nonce cache", () => {
  it("remembers a nonce at least twice the date window after it was seen, and forgets it after twice that", () => {
    const start = 1_000_000;
    const cache = new NonceCache(start);
    assert.equal(cache.remember("a", start + GENERATION_MS - 1), "new");
    assert.equal(cache.remember("b", start + GENERATION_MS), "new");
    // "a" was seen at the very end of its generation: it must still be known 2W later.
    assert.ok(GENERATION_MS >= 2 * MAX_CLOCK_SKEW_MS);
    assert.equal(cache.remember("a", start + 2 * GENERATION_MS - 1), "seen");
    assert.equal(cache.remember("a", start + 2 * GENERATION_MS), "new", "forgotten after two rotations");
    assert.equal(cache.remember("b", start + 3 * GENERATION_MS - 1), "seen");
  });

  it("forgets everything after two idle generations, and nothing sooner", () => {
    const cache = new NonceCache(0);
    cache.remember("a", 10);
    assert.equal(cache.remember("a", 2 * GENERATION_MS - 1), "seen");
    const idle = new NonceCache(0);
    idle.remember("a", 10);
    assert.equal(idle.remember("b", 5 * GENERATION_MS), "new");
    assert.equal(idle.size, 1);
  });

  it("refuses to take more than a generation holds rather than forget early", () => {
    const cache = new NonceCache(0, GENERATION_MS, 3);
    for (const nonce of ["a", "b", "c"]) assert.equal(cache.remember(nonce, 1), "new");
    assert.equal(cache.remember("d", 2), "full");
    assert.equal(cache.remember("a", 2), "seen");
    assert.equal(cache.remember("d", GENERATION_MS), "new", "room again after the rotation");
    assert.equal(cache.remember("a", GENERATION_MS + 1), "seen", "while the full generation is still remembered");
  });
});

describe("ioserver: request authentication", () => {
  const startedAt = 5_000_000;

  function request(fields: { method?: string; path?: string; disk?: string; date?: number; nonce?: string; anyDiskAllowed?: boolean } = {}): IncomingRequest {
    const { method = "GET", path = "/blobs/0123456789abcdef", disk = DISK, date = startedAt + 1000, nonce = randomBytes(NONCE_BYTES).toString("hex") } = fields;
    const headers: Record<string, string> = {
      [HEADERS.date]: String(date),
      [HEADERS.nonce]: nonce,
      [HEADERS.disk]: disk,
      [HEADERS.signature]: signRequest(KEYS.signing, { method, pathAndQuery: path, disk, bodyLength: "0", nonce, date: String(date) }),
    };
    return { method, pathAndQuery: path, header: (name) => headers[name] ?? "", anyDiskAllowed: fields.anyDiskAllowed ?? false };
  }

  function refusal(authenticator: RequestAuthenticator, incoming: IncomingRequest, now = startedAt + 1000): string {
    try {
      authenticator.authenticate(incoming, now);
      return "accepted";
    } catch (error) {
      assert.ok(error instanceof RequestRefused);
      return error.code;
    }
  }

  it("accepts a signed request once, for its disk, within the window", () => {
    const authenticator = new RequestAuthenticator(KEYS.signing, () => DISK, startedAt);
    const incoming = request();
    assert.equal(refusal(authenticator, incoming), "accepted");
    assert.equal(refusal(authenticator, incoming), "Replayed");
    assert.equal(refusal(authenticator, request({ disk: "disk-b" })), "WrongDisk");
    assert.equal(refusal(authenticator, request({ disk: ANY_DISK })), "WrongDisk");
    assert.equal(refusal(authenticator, request({ disk: ANY_DISK, anyDiskAllowed: true })), "accepted");
    assert.equal(refusal(authenticator, request({ date: startedAt + 1000 - MAX_CLOCK_SKEW_MS - 1 })), "BadSignature");
    assert.equal(refusal(authenticator, request({ date: startedAt + 1000 + MAX_CLOCK_SKEW_MS + 1 })), "BadSignature");
    assert.equal(refusal(authenticator, request({ date: startedAt - 1 })), "Replayed", "dated before the server started");
  });

  it("follows the folder's disk id when a claim changes it", () => {
    let diskId = DISK;
    const authenticator = new RequestAuthenticator(KEYS.signing, () => diskId, startedAt);
    diskId = "disk-b";
    assert.equal(refusal(authenticator, request()), "WrongDisk");
    assert.equal(refusal(authenticator, request({ disk: "disk-b" })), "accepted");
  });

  it("remembers no nonce of a request it refused, so a refusal costs no memory", () => {
    const authenticator = new RequestAuthenticator(KEYS.signing, () => DISK, startedAt);
    const nonce = randomBytes(NONCE_BYTES).toString("hex");
    const forged = request({ nonce });
    const wrongSignature = (name: string) => (name === HEADERS.signature ? "0".repeat(64) : forged.header(name));
    assert.equal(refusal(authenticator, { ...forged, header: wrongSignature }), "BadSignature");
    assert.equal(refusal(authenticator, request({ disk: "disk-b", nonce })), "WrongDisk");
    assert.equal(refusal(authenticator, request({ nonce })), "accepted");
  });
});
