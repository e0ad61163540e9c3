// Which ioservers hold the slots of a part: rendezvous (highest random weight) hashing of a seed (the
// version or upload-part id) over the candidate servers. Every server gets a pseudo-random score for the
// seed; the highest `width` scores take slots 0, 1, 2… in score order. Any gateway computes the same order
// from the same inputs, load spreads evenly, and adding or removing a server only moves the slots it wins
// or held. The candidates are one per physical disk (writableDiskIds), so no part has two slots on one disk.
import { createHash } from "node:crypto";
import type { DiskState } from "../../../meta/src/pg/ioservers.js";

/** What placement needs to know of a registered disk (gateway/src/data/io-pool.ts keeps it current). */
export interface DiskView {
  id: string;
  /** Where it answers, as an origin: the physical disk behind a URL is one, whatever ids claim it. */
  url: string;
  /** It answered its last health check at this URL as itself, and no call to it has failed since. */
  up: boolean;
  state: DiskState;
  /** What its filesystem has left; undefined when its ioserver does not report it. */
  freeBytes: number | undefined;
}

/**
 * The disks a new slot may go on: up, active (draining and retired disks only serve reads) and with at least
 * `reserveBytes` free, one per physical disk: distinct ids at distinct URLs. An id up at two URLs, or two up ids at
 * one URL, mean that something answered for another disk; with no way to tell which is real, none gets new data.
 */
export function writableDiskIds(disks: readonly DiskView[], reserveBytes: number): string[] {
  const up = disks.filter((disk) => disk.up);
  const count = (values: string[]) => values.reduce((counts, value) => counts.set(value, (counts.get(value) ?? 0) + 1), new Map<string, number>());
  const upPerUrl = count(up.map((disk) => disk.url));
  const upPerId = count(up.map((disk) => disk.id));
  return up
    .filter((disk) => upPerUrl.get(disk.url) === 1 && upPerId.get(disk.id) === 1)
    .filter((disk) => disk.state === "active" && (disk.freeBytes === undefined || disk.freeBytes >= reserveBytes))
    .map((disk) => disk.id);
}

export class PlacementError extends Error {
  constructor(
    readonly needed: number,
    readonly available: number,
  ) {
    super(`placement needs ${needed} distinct ioservers, only ${available} available`);
    this.name = "PlacementError";
  }
}

function score(seed: string, serverId: string): Buffer {
  // The NUL separator keeps ("ab","c") and ("a","bc") apart.
  return createHash("sha256").update(seed).update("\0").update(serverId).digest();
}

export function placeSlots(seed: string, serverIds: string[], width: number): string[] {
  if (!Number.isInteger(width) || width < 1) throw new RangeError(`bad placement width ${width}`);
  const distinct = [...new Set(serverIds)];
  if (distinct.length < width) throw new PlacementError(width, distinct.length);
  const scored = distinct.map((id) => ({ id, score: score(seed, id) }));
  // Ties need a full sha256 collision; break them by id anyway so the order is total.
  scored.sort((a, b) => Buffer.compare(b.score, a.score) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return scored.slice(0, width).map(({ id }) => id);
}
