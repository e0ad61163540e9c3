// `weft heal [--wait]`: starts a heal pass on the gateway (it first queues every part missing slots) and, with
// --wait, follows it with a progress bar until it ends. Exit 0 when nothing is left to heal.
import cliProgress from "cli-progress";
import type { HealProgress } from "../gateway/src/heal/healer.js";
import type { AdminClient } from "./admin-client.js";
import { formatBytes } from "./format.js";

interface HealReport {
  progress: HealProgress;
  queued: number;
}

const POLL_MS = 500;

export async function heal(client: AdminClient, options: { wait: boolean; json: boolean }, out: (text: string) => void): Promise<number> {
  let report = await client.call<HealReport>("POST", "heal");
  if (!options.wait) {
    out(options.json ? `${JSON.stringify(report)}\n` : `heal started: ${report.queued} parts queued\n`);
    return 0;
  }
  const bar = !options.json && process.stdout.isTTY ? new cliProgress.SingleBar({ format: "heal [{bar}] {value}/{total} parts | {bytes} rebuilt | ETA {eta_formatted}", etaBuffer: 20 }, cliProgress.Presets.shades_classic) : undefined;
  const done = (progress: HealProgress) => progress.partsHealed + progress.partsPostponed + progress.failures;
  bar?.start(Math.max(1, report.progress.queuedAtStart), 0, { bytes: formatBytes(0) });
  while (report.progress.running) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    report = await client.call<HealReport>("GET", "heal");
    bar?.setTotal(Math.max(1, report.progress.queuedAtStart, done(report.progress)));
    bar?.update(done(report.progress), { bytes: formatBytes(report.progress.bytesWritten) });
  }
  bar?.stop();
  const { progress, queued } = report;
  if (options.json) out(`${JSON.stringify(report)}\n`);
  else {
    out(`healed ${progress.partsHealed} parts (${progress.slotsRebuilt} slots, ${formatBytes(progress.bytesWritten)} written)`);
    out(progress.partsPostponed + progress.failures > 0 ? `; ${progress.partsPostponed} postponed, ${progress.failures} failed` : "");
    out(`; ${queued} parts still queued${progress.lastError ? `; last error: ${progress.lastError}` : ""}\n`);
  }
  return queued === 0 && progress.failures === 0 ? 0 : 1;
}
