// Which disk a folder is. The marker file `disk-id` names it; the gateways record that id with every datafile they
// place here, so the id of a folder that holds data must never change, and a folder must never pose as another disk.
//
// A marker starts unclaimed: the folder was just made (a new disk, or a wiped one come back). A gateway claims it
// once its id is in the registry. An unclaimed folder that is still empty may instead take over the id of the
// registered disk it replaces: that is how a wiped disk comes back as itself, empty, rather than as a second disk at
// the same URL (docs/architecture.md, Disks).
import { randomUUID } from "node:crypto";
import { readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fsyncPath } from "./fsync.js";

const MARKER_FILE = "disk-id";

interface Marker {
  diskId: string;
  claimed: boolean;
}

/** `{"diskId":…,"claimed":…}`; a bare id is a marker from before claims, written by a folder that is in use. */
function parseMarker(text: string): Marker {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{")) return { diskId: trimmed, claimed: true };
  const parsed = JSON.parse(trimmed) as Partial<Marker>;
  if (typeof parsed.diskId !== "string" || typeof parsed.claimed !== "boolean") throw new Error(`corrupt ${MARKER_FILE} marker: ${trimmed}`);
  return { diskId: parsed.diskId, claimed: parsed.claimed };
}

async function readMarker(dir: string): Promise<Marker | undefined> {
  try {
    return parseMarker(await readFile(join(dir, MARKER_FILE), "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException)?.code === "ENOENT") return undefined;
    throw error;
  }
}

/** Replaces the marker in one rename, so a crash leaves the old marker or the new one, never a mix or none. */
async function writeMarker(dir: string, marker: Marker): Promise<void> {
  const tmpPath = join(dir, "tmp", `${MARKER_FILE}.${randomUUID()}`);
  await writeFile(tmpPath, `${JSON.stringify(marker)}\n`, { flush: true });
  await rename(tmpPath, join(dir, MARKER_FILE));
  await fsyncPath(dir);
}

/** The folder's disk id, creating an unclaimed marker with a new id on the folder's first start. Needs `dir/tmp`. */
export async function readOrCreateDiskId(dir: string): Promise<string> {
  const existing = await readMarker(dir);
  if (existing) return existing.diskId;
  await writeMarker(dir, { diskId: randomUUID(), claimed: false });
  // Read back: of two processes racing on one folder, both end up with the marker whose rename came last.
  return (await readMarker(dir))!.diskId;
}

/** The names in a directory; none when it is gone (someone emptied the folder under a running server). */
async function namesIn(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException)?.code === "ENOENT") return [];
    throw error;
  }
}

/** True when the folder holds no datafile and no upload in progress: there is nothing a new identity could orphan. */
export async function folderIsEmpty(dir: string): Promise<boolean> {
  if ((await namesIn(join(dir, "tmp"))).some((name) => !name.startsWith(`${MARKER_FILE}.`))) return false;
  // blobs/ holds only fan-out directories (ioserver/src/store.ts); a file directly in it is not ours, but not empty.
  for (const name of await namesIn(join(dir, "blobs"))) {
    const inside = await readdir(join(dir, "blobs", name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return [];
      if (error.code === "ENOTDIR") return [name];
      throw error;
    });
    if (inside.length > 0) return false;
  }
  return true;
}

export type ClaimOutcome = { diskId: string; adopted: boolean } | { refused: string };

export class DiskIdentity {
  // Claims run one at a time: each decides on the marker the previous one left.
  private claims: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    private marker: Marker,
  ) {}

  /** The identity of a folder BlobStore.open has prepared (it creates the marker). */
  static async open(dir: string): Promise<DiskIdentity> {
    await readOrCreateDiskId(dir);
    return new DiskIdentity(dir, (await readMarker(dir))!);
  }

  get diskId(): string {
    return this.marker.diskId;
  }

  get claimed(): boolean {
    return this.marker.claimed;
  }

  /** Unclaimed and empty: the folder may still take over the id of a disk it replaces. */
  async isFresh(): Promise<boolean> {
    return !this.marker.claimed && (await folderIsEmpty(this.dir));
  }

  /**
   * Makes this folder disk `diskId`, claimed. Nothing to do when it is that disk already (a repeated claim, or another
   * gateway's). Otherwise the folder must still be the unclaimed, empty folder `from` that the caller saw: then it
   * gives up its own id for `diskId` (adopted). Anything else is refused, and the marker stays as it was.
   */
  claim(diskId: string, from: string): Promise<ClaimOutcome> {
    const outcome = this.claims.then(() => this.claimNow(diskId, from));
    this.claims = outcome.catch(() => undefined);
    return outcome;
  }

  private async claimNow(diskId: string, from: string): Promise<ClaimOutcome> {
    const current = this.marker;
    if (current.diskId === diskId) {
      if (!current.claimed) await this.replaceMarker({ diskId, claimed: true });
      return { diskId, adopted: false };
    }
    if (current.diskId !== from) return { refused: `this folder is disk ${current.diskId}, not ${from}` };
    if (current.claimed) return { refused: `disk ${current.diskId} is claimed already` };
    if (!(await folderIsEmpty(this.dir))) return { refused: `the folder of disk ${current.diskId} holds datafiles` };
    await this.replaceMarker({ diskId, claimed: true });
    return { diskId, adopted: true };
  }

  private async replaceMarker(marker: Marker): Promise<void> {
    await writeMarker(this.dir, marker);
    this.marker = marker;
  }
}
