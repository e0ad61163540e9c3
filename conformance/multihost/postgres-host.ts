// PostgreSQL for the multi-host test, run on its database host (`ip netns exec NS node --import tsx
// postgres-host.ts DIR ADDRESS PORT`): a process joins a network namespace only as it starts, so the embedded
// PostgreSQL is started from inside one. Prints its ready line with {"url": …} and stops PostgreSQL on SIGTERM.
import { startEmbeddedPostgres } from "../../meta/src/embedded.js";
import { SCRIPT_READY_PREFIX } from "../support/netns.js";

const [dataDir, host, port] = process.argv.slice(2);
if (!dataDir || !host || !port) throw new Error("usage: postgres-host.ts DIR ADDRESS PORT");

const postgres = await startEmbeddedPostgres({ dataDir, host, port: Number(port), durable: false });
process.once("SIGTERM", () => void postgres.stop().then(() => process.exit(0)));
process.stdout.write(`${SCRIPT_READY_PREFIX}${JSON.stringify({ url: postgres.url })}\n`);
