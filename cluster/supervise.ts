// `npm start` keeps its cluster alive: a gateway, ioserver or embedded PostgreSQL that exits without being asked to is
// logged and started again on the same port and folder, after a pause that grows while it keeps failing.
import type { LocalCluster } from "./local-cluster.js";

/** First pause before a restart; it doubles on each failure in a row, up to MAX_BACKOFF_MS. */
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** A process that ran this long before exiting starts over from the first pause. */
const STABLE_AFTER_MS = 60_000;

interface Supervised {
  name: string;
  /** The exit of the process that is running now; undefined when this cluster has no such process. */
  exited(): Promise<void> | undefined;
  restart(): Promise<unknown>;
}

export interface Supervisor {
  /** Stops restarting (call before stopping the cluster). */
  stop(): void;
}

export function superviseCluster(cluster: LocalCluster, report: (message: string) => void): Supervisor {
  let stopped = false;
  let signalStop!: () => void;
  const stopping = new Promise<void>((resolve) => (signalStop = resolve));
  const pause = (ms: number) => Promise.race([new Promise<void>((resolve) => setTimeout(resolve, ms).unref()), stopping]);

  async function keepAlive(process: Supervised): Promise<void> {
    let backoff = FIRST_BACKOFF_MS;
    for (;;) {
      const exited = process.exited();
      if (!exited) return;
      const startedAt = Date.now();
      await Promise.race([exited, stopping]);
      if (stopped) return;
      if (Date.now() - startedAt >= STABLE_AFTER_MS) backoff = FIRST_BACKOFF_MS;
      for (;;) {
        report(`${process.name} exited unexpectedly; restarting it in ${(backoff / 1000).toFixed(1)} s`);
        await pause(backoff);
        if (stopped) return;
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        try {
          await process.restart();
          report(`${process.name} restarted`);
          break;
        } catch (error) {
          report(`${process.name} did not restart: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
        }
      }
    }
  }

  const processes: Supervised[] = [
    { name: "PostgreSQL", exited: () => cluster.postgres?.exited, restart: () => cluster.restartPostgres() },
    ...cluster.ioservers.map((_, index) => ({
      name: `ioserver ${index + 1}`,
      exited: () => cluster.ioservers[index]?.exited,
      restart: () => cluster.restartIoServer(index),
    })),
    { name: "gateway", exited: () => cluster.gateway.exited, restart: () => cluster.restartGateway() },
  ];
  for (const process of processes) void keepAlive(process);
  return {
    stop() {
      stopped = true;
      signalStop();
    },
  };
}
