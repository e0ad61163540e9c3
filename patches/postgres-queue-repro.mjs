// Reproduces the postgres.js pool-queue growth that patches/postgres+3.4.9.patch fixes, against any PostgreSQL:
//   DATABASE_URL=postgres://user:password@host:5432/db node patches/postgres-queue-repro.mjs [path-to-postgres-package]
// 16 loops of `select 1` share a pool of 4 connections; every 5 s it prints the rate and the client's CPU per query.
// Unpatched, the CPU per query climbs for as long as the load lasts; patched, it stays flat.
const postgres = (await import(process.argv[2] ? new URL(`file://${process.argv[2]}/src/index.js`).href : "postgres")).default;
const sql = postgres(process.env.DATABASE_URL, { max: 4 });
const CONCURRENCY = 16;
const SECONDS = 30;
let queries = 0;
let stop = false;
async function loop() {
  while (!stop) {
    await sql`select 1`;
    queries++;
  }
}
const loops = Array.from({ length: CONCURRENCY }, loop);
let lastQueries = 0;
let lastCpu = process.cpuUsage();
for (let second = 5; second <= SECONDS; second += 5) {
  await new Promise((resolve) => setTimeout(resolve, 5000));
  const cpu = process.cpuUsage(lastCpu);
  const done = queries - lastQueries;
  console.log(`${String(second).padStart(3)} s  ${(done / 5).toFixed(0).padStart(6)} queries/s  ${((cpu.user + cpu.system) / done).toFixed(1).padStart(6)} µs CPU per query`);
  lastQueries = queries;
  lastCpu = process.cpuUsage();
}
stop = true;
await Promise.all(loops);
await sql.end();
