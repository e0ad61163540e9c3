// `weft bucket storage-class BUCKET [CLASS | --clear]`: shows, sets or clears a bucket's default storage class (a Weft
// extension): what a PUT, multipart upload, copy or POST form into the bucket that names no class is stored as.
// `weft bucket owner BUCKET USER`: gives the bucket to another user.
import type { AdminClient } from "./admin-client.js";

export async function bucket(client: AdminClient, args: string[], options: { json: boolean; clear: boolean }, out: (text: string) => void): Promise<number | undefined> {
  if (args[0] === "owner") {
    const [, name, userName, ...extra] = args;
    if (name === undefined || userName === undefined || extra.length > 0) return undefined;
    const answer = await client.call<{ bucket: string; owner: string }>("POST", "bucket/owner", { bucket: name, user: userName });
    out(options.json ? `${JSON.stringify(answer)}
` : `bucket ${answer.bucket} is now owned by ${answer.owner}
`);
    return 0;
  }
  const [setting, name, storageClass, ...rest] = args;
  if (setting !== "storage-class" || name === undefined || rest.length > 0 || (storageClass !== undefined && options.clear)) return undefined;
  const answer = await client.call<{ bucket: string; defaultStorageClass: string | null; gatewayDefault: string }>("POST", "bucket/storage-class", {
    bucket: name,
    ...(storageClass !== undefined ? { storageClass } : {}),
    ...(options.clear ? { clear: true } : {}),
  });
  const text = answer.defaultStorageClass
    ? `bucket ${answer.bucket}: writes that name no storage class are stored as ${answer.defaultStorageClass}`
    : `bucket ${answer.bucket}: no default storage class; writes that name none are stored as the gateway's ${answer.gatewayDefault}`;
  out(options.json ? `${JSON.stringify(answer)}\n` : `${text}\n`);
  return 0;
}
