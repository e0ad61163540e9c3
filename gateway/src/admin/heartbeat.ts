// Each gateway keeps its row in `gateways` fresh, so that `weft status` on any gateway lists every running one.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { Sql } from "../../../meta/src/db.js";
import { forgetGateway, recordGatewayHeartbeat } from "../../../meta/src/pg/cluster.js";
import { GATEWAY_HEARTBEAT_MS } from "./status.js";

export class GatewayHeartbeat {
  readonly id = randomUUID();
  private readonly startedAt = new Date();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly url: string,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat().catch((error: unknown) => this.log.warn({ err: error }, "gateway heartbeat failed")), GATEWAY_HEARTBEAT_MS);
    this.timer.unref();
  }

  private beat(): Promise<void> {
    return recordGatewayHeartbeat(this.sql, { id: this.id, url: this.url, host: hostname(), pid: process.pid, startedAt: this.startedAt });
  }

  /** A gateway that stops cleanly leaves the list at once; a crashed one ages out of it. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await forgetGateway(this.sql, this.id).catch(() => undefined);
  }
}
