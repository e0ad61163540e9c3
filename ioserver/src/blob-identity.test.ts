// A blob file records its blob id, so an intact file of another blob in its place is refused, not served.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { copyFile, open, stat, writeFile } from "node:fs/promises";
import { crc32c } from "@node-rs/crc32";
import type { IoClient } from "./client.js";
import { CHECKSUM_BLOCK_SIZE } from "./protocol.js";
import { blobPath, collect, crcHex, rejectsWith, useTestIoServer } from "./test-support.js";

const BLOCK = CHECKSUM_BLOCK_SIZE;
const MiB = 1024 * 1024;
const TRAILER_SIZE = 24;

/** Ids as the gateway makes them: 32 lowercase hex digits. */
function newId(): string {
  return randomBytes(16).toString("hex");
}

async function* once(bytes: Buffer): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** A blob file as ioservers wrote it before blob ids were recorded: [data][block CRC32Cs][24-byte "WFB1" trailer]. */
function unidentifiedBlobFile(data: Buffer): Buffer {
  const blocks = Math.ceil(data.length / BLOCK);
  const checksums = Buffer.alloc(4 * blocks);
  for (let block = 0; block < blocks; block++) {
    checksums.writeUInt32BE(crc32c(data.subarray(block * BLOCK, (block + 1) * BLOCK)) >>> 0, 4 * block);
  }
  const trailer = Buffer.alloc(TRAILER_SIZE);
  trailer.writeUInt32BE(0x57464231, 0);
  trailer.writeUInt32BE(BLOCK, 4);
  trailer.writeBigUInt64BE(BigInt(data.length), 8);
  trailer.writeUInt32BE(crc32c(data) >>> 0, 16);
  trailer.writeUInt32BE(crc32c(trailer.subarray(0, 20)) >>> 0, 20);
  return Buffer.concat([data, checksums, trailer]);
}

