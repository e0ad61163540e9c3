// The stand-in servers of the benchmark's ceilings, each in its own process as the gateway and ioservers are
// (a server sharing the measuring client's thread would understate what the machine can do). Started by
// run.ts with fork(); sends its port to the parent once listening.
//
//   origin SIZE                  GET answers SIZE bytes from memory; any other method discards the body
//   relay ORIGIN_URL             GET streams the origin's answer through: the least any gateway between a
//                                client and the disks' servers must do
//   minimal-gateway DB_URL       GET answers the `value` of one bench_ceiling row (one indexed select); PUT
//                                inserts the body as a bench_ceiling_insert row (one durable commit): the least an object store
//                                whose truth is PostgreSQL does per small request
//   signed-minimal-gateway JSON  the same, after checking each request's SigV4 signature with the gateway's own
//                                verifyRequest ({databaseUrl, accessKey, secretKey}): the least an S3 server
//                                does, since S3 authenticates every request
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import postgres from "postgres";
import { Pool } from "undici";
import { StaticCredentialStore, type CredentialStore } from "../gateway/src/auth/credentials.js";
import { verifyRequest } from "../gateway/src/auth/verify-request.js";

const [role, arg] = process.argv.slice(2);

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function discard(req: IncomingMessage, res: ServerResponse): void {
  req.on("data", () => {});
  req.on("end", () => res.writeHead(200, { "content-length": 0 }).end());
}

function origin(size: number) {
  const chunk = Buffer.alloc(Math.min(size, 1024 * 1024), 7);
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== "GET") return discard(req, res);
    res.writeHead(200, { "content-length": size });
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const piece = size - sent >= chunk.length ? chunk : chunk.subarray(0, size - sent);
        sent += piece.length;
        if (!res.write(piece)) return void res.once("drain", pump);
      }
      res.end();
    };
    pump();
  };
}

function relay(originUrl: string) {
  const upstream = new Pool(originUrl, { connections: 64 });
  return async (req: IncomingMessage, res: ServerResponse) => {
    const answer = await upstream.request({ method: "GET", path: "/" });
    res.writeHead(answer.statusCode, { "content-length": answer.headers["content-length"] as string });
    for await (const chunk of answer.body) if (!res.write(chunk)) await new Promise((resolve) => res.once("drain", resolve));
    res.end();
  };
}

function minimalGateway(databaseUrl: string, credentials?: CredentialStore) {
  const sql = postgres(databaseUrl, { max: 16, onnotice: () => {} });
  let next = 0;
  return async (req: IncomingMessage, res: ServerResponse) => {
    if (credentials) await verifyRequest(req, credentials);
    if (req.method === "GET") {
      const [row] = await sql<{ value: Buffer }[]>`select value from bench_ceiling where key = ${"k" + (next++ % 1000)}`;
      res.writeHead(200, { "content-length": row.value.length }).end(row.value);
    } else {
      const body = await bodyOf(req);
      await sql`insert into bench_ceiling_insert (key, value) values (${`p${process.pid}-${next++}`}, ${body})`;
      res.writeHead(200, { "content-length": 0 }).end();
    }
  };
}

const handlers: Record<string, () => (req: IncomingMessage, res: ServerResponse) => unknown> = {
  origin: () => origin(Number(arg)),
  relay: () => relay(arg),
  "minimal-gateway": () => minimalGateway(arg),
  "signed-minimal-gateway": () => {
    const { databaseUrl, accessKey, secretKey } = JSON.parse(arg) as { databaseUrl: string; accessKey: string; secretKey: string };
    return minimalGateway(databaseUrl, new StaticCredentialStore({ [accessKey]: secretKey }));
  },
};
if (!handlers[role]) throw new Error(`unknown role ${role}`);
const handle = handlers[role]();
const server = createServer((req, res) => {
  Promise.resolve(handle(req, res)).catch((error: unknown) => {
    process.stderr.write(`${role}: ${String(error)}\n`);
    res.destroy();
  });
});
server.listen(0, "127.0.0.1", () => process.send!((server.address() as { port: number }).port));
