// Raw signed requests for cases the SDK cannot express, signed by `aws4` (an independent SigV4 implementation).
import aws4 from "aws4";
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