describe("ioserver: a blob file proves which blob it is", function () {
  this.timeout(30_000);
  let dir: string;
  let client: IoClient;

  useTestIoServer("weft-ioserver-identity-", (started) => ({ dir, client } = started));

  async function put(size: number): Promise<{ id: string; bytes: Buffer }> {
    const id = newId();
    const bytes = randomBytes(size);
    await client.putBlob(id, once(bytes), size);
    return { id, bytes };
  }

  it("records the id after the block checksums: length + 4 per block + id + 1 + 24 bytes", async () => {
    const { id } = await put(3 * BLOCK + 7);
    assert.equal((await stat(await blobPath(dir, id))).size, 3 * BLOCK + 7 + 4 * 4 + id.length + 1 + TRAILER_SIZE);
  });

  // 5000 bytes is read whole at open, 3 MiB + 7 through its file handle: both paths check the id.
  for (const size of [5000, 3 * MiB + 7]) {
    it(`refuses another blob's file of the same length (${size} bytes) with 500 BlobIdMismatch`, async () => {
      const original = await put(size);
      const foreign = await put(size);
      await copyFile(await blobPath(dir, foreign.id), await blobPath(dir, original.id));

      const whole = await rejectsWith(client.getBlob(original.id), 500, "BlobIdMismatch");
      assert.match(whole.message, new RegExp(foreign.id), "the error names the blob the file belongs to");
      await rejectsWith(client.getBlob(original.id, { start: 0, end: size - 1 }), 500, "BlobIdMismatch");
      await rejectsWith(client.getBlob(original.id, { start: size - 100, end: size - 1 }), 500, "BlobIdMismatch");
      // HEAD answers have no body, so only the status tells; the ioserver's log line has the code.
      await rejectsWith(client.headBlob(original.id), 500);

      assert.ok((await collect(await client.getBlob(foreign.id))).equals(foreign.bytes), "the foreign blob itself is fine");
      const listed = (await client.listBlobs(undefined, 10_000)).ids;
      assert.ok(listed.includes(original.id) && listed.includes(foreign.id), "both ids are still listed");
    });
  }

  it("refuses another blob's file of a different length the same way, whatever range is asked", async () => {
    const original = await put(200_000);
    const longer = await put(300_000);
    await copyFile(await blobPath(dir, longer.id), await blobPath(dir, original.id));
    await rejectsWith(client.getBlob(original.id, { start: 0, end: 199_999 }), 500, "BlobIdMismatch");
    await rejectsWith(client.getBlob(original.id, { start: 250_000, end: 250_010 }), 500, "BlobIdMismatch");

    const shorter = await put(100_000);
    await copyFile(await blobPath(dir, shorter.id), await blobPath(dir, original.id));
    await rejectsWith(client.getBlob(original.id, { start: 0, end: 199_999 }), 500, "BlobIdMismatch");
  });

  it("takes a damaged recorded id for corruption (ChecksumMismatch), not for another blob", async () => {
    const { id } = await put(5000);
    const path = await blobPath(dir, id);
    const file = await open(path, "r+");
    try {
      const idOffset = (await file.stat()).size - TRAILER_SIZE - 1 - id.length;
      await file.write(Buffer.from(id[0] === "a" ? "b" : "a"), 0, 1, idOffset);
    } finally {
      await file.close();
    }
    await rejectsWith(client.getBlob(id), 500, "ChecksumMismatch");
  });

  describe("files written before ids were recorded", () => {
    // Written over a PUT blob's path, so the test need not know the fan-out rule.
    async function putUnidentified(size: number): Promise<{ id: string; bytes: Buffer; path: string }> {
      const { id } = await put(1);
      const bytes = randomBytes(size);
      const path = await blobPath(dir, id);
      await writeFile(path, unidentifiedBlobFile(bytes));
      return { id, bytes, path };
    }

    for (const size of [0, 5000, BLOCK, 3 * MiB + 7]) {
      it(`are still served (${size} bytes): GET, ranged GET and HEAD`, async () => {
        const { id, bytes } = await putUnidentified(size);
        assert.deepEqual(await client.headBlob(id), { length: size, crc32c: crcHex(bytes) });
        assert.ok((await collect(await client.getBlob(id))).equals(bytes));
        if (size > 0) {
          const start = Math.floor(size / 3);
          const end = size - 1;
          assert.ok((await collect(await client.getBlob(id, { start, end }))).equals(bytes.subarray(start, end + 1)));
        }
      });
    }

    it("still have their blocks verified", async () => {
      const { id, bytes, path } = await putUnidentified(5000);
      const file = await open(path, "r+");
      try {
        await file.write(Buffer.from([bytes[10]! ^ 0x01]), 0, 1, 10);
      } finally {
        await file.close();
      }
      await rejectsWith(client.getBlob(id), 500, "ChecksumMismatch");
    });

    it("record no id: in a blob's place, a shorter one is refused by the reader's range check", async () => {
      // What the gateway's reader relies on for a file that records no id: its ranged GET of the length it
      // expects is answered 416, or with a clamped Content-Range the client refuses (RangeMismatch).
      const original = await put(200_000);
      const shorter = await putUnidentified(100_000);
      await copyFile(shorter.path, await blobPath(dir, original.id));
      await rejectsWith(client.getBlob(original.id, { start: 0, end: 199_999 }), 206, "RangeMismatch");
      await rejectsWith(client.getBlob(original.id, { start: 150_000, end: 199_999 }), 416, "RangeNotSatisfiable");
    });

    it("record no id: in a blob's place, a longer one is refused when the reader says how long the datafile is", async () => {
      const original = await put(200_000);
      const longer = await putUnidentified(300_000);
      await copyFile(longer.path, await blobPath(dir, original.id));
      await rejectsWith(client.getBlob(original.id, { start: 0, end: 199_999 }, { datafileLength: 200_000 }), 206, "RangeMismatch");
      await rejectsWith(client.getBlob(original.id, undefined, { datafileLength: 200_000 }), 200, "RangeMismatch");
    });

    it("are written once like any other: a PUT of their id is 409 AlreadyExists", async () => {
      const { id, bytes } = await putUnidentified(5000);
      await rejectsWith(client.putBlob(id, once(randomBytes(5000)), 5000), 409, "AlreadyExists");
      assert.equal((await stat(await blobPath(dir, id))).size, 5000 + 4 + TRAILER_SIZE, "still the file without an id");
      assert.ok((await collect(await client.getBlob(id))).equals(bytes));
    });
  });
});
