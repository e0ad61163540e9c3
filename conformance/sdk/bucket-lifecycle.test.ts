// Bucket lifecycle: the configuration API with AWS's errors, and the worker acting on real objects, versions, delete
// markers and uploads, with one-second days and rounds every 200 ms.
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketLifecycleCommand,
  DeleteObjectCommand,
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  type LifecycleRule,
  type S3Client,
} from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { connect, type Sql } from "../../meta/src/db.js";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { expectS3Error } from "../support/expect.js";
import { signedFetch } from "../support/raw.js";

const DAY_SECONDS = 1;

describe("bucket lifecycle", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let s3: S3Client;
  let sql: Sql;

  before(async () => {
    cluster = await startTestCluster({ gatewayEnv: { WEFT_LIFECYCLE_DAY_SECONDS: String(DAY_SECONDS), WEFT_LIFECYCLE_INTERVAL_MS: "200" } });
    s3 = cluster.client({ maxAttempts: 1 });
    sql = connect(cluster.databaseUrl, { max: 1 });
  });
  after(async () => {
    await sql?.end();
    await cluster?.destroy();
  });

  async function bucketWithRules(bucket: string, rules: LifecycleRule[], versioning?: "Enabled"): Promise<void> {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    if (versioning) await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: versioning } }));
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: rules } }));
  }

  const put = (bucket: string, key: string, body: string | Buffer = "bytes", tagging?: string) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...(tagging ? { Tagging: tagging } : {}) }));

  async function exists(bucket: string, key: string): Promise<boolean> {
    try {
      await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw error;
    }
  }

  /** Polls until `check` holds (the worker acts within a day and a round or two). */
  async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) assert.fail(`${what}: still not so after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async function versionsOf(bucket: string, key: string): Promise<{ versions: string[]; markers: string[] }> {
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
    return {
      versions: (listed.Versions ?? []).filter((version) => version.Key === key).map((version) => version.VersionId!),
      markers: (listed.DeleteMarkers ?? []).filter((marker) => marker.Key === key).map((marker) => marker.VersionId!),
    };
  }

  describe("configuration", () => {
    const rules: LifecycleRule[] = [
      { ID: "logs", Filter: { Prefix: "logs/" }, Status: "Enabled", Expiration: { Days: 30 } },
      {
        ID: "versions",
        Filter: { And: { Prefix: "v/", Tags: [{ Key: "k", Value: "v" }], ObjectSizeGreaterThan: 10 } },
        Status: "Disabled",
        NoncurrentVersionExpiration: { NoncurrentDays: 3, NewerNoncurrentVersions: 2 },
      },
      { ID: "uploads", Filter: {}, Status: "Enabled", AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } },
    ];

    it("Put/Get/DeleteBucketLifecycleConfiguration; none set answers NoSuchLifecycleConfiguration", async () => {
      await s3.send(new CreateBucketCommand({ Bucket: "config" }));
      await expectS3Error(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: "config" })), "NoSuchLifecycleConfiguration", 404);
      await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: "config", LifecycleConfiguration: { Rules: rules } }));
      const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: "config" }));
      assert.deepEqual(got.Rules, rules);
      await s3.send(new DeleteBucketLifecycleCommand({ Bucket: "config" }));
      await expectS3Error(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: "config" })), "NoSuchLifecycleConfiguration", 404);
    });

    it("refuses bad configurations with AWS's errors, and Transition with 501, keeping what was there", async () => {
      await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: "config", LifecycleConfiguration: { Rules: [rules[0]!] } }));
      const putRules = (Rules: LifecycleRule[]) => s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: "config", LifecycleConfiguration: { Rules } }));
      const zeroDays = await expectS3Error(putRules([{ ID: "z", Filter: {}, Status: "Enabled", Expiration: { Days: 0 } }]), "InvalidArgument", 400);
      assert.equal(zeroDays.message, "'Days' for Expiration action must be a positive integer");
      await expectS3Error(putRules([{ ID: "a", Filter: {}, Status: "Enabled" }]), "InvalidRequest", 400);
      await expectS3Error(
        putRules([{ ID: "same", Filter: {}, Status: "Enabled", Expiration: { Days: 1 } }, { ID: "same", Filter: {}, Status: "Enabled", Expiration: { Days: 2 } }]),
        "InvalidArgument",
        400,
      );
      const transition = await expectS3Error(
        putRules([{ ID: "t", Filter: {}, Status: "Enabled", Transitions: [{ Days: 30, StorageClass: "GLACIER" }] }]),
        "NotImplemented",
        501,
      );
      assert.match(transition.message, /Transition/);
      const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: "config" }));
      assert.deepEqual(got.Rules?.map((rule) => rule.ID), ["logs"]);
    });

    it("is the owner's to read and change: another user gets AccessDenied, a read-only key may only read", async () => {
      const configuration = { Rules: [rules[0]!] };
      const stranger = await cluster.strangerClient("lifecycle-stranger");
      await expectS3Error(stranger.send(new GetBucketLifecycleConfigurationCommand({ Bucket: "config" })), "AccessDenied", 403);
      await expectS3Error(stranger.send(new PutBucketLifecycleConfigurationCommand({ Bucket: "config", LifecycleConfiguration: configuration })), "AccessDenied", 403);
      await expectS3Error(stranger.send(new DeleteBucketLifecycleCommand({ Bucket: "config" })), "AccessDenied", 403);
      const { client: reader } = await cluster.createKey("admin", { readOnly: true });
      await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: "config", LifecycleConfiguration: configuration }));
      assert.deepEqual((await reader.send(new GetBucketLifecycleConfigurationCommand({ Bucket: "config" }))).Rules?.map((rule) => rule.ID), ["logs"]);
      await expectS3Error(reader.send(new DeleteBucketLifecycleCommand({ Bucket: "config" })), "AccessDenied", 403);
    });

    it("wants Content-MD5 or a checksum of the body, and well-formed XML", async () => {
      const body = `<LifecycleConfiguration><Rule><ID>r</ID><Filter></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`;
      const unsigned = await signedFetch(cluster, "PUT", "/config?lifecycle", body);
      assert.equal(unsigned.status, 400);
      assert.match(await unsigned.text(), /<Code>InvalidRequest<\/Code><Message>Missing required header for this request: Content-Md5.<\/Message>/);
      const md5 = (text: string) => createHash("md5").update(text).digest("base64");
      const accepted = await signedFetch(cluster, "PUT", "/config?lifecycle", body, { headers: { "Content-MD5": md5(body) } });
      assert.equal(accepted.status, 200);
      const malformed = "<LifecycleConfiguration><Rule><ID>r</ID></LifecycleConfiguration>";
      const refused = await signedFetch(cluster, "PUT", "/config?lifecycle", malformed, { headers: { "Content-MD5": md5(malformed) } });
      assert.equal(refused.status, 400);
      assert.match(await refused.text(), /<Code>MalformedXML<\/Code>/);
    });
  });

  it("expires current objects of an unversioned bucket by prefix, tag and size; a Disabled rule does nothing", async () => {
    await bucketWithRules("plain", [
      { ID: "tmp", Filter: { Prefix: "tmp/" }, Status: "Enabled", Expiration: { Days: 1 } },
      { ID: "tagged", Filter: { Tag: { Key: "kind", Value: "scratch" } }, Status: "Enabled", Expiration: { Days: 1 } },
      { ID: "big", Filter: { And: { Prefix: "big/", ObjectSizeGreaterThan: 100 } }, Status: "Enabled", Expiration: { Days: 1 } },
      { ID: "off", Filter: { Prefix: "off/" }, Status: "Disabled", Expiration: { Days: 1 } },
    ]);
    await put("plain", "off/kept");
    await put("plain", "keep/kept");
    await put("plain", "tagged-keep", "bytes", "kind=precious");
    await put("plain", "big/small", Buffer.alloc(10));
    await put("plain", "tmp/gone");
    await put("plain", "tagged-gone", "bytes", "kind=scratch");
    await put("plain", "big/large", Buffer.alloc(200));
    for (const key of ["tmp/gone", "tagged-gone", "big/large"]) await eventually(`${key} expired`, async () => !(await exists("plain", key)));
    for (const key of ["off/kept", "keep/kept", "tagged-keep", "big/small"]) assert.ok(await exists("plain", key), `${key} kept`);
    const keys = await sql<{ key: string }[]>`select key from versions v join buckets b on b.id = v.bucket_id where b.name = 'plain' order by key`;
    assert.deepEqual(keys.map((row) => row.key), ["big/small", "keep/kept", "off/kept", "tagged-keep"]);
  });

  it("expires the current version of a versioned bucket with a delete marker, keeping the version", async () => {
    await bucketWithRules("versioned", [{ ID: "all", Filter: {}, Status: "Enabled", Expiration: { Days: 1 } }], "Enabled");
    const written = await put("versioned", "doc");
    await eventually("a delete marker made current", async () => !(await exists("versioned", "doc")));
    const { versions, markers } = await versionsOf("versioned", "doc");
    assert.deepEqual(versions, [written.VersionId]);
    assert.equal(markers.length, 1);
  });

  it("expires the null version of a Suspended bucket with a null delete marker, and every object once a Date has passed", async () => {
    await bucketWithRules("suspended", [{ ID: "all", Filter: { Prefix: "s/" }, Status: "Enabled", Expiration: { Days: 1 } }], "Enabled");
    const kept = (await put("suspended", "s/doc", "versioned")).VersionId!;
    await s3.send(new PutBucketVersioningCommand({ Bucket: "suspended", VersioningConfiguration: { Status: "Suspended" } }));
    await put("suspended", "s/doc", "null version");
    await eventually("a null delete marker made current", async () => !(await exists("suspended", "s/doc")));
    assert.deepEqual(await versionsOf("suspended", "s/doc"), { versions: [kept], markers: ["null"] });

    await bucketWithRules("dated", [{ ID: "past", Filter: {}, Status: "Enabled", Expiration: { Date: new Date("2020-01-01T00:00:00Z") } }]);
    await put("dated", "any");
    await eventually("expired by date", async () => !(await exists("dated", "any")));
  });

  it("expires noncurrent versions, keeping the NewerNoncurrentVersions newest of them", async () => {
    await bucketWithRules("history", [{ ID: "old", Filter: {}, Status: "Enabled", NoncurrentVersionExpiration: { NoncurrentDays: 1, NewerNoncurrentVersions: 1 } }], "Enabled");
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await put("history", "doc", `version ${i}`)).VersionId!);
    await eventually("two versions left", async () => (await versionsOf("history", "doc")).versions.length === 2);
    assert.deepEqual((await versionsOf("history", "doc")).versions, [ids[3], ids[2]]);
  });

  it("removes a delete marker with no version behind it, and keeps one that has", async () => {
    await bucketWithRules("markers", [{ ID: "markers", Filter: {}, Status: "Enabled", Expiration: { ExpiredObjectDeleteMarker: true } }], "Enabled");
    await put("markers", "shadowed");
    await s3.send(new DeleteObjectCommand({ Bucket: "markers", Key: "shadowed" }));
    await s3.send(new DeleteObjectCommand({ Bucket: "markers", Key: "ghost" }));
    await eventually("the lone marker removed", async () => (await versionsOf("markers", "ghost")).markers.length === 0);
    const shadowed = await versionsOf("markers", "shadowed");
    assert.equal(shadowed.markers.length, 1);
    assert.equal(shadowed.versions.length, 1);
  });

  it("aborts multipart uploads initiated DaysAfterInitiation days ago, under the rule's prefix only", async () => {
    await bucketWithRules("uploads", [{ ID: "abort", Filter: { Prefix: "up/" }, Status: "Enabled", AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }]);
    const stale = await s3.send(new CreateMultipartUploadCommand({ Bucket: "uploads", Key: "up/a" }));
    await s3.send(new UploadPartCommand({ Bucket: "uploads", Key: "up/a", UploadId: stale.UploadId, PartNumber: 1, Body: Buffer.alloc(100_000, 1) }));
    const other = await s3.send(new CreateMultipartUploadCommand({ Bucket: "uploads", Key: "other/b" }));
    const uploadIds = async () => ((await s3.send(new ListMultipartUploadsCommand({ Bucket: "uploads" }))).Uploads ?? []).map((upload) => upload.UploadId);
    await eventually("the upload under up/ aborted", async () => !(await uploadIds()).includes(stale.UploadId));
    assert.deepEqual(await uploadIds(), [other.UploadId]);
    const [parts] = await sql<{ count: number }[]>`select count(*)::int as count from parts where upload_id = ${stale.UploadId!}`;
    assert.equal(parts!.count, 0);
  });

  it("never deletes a noncurrent version under a legal hold or a retention date ahead", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "locked", ObjectLockEnabledForBucket: true }));
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: "locked",
        LifecycleConfiguration: { Rules: [{ ID: "old", Filter: {}, Status: "Enabled", NoncurrentVersionExpiration: { NoncurrentDays: 1 } }] },
      }),
    );
    // Each lock is set with its version's write, so no round can find it due unlocked.
    const held = (await s3.send(new PutObjectCommand({ Bucket: "locked", Key: "doc", Body: "held", ObjectLockLegalHoldStatus: "ON" }))).VersionId!;
    const retainUntil = new Date(Date.now() + 3_600_000);
    const retained = (await s3.send(new PutObjectCommand({ Bucket: "locked", Key: "doc", Body: "retained", ObjectLockMode: "GOVERNANCE", ObjectLockRetainUntilDate: retainUntil })))
      .VersionId!;
    const current = (await put("locked", "doc", "current")).VersionId!;
    const free = (await put("locked", "free", "old")).VersionId!;
    await put("locked", "free", "new");
    await eventually("the unlocked noncurrent version removed", async () => !(await versionsOf("locked", "free")).versions.includes(free));
    // The round that removed it looked at doc's versions too, which were as old.
    assert.deepEqual((await versionsOf("locked", "doc")).versions, [current, retained, held]);
  });

  describe("x-amz-expiration", () => {
    const ruleId = "picture-deletion-rule";
    const days = 1000;

    before(() => bucketWithRules("headers", [{ ID: ruleId, Filter: { Prefix: "pics/" }, Status: "Enabled", Expiration: { Days: days } }]));

    /** The expiry a 1-second day gives an object last modified at `lastModified` (seconds; ms are rounded up). */
    function assertExpiration(header: string | undefined, lastModified: Date): void {
      const match = /^expiry-date="([^"]+)", rule-id="([^"]+)"$/.exec(header ?? "");
      assert.ok(match, `x-amz-expiration: ${header}`);
      assert.equal(match[2], ruleId);
      const seconds = (Date.parse(match[1]!) - lastModified.getTime()) / 1000;
      assert.ok(seconds >= days * DAY_SECONDS && seconds <= days * DAY_SECONDS + 1, `expiry ${match[1]} for ${lastModified.toISOString()}`);
    }

    it("is on PUT, GET and HEAD of an object an Expiration rule selects, and absent on others", async () => {
      const written = await put("headers", "pics/cat.jpg");
      const head = await s3.send(new HeadObjectCommand({ Bucket: "headers", Key: "pics/cat.jpg" }));
      assertExpiration(written.Expiration, head.LastModified!);
      assertExpiration(head.Expiration, head.LastModified!);
      const got = await s3.send(new GetObjectCommand({ Bucket: "headers", Key: "pics/cat.jpg" }));
      assertExpiration(got.Expiration, head.LastModified!);
      await got.Body?.transformToString();
      const other = await put("headers", "docs/readme");
      assert.equal(other.Expiration, undefined);
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket: "headers", Key: "docs/readme" }))).Expiration, undefined);
    });

    it("is on CopyObject and CompleteMultipartUpload", async () => {
      const copied = await s3.send(new CopyObjectCommand({ Bucket: "headers", Key: "pics/copy.jpg", CopySource: "headers/docs/readme" }));
      assertExpiration(copied.Expiration, copied.CopyObjectResult!.LastModified!);
      const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: "headers", Key: "pics/big.jpg" }));
      const part = await s3.send(new UploadPartCommand({ Bucket: "headers", Key: "pics/big.jpg", UploadId: upload.UploadId, PartNumber: 1, Body: "one part" }));
      const completed = await s3.send(
        new CompleteMultipartUploadCommand({ Bucket: "headers", Key: "pics/big.jpg", UploadId: upload.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }),
      );
      const head = await s3.send(new HeadObjectCommand({ Bucket: "headers", Key: "pics/big.jpg" }));
      assertExpiration(completed.Expiration, head.LastModified!);
    });

    it("goes with the rules: none once the configuration is deleted", async () => {
      await s3.send(new DeleteBucketLifecycleCommand({ Bucket: "headers" }));
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket: "headers", Key: "pics/cat.jpg" }))).Expiration, undefined);
    });
  });
});
