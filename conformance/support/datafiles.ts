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
