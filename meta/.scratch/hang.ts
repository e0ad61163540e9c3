import { startEmbeddedPostgres } from "../src/embedded.js";
const pg = await startEmbeddedPostgres({ dataDir: process.argv[2]!, durable: false });
console.log("up", pg.url);
setInterval(() => {}, 1000);
