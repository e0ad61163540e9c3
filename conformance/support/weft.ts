// Running `weft` as operators do (`npx weft …` in the checkout, a real process) against a test cluster, and the checks
// the durability suites share.
import assert from "node:assert/strict";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { ClusterStatus } from "../../gateway/src/admin/status.js";
import { readAll } from "./bytes.js";
import { runProgram, type RunResult } from "./clients.js";
import type { TestCluster } from "./cluster.js";

export interface Weft {
  /** Runs `weft args…` with the cluster's endpoint and admin keys (overridden by `env`); never rejects on its exit status. */
  run(args: string[], env?: Record<string, string>): Promise<RunResult>;
  /** `weft status --json`, parsed. */
  status(): Promise<ClusterStatus>;
}

export function weftFor(cluster: Pick<TestCluster, "endpoint" | "accessKey" | "secretKey">): Weft {
  const run = (args: string[], env: Record<string, string> = {}) =>
    runProgram("npx", ["weft", ...args], {
      env: { WEFT_ENDPOINT: cluster.endpoint, WEFT_ACCESS_KEY: cluster.accessKey, WEFT_SECRET_KEY: cluster.secretKey, ...env },
      allowFailure: true,
    });
  return {
    run,
    async status() {
      return JSON.parse((await run(["status", "--json"])).stdout) as ClusterStatus;
    },
  };
}

/** Every object reads back as exactly its bytes. */
export async function expectObjects(s3: S3Client, bucket: string, objects: Map<string, Buffer>, label: string): Promise<void> {
  for (const [key, data] of objects) {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    assert.ok((await readAll(got.Body)).equals(data), `${label}: ${key}`);
  }
}

/** Long enough for the gateway's next disk round (every 2 s) to see a disk stop or start. */
export function nextDiskRound(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 2500));
}
