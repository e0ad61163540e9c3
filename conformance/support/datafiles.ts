// Datafiles on an ioserver's disk, as fault tests reach them: listed from the folder, damaged in place.
import { open, readdir } from "node:fs/promises";
import { join } from "node:path";

/** Every datafile an ioserver holds (under its blobs/ folder). */
export async function datafilesOf(ioserverDir: string): Promise<string[]> {
  const entries = await readdir(join(ioserverDir, "blobs"), { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

/** Flips one byte at `offset` of a datafile, as a failing disk might: the 64 KiB block holding it fails its CRC. */
export async function flipByteAt(path: string, offset: number): Promise<void> {
  const file = await open(path, "r+");
  try {
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, offset);
    byte[0] ^= 0x5a;
    await file.write(byte, 0, 1, offset);
  } finally {
    await file.close();
  }
}

/** The ioserver (its index in the cluster) and the datafile holding data slot 0 of an object: the one whose first bytes are the object's. */
export async function holderOfFirstDataSlot(ioservers: readonly { dir: string }[], data: Buffer): Promise<{ index: number; path: string }> {
  const head = Buffer.alloc(64);
  for (const [index, ioserver] of ioservers.entries()) {
    for (const path of await datafilesOf(ioserver.dir)) {
      const file = await open(path, "r");
      try {
        const { bytesRead } = await file.read(head, 0, head.length, 0);
        if (bytesRead === head.length && head.equals(data.subarray(0, head.length))) return { index, path };
      } finally {
        await file.close();
      }
    }
  }
  throw new Error("no datafile starts with the object's first bytes");
}
