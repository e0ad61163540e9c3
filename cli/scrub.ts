// `weft scrub [--wait]`: has every disk's ioserver check every datafile it holds (gateway/src/heal/scrubber.ts) and,
// with --wait, follows it with a progress bar. Exit 0 when every disk was scrubbed through; what was found (missing,
// corrupt, orphans) is reported, and is already queued for heal or collection.
import cliProgress from "cli-progress";
import type { ScrubProgress } from "../gateway/src/heal/scrubber.js";
import type { AdminClient } from "./admin-client.js";
import { formatBytes, table } from "./format.js";

const POLL_MS = 500;

export async function scrub(client: AdminClient, options: { wait: boolean; json: boolean }, out: (text: string) => void): Promise<number> {
  let progress = await client.call<ScrubProgress>("POST", "scrub");
  if (!options.wait) {
    out(options.json ? `${JSON.stringify(progress)}\n` : `scrub started on ${progress.disks.length} disks\n`);
    return 0;
  }
  const verified = (report: ScrubProgress) => report.disks.reduce((sum, disk) => sum + disk.bytesVerified, 0);
  const bar = !options.json && process.stdout.isTTY ? new cliProgress.SingleBar({ format: "scrub [{bar}] {percentage}% | {done} of {total_text} | ETA {eta_formatted}", etaBuffer: 20 }, cliProgress.Presets.shades_classic) : undefined;
  bar?.start(Math.max(1, progress.totalBytes), 0, { done: formatBytes(0), total_text: formatBytes(progress.totalBytes) });
  while (progress.running) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    progress = await client.call<ScrubProgress>("GET", "scrub");
    bar?.setTotal(Math.max(1, progress.totalBytes, verified(progress)));
    bar?.update(verified(progress), { done: formatBytes(verified(progress)), total_text: formatBytes(progress.totalBytes) });
  }
  bar?.stop();
  if (options.json) out(`${JSON.stringify(progress)}\n`);
  else {
    out(
      `${table(
        ["DISK", "STATE", "DATAFILES", "VERIFIED", "MISSING", "CORRUPT", "ORPHANS"],
        progress.disks.map((disk) => [
          disk.diskId,
          disk.reason ? `${disk.state}: ${disk.reason}` : disk.state,
          String(disk.datafiles),
          formatBytes(disk.bytesVerified),
          String(disk.missing),
          String(disk.corrupt),
          String(disk.orphans),
        ]),
      )}\n`,
    );
  }
  return progress.disks.every((disk) => disk.state === "done") ? 0 : 1;
}
