// Which ioservers hold the slots of a part: rendezvous (highest random weight) hashing of a seed (the
// version or upload-part id) over the candidate servers. Every server gets a pseudo-random score for the
// seed; the highest `width` scores take slots 0, 1, 2… in score order. Any gateway computes the same order
// from the same inputs, load spreads evenly, and adding or removing a server only moves the slots it wins
// or held.
import { createHash } from "node:crypto";

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
