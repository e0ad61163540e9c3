// Raw signed requests for cases the SDK cannot express, signed by `aws4` (an independent SigV4 implementation).
import aws4 from "aws4";
import { connect } from "node:net";
import type { TestCluster } from "./cluster.js";

export interface RawOptions {
  headers?: Record<string, string>;
  secretKey?: string;
  accessKey?: string;
  /** Sign this body but send another (to prove the gateway checks what it receives). */
  sendBody?: string | Buffer;
  signQuery?: boolean;
}

export async function signedFetch(cluster: TestCluster, method: string, path: string, body?: string | Buffer, options: RawOptions = {}): Promise<Response> {
  const url = new URL(cluster.endpoint);
  const signed = aws4.sign(
    { host: url.host, path, method, body, headers: { ...options.headers }, service: "s3", region: cluster.region, signQuery: options.signQuery },
    { accessKeyId: options.accessKey ?? cluster.accessKey, secretAccessKey: options.secretKey ?? cluster.secretKey },
  );
  const headers = { ...(signed.headers as Record<string, string>) };
  delete headers.Host;
  delete headers.host;
  delete headers["Content-Length"]; // fetch sets it from the body it really sends
  const sent = options.sendBody ?? body;
  return fetch(`${cluster.endpoint}${signed.path}`, { method, headers, body: sent === undefined ? undefined : new Uint8Array(Buffer.from(sent)) });
}

export interface StalledUpload {
  /** Everything the gateway sent back, once it closed the connection. */
  answer: Promise<string>;
  /** Sends more of the body. */
  write(bytes: Buffer | string): void;
  destroy(): void;
}

/**
 * A signed PUT (UNSIGNED-PAYLOAD) declaring `declaredLength` bytes over a raw socket, of which only `firstBytes` are
 * sent: what a client that stalls mid-upload looks like to the gateway.
 */
export async function stalledUpload(cluster: TestCluster, path: string, declaredLength: number, firstBytes: Buffer | string): Promise<StalledUpload> {
  const url = new URL(cluster.endpoint);
  const signed = aws4.sign(
    {
      host: url.host,
      path,
      method: "PUT",
      headers: { "Content-Length": String(declaredLength), "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD" },
      service: "s3",
      region: cluster.region,
    },
    { accessKeyId: cluster.accessKey, secretAccessKey: cluster.secretKey },
  );
  const headerLines = Object.entries(signed.headers as Record<string, string>).map(([name, value]) => `${name}: ${value}\r\n`);
  const socket = connect(Number(url.port), url.hostname);
  await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const received: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => received.push(chunk));
  const answer = new Promise<string>((resolve) => {
    socket.once("close", () => resolve(Buffer.concat(received).toString("utf8")));
    socket.on("error", () => {});
  });
  socket.write(`PUT ${signed.path} HTTP/1.1\r\n${headerLines.join("")}\r\n`);
  socket.write(firstBytes);
  return { answer, write: (bytes) => socket.write(bytes), destroy: () => socket.destroy() };
}
