// Object lock as AWS has it, driven with the SDK: lock-enabled buckets, retention and legal hold on writes and by
// their own operations, deletes refused while a lock holds, GOVERNANCE bypass only for whoever may, COMPLIANCE never,
// a bucket's default retention, and the errors AWS answers.
import assert from "node:assert/strict";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { expectS3Error } from "../support/expect.js";
import { readAll } from "../support/bytes.js";

const LOCKED = "vault";
const DAY_MS = 86_400_000;

describe("object lock (SDK)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let s3: S3Client;

  before(async () => {
    cluster = await startTestCluster();
    s3 = cluster.client({ maxAttempts: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: LOCKED, ObjectLockEnabledForBucket: true }));
  });
  after(async () => cluster?.destroy());

  const inDays = (days: number) => new Date(Date.now() + days * DAY_MS);

  async function put(key: string, extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {}, bucket = LOCKED): Promise<string> {
    const { VersionId } = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `bytes of ${key}`, ...extra }));
    assert.ok(VersionId);
    return VersionId;
  }

  const deleteVersion = (Key: string, VersionId: string, BypassGovernanceRetention?: boolean) =>
    s3.send(new DeleteObjectCommand({ Bucket: LOCKED, Key, VersionId, BypassGovernanceRetention }));

  async function expectLocked(request: Promise<unknown>): Promise<void> {
    const error = await expectS3Error(request, "AccessDenied", 403);
    assert.match(error.message, /object lock/);
  }

  it("creates a lock-enabled bucket that keeps versions for good", async () => {
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: LOCKED }))).Status, "Enabled");
    const { ObjectLockConfiguration } = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: LOCKED }));
    assert.deepEqual(ObjectLockConfiguration, { ObjectLockEnabled: "Enabled" });
    await expectS3Error(s3.send(new PutBucketVersioningCommand({ Bucket: LOCKED, VersioningConfiguration: { Status: "Suspended" } })), "InvalidBucketState", 409);
  });

  it("refuses lock requests on a bucket without lock, and enables lock once versioning is Enabled", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "plain" }));
    await expectS3Error(s3.send(new GetObjectLockConfigurationCommand({ Bucket: "plain" })), "ObjectLockConfigurationNotFoundError", 404);
    await expectS3Error(
      s3.send(new PutObjectCommand({ Bucket: "plain", Key: "k", Body: "x", ObjectLockMode: "GOVERNANCE", ObjectLockRetainUntilDate: inDays(1) })),
      "InvalidRequest",
      400,
    );
    await s3.send(new PutObjectCommand({ Bucket: "plain", Key: "k", Body: "x" }));
    await expectS3Error(s3.send(new GetObjectRetentionCommand({ Bucket: "plain", Key: "k" })), "InvalidRequest", 400);
    await expectS3Error(s3.send(new PutObjectLegalHoldCommand({ Bucket: "plain", Key: "k", LegalHold: { Status: "ON" } })), "InvalidRequest", 400);
    const enable = () => s3.send(new PutObjectLockConfigurationCommand({ Bucket: "plain", ObjectLockConfiguration: { ObjectLockEnabled: "Enabled" } }));
    await expectS3Error(enable(), "InvalidBucketState", 409);
    await s3.send(new PutBucketVersioningCommand({ Bucket: "plain", VersioningConfiguration: { Status: "Enabled" } }));
    await enable();
    assert.equal((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: "plain" }))).ObjectLockConfiguration?.ObjectLockEnabled, "Enabled");
    await expectS3Error(s3.send(new PutBucketVersioningCommand({ Bucket: "plain", VersioningConfiguration: { Status: "Suspended" } })), "InvalidBucketState", 409);
  });

  it("keeps a COMPLIANCE version: no delete, no shortening, no bypass; a plain DELETE only stacks a marker", async () => {
    const until = inDays(2);
    const versionId = await put("compliance", { ObjectLockMode: "COMPLIANCE", ObjectLockRetainUntilDate: until });
    const head = await s3.send(new HeadObjectCommand({ Bucket: LOCKED, Key: "compliance" }));
    assert.equal(head.ObjectLockMode, "COMPLIANCE");
    assert.equal(head.ObjectLockRetainUntilDate?.getTime(), Math.floor(until.getTime() / 1000) * 1000 + (until.getTime() % 1000));
    await expectLocked(deleteVersion("compliance", versionId));
    await expectLocked(deleteVersion("compliance", versionId, true));
    const earlier = { Mode: "COMPLIANCE" as const, RetainUntilDate: inDays(1) };
    await expectS3Error(s3.send(new PutObjectRetentionCommand({ Bucket: LOCKED, Key: "compliance", Retention: earlier, BypassGovernanceRetention: true })), "AccessDenied", 403);
    await expectS3Error(
      s3.send(new PutObjectRetentionCommand({ Bucket: LOCKED, Key: "compliance", Retention: { Mode: "GOVERNANCE", RetainUntilDate: inDays(3) }, BypassGovernanceRetention: true })),
      "AccessDenied",
      403,
    );
    const later = inDays(5);
    await s3.send(new PutObjectRetentionCommand({ Bucket: LOCKED, Key: "compliance", Retention: { Mode: "COMPLIANCE", RetainUntilDate: later } }));
    const { Retention } = await s3.send(new GetObjectRetentionCommand({ Bucket: LOCKED, Key: "compliance", VersionId: versionId }));
    assert.equal(Retention?.Mode, "COMPLIANCE");
    assert.equal(Retention?.RetainUntilDate?.getTime(), later.getTime());

    const marker = await s3.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: "compliance" }));
    assert.equal(marker.DeleteMarker, true);
    const kept = await s3.send(new GetObjectCommand({ Bucket: LOCKED, Key: "compliance", VersionId: versionId }));
    assert.equal((await readAll(kept.Body)).toString(), "bytes of compliance");
    // The marker itself carries no lock and goes.
    await deleteVersion("compliance", marker.VersionId!);
    await expectLocked(deleteVersion("compliance", versionId));
  });

  it("lets a GOVERNANCE retention be set aside only by a requester asking to and allowed to", async () => {
    const versionId = await put("governance", { ObjectLockMode: "GOVERNANCE", ObjectLockRetainUntilDate: inDays(2) });
    await expectLocked(deleteVersion("governance", versionId));
    await expectS3Error(
      s3.send(new PutObjectRetentionCommand({ Bucket: LOCKED, Key: "governance", Retention: { Mode: "GOVERNANCE", RetainUntilDate: inDays(1) } })),
      "AccessDenied",
      403,
    );
    await s3.send(new PutObjectRetentionCommand({ Bucket: LOCKED, Key: "governance", Retention: { Mode: "GOVERNANCE", RetainUntilDate: inDays(1) }, BypassGovernanceRetention: true }));

    // A user the policy lets delete versions, but not bypass governance, is held by the retention.
    const bob = await cluster.strangerClient("bob");
    const policy = (actions: string[]) =>
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam:::user/bob" }, Action: actions, Resource: `arn:aws:s3:::${LOCKED}/*` }],
      });
    await s3.send(new PutBucketPolicyCommand({ Bucket: LOCKED, Policy: policy(["s3:DeleteObjectVersion"]) }));
    await expectLocked(bob.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: "governance", VersionId: versionId, BypassGovernanceRetention: true })));
    await s3.send(new PutBucketPolicyCommand({ Bucket: LOCKED, Policy: policy(["s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"]) }));
    await bob.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: "governance", VersionId: versionId, BypassGovernanceRetention: true }));
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: LOCKED, Key: "governance", VersionId: versionId })), "NotFound", 404);
  });

  it("holds a version under legal hold whatever the retention and the bypass, until the hold is lifted", async () => {
    const versionId = await put("held", { ObjectLockLegalHoldStatus: "ON" });
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: LOCKED, Key: "held" }))).ObjectLockLegalHoldStatus, "ON");
    await expectLocked(deleteVersion("held", versionId, true));
    await s3.send(new PutObjectLegalHoldCommand({ Bucket: LOCKED, Key: "held", VersionId: versionId, LegalHold: { Status: "OFF" } }));
    assert.equal((await s3.send(new GetObjectLegalHoldCommand({ Bucket: LOCKED, Key: "held" }))).LegalHold?.Status, "OFF");
    await deleteVersion("held", versionId);

    const other = await put("hold-later");
    await expectS3Error(s3.send(new GetObjectLegalHoldCommand({ Bucket: LOCKED, Key: "hold-later" })), "NoSuchObjectLockConfiguration", 404);
    await expectS3Error(s3.send(new GetObjectRetentionCommand({ Bucket: LOCKED, Key: "hold-later" })), "NoSuchObjectLockConfiguration", 404);
    await s3.send(new PutObjectLegalHoldCommand({ Bucket: LOCKED, Key: "hold-later", LegalHold: { Status: "ON" } }));
    assert.equal((await s3.send(new GetObjectLegalHoldCommand({ Bucket: LOCKED, Key: "hold-later", VersionId: other }))).LegalHold?.Status, "ON");
    await expectLocked(deleteVersion("hold-later", other));
  });

  it("deletes the unlocked keys of a DeleteObjects request and refuses the locked ones", async () => {
    const locked = await put("batch/locked", { ObjectLockMode: "COMPLIANCE", ObjectLockRetainUntilDate: inDays(1) });
    const free = await put("batch/free");
    const { Deleted, Errors } = await s3.send(
      new DeleteObjectsCommand({ Bucket: LOCKED, Delete: { Objects: [{ Key: "batch/locked", VersionId: locked }, { Key: "batch/free", VersionId: free }] } }),
    );
    assert.deepEqual(Deleted?.map((entry) => entry.Key), ["batch/free"]);
    assert.equal(Errors?.length, 1);
    assert.equal(Errors![0].Key, "batch/locked");
    assert.equal(Errors![0].Code, "AccessDenied");
  });

  it("lets a version go once its retention has passed", async () => {
    const versionId = await put("brief", { ObjectLockMode: "COMPLIANCE", ObjectLockRetainUntilDate: new Date(Date.now() + 1500) });
    await expectLocked(deleteVersion("brief", versionId));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await deleteVersion("brief", versionId);
  });

  it("gives new versions the bucket's default retention unless the write names its own, multipart and copies too", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "defaults", ObjectLockEnabledForBucket: true }));
    await s3.send(
      new PutObjectLockConfigurationCommand({
        Bucket: "defaults",
        ObjectLockConfiguration: { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "GOVERNANCE", Days: 2 } } },
      }),
    );
    const { ObjectLockConfiguration } = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: "defaults" }));
    assert.deepEqual(ObjectLockConfiguration?.Rule?.DefaultRetention, { Mode: "GOVERNANCE", Days: 2 });

    const nearTwoDays = (date: Date | undefined) => assert.ok(date && Math.abs(date.getTime() - inDays(2).getTime()) < 60_000, `${date?.toISOString()} is two days ahead`);
    await put("small", {}, "defaults");
    const small = await s3.send(new HeadObjectCommand({ Bucket: "defaults", Key: "small" }));
    assert.equal(small.ObjectLockMode, "GOVERNANCE");
    nearTwoDays(small.ObjectLockRetainUntilDate);
    await put("large", { Body: Buffer.alloc(300 * 1024, 7) }, "defaults");
    nearTwoDays((await s3.send(new GetObjectRetentionCommand({ Bucket: "defaults", Key: "large" }))).Retention?.RetainUntilDate);
    await put("sealed", { ServerSideEncryption: "AES256" }, "defaults");
    const sealed = await s3.send(new HeadObjectCommand({ Bucket: "defaults", Key: "sealed" }));
    assert.equal(sealed.ServerSideEncryption, "AES256");
    nearTwoDays(sealed.ObjectLockRetainUntilDate);
    const own = inDays(9);
    await put("own", { ObjectLockMode: "COMPLIANCE", ObjectLockRetainUntilDate: own }, "defaults");
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: "defaults", Key: "own" }))).ObjectLockMode, "COMPLIANCE");

    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "defaults", Key: "parted", ObjectLockLegalHoldStatus: "ON" }));
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: "defaults", Key: "parted", UploadId, PartNumber: 1, Body: "one part" }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: "defaults", Key: "parted", UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] } }));
    const parted = await s3.send(new HeadObjectCommand({ Bucket: "defaults", Key: "parted" }));
    assert.equal(parted.ObjectLockLegalHoldStatus, "ON");
    nearTwoDays(parted.ObjectLockRetainUntilDate);

    const { UploadId: lockedUpload } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: "defaults", Key: "parted-own", ObjectLockMode: "COMPLIANCE", ObjectLockRetainUntilDate: own }),
    );
    const part = await s3.send(new UploadPartCommand({ Bucket: "defaults", Key: "parted-own", UploadId: lockedUpload, PartNumber: 1, Body: "one part" }));
    await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: "defaults", Key: "parted-own", UploadId: lockedUpload, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }),
    );
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: "defaults", Key: "parted-own" }))).ObjectLockMode, "COMPLIANCE");

    await s3.send(new CopyObjectCommand({ Bucket: "defaults", Key: "copied", CopySource: "defaults/own" }));
    const copied = await s3.send(new HeadObjectCommand({ Bucket: "defaults", Key: "copied" }));
    assert.equal(copied.ObjectLockMode, "GOVERNANCE", "a copy gets the default, not its source's retention");
    await s3.send(new CopyObjectCommand({ Bucket: "defaults", Key: "copied-own", CopySource: "defaults/own", ObjectLockMode: "COMPLIANCE", ObjectLockRetainUntilDate: own }));
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: "defaults", Key: "copied-own" }))).ObjectLockMode, "COMPLIANCE");

    // Without a rule, new versions get no retention.
    await s3.send(new PutObjectLockConfigurationCommand({ Bucket: "defaults", ObjectLockConfiguration: { ObjectLockEnabled: "Enabled" } }));
    await put("after", {}, "defaults");
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: "defaults", Key: "after" }))).ObjectLockMode, undefined);
  });

  it("requires a digest of the body of a PUT or a part a lock applies to, as AWS does", async () => {
    const bare = cluster.client({ maxAttempts: 1, requestChecksumCalculation: "WHEN_REQUIRED" });
    const error = await expectS3Error(
      bare.send(new PutObjectCommand({ Bucket: LOCKED, Key: "bare", Body: "x", ObjectLockLegalHoldStatus: "ON" })),
      "InvalidRequest",
      400,
    );
    assert.match(error.message, /Content-MD5 OR x-amz-checksum- HTTP header is required/);
    await bare.send(new PutObjectCommand({ Bucket: LOCKED, Key: "bare", Body: "x" }));
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: LOCKED, Prefix: "bare" }));
    assert.equal(versions.Versions?.length, 1, "the refused PUT stored nothing");

    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: LOCKED, Key: "bare-parts", ObjectLockLegalHoldStatus: "ON" }));
    const part = { Bucket: LOCKED, Key: "bare-parts", UploadId, PartNumber: 1, Body: "part" };
    const refused = await expectS3Error(bare.send(new UploadPartCommand(part)), "InvalidRequest", 400);
    assert.match(refused.message, /required for Upload Part requests/);
    await s3.send(new UploadPartCommand(part));
  });

  it("answers malformed lock requests as AWS does", async () => {
    await expectS3Error(
      s3.send(new PutObjectCommand({ Bucket: LOCKED, Key: "bad", Body: "x", ObjectLockMode: "COMPLIANCE" })),
      "InvalidArgument",
      400,
    );
    await expectS3Error(
      s3.send(new PutObjectCommand({ Bucket: LOCKED, Key: "bad", Body: "x", ObjectLockMode: "COMPLIANCE", ObjectLockRetainUntilDate: new Date(Date.now() - DAY_MS) })),
      "InvalidArgument",
      400,
    );
    const configure = (DefaultRetention: Record<string, unknown>) =>
      s3.send(new PutObjectLockConfigurationCommand({ Bucket: LOCKED, ObjectLockConfiguration: { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention } } }));
    await expectS3Error(configure({ Mode: "GOVERNANCE", Days: 1, Years: 1 }), "MalformedXML", 400);
    await expectS3Error(configure({ Mode: "GOVERNANCE", Days: 0 }), "InvalidArgument", 400);
    await expectS3Error(configure({ Mode: "FOREVER", Days: 1 }), "MalformedXML", 400);
    await expectS3Error(configure({ Days: 1 }), "MalformedXML", 400);
    await expectS3Error(s3.send(new GetObjectRetentionCommand({ Bucket: LOCKED, Key: "never-written" })), "NoSuchKey", 404);
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: "marked" }));
    await expectS3Error(
      s3.send(new PutObjectLegalHoldCommand({ Bucket: LOCKED, Key: "marked", VersionId: marker.VersionId, LegalHold: { Status: "ON" } })),
      "MethodNotAllowed",
      405,
    );
    assert.deepEqual((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: LOCKED }))).ObjectLockConfiguration, { ObjectLockEnabled: "Enabled" });
  });
});
