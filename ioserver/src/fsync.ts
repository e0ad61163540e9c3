// Durability of directory entries: a new, renamed or removed name is on disk only once its directory is fsynced.
import { open } from "node:fs/promises";

/** fsyncs a file or a directory by path. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
