// The gateway's view of the ioservers: one client per disk, keyed by the disk id the ioserver reports,
// registered in PostgreSQL so that any gateway can find the servers that hold a datafile.
import { IoClient } from "../../../ioserver/src/client.js";
import type { Sql } from "../../../meta/src/db.js";
import { listIoServers, upsertIoServer } from "../../../meta/src/pg/ioservers.js";
import type { Logger } from "pino";

interface Member {
  id: string;
  url: string;
  client: IoClient;
  healthy: boolean;
}

export class IoPool {
  private readonly members = new Map<string, Member>();
  private readonly configuredUrls: string[];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    urls: string[],
    private readonly secret: string,
    private readonly sql: Sql,
    private readonly log: Logger,
  ) {
    this.configuredUrls = urls;
  }

  /** Asks every configured ioserver for its disk id and records it in the registry. */
  async start(healthIntervalMs = 2000): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch((error) => this.log.warn({ err: error }, "ioserver health check failed")), healthIntervalMs);
    this.timer.unref();
  }

  async refresh(): Promise<void> {
    await Promise.all(this.configuredUrls.map((url) => this.check(url)));
    // Servers registered by other gateways (or before a restart) may hold datafiles too.
    for (const { id, url } of await listIoServers(this.sql)) {
      if (!this.members.has(id)) this.members.set(id, { id, url, client: new IoClient(url, this.secret), healthy: true });
    }
  }

  private async check(url: string): Promise<void> {
    const existing = [...this.members.values()].find((member) => member.url === url);
    const client = existing?.client ?? new IoClient(url, this.secret);
    try {
      const { diskId } = await client.health({ signal: AbortSignal.timeout(2000) });
      const member = this.members.get(diskId);
      if (!member || member.url !== url) {
        if (member && member.client !== client) void member.client.close();
        this.members.set(diskId, { id: diskId, url, client, healthy: true });
        await upsertIoServer(this.sql, { id: diskId, url });
      } else if (!member.healthy) {
        member.healthy = true;
        this.log.info({ ioserver: diskId, url }, "ioserver is back");
      }
    } catch {
      if (existing?.healthy) this.log.warn({ ioserver: existing.id, url }, "ioserver is down");
      if (existing) existing.healthy = false;
    }
  }

  /** Marks a server down after a failed call, until the next health check finds it again. */
  reportFailure(id: string): void {
    const member = this.members.get(id);
    if (member) member.healthy = false;
  }

  writableIds(): string[] {
    return [...this.members.values()].filter((member) => member.healthy).map((member) => member.id);
  }

  /** The client for a disk, or undefined when it is unknown or known to be down (readers then reconstruct). */
  clientFor(id: string): IoClient | undefined {
    const member = this.members.get(id);
    return member?.healthy ? member.client : undefined;
  }

  /** The client for a disk whatever its health (the collector retries deletes later anyway). */
  anyClientFor(id: string): IoClient | undefined {
    return this.members.get(id)?.client;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.members.values()].map((member) => member.client.close()));
  }
}
