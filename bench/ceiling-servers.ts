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
//   disk-sink DIR                PUT writes the body to a new file in DIR and fsyncs it before answering, the way an
//                                ioserver writes a datafile (ioserver/src/direct-io.ts: O_DIRECT from an aligned
//                                1 MiB buffer where the filesystem allows it) without its checksums and body tag: an
//                                ioserver's least work per datafile
//   striping-relay JSON          PUT passes the body on to six disk sinks as 4+2 streams of 256 KiB units ({sinks,
//                                md5}), the MD5 of every byte computed on the way when md5 is set. Parity units are the
//                                stripe's first two data units sent again, not computed (Reed–Solomon 4+2 runs at
//                                ~8.7 GB/s on one core of the development machine): the least a 4+2 striping gateway does per PUT
import { createHash } from "node:crypto";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import postgres from "postgres";
import { Pool } from "undici";
import { StaticCredentialStore, type CredentialStore } from "../gateway/src/auth/credentials.js";
import { verifyRequest } from "../gateway/src/auth/verify-request.js";
import { DatafileWriter, supportsDirectIo } from "../ioserver/src/direct-io.js";
import { eachChunk } from "../ioserver/src/each-chunk.js";

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

function diskSink(dir: string) {
  let next = 0;
  const direct = supportsDirectIo(dir);
  return async (req: IncomingMessage, res: ServerResponse) => {
    const path = join(dir, `sink-${process.pid}-${next++}`);
    const writer = await DatafileWriter.create(path, { direct: await direct, expectedLength: Number(req.headers["content-length"] ?? NaN) || undefined });
    try {
      await eachChunk(req, (chunk) => writer.append(chunk));
      await writer.finish([]);
    } catch (error) {
      await writer.abort();
      throw error;
    } finally {
      await rm(path, { force: true });
    }
    res.writeHead(200, { "content-length": 0 }).end();
  };
}

const STRIPE_UNIT = 256 * 1024;
const DATA_UNITS = 4;

function stripingRelay(config: { sinks: string[]; md5: boolean }) {
  const sinks = config.sinks.map((url) => new Pool(url, { connections: 4 }));
  return async (req: IncomingMessage, res: ServerResponse) => {
    const hash = config.md5 ? createHash("md5") : undefined;
    const shards = sinks.map(() => new PassThrough({ highWaterMark: STRIPE_UNIT }));
    const answers = sinks.map(async (sink, slot) => {
      const answer = await sink.request({ method: "PUT", path: "/", body: shards[slot] });
      await answer.body.dump();
      if (answer.statusCode !== 200) throw new Error(`sink ${slot} answered ${answer.statusCode}`);
    });
    // The pieces of the stripe being cut, per data slot: views of the received chunks, never copies.
    let stripe: Buffer[][] = Array.from({ length: DATA_UNITS }, () => []);
    let slot = 0;
    let unitFill = 0;
    const send = async (shard: PassThrough, piece: Buffer) => {
      if (!shard.write(piece)) await once(shard, "drain");
    };
    const sendParity = async () => {
      for (const piece of stripe[0]!) await send(shards[DATA_UNITS]!, piece);
      for (const piece of stripe[1]!) await send(shards[DATA_UNITS + 1]!, piece);
      stripe = Array.from({ length: DATA_UNITS }, () => []);
    };
    for await (const received of req) {
      const chunk = received as Buffer;
      hash?.update(chunk);
      for (let offset = 0; offset < chunk.length; ) {
        const piece = chunk.subarray(offset, offset + Math.min(STRIPE_UNIT - unitFill, chunk.length - offset));
        offset += piece.length;
        unitFill += piece.length;
        stripe[slot]!.push(piece);
        await send(shards[slot]!, piece);
        if (unitFill === STRIPE_UNIT) {
          unitFill = 0;
          slot = (slot + 1) % DATA_UNITS;
          if (slot === 0) await sendParity();
        }
      }
    }
    if (slot !== 0 || unitFill !== 0) await sendParity();
    for (const shard of shards) shard.end();
    await Promise.all(answers);
    res.writeHead(200, { "content-length": 0, etag: `"${hash?.digest("hex") ?? ""}"` }).end();
  };
}

const handlers: Record<string, () => (req: IncomingMessage, res: ServerResponse) => unknown> = {
  origin: () => origin(Number(arg)),
  relay: () => relay(arg),
  "disk-sink": () => diskSink(arg),
  "striping-relay": () => stripingRelay(JSON.parse(arg) as { sinks: string[]; md5: boolean }),
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
