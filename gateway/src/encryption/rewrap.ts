// After a master key rotation (docs/operations.md), the data keys of SSE-S3 objects and uploads that a previous master
// key wrapped are wrapped again under the current one, so that the previous key can be dropped. Every gateway runs
// this once at start, in the background: each key is replaced only if its row still holds what was read, so gateways
// doing it at once, and writes meanwhile, lose nothing. A key no configured master key opens is left as it is and
// counted: its object stays unreadable until the key that wrapped it is configured again.
import type { Logger } from "pino";
import type { Sql } from "../../../meta/src/db.js";
import { dataKeysNotUnder, replaceWrappedDataKey, type WrappedDataKey } from "../../../meta/src/pg/data-keys.js";
import type { ObjectKeys } from "./object-keys.js";

const BATCH = 500;

/** What a pass did: keys wrapped again, and keys no configured master key opens. */
export interface RewrapOutcome {
  rewrapped: number;
  unopenable: number;
}

export async function rewrapDataKeys(sql: Sql, objectKeys: ObjectKeys, log: Logger): Promise<RewrapOutcome> {
  const outcome: RewrapOutcome = { rewrapped: 0, unopenable: 0 };
  for (const table of ["versions", "uploads"] as const) {
    let after = "";
    for (;;) {
      const keys = await dataKeysNotUnder(sql, table, objectKeys.masterKey, after, BATCH);
      for (const key of keys) await rewrapOne(sql, objectKeys, key, outcome);
      if (keys.length < BATCH) break;
      after = keys[keys.length - 1]!.id;
    }
  }
  if (outcome.rewrapped > 0) log.info({ ...outcome, masterKey: objectKeys.masterKey }, "wrapped SSE-S3 data keys again under the current master key");
  if (outcome.unopenable > 0) {
    log.error({ ...outcome }, "SSE-S3 data keys are wrapped under a master key this gateway does not have: those objects cannot be read until it is configured again");
  }
  return outcome;
}

async function rewrapOne(sql: Sql, objectKeys: ObjectKeys, key: WrappedDataKey, outcome: RewrapOutcome): Promise<void> {
  let rewrapped: ReturnType<ObjectKeys["rewrapped"]>;
  try {
    rewrapped = objectKeys.rewrapped(key.wrappedKey);
  } catch {
    outcome.unopenable++;
    return;
  }
  if (rewrapped && (await replaceWrappedDataKey(sql, key, rewrapped))) outcome.rewrapped++;
}
