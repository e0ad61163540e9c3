// A network observer between the gateway and the ioservers, played for real: a TCP proxy in front of each ioserver
// records every byte the gateway sends (and can alter one on the way), and the test replays what it captured, as
// is, with other bytes, to another ioserver, after a delete and after a restart. Every replay is refused and every
// object still reads back byte-exact through the SDK.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Readable } from "node:stream";
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { IoClient } from "../../ioserver/src/client.js";
import { ROUTES } from "../../ioserver/src/protocol.js";
import { spawnIoServer, type IoServerProcess } from "../../ioserver/src/spawn.js";
import { randomData, readAll } from "../support/bytes.js";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { datafilesOf } from "../support/datafiles.js";

const BUCKET = "replay";
// Above the inline and replication thresholds: a 4+2 part with a datafile on each of the six ioservers.
const OBJECT_SIZE = 200_000;

interface CapturedRequest {
  method: string;
  path: string;
  /** The request's bytes as they went over the wire: head and body. */
  raw: Buffer;
  /** Where the body starts in `raw`, and where the request starts in its connection's stream. */
  bodyStart: number;
  streamOffset: number;
  complete: boolean;
}

/** Where a chunked body that starts at `at` ends, or undefined while it has not all arrived. */
function chunkedBodyEnd(stream: Buffer, at: number): number | undefined {
  for (;;) {
    const lineEnd = stream.indexOf("\r\n", at);
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(stream.subarray(at, lineEnd).toString("latin1").split(";")[0]!, 16);
    at = lineEnd + 2;
    if (size > 0) {
      at += size + 2;
      continue;
    }
    for (;;) {
      const trailerEnd = stream.indexOf("\r\n", at);
      if (trailerEnd < 0) return undefined;
      if (trailerEnd === at) return at + 2;
      at = trailerEnd + 2;
    }
  }
}

/** The HTTP/1.1 requests in the bytes a client sent on one connection, the last one possibly still arriving. */
function parseRequests(stream: Buffer): CapturedRequest[] {
  const requests: CapturedRequest[] = [];
  for (let offset = 0; offset < stream.length; ) {
    const headEnd = stream.indexOf("\r\n\r\n", offset);
    if (headEnd < 0) break;
    const [requestLine, ...lines] = stream.subarray(offset, headEnd).toString("latin1").split("\r\n");
    const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(":")).trim().toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]));
    const [method = "", path = ""] = requestLine!.split(" ");
    const bodyStart = headEnd + 4;
    const contentLength = headers.get("content-length");
    const end =
      contentLength !== undefined ? bodyStart + Number(contentLength) : /chunked/i.test(headers.get("transfer-encoding") ?? "") ? chunkedBodyEnd(stream, bodyStart) : bodyStart;
    const complete = end !== undefined && end <= stream.length;
    requests.push({ method, path, raw: stream.subarray(offset, complete ? end : stream.length), bodyStart: bodyStart - offset, streamOffset: offset, complete });
    if (!complete) break;
    offset = end;
  }
  return requests;
}

interface Answer {
  status: number;
  error?: string;
}

/** The first HTTP answer in `bytes` (an ioserver's: Content-Length always given), or undefined while incomplete. */
function parseAnswer(bytes: Buffer): Answer | undefined {
  const headEnd = bytes.indexOf("\r\n\r\n");
  if (headEnd < 0) return undefined;
  const head = bytes.subarray(0, headEnd).toString("latin1");
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
  if (bytes.length < headEnd + 4 + length) return undefined;
  const body = bytes.subarray(headEnd + 4, headEnd + 4 + length).toString("utf8");
  return { status: Number(head.split(" ")[1]), error: body.startsWith("{") ? (JSON.parse(body) as { error?: string }).error : undefined };
}

interface Connection {
  sent: Buffer[];
  sentBytes: number;
  answers: Buffer[];
  answerBytes: number;
}

/** A TCP proxy in front of one ioserver that records both directions and, when armed, flips one byte of a PUT body. */
class RecordingProxy {
  private readonly connections: Connection[] = [];
  private armed: { offset: number; report: (tampered: { path: string; answer: () => Answer | undefined }) => void } | undefined;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<RecordingProxy> {
    const { hostname, port } = new URL(target);
    let proxy: RecordingProxy | undefined;
    const server = createServer((client) => proxy!.relay(client, connect(Number(port), hostname)));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    proxy = new RecordingProxy(server, `http://127.0.0.1:${(server.address() as { port: number }).port}`);
    return proxy;
  }

  /** Every request clients sent through this proxy, in order per connection. */
  requests(): CapturedRequest[] {
    return this.connections.flatMap((connection) => parseRequests(Buffer.concat(connection.sent)));
  }

