// DeleteObject: 204 whether or not the key existed, as AWS answers.
import { deleteObject as removeObject } from "../../../meta/src/pg/versions.js";
import type { S3Context } from "../app.js";
import { loadOwnBucket, objectKey, respondEmpty } from "./common.js";

export async function deleteObject(ctx: S3Context): Promise<void> {
  const bucket = await loadOwnBucket(ctx);
  const key = objectKey(ctx);
  await removeObject(ctx.services.sql, bucket.id, key, { versioned: bucket.versioning === "Enabled" });
  respondEmpty(ctx, 204);
}
