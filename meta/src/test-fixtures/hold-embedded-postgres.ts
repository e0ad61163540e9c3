// Child process for embedded.test.ts: starts the embedded cluster, writes a row, prints the URL and waits to be
// killed with SIGKILL, so that the test can check what a killed run leaves behind.
import postgres from "postgres";
import { startEmbeddedPostgres } from "../embedded.js";

const dataDir = process.argv[2];
if (!dataDir) throw new Error("usage: hold-embedded-postgres.ts <dataDir>");
const server = await startEmbeddedPostgres({ dataDir, durable: false });
const sql = postgres(server.url, { max: 1, onnotice: () => {} });
await sql`create table if not exists survivors (name text)`;
await sql`insert into survivors values ('written before SIGKILL')`;
await sql.end();
process.stdout.write(JSON.stringify({ url: server.url }) + "\n");
setInterval(() => {}, 1 << 30);
