// The gateway's view of the disks: the registry in PostgreSQL (every disk any gateway registered, with its state)
// held against what answers at each URL. Every round (2 s) asks every registered URL and every URL of this gateway's
// WEFT_IOSERVERS who is there, and a disk is up only while its registered URL answers with its id: a disk this
// gateway has not seen answer is down. The round also registers new disks, takes wiped ones back as empty
// replacements, follows disks that moved, and refuses folders that pose as another disk (docs/architecture.md, Disks).
import { lstat } from "node:fs/promises";
import { isIPv4 } from "node:net";
import { IoClient, IoServerError } from "../../../ioserver/src/client.js";
import type { HealthResponse } from "../../../ioserver/src/protocol.js";
import type { Sql } from "../../../meta/src/db.js";
import { listDisks, moveDisk, recordEmptyReplacement, registerDisk, type DiskRecord } from "../../../meta/src/pg/ioservers.js";
import type { Logger } from "pino";
import { writableDiskIds, type DiskView } from "./placement.js";

// A round must end before the next one is due, with a dead server among the others.
const HEALTH_TIMEOUT_MS = 1500;
// A claim writes and fsyncs the folder's marker.
const CLAIM_TIMEOUT_MS = 5000;

export interface IoPoolOptions {
  /** A disk whose filesystem has less free space than this gets no new slots. */
  reserveBytes: number;
}

/** Two spellings of one server (a trailing slash, a path) are one URL: clients talk to the origin only. */
function originOf(url: string): string {
  return new URL(url).origin;
}

/** A disk as the last round saw it; the sizes are those of its last answer, absent while it is down. */
export interface DiskReport extends DiskView {
  usedBytes?: number;
  /** Datafiles in its folder, as its ioserver last counted them. */
  datafiles?: number;
}

interface Disk extends DiskReport {
  /** What the last round found; `up` also turns false when a call fails (reportFailure). */
  answered: boolean;
  /** The Unix socket data requests take instead of TCP (localSocketOf). */
  localSocket?: string;
}

