// How a Weft process listens, gateway and ioserver alike: plain HTTP, or HTTPS when WEFT_TLS_CERT and WEFT_TLS_KEY name
// a PEM certificate (chain) and its key. Clients trust a private authority with Node's NODE_EXTRA_CA_CERTS
// (docs/operations.md, HTTPS).
import { readFileSync } from "node:fs";
import { lstat, unlink } from "node:fs/promises";
import { createServer as createHttpServer, type RequestListener, type Server as HttpServer } from "node:http";
import { createServer as createHttpsServer, Server as HttpsServer } from "node:https";
import { createSecureContext } from "node:tls";

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

export type Listener = HttpServer | HttpsServer;

/** The certificate and key the environment names, or one problem line per thing wrong with them. */
export function readTlsFiles(env: Readonly<Record<string, string | undefined>>): { tls?: TlsFiles; problems: string[] } {
  const certPath = env.WEFT_TLS_CERT?.trim() || undefined;
  const keyPath = env.WEFT_TLS_KEY?.trim() || undefined;
  if (certPath === undefined && keyPath === undefined) return { problems: [] };
  if (certPath === undefined || keyPath === undefined) {
    return { problems: [`${certPath === undefined ? "WEFT_TLS_CERT" : "WEFT_TLS_KEY"}: required with ${certPath === undefined ? "WEFT_TLS_KEY" : "WEFT_TLS_CERT"} (both or neither)`] };
  }
  const problems: string[] = [];
  const read = (name: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      problems.push(`${name}=${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      return undefined;
    }
  };
  const cert = read("WEFT_TLS_CERT", certPath);
  const key = read("WEFT_TLS_KEY", keyPath);
  if (cert === undefined || key === undefined) return { problems };
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    return { problems: [`WEFT_TLS_CERT=${certPath}, WEFT_TLS_KEY=${keyPath}: not a PEM certificate and its key (${(error as Error).message})`] };
  }
  return { tls: { cert, key }, problems };
}

export function createListener(handler: RequestListener, tls: TlsFiles | undefined): Listener {
  return tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler) : createHttpServer(handler);
}

/** The base URL a listening server answers at. */
export function listenerUrl(server: Listener): string {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("server has no TCP address");
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `${server instanceof HttpsServer ? "https" : "http"}://${host}:${address.port}`;
}

/** Linux keeps a Unix socket's path in 108 bytes, its terminating NUL included. */
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * Listens on the Unix socket at `path`. A socket already there is one a process that ended left behind, and is
 * replaced; a file of any other kind there is refused.
 */
export async function listenOnSocket(server: Listener, path: string): Promise<void> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) throw new Error(`${path}: a Unix socket path has at most ${MAX_SOCKET_PATH_BYTES} bytes`);
  const existing = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (existing && !existing.isSocket()) throw new Error(`${path} exists and is not a socket`);
  if (existing) await unlink(path);
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once("error", rejectListen);
    server.listen(path, () => {
      server.off("error", rejectListen);
      resolveListen();
    });
  });
}
