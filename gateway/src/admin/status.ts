// `weft status`: the disks as this gateway sees them, PostgreSQL, the gateways that are running, the durability
// report (meta/src/pg/durability.ts) with the disks this gateway sees down counted as lost, and the multipart uploads
// still in progress.
import type { Sql } from "../../../meta/src/db.js";
import { describeDatabase, listLiveGateways, type DatabaseInfo, type GatewayRecord } from "../../../meta/src/pg/cluster.js";
import { datafilesByDisk, durabilityReport, type DurabilityRow } from "../../../meta/src/pg/durability.js";
import { lastScrubs } from "../../../meta/src/pg/scrub.js";
import { uploadsInProgress } from "../../../meta/src/pg/uploads.js";
import type { IoPool } from "../data/io-pool.js";
import type { DiskState } from "../../../meta/src/pg/ioservers.js";

/** A gateway whose row is older than this is not listed (each refreshes it every GATEWAY_HEARTBEAT_MS). */
export const GATEWAY_HEARTBEAT_MS = 5_000;
const GATEWAY_LIVE_MS = 3 * GATEWAY_HEARTBEAT_MS;
const GATEWAY_FORGET_MS = 24 * 60 * 60 * 1000;

export interface StatusDeps {
  sql: Sql;
  io: IoPool;
}

export interface DiskStatus {
  id: string;
  url: string;
  /** up / down as this gateway sees it; draining and retired as the registry says. */
  state: "up" | "down" | DiskState;
  freeBytes?: number;
  usedBytes?: number;
  /** Datafiles in the folder, as the ioserver last counted them. */
  datafiles?: number;
  /** Datafile rows that place a slot on this disk. */
  slots: number;
  /** When a scrub last went through it; absent: never. */
  scrubbedAt?: Date;
}

export interface DurabilityTotals {
  full: { versions: number; bytes: number };
  degraded: { versions: number; bytes: number };
  unreadable: { versions: number; bytes: number };
}

export interface ClusterStatus {
  disks: DiskStatus[];
  database: DatabaseInfo & { roundTripMs: number };
  gateways: GatewayRecord[];
  durability: { buckets: DurabilityRow[]; totals: DurabilityTotals };
  /** Multipart uploads neither completed nor aborted: their committed parts hold disk space until one or the other. */
  multipartUploads: { inProgress: number; parts: number; bytes: number; oldestInitiated?: Date };
}

export async function clusterStatus({ sql, io }: StatusDeps): Promise<ClusterStatus> {
  const started = process.hrtime.bigint();
  const database = await describeDatabase(sql);
  const roundTripMs = Number(process.hrtime.bigint() - started) / 1e6;
  const views = io.diskViews();
  const unavailable = views.filter((disk) => !disk.up).map((disk) => disk.id);
  const [gateways, slotsByDisk, buckets, scrubs, uploads] = await Promise.all([
    listLiveGateways(sql, GATEWAY_LIVE_MS, GATEWAY_FORGET_MS),
    datafilesByDisk(sql),
    durabilityReport(sql, unavailable),
    lastScrubs(sql),
    uploadsInProgress(sql),
  ]);
  const disks = views.map((disk): DiskStatus => ({
    id: disk.id,
    url: disk.url,
    state: disk.state !== "active" ? disk.state : disk.up ? "up" : "down",
    ...(disk.freeBytes === undefined ? {} : { freeBytes: disk.freeBytes }),
    ...(disk.usedBytes === undefined ? {} : { usedBytes: disk.usedBytes }),
    ...(disk.datafiles === undefined ? {} : { datafiles: disk.datafiles }),
    slots: slotsByDisk.get(disk.id)?.slots ?? 0,
    ...(scrubs.has(disk.id) ? { scrubbedAt: scrubs.get(disk.id) } : {}),
  }));
  const totals: DurabilityTotals = { full: { versions: 0, bytes: 0 }, degraded: { versions: 0, bytes: 0 }, unreadable: { versions: 0, bytes: 0 } };
  for (const row of buckets) {
    totals[row.health].versions += row.versions;
    totals[row.health].bytes += row.bytes;
  }
  const multipartUploads = {
    inProgress: uploads.uploads,
    parts: uploads.parts,
    bytes: uploads.bytes,
    ...(uploads.oldestInitiated ? { oldestInitiated: uploads.oldestInitiated } : {}),
  };
  return { disks, database: { ...database, roundTripMs }, gateways, durability: { buckets, totals }, multipartUploads };
}