  /** Flips byte `offset` of the body of the next PUT of a datafile; resolves to its path and, later, its answer. */
  tamperWithNextPut(offset: number): Promise<{ path: string; answer: () => Answer | undefined }> {
    return new Promise((report) => (this.armed = { offset, report }));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: Socket, upstream: Socket): void {
    const connection: Connection = { sent: [], sentBytes: 0, answers: [], answerBytes: 0 };
    this.connections.push(connection);
    client.on("data", (chunk: Buffer) => {
      if (this.armed) this.tamper(connection, chunk);
      connection.sent.push(chunk);
      connection.sentBytes += chunk.length;
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on("data", (chunk: Buffer) => {
      connection.answers.push(chunk);
      connection.answerBytes += chunk.length;
      if (!client.write(chunk)) upstream.pause();
    });
    upstream.on("drain", () => client.resume());
    client.on("drain", () => upstream.resume());
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  }

  private tamper(connection: Connection, chunk: Buffer): void {
    const current = parseRequests(Buffer.concat([...connection.sent, chunk])).at(-1);
    if (!current || current.method !== "PUT" || !current.path.startsWith(ROUTES.blob(""))) return;
    const target = current.streamOffset + current.bodyStart + this.armed!.offset - connection.sentBytes;
    if (target < 0 || target >= chunk.length) return;
    chunk[target] ^= 0x01;
    // No pipelining: the answers to this connection's earlier requests are all in, so the next one is this request's.
    const answerOffset = connection.answerBytes;
    this.armed!.report({ path: current.path, answer: () => parseAnswer(Buffer.concat(connection.answers).subarray(answerOffset)) });
    this.armed = undefined;
  }
}

/** Sends `bytes` on a new connection as they are, and reads the ioserver's answer. */
async function sendRaw(url: string, bytes: Buffer): Promise<Answer> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on("error", () => {}); // a refused upload may be cut after the answer; the answer is what counts
  socket.write(bytes);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of socket as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      const answer = parseAnswer(Buffer.concat(chunks));
      if (answer) return answer;
    }
  } finally {
    socket.destroy();
  }
  throw new Error(`the connection closed before an answer: ${JSON.stringify(Buffer.concat(chunks).toString("latin1"))}`);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, `timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("gateway → ioserver requests cannot be replayed or altered", function () {
  this.timeout(180_000);
  let dataDir: string;
  let secret: string;
  const ioservers: IoServerProcess[] = [];
  const proxies: RecordingProxy[] = [];
  // The observer sits on TCP: a gateway on the ioservers' host would otherwise go around it, through their local sockets.
  const OVER_TCP = { WEFT_IOSERVER_LOCAL_SOCKET: "off" };
  let cluster: TestCluster | undefined;
  let s3: S3Client;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "weft-replay-"));
    // The gateway reads the cluster secret from the data dir; these ioservers, started here, share it.
    secret = process.env.WEFT_CLUSTER_SECRET ?? randomBytes(32).toString("hex");
    await writeFile(join(dataDir, "cluster-secret"), `${secret}\n`, { mode: 0o600 });
    ioservers.push(...(await Promise.all(Array.from({ length: 6 }, (_, index) => spawnIoServer({ dir: join(dataDir, `ioserver-${index + 1}`), secret, logLevel: "fatal", env: OVER_TCP })))));
    proxies.push(...(await Promise.all(ioservers.map((ioserver) => RecordingProxy.start(ioserver.url)))));
    cluster = await startTestCluster({ dataDir, ioserverUrls: proxies.map((proxy) => proxy.url) });
    s3 = cluster.client();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  after(async () => {
    await cluster?.stopKeepingData();
    await Promise.all(ioservers.map((ioserver) => ioserver.stop()));
    await Promise.all(proxies.map((proxy) => proxy.close()));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  async function put(key: string): Promise<Buffer> {
    const data = randomData(OBJECT_SIZE);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data }));
    return data;
  }

  async function expectObject(key: string, data: Buffer): Promise<void> {
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    assert.ok((await readAll(got.Body)).equals(data), `${key} reads back byte-exact`);
  }

  /** Per ioserver, the first request of `method` on a datafile it received while `action` ran (datafile ids are unique). */
  async function capture(method: string, action: () => Promise<unknown>): Promise<(CapturedRequest | undefined)[]> {
    const ofDatafiles = (proxy: RecordingProxy) =>
      proxy.requests().filter((request) => request.complete && request.method === method && request.path.startsWith(ROUTES.blob("")));
    const before = proxies.map((proxy) => new Set(ofDatafiles(proxy).map((request) => request.path)));
    await action();
    return proxies.map((proxy, index) => ofDatafiles(proxy).find((request) => !before[index]!.has(request.path)));
  }

  async function datafileNamed(index: number, blobId: string): Promise<string | undefined> {
    return (await datafilesOf(ioservers[index]!.dir)).find((path) => basename(path) === blobId);
  }

  const blobIdOf = (request: CapturedRequest) => request.path.slice(ROUTES.blob("").length);

  it("refuses a captured PUT replayed as is, with other bytes of its length, and at another ioserver", async () => {
    let data!: Buffer;
    const [captured] = await capture("PUT", async () => (data = await put("kept")));
    assert.ok(captured, "the gateway wrote a datafile through the proxy");
    const path = (await datafileNamed(0, blobIdOf(captured)))!;
    assert.ok(path, "the datafile is on disk");
    const file = await readFile(path);

    assert.deepEqual(await sendRaw(ioservers[0]!.url, captured.raw), { status: 403, error: "Replayed" }, "verbatim");
    const altered = Buffer.from(captured.raw);
    randomBytes(altered.length - captured.bodyStart).copy(altered, captured.bodyStart);
    assert.deepEqual(await sendRaw(ioservers[0]!.url, altered), { status: 403, error: "Replayed" }, "other body bytes, same length");
    assert.deepEqual(await sendRaw(ioservers[1]!.url, captured.raw), { status: 421, error: "WrongDisk" }, "another ioserver");

    assert.ok((await readFile(path)).equals(file), "the datafile is unchanged");
    assert.equal(await datafileNamed(1, blobIdOf(captured)), undefined, "the other ioserver stored nothing");
    await expectObject("kept", data);
  });

  it("refuses a captured GET and DELETE replayed, and a PUT replayed after its datafile was deleted", async () => {
    const data = await put("kept-too");
    // Only the data slots are read: whichever ioservers hold them.
    const reads = await capture("GET", () => expectObject("kept-too", data));
    const reader = reads.findIndex((request) => request !== undefined);
    assert.notEqual(reader, -1, "the gateway read datafiles through the proxies");
    assert.deepEqual(await sendRaw(ioservers[reader]!.url, reads[reader]!.raw), { status: 403, error: "Replayed" }, "GET");

    const written = (await capture("PUT", () => put("deleted")))[2];
    const blobId = blobIdOf(written!);
    const deletion = (await capture("DELETE", async () => {
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "deleted" }));
      await until("the collector deleted the datafile", async () => ((await datafileNamed(2, blobId)) === undefined ? true : undefined));
    }))[2];
    assert.ok(deletion, "the collector's DELETE went through the proxy");
    assert.deepEqual(await sendRaw(ioservers[2]!.url, deletion.raw), { status: 403, error: "Replayed" }, "DELETE");
    assert.deepEqual(await sendRaw(ioservers[2]!.url, written!.raw), { status: 403, error: "Replayed" }, "PUT after the delete");
    assert.equal(await datafileNamed(2, blobId), undefined, "no orphan came back");
    await expectObject("kept-too", data);
  });

  it("stores nothing from a PUT whose body was altered on the way, and the object still reads back", async () => {
    const tampering = proxies[4]!.tamperWithNextPut(1000);
    const data = await put("tampered");
    const tampered = await tampering;
    assert.deepEqual(tampered.answer(), { status: 403, error: "BadBodyTag" });
    assert.equal(await datafileNamed(4, tampered.path.slice(ROUTES.blob("").length)), undefined, "the altered datafile was never published");
    await expectObject("tampered", data);
  });

  it("keeps a datafile as it is when its id is written again (409 AlreadyExists)", async () => {
    let data!: Buffer;
    const captured = (await capture("PUT", async () => (data = await put("written-once"))))[5];
    const blobId = blobIdOf(captured!);
    const path = (await datafileNamed(5, blobId))!;
    const file = await readFile(path);
    const writer = new IoClient(ioservers[5]!.url, secret, { diskId: ioservers[5]!.diskId });
    try {
      const other = randomData(OBJECT_SIZE / 4);
      await assert.rejects(writer.putBlob(blobId, Readable.from([other]), other.length), { status: 409, code: "AlreadyExists" });
    } finally {
      await writer.close();
    }
    assert.ok((await readFile(path)).equals(file), "the datafile is unchanged");
    await expectObject("written-once", data);
  });

  it("refuses a captured request at an ioserver restarted since, which cannot know the nonces it saw", async () => {
    const captured = (await capture("PUT", () => put("before-restart")))[3];
    const blobId = blobIdOf(captured!);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "before-restart" }));
    await until("the collector deleted the datafile", async () => ((await datafileNamed(3, blobId)) === undefined ? true : undefined));
    const { dir, url } = ioservers[3]!;
    await ioservers[3]!.stop();
    ioservers[3] = await spawnIoServer({ dir, secret, port: Number(new URL(url).port), logLevel: "fatal", env: OVER_TCP });
    assert.deepEqual(await sendRaw(url, captured!.raw), { status: 403, error: "Replayed" });
    assert.equal(await datafileNamed(3, blobId), undefined, "no orphan came back");
  });

  it("answers an unsigned /healthz with nothing but ok, and an unsigned /status not at all", async () => {
    const health = await fetch(`${ioservers[0]!.url}${ROUTES.health}`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true });
    const status = await fetch(`${ioservers[0]!.url}${ROUTES.status}`);
    assert.equal(status.status, 403);
    assert.deepEqual(Object.keys((await status.json()) as object).sort(), ["error", "message"]);
  });
});
