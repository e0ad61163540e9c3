// What the ioserver's tests share: the secret, a spawned server with its client, helpers to build and bend signed
// requests by hand, and to look into the server's folder.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32c } from "@node-rs/crc32";
import { withBodyTag } from "./body-tag.js";
import { IoClient, IoServerError } from "./client.js";
import { BODY_TAG_SIZE, CHUNKED_BODY, deriveKeys, HEADERS, NONCE_BYTES, signRequest } from "./protocol.js";
import { spawnIoServer, type IoServerProcess } from "./spawn.js";

export const SECRET = "test-cluster-secret";
export const KEYS = deriveKeys(SECRET);
// The failures these tests provoke on purpose would otherwise fill the output; WEFT_LOG_LEVEL=info shows them.
export const LOG_LEVEL = process.env.WEFT_LOG_LEVEL ?? "fatal";
export function newId(): string {
  return randomUUID();
}

/** Yields `bytes` in pieces that do not line up with checksum blocks. */
export async function* pieces(bytes: Buffer, size = 50_000): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

export async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export function crcHex(bytes: Buffer): string {
  return (crc32c(bytes) >>> 0).toString(16).padStart(8, "0");
}

export async function blobPath(dir: string, id: string): Promise<string> {
  for (const fanout of await readdir(join(dir, "blobs"))) {
    if ((await readdir(join(dir, "blobs", fanout))).includes(id)) return join(dir, "blobs", fanout, id);
  }
  throw new Error(`blob ${id} not found on disk`);
}

/** The server deletes the temp file of a failed upload asynchronously after the connection drops. */
export async function waitForEmptyTmp(dir: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  for (;;) {
    const left = await readdir(join(dir, "tmp"));
    if (left.length === 0) return;
    if (Date.now() > deadline) assert.fail(`temp files left behind: ${left.join(", ")}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 25));
  }
}

export async function rejectsWith(promise: Promise<unknown>, status: number | undefined, code?: string): Promise<IoServerError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof IoServerError, `expected IoServerError, got ${String(error)}`);
    assert.equal(error.status, status, error.message);
    if (code !== undefined) assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail("expected a rejection");
}

/** Headers as the client signs them, for requests a test builds (and bends) itself. */
export function signedHeaders(
  method: string,
  path: string,
  disk: string,
  { bodyLength = "0", date = String(Date.now()) }: { bodyLength?: string; date?: string } = {},
): Record<string, string> {
  const nonce = randomBytes(NONCE_BYTES).toString("hex");
  const signature = signRequest(KEYS.signing, { method, pathAndQuery: path, disk, bodyLength, nonce, date });
  return { [HEADERS.date]: date, [HEADERS.nonce]: nonce, [HEADERS.disk]: disk, [HEADERS.signature]: signature };
}

/** A signed PUT of `data` exactly as the client sends it: headers, and the body with its tag. */
export async function signedPut(path: string, disk: string, data: Buffer, { chunked = false } = {}): Promise<{ headers: Record<string, string>; body: Buffer }> {
  const headers = signedHeaders("PUT", path, disk, { bodyLength: chunked ? CHUNKED_BODY : String(data.length + BODY_TAG_SIZE) });
  const tagged = withBodyTag(pieces(data), KEYS.bodyTag, Buffer.from(headers[HEADERS.nonce]!, "hex"), Buffer.from(headers[HEADERS.signature]!, "hex"));
  return { headers, body: await collect(tagged as AsyncIterable<Buffer>) };
}

export interface TestIoServer {
  dir: string;
  server: IoServerProcess;
  client: IoClient;
  stop(): Promise<void>;
}

/** An ioserver on a new temp folder, and a client of it; stop() removes the folder. */
async function startTestIoServer(prefix: string): Promise<TestIoServer> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const server = await spawnIoServer({ dir, secret: SECRET, logLevel: LOG_LEVEL });
  const client = new IoClient(server.url, SECRET);
  return {
    dir,
    server,
    client,
    async stop() {
      await client.close();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Starts an ioserver before the suite's tests, hands it to `use`, and stops it after them. */
export function useTestIoServer(prefix: string, use: (ioserver: TestIoServer) => void): void {
  let ioserver: TestIoServer | undefined;
  before(async () => use((ioserver = await startTestIoServer(prefix))));
  after(async () => ioserver?.stop());
}
