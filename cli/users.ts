// `weft user create NAME | list` and `weft key create USER [--read-only] [--bucket B…] | list [USER] | revoke ID`:
// who may use the cluster. A key's secret is printed once, at creation: the cluster keeps it only sealed.
import type { AccessKeyListing } from "../gateway/src/admin/identity-routes.js";
import type { AdminClient } from "./admin-client.js";
import { table } from "./format.js";

export interface IdentityOptions {
  json: boolean;
  readOnly: boolean;
  buckets: string[];
}

type Print = (value: unknown, text: string) => void;

export async function user(client: AdminClient, args: string[], options: IdentityOptions, out: (text: string) => void): Promise<number | undefined> {
  const print = printer(options, out);
  const [action, name, ...rest] = args;
  if (rest.length > 0) return undefined;
  if (action === "create" && name !== undefined) {
    const created = await client.call<{ name: string; canonicalId: string }>("POST", "user/create", { name });
    print(created, `user ${created.name} created (canonical id ${created.canonicalId}); give it a key with: weft key create ${created.name}`);
    return 0;
  }
  if (action === "list" && name === undefined) {
    const { users } = await client.call<{ users: { name: string; canonicalId: string; keys: number; buckets: number }[] }>("GET", "user/list");
    print({ users }, table(["USER", "KEYS", "BUCKETS", "CANONICAL ID"], users.map((row) => [row.name, String(row.keys), String(row.buckets), row.canonicalId])));
    return 0;
  }
  return undefined;
}

export async function key(client: AdminClient, args: string[], options: IdentityOptions, out: (text: string) => void): Promise<number | undefined> {
  const print = printer(options, out);
  const [action, target, ...rest] = args;
  if (rest.length > 0) return undefined;
  if (action === "create" && target !== undefined) {
    const created = await client.call<{ accessKeyId: string; secretAccessKey: string; user: string; readOnly: boolean; buckets: string[] | null }>("POST", "key/create", {
      user: target,
      readOnly: options.readOnly,
      ...(options.buckets.length > 0 ? { buckets: options.buckets } : {}),
    });
    print(
      created,
      [
        `access key  ${created.accessKeyId}`,
        `secret key  ${created.secretAccessKey}`,
        `user        ${created.user}${describeScope(created)}`,
        "The secret is shown this once: the cluster keeps it sealed and cannot show it again.",
      ].join("\n"),
    );
    return 0;
  }
  if (action === "list") {
    const { keys } = await client.call<{ keys: AccessKeyListing[] }>("GET", target === undefined ? "key/list" : `key/list?user=${encodeURIComponent(target)}`);
    print(
      { keys },
      table(
        ["ACCESS KEY", "USER", "ACCESS", "CREATED"],
        keys.map((row) => [row.accessKeyId, row.user, row.admin ? "admin (configured)" : describeScope(row).replace(/^ \(|\)$/g, "") || "full", row.createdAt ?? "-"]),
      ),
    );
    return 0;
  }
  if (action === "revoke" && target !== undefined) {
    const revoked = await client.call<{ accessKeyId: string }>("POST", "key/revoke", { id: target });
    print(revoked, `access key ${revoked.accessKeyId} revoked`);
    return 0;
  }
  return undefined;
}

function describeScope(scope: { readOnly: boolean; buckets: string[] | null }): string {
  const parts = [scope.readOnly ? "read-only" : "", scope.buckets ? `buckets: ${scope.buckets.join(", ")}` : ""].filter(Boolean);
  return parts.length > 0 ? ` (${parts.join("; ")})` : "";
}

function printer(options: { json: boolean }, out: (text: string) => void): Print {
  return (value, text) => out(options.json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}
