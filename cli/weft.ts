// `weft`: the operators' command. It talks to a running cluster through any gateway's admin API
// (gateway/src/admin/admin-api.ts), configured by WEFT_ENDPOINT, WEFT_ACCESS_KEY and WEFT_SECRET_KEY.
// Exit status: 0 the work succeeded (for `status`: the cluster is whole), 1 it ran but the cluster is not whole or
// the work failed or was refused, 2 a usage error, 3 no answer from the admin API (unreachable, refused credentials).
import { parseArgs } from "node:util";
import type { ClusterStatus } from "../gateway/src/admin/status.js";
import { AdminClient, AdminRequestError, adminClientOptionsFromEnv } from "./admin-client.js";
import { formatBytes, formatDuration, table } from "./format.js";
import { bucket } from "./bucket.js";
import { disk } from "./disk.js";
import { heal } from "./heal.js";
import { scrub } from "./scrub.js";
import { key, user } from "./users.js";

const USAGE = `usage: weft <command> [--json]

commands:
  status         disks, PostgreSQL, gateways and the durability report
  heal [--wait]  rebuild every missing slot onto healthy disks; --wait follows it to the end
  scrub [--wait] have every ioserver check every datafile it holds, drop the bad ones for heal, collect orphans
  disk add URL   register the new, empty ioserver folder at URL
  disk drain ID [--wait]
                 take no new data on disk ID and move its slots to other disks
  disk retire ID [--force]
                 forget disk ID for good (its slots are rebuilt elsewhere); refused while it holds slots other
                 disks cannot replace, unless --force
  bucket storage-class BUCKET [CLASS | --clear]
                 show, set or clear the class a bucket's writes get when they name none (a Weft extension)
  bucket owner BUCKET USER
                 give the bucket to another user
  user create NAME
                 a new user, owning nothing yet
  user list      users, with their keys and buckets
  key create USER [--read-only] [--bucket B]...
                 a new access key for USER, limited to reading and to buckets B if given; prints the secret once
  key list [USER]
                 access keys (never their secrets)
  key revoke ID  the key stops working at once, on every gateway

environment: WEFT_ENDPOINT (default http://127.0.0.1:9000), WEFT_ACCESS_KEY, WEFT_SECRET_KEY (an admin key pair)`;

export const EXIT = { ok: 0, notWhole: 1, usage: 2, noAnswer: 3 } as const;

export async function runWeft(argv: string[], out: (text: string) => void = (text) => process.stdout.write(text)): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: "boolean", default: false },
        wait: { type: "boolean", default: false },
        force: { type: "boolean", default: false },
        clear: { type: "boolean", default: false },
        "read-only": { type: "boolean", default: false },
        bucket: { type: "string", multiple: true, default: [] },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    out(`${(error as Error).message}\n${USAGE}\n`);
    return EXIT.usage;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help || command === undefined) {
    out(`${USAGE}\n`);
    return parsed.values.help ? EXIT.ok : EXIT.usage;
  }
  const client = new AdminClient(adminClientOptionsFromEnv());
  try {
    if (command === "status" && rest.length === 0) {
      const status = await client.call<ClusterStatus>("GET", "status");
      out(parsed.values.json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status));
      return isWhole(status) ? EXIT.ok : EXIT.notWhole;
    }
    if (command === "heal" && rest.length === 0) return await heal(client, { wait: parsed.values.wait, json: parsed.values.json }, out);
    if (command === "scrub" && rest.length === 0) return await scrub(client, { wait: parsed.values.wait, json: parsed.values.json }, out);
    if (command === "bucket") {
      const code = await bucket(client, rest, { json: parsed.values.json, clear: parsed.values.clear }, out);
      if (code !== undefined) return code;
    }
    if (command === "user" || command === "key") {
      const identityOptions = { json: parsed.values.json, readOnly: parsed.values["read-only"], buckets: parsed.values.bucket };
      const code = await (command === "user" ? user : key)(client, rest, identityOptions, out);
      if (code !== undefined) return code;
    }
    if (command === "disk") {
      const code = await disk(client, rest, { wait: parsed.values.wait, json: parsed.values.json, force: parsed.values.force }, out);
      if (code !== undefined) return code;
    }
  } catch (error) {
    if (!(error instanceof AdminRequestError)) throw error;
    const text = `weft ${command}: ${error.code}: ${error.message}`;
    out(parsed.values.json ? `${JSON.stringify({ error: { code: error.code, message: error.message, status: error.status } })}\n` : `${text}\n`);
    // Refused credentials or nobody there: no answer. Anything else is the operation's own refusal.
    return error.status === undefined || error.status === 403 || error.status === 401 ? EXIT.noAnswer : EXIT.notWhole;
  }
  out(`unknown command: ${[command, ...rest].join(" ")}\n${USAGE}\n`);
  return EXIT.usage;
}

