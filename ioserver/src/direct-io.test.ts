import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { open } from "node:fs/promises";
import { DatafileWriter, openForDirectReads, readDirect, STAGING_BYTES, supportsDirectIo } from "./direct-io.js";

const MiB = 1024 * 1024;

/** Appends `data` in pieces of `piece` bytes, waiting whenever the writer asks to. */
async function writeAll(writer: DatafileWriter, data: Buffer, piece: number): Promise<void> {
  for (let offset = 0; offset < data.length; offset += piece) {
    const writing = writer.append(data.subarray(offset, offset + piece));
    if (writing) await writing;
  }
}

describe("ioserver: direct I/O", function () {
  let dir: string;
  let direct: boolean;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "weft-direct-io-"));
    direct = await supportsDirectIo(dir);
    // Both paths are tested either way; this only says which one the temp folder's filesystem takes.
    console.log(`      (the temp folder ${direct ? "takes" : "refuses"} O_DIRECT)`);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const mode of ["direct", "buffered"] as const) {
    for (const length of [0, 1, 4095, 4096, STAGING_BYTES - 1, STAGING_BYTES, STAGING_BYTES + 1, 3 * STAGING_BYTES + 4097]) {
      it(`leaves exactly the bytes and the last pieces in the file, ${mode}, ${length} bytes`, async () => {
        const path = join(dir, `${mode}-${length}`);
        const data = randomBytes(length);
        const last = [randomBytes(4 * 17), randomBytes(300)];
        const writer = await DatafileWriter.create(path, { direct: mode === "direct" && direct });
        assert.equal(writer.direct, mode === "direct" && direct);
        await writeAll(writer, data, 32_771);
        await writer.finish(last);
        const file = await readFile(path);
        assert.equal(file.length, length + 368);
        assert.ok(file.equals(Buffer.concat([data, ...last])));
      });
    }
  }

  it("writes more datafiles at once than it keeps staging buffers, every one whole", async () => {
    const files = Array.from({ length: 40 }, (_, index) => ({ path: join(dir, `many-${index}`), data: randomBytes(2 * MiB + index) }));
    const writers = await Promise.all(files.map(({ path, data }) => DatafileWriter.create(path, { direct, expectedLength: data.length })));
    if (direct) assert.ok(writers.some((writer) => writer.direct) && writers.some((writer) => !writer.direct), "some direct, the rest buffered");
    await Promise.all(writers.map(async (writer, index) => {
      await writeAll(writer, files[index]!.data, 65_536);
      await writer.finish([]);
    }));
    for (const { path, data } of files) assert.ok((await readFile(path)).equals(data));
  });

  it("gives its staging buffer back when aborted, so later writes still go direct", async () => {
    for (let round = 0; round < 40; round++) {
      const writer = await DatafileWriter.create(join(dir, `aborted-${round}`), { direct });
      await writeAll(writer, randomBytes(MiB + 1), 65_536);
      await writer.abort();
    }
    const path = join(dir, "after-aborts");
    const data = randomBytes(3 * MiB);
    const writer = await DatafileWriter.create(path, { direct });
    assert.equal(writer.direct, direct);
    await writeAll(writer, data, 65_536);
    await writer.finish([]);
    assert.ok((await readFile(path)).equals(data));
  });

  it("refuses to create a file that exists", async () => {
    const path = join(dir, "exists");
    const writer = await DatafileWriter.create(path, { direct });
    await writer.finish([Buffer.from("first")]);
    await assert.rejects(DatafileWriter.create(path, { direct }), { code: "EEXIST" });
    assert.equal((await stat(path)).size, 5);
  });

  it("reads whole pages from a page boundary, to the file's unaligned end, through a staging buffer", async function () {
    // Only a filesystem that refuses O_DIRECT (tmpfs before Linux 6.6) skips this: there is no direct read to check.
    if (!direct) {
      console.log("      (skipped: the temp folder's filesystem refuses O_DIRECT, so there is no direct read to check)");
      this.skip();
    }
    const path = join(dir, "to-read");
    const data = randomBytes(3 * MiB + 1234);
    const writer = await DatafileWriter.create(path, { direct });
    await writeAll(writer, data, 65_536);
    await writer.finish([]);
    const handle = (await openForDirectReads(path))!;
    try {
      for (const [position, length] of [[0, 100], [0, 2 * MiB + 5], [65_536, MiB], [3 * MiB, 1234], [4096, data.length - 4096]] as const) {
        const target = Buffer.alloc(length);
        assert.equal(await readDirect(handle, target, position), true);
        assert.ok(target.equals(data.subarray(position, position + length)), `${length} bytes at ${position}`);
      }
      await assert.rejects(readDirect(handle, Buffer.alloc(5000), 3 * MiB), { code: "ChecksumMismatch" });
      await assert.rejects(readDirect(handle, Buffer.alloc(10), 100), RangeError);
    } finally {
      await handle.close();
    }
  });

  it("leaves a read to the caller when every staging buffer is taken", async function () {
    if (!direct) this.skip(); // reported by the test above
    const holders = await Promise.all(Array.from({ length: 32 }, (_, index) => DatafileWriter.create(join(dir, `holder-${index}`), { direct })));
    const path = join(dir, "unread");
    const handle = await open(path, "w+");
    try {
      await handle.write(randomBytes(8192), 0, 8192, 0);
      assert.ok(holders.every((writer) => writer.direct));
      assert.equal(await readDirect(handle, Buffer.alloc(4096), 0), false);
    } finally {
      await handle.close();
      await Promise.all(holders.map((writer) => writer.abort()));
    }
  });
});