export class IoPool {
  private disks = new Map<string, Disk>();
  private readonly configuredUrls: string[];
  /** Clients for data, one per disk and URL: every request names the disk it is for, and the ioserver checks it. */
  private readonly clients = new Map<string, IoClient>();
  /**
   * Clients for status and claims, by origin, for whichever disk answers there: a data client's connections may all be
   * busy streaming.
   */
  private readonly probes = new Map<string, IoClient>();
  /** "url disk path" of each local socket found to reach its disk's ioserver (localSocketOf). */
  private readonly checkedLocalSockets = new Set<string>();
  /** Why the folder at an origin is not used, as last logged. */
  private refusals = new Map<string, string>();
  private rounds: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    urls: string[],
    private readonly secret: string,
    private readonly sql: Sql,
    private readonly log: Logger,
    private readonly options: IoPoolOptions,
  ) {
    this.configuredUrls = [...new Set(urls.map(originOf))];
  }

  /** Runs a first round, so that the gateway starts knowing which disks are up, then one every interval. */
  async start(healthIntervalMs = 2000): Promise<void> {
    await this.refresh();
    const schedule = () => {
      if (this.closed) return;
      this.timer = setTimeout(() => {
        void this.refresh()
          .catch((error: unknown) => this.log.warn({ err: error }, "disk health round failed"))
          .finally(schedule);
      }, healthIntervalMs);
      this.timer.unref();
    };
    schedule();
  }

  /**
   * `weft disk add`: makes `url` one of this gateway's URLs and runs a round, which registers the folder there if it is
   * a new one; from then on every gateway finds it in the registry. Resolves to the disk, or throws why it was refused.
   */
  async addDisk(url: string): Promise<DiskReport> {
    const origin = originOf(url);
    if (!this.configuredUrls.includes(origin)) this.configuredUrls.push(origin);
    await this.refresh();
    const disk = [...this.disks.values()].find((candidate) => candidate.url === origin && candidate.up);
    if (disk) return this.diskViews().find((view) => view.id === disk.id)!;
    throw new Error(this.refusals.get(origin) ?? `no ioserver answers at ${origin}`);
  }

  /** One round; rounds never overlap. */
  refresh(): Promise<void> {
    const round = this.rounds.then(() => this.runRound());
    this.rounds = round.catch(() => undefined);
    return round;
  }

  private async runRound(): Promise<void> {
    let registry = await listDisks(this.sql);
    const urls = [...new Set([...this.configuredUrls, ...registry.map((disk) => originOf(disk.url))])];
    const answers = new Map<string, HealthResponse>();
    await Promise.all(
      urls.map(async (url) => {
        const answer = await this.probe(url)
          .health({ signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) })
          .catch(() => undefined);
        if (answer) answers.set(url, answer);
      }),
    );
    const answeredAt = new Map<string, string[]>();
    for (const [url, answer] of answers) answeredAt.set(answer.diskId, [...(answeredAt.get(answer.diskId) ?? []), url]);

    const round: Round = { registry, answeredAt, confirmed: new Map(), refusals: new Map(), registryChanged: false, localSockets: new Map() };
    // One server at a time: settling one may change the registry rows the next one is judged against.
    for (const [url, answer] of answers) await this.settle(round, url, answer);
    if (round.registryChanged) registry = await listDisks(this.sql);
    await Promise.all(
      [...round.confirmed].map(async ([id, url]) => {
        const socket = await this.localSocketOf(url, id, answers.get(url)!);
        if (socket !== undefined) round.localSockets.set(id, socket);
      }),
    );
    this.publish(registry, round, answers);
  }

  /** Decides what the folder answering at `url` is, and records in `round` the disk it confirms, if any. */
  private async settle(round: Round, url: string, answer: HealthResponse): Promise<void> {
    const id = answer.diskId;
    // An ioserver older than claims leaves `claimed` out; its marker is one a disk in use wrote.
    const claimed = answer.claimed !== false;
    const registered = round.registry.find((disk) => disk.id === id);
    if (registered) {
      const registeredUrl = originOf(registered.url);
      if (registeredUrl !== url) {
        if (round.answeredAt.get(id)!.includes(registeredUrl)) {
          round.refusals.set(url, `disk ${id} answers here and at its registered URL ${registeredUrl}`);
          return;
        }
        if (!(await moveDisk(this.sql, { id, fromUrl: registered.url, toUrl: url }))) return;
        round.registryChanged = true;
        this.log.warn({ ioserver: id, from: registered.url, url }, "disk moved to another URL");
      }
      if (claimed || (await this.claim(round, url, id, id))) round.confirmed.set(id, url);
      return;
    }

    const holders = round.registry.filter((disk) => originOf(disk.url) === url && disk.state !== "retired");
    if (holders.length === 0) {
      if (!answer.fresh) {
        round.refusals.set(url, `disk ${id} is not registered, and its folder is not a new one (claimed, or holds datafiles)`);
        return;
      }
      const registration = await registerDisk(this.sql, { id, url });
      // Another gateway registered a disk here since the registry was read; the next round decides.
      if (registration === "url-taken") return;
      round.registryChanged = true;
      if (registration === "registered") this.log.info({ ioserver: id, url }, "new disk registered");
      if (await this.claim(round, url, id, id)) round.confirmed.set(id, url);
      return;
    }
    if (holders.length > 1) {
      round.refusals.set(url, `disks ${holders.map((disk) => disk.id).join(", ")} are all registered at this URL; retire the ones that are gone`);
      return;
    }
    const [replaced] = holders as [DiskRecord];
    // The registered disk answers elsewhere: it moved, and the folder here is judged once the move is recorded.
    if (round.answeredAt.has(replaced.id)) return;
    if (!answer.fresh) {
      round.refusals.set(url, `disk ${replaced.id} is registered here, but disk ${id} answers and its folder is not an empty replacement`);
      return;
    }
    // PostgreSQL first: once the folder has taken the id it looks like the disk itself, and nothing would record that
    // it came back empty. A gateway that dies between the two finds the same fresh folder next round, and the record,
    // idempotent per folder, keeps its first time.
    const recorded = await recordEmptyReplacement(this.sql, { id: replaced.id, url: replaced.url, folderId: id });
    if (!recorded.recorded) {
      this.log.warn({ ioserver: replaced.id, url, folder: id, reason: recorded.reason }, "empty replacement not recorded");
      return;
    }
    round.registryChanged = true;
    if (recorded.first) {
      this.log.warn({ ioserver: replaced.id, url, folder: id, emptiedAt: recorded.emptiedAt }, "disk came back empty; every datafile it held must be rebuilt");
    }
    if (await this.claim(round, url, replaced.id, id)) round.confirmed.set(replaced.id, url);
  }

  /**
   * The Unix socket the ioserver of disk `id` at `url` offers clients on its own host, when this gateway is one: the
   * URL is a loopback address, the socket exists here, and the server answering on it is that disk. A socket found
   * good is not asked again until a call to the disk fails.
   */
  private async localSocketOf(url: string, id: string, answer: HealthResponse): Promise<string | undefined> {
    const path = answer.localSocket;
    if (path === undefined || !isLoopback(url)) return undefined;
    const key = `${url} ${id} ${path}`;
    if (this.checkedLocalSockets.has(key)) return path;
    if (!(await lstat(path).then((stat) => stat.isSocket(), () => false))) return undefined;
    const client = new IoClient(url, this.secret, { socketPath: path, connections: 1, connectTimeoutMs: HEALTH_TIMEOUT_MS, headersTimeoutMs: HEALTH_TIMEOUT_MS });
    try {
      const there = await client.health({ signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
      if (there.diskId !== id) return undefined;
    } catch {
      return undefined;
    } finally {
      await client.close();
    }
    this.checkedLocalSockets.add(key);
    this.log.info({ ioserver: id, url, localSocket: path }, "disk reached through its local socket");
    return path;
  }

  /** Tells the folder at `url`, known as `from`, that it is disk `diskId`; false when it refuses or does not answer. */
  private async claim(round: Round, url: string, diskId: string, from: string): Promise<boolean> {
    try {
      await this.probe(url).claimDisk(diskId, from, { signal: AbortSignal.timeout(CLAIM_TIMEOUT_MS) });
      return true;
    } catch (error) {
      if (error instanceof IoServerError && error.status === 409) round.refusals.set(url, error.message);
      else this.log.warn({ err: error, ioserver: diskId, url }, "could not claim disk");
      return false;
    }
  }

  /** Makes the round's outcome the pool's view, and logs what changed. */
  private publish(registry: DiskRecord[], round: Round, answers: Map<string, HealthResponse>): void {
    const next = new Map<string, Disk>();
    const full = (disk: Disk | undefined) => disk?.answered === true && disk.freeBytes !== undefined && disk.freeBytes < this.options.reserveBytes;
    for (const record of registry) {
      const url = originOf(record.url);
      const answered = round.confirmed.get(record.id) === url;
      const answer = answered ? answers.get(url) : undefined;
      const sizes = { freeBytes: answer?.freeBytes, usedBytes: answer?.usedBytes, datafiles: answer?.datafiles };
      const disk: Disk = { id: record.id, url, state: record.state, up: answered, answered, localSocket: round.localSockets.get(record.id), ...sizes };
      next.set(record.id, disk);
      const before = this.disks.get(record.id);
      if (answered && before && !before.answered) this.log.info({ ioserver: disk.id, url }, "disk is up");
      if (!answered && (before === undefined || before.answered) && disk.state !== "retired") this.log.warn({ ioserver: disk.id, url }, "disk is down");
      if (!answered && before?.answered) this.clients.get(clientKey(before))?.abandonRequests();
      if (full(disk) && !full(before)) {
        this.log.warn({ ioserver: disk.id, url, freeBytes: disk.freeBytes, reserveBytes: this.options.reserveBytes }, "disk is full: no new datafiles go on it");
      }
    }
    for (const [url, reason] of round.refusals) {
      if (this.refusals.get(url) !== reason) this.log.error({ url, reason }, "the folder at this URL is refused: no data goes to or comes from it");
    }
    this.refusals = round.refusals;
    this.disks = next;
  }

  private probe(url: string): IoClient {
    let probe = this.probes.get(url);
    if (!probe) {
      probe = new IoClient(url, this.secret, { connections: 2, connectTimeoutMs: HEALTH_TIMEOUT_MS, headersTimeoutMs: CLAIM_TIMEOUT_MS, bodyTimeoutMs: CLAIM_TIMEOUT_MS });
      this.probes.set(url, probe);
    }
    return probe;
  }

  private dataClient(disk: Disk): IoClient {
    const key = clientKey(disk);
    let client = this.clients.get(key);
    if (!client) {
      client = new IoClient(disk.url, this.secret, { diskId: disk.id, socketPath: disk.localSocket });
      this.clients.set(key, client);
    }
    return client;
  }

  /** Marks a disk down after a failed call, until the next round finds it again. */
  reportFailure(id: string): void {
    const disk = this.disks.get(id);
    if (disk) disk.up = false;
    for (const key of this.checkedLocalSockets) if (key.split(" ")[1] === id) this.checkedLocalSockets.delete(key);
  }

  /** The disks a new slot may go on: up, active, not full, one per physical disk (placement.ts). */
  writableIds(): string[] {
    return writableDiskIds([...this.disks.values()], this.options.reserveBytes);
  }

  /** The client for a disk that is up, whatever its state (draining and retired disks serve reads); else undefined. */
  clientFor(id: string): IoClient | undefined {
    const disk = this.disks.get(id);
    return disk?.up ? this.dataClient(disk) : undefined;
  }

  /** Every registered disk, as of the last round. */
  diskViews(): DiskReport[] {
    return [...this.disks.values()].map(({ answered: _answered, localSocket: _localSocket, ...report }) => report);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.rounds;
    await Promise.all([...this.clients.values(), ...this.probes.values()].map((client) => client.close()));
  }
}

interface Round {
  registry: DiskRecord[];
  /** Disk id → the URLs that answered with it this round. */
  answeredAt: Map<string, string[]>;
  /** Disk id → the URL where it answered as itself, claimed. */
  confirmed: Map<string, string>;
  refusals: Map<string, string>;
  registryChanged: boolean;
  /** Disk id → the Unix socket its data requests take (localSocketOf). */
  localSockets: Map<string, string>;
}

/**
 * Data clients are per disk, URL and local socket: a disk that moves, or that gains or loses its socket, gets a new
 * client, and the old one's requests finish on their own.
 */
function clientKey(disk: { id: string; url: string; localSocket?: string }): string {
  return `${disk.id} ${disk.url} ${disk.localSocket ?? ""}`;
}

/** An ioserver at a loopback address runs on this host, where its local socket, if it has one, is ours to use. */
function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "localhost" || host === "[::1]" || (isIPv4(host) && host.startsWith("127."));
}