/** Every disk up (or deliberately draining / retired) and every object at full redundancy. */
function isWhole(status: ClusterStatus): boolean {
  const { degraded, unreadable } = status.durability.totals;
  return status.disks.every((disk) => disk.state !== "down") && degraded.versions === 0 && unreadable.versions === 0;
}

function renderStatus(status: ClusterStatus): string {
  const lines: string[] = [];
  const up = status.disks.filter((disk) => disk.state === "up").length;
  lines.push(`Disks: ${status.disks.length}, ${up} up`);
  lines.push(
    table(
      ["ID", "URL", "STATE", "USED", "FREE", "DATAFILES", "SLOTS", "SCRUBBED"],
      status.disks.map((disk) => [
        disk.id,
        disk.url,
        disk.state,
        disk.usedBytes === undefined ? "-" : formatBytes(disk.usedBytes),
        disk.freeBytes === undefined ? "-" : formatBytes(disk.freeBytes),
        disk.datafiles === undefined ? "-" : String(disk.datafiles),
        String(disk.slots),
        disk.scrubbedAt === undefined ? "never" : `${formatDuration(Date.now() - new Date(disk.scrubbedAt).getTime())} ago`,
      ]),
    ),
  );
  const { database } = status;
  lines.push("");
  lines.push(`PostgreSQL ${database.version}: ${formatBytes(database.databaseBytes)}, ${database.connections} connections, ${database.roundTripMs.toFixed(1)} ms to answer`);
  lines.push("");
  lines.push(`Gateways: ${status.gateways.length}`);
  if (status.gateways.length > 0) {
    lines.push(
      table(
        ["URL", "HOST", "PID", "UP FOR"],
        status.gateways.map((gateway) => [gateway.url, gateway.host, String(gateway.pid), formatDuration(Date.now() - new Date(gateway.startedAt).getTime())]),
      ),
    );
  }
  lines.push("");
  const { totals, buckets } = status.durability;
  const summary = (label: string, part: { versions: number; bytes: number }) => `${label} ${part.versions} (${formatBytes(part.bytes)})`;
  lines.push(`Durability: ${summary("full", totals.full)}, ${summary("degraded", totals.degraded)}, ${summary("unreadable", totals.unreadable)} object versions`);
  if (buckets.length > 0) {
    lines.push(
      table(
        ["BUCKET", "REDUNDANCY", "VERSIONS", "BYTES"],
        buckets.map((row) => [
          row.bucket,
          row.health === "degraded" ? `degraded: survives ${row.survives} more lost disk${row.survives === 1 ? "" : "s"}` : row.health,
          String(row.versions),
          formatBytes(row.bytes),
        ]),
      ),
    );
  }
  const uploads = status.multipartUploads;
  const oldest = uploads.oldestInitiated === undefined ? "" : `, the oldest started ${formatDuration(Date.now() - new Date(uploads.oldestInitiated).getTime())} ago`;
  lines.push("");
  lines.push(`Multipart uploads in progress: ${uploads.inProgress} (${uploads.parts} parts, ${formatBytes(uploads.bytes)})${oldest}`);
  return `${lines.join("\n")}\n`;
}
