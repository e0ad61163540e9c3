// One cluster shared by the suites that leave it as they found it (buckets, objects, listing, multipart, auth).
// Suites that stop servers or corrupt data start their own. Stopped by the root hook in hooks.ts.
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
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

/** The shared cluster, an SDK client for it and a bucket of the suite's own, created: a suite's usual `before`. */
export async function sharedClusterWithBucket(bucket: string): Promise<{ cluster: TestCluster; s3: S3Client }> {
  const cluster = await sharedCluster();
  const s3 = cluster.client();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return { cluster, s3 };
}
