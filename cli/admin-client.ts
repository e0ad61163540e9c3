// The admin API's client (gateway/src/admin/admin-api.ts): SigV4-signed JSON requests with the admin access key.
import aws4 from "aws4";
import { request } from "undici";

export interface AdminClientOptions {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

const ADMIN_PATH_PREFIX = "/_weft/admin/v1/";

/** The gateway refused the request (its JSON `code` and `message`), or could not be reached (`status` undefined). */
export class AdminRequestError extends Error {
  constructor(
    readonly status: number | undefined,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "AdminRequestError";
  }
}

export function adminClientOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): AdminClientOptions {
  return {
    endpoint: env.WEFT_ENDPOINT ?? "http://127.0.0.1:9000",
    // The same defaults as the gateway's, so that `weft` works at once against `npm start`.
    accessKeyId: env.WEFT_ACCESS_KEY ?? "weftadmin",
    secretAccessKey: env.WEFT_SECRET_KEY ?? "weftadmin-secret-key",
    region: env.WEFT_REGION ?? "us-east-1",
  };
}

export class AdminClient {
  constructor(private readonly options: AdminClientOptions) {}

  async call<T>(method: "GET" | "POST", operation: string, body?: unknown): Promise<T> {
    const endpoint = new URL(this.options.endpoint);
    const text = body === undefined ? "" : JSON.stringify(body);
    const signed = aws4.sign(
      {
        host: endpoint.host,
        path: ADMIN_PATH_PREFIX + operation,
        method,
        service: "s3",
        region: this.options.region,
        body: text,
        headers: text ? { "content-type": "application/json" } : {},
      },
      { accessKeyId: this.options.accessKeyId, secretAccessKey: this.options.secretAccessKey },
    );
    let response;
    try {
      response = await request(new URL(signed.path!, endpoint), {
        method,
        headers: signed.headers as Record<string, string>,
        body: text || undefined,
      });
    } catch (error) {
      throw new AdminRequestError(undefined, "Unreachable", `cannot reach ${endpoint.origin}: ${(error as Error).message}`);
    }
    const answer = await response.body.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer);
    } catch {
      throw new AdminRequestError(response.statusCode, "NotAdminApi", `${endpoint.origin} answered ${response.statusCode} with no admin API JSON: ${answer.slice(0, 200)}`);
    }
    if (response.statusCode !== 200) {
      const { code, message } = parsed as { code?: string; message?: string };
      throw new AdminRequestError(response.statusCode, code ?? "Error", message ?? answer);
    }
    return parsed as T;
  }
}
