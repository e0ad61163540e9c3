// `weft disk add URL | drain ID [--wait] | retire ID [--force]`: the life cycle of a disk (docs/architecture.md, Disks).
// Drain moves every slot of a disk to others (heal does the work) and --wait follows it until the disk holds none;
// retire then forgets it. Retiring a disk that still holds slots other disks cannot replace is refused without --force.
import cliProgress from "cli-progress";
import type { ClusterStatus } from "../gateway/src/admin/status.js";
import type { AdminClient } from "./admin-client.js";

const POLL_MS = 500;

export async function disk(client: AdminClient, args: string[], options: { wait: boolean; json: boolean; force: boolean }, out: (text: string) => void): Promise<number | undefined> {
  const [action, target, ...rest] = args;
  if (target === undefined || rest.length > 0) return undefined;
  const print = (value: unknown, text: string) => out(options.json ? `${JSON.stringify(value)}\n` : `${text}\n`);
  if (action === "add") {
    const added = await client.call<{ id: string; url: string; state: string }>("POST", "disk/add", { url: target });
    print(added, `disk ${added.id} at ${added.url}: ${added.state}, up`);
    return 0;
  }
  if (action === "retire") {
    const retired = await client.call<{ id: string; slotsLost: number }>("POST", "disk/retire", { id: target, force: options.force });
    print(retired, `disk ${retired.id} retired; the ${retired.slotsLost} slots it held are queued for heal (weft heal rebuilds them now)`);
    return 0;
  }
  if (action !== "drain") return undefined;
  const drained = await client.call<{ id: string; partsQueued: number }>("POST", "disk/drain", { id: target });
  if (!options.wait) {
    print(drained, `disk ${drained.id} draining: ${drained.partsQueued} parts queued to move off it`);
    return 0;
  }
  const slotsOn = async () => (await client.call<ClusterStatus>("GET", "status")).disks.find((candidate) => candidate.id === target)?.slots ?? 0;
  const start = await slotsOn();
  const bar = !options.json && process.stdout.isTTY ? new cliProgress.SingleBar({ format: "drain [{bar}] {value}/{total} slots moved | ETA {eta_formatted}", etaBuffer: 20 }, cliProgress.Presets.shades_classic) : undefined;
  bar?.start(Math.max(1, start), 0);
  let left = start;
  let idleRounds = 0;
  while (left > 0) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const now = await slotsOn();
    const heal = await client.call<{ progress: { running: boolean }; queued: number }>("GET", "heal");
    // Nothing moves and nothing is being healed: the rest waits for disks (too few up, or no room).
    idleRounds = now === left && !heal.progress.running ? idleRounds + 1 : 0;
    left = now;
    bar?.update(start - left);
    if (idleRounds >= 20) break;
  }
  bar?.stop();
  print({ id: target, slotsLeft: left }, left === 0 ? `disk ${target} holds no slots: it can be retired` : `disk ${target} still holds ${left} slots that cannot be moved yet (weft status shows why)`);
  return left === 0 ? 0 : 1;
}
