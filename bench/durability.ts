// The durability section of `npm run bench`: a large PUT with one ioserver down, and the throughput of heal (a wiped
// disk rebuilt) and of scrub (every datafile checked on its ioserver), driven through the admin API as `weft` does.
// Heal writes what it rebuilds to the one replaced disk, so its rate is held against one disk's write ceiling; scrub
// reads every disk at once, so its rate is held against the disk-read ceiling.
import { rm, writeFile } from "node:fs/promises";
import { AdminClient } from "../cli/admin-client.js";
import type { LocalCluster } from "../cluster/local-cluster.js";
import type { HealProgress } from "../gateway/src/heal/healer.js";
import type { ScrubProgress } from "../gateway/src/heal/scrubber.js";

const MiB = 1024 * 1024;

/** What the section uses of the benchmark's own helpers (bench/run.ts). */
export interface BenchKit {
  runs: number;
  largeBytes: number;
  record(section: string, name: string, samples: number[], unit: string, extra?: { ceiling?: string; ratio?: number; note?: string }): unknown;
  put(cluster: LocalCluster, path: string, size: number): Promise<unknown>;
  timed(run: () => Promise<unknown>): Promise<number>;
  median(values: number[]): number;
}

/** Settings the benchmark's cluster runs with, so that heal and scrub are measured at full speed and only on demand. */
export const DURABILITY_BENCH_ENV = { WEFT_HEAL_BYTES_PER_SECOND: "0", WEFT_SCRUB_BYTES_PER_SECOND: "0", WEFT_HEAL_INTERVAL_MS: String(24 * 3600_000) };

const settle = () => new Promise((resolve) => setTimeout(resolve, 2500)); // the gateway's next disk round

async function until<T>(poll: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await poll();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function durability(cluster: LocalCluster, ceilings: { disk: number; diskRead: number; parityDisk: number }, kit: BenchKit): Promise<void> {
  console.log("\nDurability (PUT with a disk down, heal of a wiped disk, scrub of every disk)");
  const admin = new AdminClient({ endpoint: cluster.endpoint, accessKeyId: cluster.accessKey, secretAccessKey: cluster.secretKey, region: cluster.region });
  const size = `${kit.largeBytes / MiB} MiB`;
  await kit.put(cluster, "/durability", 0);

  await cluster.ioservers[5]!.stop();
  await settle();
  const degradedPut: number[] = [];
  for (let run = 0; run < kit.runs; run++) degradedPut.push(kit.largeBytes / MiB / (await kit.timed(() => kit.put(cluster, `/durability/one-down-${run}`, kit.largeBytes))));
  kit.record("durability", `PUT ${size}, one stream, 1 of 6 ioservers down`, degradedPut, "MiB/s", { ceiling: "4+2 disk", ratio: kit.median(degradedPut) / ceilings.parityDisk });
  await cluster.restartIoServer(5);
  await settle();

  // Heal: everything disk 2 held, lost with its folder; it comes back empty as the same disk.
  for (let run = 0; run < kit.runs; run++) await kit.put(cluster, `/durability/whole-${run}`, kit.largeBytes);
  const wiped = cluster.ioservers[2]!;
  await wiped.stop();
  await rm(wiped.dir, { recursive: true, force: true });
  await cluster.restartIoServer(2);
  await settle();
  const healStarted = performance.now();
  await admin.call("POST", "heal");
  const healed = await until(() => admin.call<{ progress: HealProgress; queued: number }>("GET", "heal"), (report) => !report.progress.running);
  const healSeconds = (performance.now() - healStarted) / 1000;
  if (healed.queued !== 0 || healed.progress.failures > 0) throw new Error(`heal left ${healed.queued} parts: ${JSON.stringify(healed.progress)}`);
  const healRate = healed.progress.bytesWritten / MiB / healSeconds;
  kit.record("durability", `heal: rebuild a wiped disk (${(healed.progress.bytesWritten / MiB).toFixed(0)} MiB of datafiles)`, [healRate], "MiB/s written", {
    ceiling: "disk write",
    ratio: healRate / ceilings.disk,
    note: `reads k = 4 times that from the other disks; ${healed.progress.partsHealed} parts in ${healSeconds.toFixed(1)} s`,
  });

  const cold = await dropCaches();
  const scrubStarted = performance.now();
  await admin.call("POST", "scrub");
  const scrubbed = await until(() => admin.call<ScrubProgress>("GET", "scrub"), (report) => !report.running);
  const scrubSeconds = (performance.now() - scrubStarted) / 1000;
  if (!scrubbed.disks.every((disk) => disk.state === "done")) throw new Error(`scrub skipped disks: ${JSON.stringify(scrubbed.disks)}`);
  const verified = scrubbed.disks.reduce((sum, disk) => sum + disk.bytesVerified, 0);
  const scrubRate = verified / MiB / scrubSeconds;
  kit.record("durability", `scrub: every datafile of 6 disks (${(verified / MiB).toFixed(0)} MiB)`, [scrubRate], "MiB/s verified", {
    ceiling: "disk read",
    ratio: scrubRate / ceilings.diskRead,
    note: `${scrubbed.disks.reduce((sum, disk) => sum + disk.datafiles, 0)} datafiles in ${scrubSeconds.toFixed(1)} s, all six disks at once${cold ? "" : "; page cache not dropped (not root)"}`,
  });
}

/**
 * Asks the kernel to drop clean page cache (root only), so that reads that follow come from the disk; false when it
 * could not, and figures of reads are then the page cache's.
 */
export async function dropCaches(): Promise<boolean> {
  return writeFile("/proc/sys/vm/drop_caches", "1").then(
    () => true,
    () => false,
  );
}
