// One cluster shared by the suites that leave it as they found it (buckets, objects, listing, multipart, auth).
// Suites that stop servers or corrupt data start their own. Stopped by the root hook in hooks.ts.
import { startTestCluster, type TestCluster } from "./cluster.js";

let shared: Promise<TestCluster> | undefined;

export function sharedCluster(): Promise<TestCluster> {
  shared ??= startTestCluster();
  return shared;
}

export async function stopSharedCluster(): Promise<void> {
  if (!shared) return;
  const cluster = await shared.catch(() => undefined);
  shared = undefined;
  await cluster?.destroy();
}
