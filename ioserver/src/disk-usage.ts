// How full a disk is, for the health answer: gateways place no new datafiles on a disk whose filesystem has less
// left than their reserve (gateway/src/data/placement.ts).
import { readdir, statfs } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";

// A count walks every fan-out directory (thousands of readdir calls on a full disk): cheap once a minute, too dear
// for every health check. The count is for operators and logs; no decision depends on it being current.
const RECOUNT_AFTER_MS = 60_000;

export interface DiskSpace {
  /** Bytes an unprivileged writer may still use (the root-reserved blocks excluded). */
  freeBytes: number;
  usedBytes: number;
}

export async function diskSpace(dir: string): Promise<DiskSpace> {
  const stats = await statfs(dir);
  return { freeBytes: stats.bavail * stats.bsize, usedBytes: (stats.blocks - stats.bfree) * stats.bsize };
}

/** Datafiles under `dir/blobs`: one file per datafile in fan-out directories (ioserver/src/store.ts). */
export async function countDatafiles(dir: string): Promise<number> {
  const blobsDir = join(dir, "blobs");
  let count = 0;
  for (const entry of await readdir(blobsDir, { withFileTypes: true })) {
    if (entry.isDirectory()) count += (await readdir(join(blobsDir, entry.name))).length;
  }
  return count;
}

export class DatafileCounter {
  private count: number | undefined;
  private countedAt = 0;
  private counting = false;

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** The last count (undefined before the first); starts a new count in the background when that one is old. */
  current(): number | undefined {
    if (!this.counting && Date.now() - this.countedAt >= RECOUNT_AFTER_MS) {
      this.counting = true;
      countDatafiles(this.dir)
        .then((count) => {
          this.count = count;
        })
        .catch((error: unknown) => this.log.warn({ err: error }, "could not count datafiles"))
        .finally(() => {
          this.countedAt = Date.now();
          this.counting = false;
        });
    }
    return this.count;
  }
}
