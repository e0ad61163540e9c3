// Users and access keys as operators manage them (`npx weft user …`, `weft key …`, `weft bucket owner`, real
// processes) and as S3 clients then meet them: each user's buckets are its own, a narrowed key does only what it may,
// a revoked key stops at once, secrets are sealed at rest, and the admin key and the master key can be changed.
import assert from "node:assert/strict";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { newMasterKeyText } from "../../gateway/src/auth/master-keys.js";
import { connect } from "../../meta/src/db.js";
import { readAll } from "../support/bytes.js";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { weftFor } from "../support/weft.js";

interface CreatedKey {
  accessKeyId: string;
  secretAccessKey: string;
  user: string;
  readOnly: boolean;
  buckets: string[] | null;
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { name: string }).name;
  }
  return "no error";
}

describe("users and access keys (weft user, weft key, weft bucket owner)", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let admin: S3Client;
  const weft = (args: string[], env: Record<string, string> = {}) => weftFor(cluster).run(args, env);
  const clientFor = (key: { accessKeyId: string; secretAccessKey: string }) =>
    new S3Client({ endpoint: cluster.endpoint, region: cluster.region, forcePathStyle: true, credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey } });

  async function createKey(args: string[]): Promise<CreatedKey> {
    const result = await weft(["key", "create", ...args, "--json"]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    return JSON.parse(result.stdout) as CreatedKey;
  }

  let alice: S3Client;
  let aliceKey: CreatedKey;
  let aliceId: string;

  before(async () => {
    cluster = await startTestCluster();
    admin = cluster.client();
    await admin.send(new CreateBucketCommand({ Bucket: "admins-bucket" }));
    await admin.send(new PutObjectCommand({ Bucket: "admins-bucket", Key: "report", Body: "admin data" }));
  });
  after(async () => {
    await cluster?.destroy();
  });

  it("creates a user and a key; the key's user owns what it creates and sees only that", async () => {
    const created = await weft(["user", "create", "alice", "--json"]);
    assert.equal(created.code, 0, created.stdout + created.stderr);
    aliceId = (JSON.parse(created.stdout) as { canonicalId: string }).canonicalId;
    assert.match(aliceId, /^[0-9a-f]{64}$/);
    assert.equal((await weft(["user", "create", "alice"])).code, 1, "the name is taken");

    const text = await weft(["key", "create", "alice"]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^access key {2}WK[A-Z2-7]{18}$/m);
    assert.match(text.stdout, /^secret key {2}\S{40}$/m);
    aliceKey = await createKey(["alice"]);
    alice = clientFor(aliceKey);

    await alice.send(new CreateBucketCommand({ Bucket: "alice-photos" }));
    await alice.send(new CreateBucketCommand({ Bucket: "alice-private" }));
    await alice.send(new PutObjectCommand({ Bucket: "alice-photos", Key: "cat.jpg", Body: "meow" }));
    await alice.send(new PutObjectCommand({ Bucket: "alice-private", Key: "diary", Body: "secret" }));

    const listed = await alice.send(new ListBucketsCommand({}));
    assert.deepEqual(listed.Buckets?.map((bucket) => bucket.Name), ["alice-photos", "alice-private"]);
    assert.deepEqual(listed.Owner, { ID: aliceId, DisplayName: "alice" });
    const objects = await alice.send(new ListObjectsV2Command({ Bucket: "alice-photos", FetchOwner: true }));
    assert.deepEqual(objects.Contents?.[0]?.Owner, { ID: aliceId, DisplayName: "alice" });
    const versions = await alice.send(new ListObjectVersionsCommand({ Bucket: "alice-photos" }));
    assert.deepEqual(versions.Versions?.[0]?.Owner, { ID: aliceId, DisplayName: "alice" });

    const adminsList = await admin.send(new ListBucketsCommand({}));
    assert.deepEqual(adminsList.Buckets?.map((bucket) => bucket.Name), ["admins-bucket"]);
    assert.equal(adminsList.Owner?.DisplayName, "admin");
    assert.equal(await refusal(admin.send(new GetObjectCommand({ Bucket: "alice-photos", Key: "cat.jpg" }))), "AccessDenied");
    assert.equal(await refusal(alice.send(new GetObjectCommand({ Bucket: "admins-bucket", Key: "report" }))), "AccessDenied");
    assert.equal(await refusal(alice.send(new CreateBucketCommand({ Bucket: "admins-bucket" }))), "BucketAlreadyExists");
  });

  it("keeps a read-only key, limited to one bucket, to reading that bucket", async () => {
    const backupKey = await createKey(["alice", "--read-only", "--bucket", "alice-photos"]);
    assert.deepEqual([backupKey.readOnly, backupKey.buckets], [true, ["alice-photos"]]);
    const backup = clientFor(backupKey);
    const got = await backup.send(new GetObjectCommand({ Bucket: "alice-photos", Key: "cat.jpg" }));
    assert.equal((await readAll(got.Body)).toString(), "meow");
    assert.equal((await backup.send(new ListObjectsV2Command({ Bucket: "alice-photos" }))).KeyCount, 1);
    assert.deepEqual((await backup.send(new ListBucketsCommand({}))).Buckets?.map((bucket) => bucket.Name), ["alice-photos"]);

    assert.equal(await refusal(backup.send(new PutObjectCommand({ Bucket: "alice-photos", Key: "dog.jpg", Body: "woof" }))), "AccessDenied");
    assert.equal(await refusal(backup.send(new DeleteObjectCommand({ Bucket: "alice-photos", Key: "cat.jpg" }))), "AccessDenied");
    assert.equal(await refusal(backup.send(new GetObjectCommand({ Bucket: "alice-private", Key: "diary" }))), "AccessDenied");
    assert.equal(await refusal(backup.send(new CreateBucketCommand({ Bucket: "alice-new" }))), "AccessDenied");

    // A writable key limited to one bucket cannot copy out of another.
    const photosOnly = clientFor(await createKey(["alice", "--bucket", "alice-photos"]));
    await photosOnly.send(new PutObjectCommand({ Bucket: "alice-photos", Key: "dog.jpg", Body: "woof" }));
    const copy = new CopyObjectCommand({ Bucket: "alice-photos", Key: "stolen", CopySource: "alice-private/diary" });
    assert.equal(await refusal(photosOnly.send(copy)), "AccessDenied");
    await alice.send(new GetObjectCommand({ Bucket: "alice-photos", Key: "dog.jpg" }));
    assert.equal(await refusal(alice.send(new GetObjectCommand({ Bucket: "alice-photos", Key: "stolen" }))), "NoSuchKey");
  });

  it("lists keys without their secrets, and keeps secrets sealed in PostgreSQL", async () => {
    const listed = await weft(["key", "list", "alice", "--json"]);
    assert.equal(listed.code, 0);
    const { keys } = JSON.parse(listed.stdout) as { keys: { accessKeyId: string; user: string; admin: boolean }[] };
    assert.ok(keys.some((key) => key.accessKeyId === aliceKey.accessKeyId && key.user === "alice"));
    assert.ok(!listed.stdout.includes(aliceKey.secretAccessKey));
    const all = await weft(["key", "list"]);
    assert.match(all.stdout, new RegExp(`^  ${cluster.accessKey} +admin +admin \\(configured\\)`, "m"));
    assert.match(all.stdout, /read-only; buckets: alice-photos/);

    const sql = connect(cluster.databaseUrl, { max: 1 });
    try {
      const rows = await sql<{ access_key_id: string; plaintext_secret: string | null; sealed_secret: Buffer }[]>`select * from access_keys`;
      assert.ok(rows.length >= 4);
      assert.ok(rows.every((row) => row.plaintext_secret === null && row.sealed_secret.length > 40));
      const sealed = rows.find((row) => row.access_key_id === aliceKey.accessKeyId)!.sealed_secret;
      assert.ok(!sealed.includes(Buffer.from(aliceKey.secretAccessKey)), "the secret is not in the row");
      assert.ok(!rows.some((row) => row.access_key_id === cluster.accessKey), "the configured admin key is not stored");
    } finally {
      await sql.end();
    }
  });

  it("revokes a key at once; the configured admin key cannot be revoked from here", async () => {
    const doomedKey = await createKey(["alice"]);
    const doomed = clientFor(doomedKey);
    await doomed.send(new ListBucketsCommand({}));
    const revoked = await weft(["key", "revoke", doomedKey.accessKeyId]);
    assert.equal(revoked.code, 0, revoked.stdout);
    assert.equal(await refusal(doomed.send(new ListBucketsCommand({}))), "InvalidAccessKeyId");
    assert.equal((await weft(["key", "revoke", doomedKey.accessKeyId])).code, 1, "already gone");
    const configured = await weft(["key", "revoke", cluster.accessKey, "--json"]);
    assert.equal(configured.code, 1);
    assert.equal((JSON.parse(configured.stdout) as { error: { code: string } }).error.code, "KeyIsConfigured");
  });

  it("gives a bucket to another user", async () => {
    assert.equal((await weft(["user", "create", "bob"])).code, 0);
    const bob = clientFor(await createKey(["bob"]));
    const given = await weft(["bucket", "owner", "alice-private", "bob"]);
    assert.equal(given.code, 0, given.stdout);
    assert.match(given.stdout, /now owned by bob/);
    const got = await bob.send(new GetObjectCommand({ Bucket: "alice-private", Key: "diary" }));
    assert.equal((await readAll(got.Body)).toString(), "secret");
    assert.equal(await refusal(alice.send(new GetObjectCommand({ Bucket: "alice-private", Key: "diary" }))), "AccessDenied");
    assert.equal((await weft(["bucket", "owner", "alice-private", "nobody"])).code, 1);

    const users = JSON.parse((await weft(["user", "list", "--json"])).stdout) as { users: { name: string; buckets: number }[] };
    assert.deepEqual(users.users.map((row) => [row.name, row.buckets]), [["admin", 1], ["alice", 1], ["bob", 1]]);
  });

  it("keeps the admin user's buckets when the configured admin key changes, and retires the old key", async () => {
    await cluster.gateway.stop();
    await cluster.restartGateway({ WEFT_ACCESS_KEY: "newadminkey", WEFT_SECRET_KEY: "newadmin-secret" });
    const newAdmin = clientFor({ accessKeyId: "newadminkey", secretAccessKey: "newadmin-secret" });
    assert.deepEqual((await newAdmin.send(new ListBucketsCommand({}))).Buckets?.map((bucket) => bucket.Name), ["admins-bucket"]);
    assert.equal(await refusal(admin.send(new ListBucketsCommand({}))), "InvalidAccessKeyId");
    const asNewAdmin = await weft(["user", "list"], { WEFT_ACCESS_KEY: "newadminkey", WEFT_SECRET_KEY: "newadmin-secret" });
    assert.equal(asNewAdmin.code, 0, asNewAdmin.stdout);
    await cluster.gateway.stop();
    await cluster.restartGateway({ WEFT_ACCESS_KEY: cluster.accessKey, WEFT_SECRET_KEY: cluster.secretKey });
  });

  it("rotates the master key: secrets are sealed again under the new one, and a gateway without it refuses to start", async () => {
    const fingerprintOf = async () => {
      const sql = connect(cluster.databaseUrl, { max: 1 });
      try {
        const [row] = await sql<{ sealed_secret: Buffer }[]>`select sealed_secret from access_keys where access_key_id = ${aliceKey.accessKeyId}`;
        return row!.sealed_secret.subarray(1, 9).toString("hex");
      } finally {
        await sql.end();
      }
    };
    const { readFile } = await import("node:fs/promises");
    const oldKey = (await readFile(`${cluster.dataDir}/master-key`, "utf8")).trim();
    const newKey = newMasterKeyText();
    const before = await fingerprintOf();

    await cluster.gateway.stop();
    await cluster.restartGateway({ WEFT_MASTER_KEY_FILE: "", WEFT_MASTER_KEY: newKey, WEFT_MASTER_KEY_PREVIOUS: oldKey });
    assert.notEqual(await fingerprintOf(), before, "sealed again under the new key");
    const fresh = clientFor(aliceKey);
    assert.deepEqual((await fresh.send(new ListBucketsCommand({}))).Buckets?.map((bucket) => bucket.Name), ["alice-photos"]);

    await cluster.gateway.stop();
    await cluster.restartGateway({ WEFT_MASTER_KEY_PREVIOUS: "" });
    assert.equal((await clientFor(aliceKey).send(new ListBucketsCommand({}))).Buckets?.length, 1, "the old key is no longer needed");

    await cluster.gateway.stop();
    await assert.rejects(cluster.restartGateway({ WEFT_MASTER_KEY: oldKey }), /sealed under a master key this gateway does not have/);
    await cluster.restartGateway({ WEFT_MASTER_KEY: newKey });
  });
});
