// Test-side helpers for comparing bytes (the test may hold what it sent; the server never may).
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";

export function md5Hex(data: Uint8Array): string {
  return createHash("md5").update(data).digest("hex");
}

export function randomData(size: number): Buffer {
  return randomBytes(size);
}

export async function readAll(body: unknown): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** A deterministic pseudo-random stream of `size` bytes, generated on the fly (for objects too big to hold). */
export function patternStream(size: number, seed = 1): Readable {
  let produced = 0;
  let state = seed >>> 0 || 1;
  const block = Buffer.allocUnsafe(1024 * 1024);
  return new Readable({
    read() {
      if (produced >= size) return void this.push(null);
      const length = Math.min(block.length, size - produced);
      const out = Buffer.allocUnsafe(length);
      for (let i = 0; i + 4 <= length; i += 4) {
        state ^= state << 13; state >>>= 0;
        state ^= state >>> 17;
        state ^= state << 5; state >>>= 0;
        out.writeUInt32LE(state, i);
      }
      for (let i = length - (length % 4); i < length; i++) out[i] = i & 0xff;
      produced += length;
      this.push(out);
    },
  });
}

/** MD5 of what patternStream(size, seed) yields, computed by streaming it once more. */
export async function patternMd5(size: number, seed = 1): Promise<string> {
  const hash = createHash("md5");
  for await (const chunk of patternStream(size, seed)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
