import assert from "node:assert/strict";
import { migrate } from "./db.js";
import { createBucket, getBucket, setBucketOwner } from "./pg/buckets.js";
import { ACCESS_KEY_CHANGES_CHANNEL, deleteAccessKey, getAccessKey, insertAccessKey, listAccessKeys, storeSealedSecret } from "./pg/keys.js";
import { adoptAdminUser, createUser, getUserByName, listUsers, userNames } from "./pg/users.js";
import { startTestDatabase, type TestDatabase } from "./test-support.js";

const ALICE = "a".repeat(64);
const BOB = "b".repeat(64);

describe("meta: users and access keys", () => {
  let db: TestDatabase;
  before(async () => {
    db = await startTestDatabase();
  });
  after(async () => {
    await db?.stop();
  });

  it("creates users with unique names", async () => {
    const alice = await createUser(db.sql, { canonicalId: ALICE, name: "alice" });
    assert.equal(alice?.name, "alice");
    assert.equal(await createUser(db.sql, { canonicalId: BOB, name: "alice" }), undefined, "the name is taken");
    await createUser(db.sql, { canonicalId: BOB, name: "bob" });
    assert.equal((await getUserByName(db.sql, "bob"))?.canonicalId, BOB);
    assert.deepEqual(await userNames(db.sql, [ALICE, BOB, "c".repeat(64)]), new Map([[ALICE, "alice"], [BOB, "bob"]]));
  });

  it("stores keys with their user, scope and sealed secret, and tells listeners of a revocation", async () => {
    await insertAccessKey(db.sql, { accessKeyId: "WKALICE1", userId: ALICE, sealedSecret: Buffer.from("sealed-1"), readOnly: true, buckets: ["backups", "photos"] });
    await insertAccessKey(db.sql, { accessKeyId: "WKBOB1", userId: BOB, sealedSecret: Buffer.from("sealed-2"), readOnly: false, buckets: undefined });
    const key = await getAccessKey(db.sql, "WKALICE1");
    assert.deepEqual(
      { user: key?.userName, id: key?.userId, sealed: key?.sealedSecret?.toString(), plain: key?.plaintextSecret, readOnly: key?.readOnly, buckets: key?.buckets },
      { user: "alice", id: ALICE, sealed: "sealed-1", plain: undefined, readOnly: true, buckets: ["backups", "photos"] },
    );
    assert.deepEqual((await listAccessKeys(db.sql, BOB)).map((record) => [record.accessKeyId, record.buckets]), [["WKBOB1", undefined]]);
    const users = await listUsers(db.sql);
    assert.deepEqual(users.map((user) => [user.name, user.keys]), [["alice", 1], ["bob", 1]]);

    const heard: string[] = [];
    const listening = await db.sql.listen(ACCESS_KEY_CHANGES_CHANNEL, (payload) => heard.push(payload));
    try {
      assert.equal(await deleteAccessKey(db.sql, "WKBOB1"), true);
      assert.equal(await deleteAccessKey(db.sql, "WKBOB1"), false);
      for (let waited = 0; heard.length === 0 && waited < 100; waited++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(heard, ["WKBOB1"]);
    } finally {
      await listening.unlisten();
    }
    assert.equal(await getAccessKey(db.sql, "WKBOB1"), undefined);
  });

  it("gives a bucket to another user", async () => {
    await createBucket(db.sql, { name: "handed-over", owner: ALICE, region: "r" });
    assert.equal((await setBucketOwner(db.sql, "handed-over", BOB))?.owner, BOB);
    assert.equal((await getBucket(db.sql, "handed-over"))?.owner, BOB);
    assert.equal(await setBucketOwner(db.sql, "no-such-bucket", BOB), undefined);
  });

  it("adopts the admin user once, keeping it across admin key changes", async () => {
    const first = await adoptAdminUser(db.sql, "admin", ["ENVKEY1"], "1".repeat(64));
    assert.equal(first.canonicalId, "1".repeat(64));
    const again = await adoptAdminUser(db.sql, "admin", ["ENVKEY2"], "2".repeat(64));
    assert.equal(again.canonicalId, first.canonicalId, "a new admin key acts as the same user");
  });
});

describe("meta: upgrading access keys to users", () => {
  let db: TestDatabase;
  before(async () => {
    db = await startTestDatabase({ schemaThrough: "0015_bucket_storage_class.sql" });
  });
  after(async () => {
    await db?.stop();
  });

  it("turns every key that owned something into a user, and the configured admin key's into the admin user", async () => {
    // As the schema before users: owners are access key ids, secrets in plain text.
    await db.sql`insert into access_keys (access_key_id, secret) values ('weftadmin', 'admin-secret'), ('sqlkey', 'sql-secret')`;
    await db.sql`insert into buckets (name, owner, region) values ('admins', 'weftadmin', 'r'), ('sqls', 'sqlkey', 'r'), ('orphan', 'gone', 'r')`;
    await migrate(db.sql);

    const owners = await db.sql<{ name: string; owner: string }[]>`select b.name, u.name as owner from buckets b join users u on u.canonical_id = b.owner order by b.name`;
    assert.deepEqual(owners.map((row) => [row.name, row.owner]), [["admins", "weftadmin"], ["orphan", "gone"], ["sqls", "sqlkey"]]);
    const sqlKey = await getAccessKey(db.sql, "sqlkey");
    assert.deepEqual([sqlKey?.userName, sqlKey?.plaintextSecret, sqlKey?.sealedSecret], ["sqlkey", "sql-secret", undefined]);

    const admin = await adoptAdminUser(db.sql, "admin", ["weftadmin"], "f".repeat(64));
    assert.equal((await getBucket(db.sql, "admins"))?.owner, admin.canonicalId, "the admin user is the one the admin key was");
    assert.equal(await getAccessKey(db.sql, "weftadmin"), undefined, "the admin key lives in configuration only");

    await storeSealedSecret(db.sql, "sqlkey", Buffer.from("sealed"));
    const sealed = await getAccessKey(db.sql, "sqlkey");
    assert.deepEqual([sealed?.plaintextSecret, sealed?.sealedSecret?.toString()], [undefined, "sealed"]);
  });
});
