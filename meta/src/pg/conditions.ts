// Conditional writes (If-None-Match: *, If-Match: <etag> on PutObject and CompleteMultipartUpload), checked inside
// the commit transaction after the key lock, so the check and the commit are one atomic step.
import { commitError, type Queryable } from "./common.js";

export interface WritePrecondition {
  /** If-None-Match: * — only when the key has no current object (a delete marker counts as none). */
  ifNoneMatch?: boolean;
  /** If-Match — only when the current object has this ETag (unquoted); "*" matches any current object. */
  ifMatch?: string;
}

/**
 * Throws WriteConditionFailedError when the precondition does not hold. Atomic with a commit only inside its
 * transaction, after the object-key lock; outside one it is an early answer that saves streaming a doomed body.
 */
export async function checkWritePrecondition(
  tx: Queryable,
  bucketId: number,
  key: string,
  precondition: WritePrecondition | undefined,
): Promise<void> {
  if (!precondition || (!precondition.ifNoneMatch && precondition.ifMatch === undefined)) return;
  try {
    await tx`select weft_check_write_precondition(${bucketId}, ${key}, ${precondition.ifNoneMatch ?? false}, ${precondition.ifMatch ?? null})`;
  } catch (error) {
    throw commitError(error);
  }
}
