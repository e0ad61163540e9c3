// Buckets with ACLs enabled (object ownership ObjectWriter or BucketOwnerPreferred): bucket and object ACLs, canned
// and by grant, decide what another user (bob) and anonymous requests may do, with AWS's interplay with the public
// access block and with object ownership. alice owns the buckets.
import assert from "node:assert/strict";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeletePublicAccessBlockCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketAclCommand,
  PutBucketOwnershipControlsCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { readAll } from "../support/bytes.js";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { expectS3Error } from "../support/expect.js";

const BUCKET = "shared-with-acls";
const ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers";

describe("buckets with ACLs enabled (owner, another user, anonymous)", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let alice: S3Client;
  let bob: S3Client;
  let aliceId: string;
  let bobId: string;
  const anonymousStatus = async (path: string, method = "GET") => (await fetch(`${cluster.endpoint}/${BUCKET}/${path}`, { method })).status;

  before(async () => {
    cluster = await startTestCluster();
    alice = await cluster.strangerClient("alice");
    bob = await cluster.strangerClient("bob");
    const users = (await cluster.admin().call<{ users: { name: string; canonicalId: string }[] }>("GET", "user/list")).users;
    aliceId = users.find((user) => user.name === "alice")!.canonicalId;
    bobId = users.find((user) => user.name === "bob")!.canonicalId;
    await alice.send(new CreateBucketCommand({ Bucket: BUCKET, ObjectOwnership: "ObjectWriter" }));
    await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: "private.txt", Body: "alice's" }));
  });
  after(async () => {
    await cluster?.destroy();
  });

  it("blocks public ACLs while BlockPublicAcls is on, then serves what a public-read bucket ACL grants", async () => {
    await expectS3Error(alice.send(new PutBucketAclCommand({ Bucket: BUCKET, ACL: "public-read" })), "AccessDenied", 403);
    await expectS3Error(alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: "public.txt", Body: "x", ACL: "public-read" })), "AccessDenied", 403);
    await alice.send(new DeletePublicAccessBlockCommand({ Bucket: BUCKET }));
    await alice.send(new PutBucketAclCommand({ Bucket: BUCKET, ACL: "public-read" }));
    // Bucket READ lists the objects; reading one takes the object's own ACL.
    assert.equal(await anonymousStatus("?list-type=2"), 200);
    assert.equal(await anonymousStatus("private.txt"), 403);
    assert.equal(await anonymousStatus("missing.txt"), 404, "whoever may list is told a key is missing");
    assert.equal(await anonymousStatus("anything.txt", "PUT"), 403, "READ is no WRITE");
  });

  it("gives a new object the canned ACL it is written with, and changes it with PutObjectAcl", async () => {
    await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: "public.txt", Body: "for everyone", ACL: "public-read" }));
    assert.equal(await anonymousStatus("public.txt"), 200);
    const acl = await alice.send(new GetObjectAclCommand({ Bucket: BUCKET, Key: "public.txt" }));
    assert.deepEqual(acl.Grants?.map((grant) => [grant.Grantee?.Type, grant.Grantee?.ID ?? grant.Grantee?.URI, grant.Permission]), [
      ["CanonicalUser", aliceId, "FULL_CONTROL"],
      ["Group", ALL_USERS, "READ"],
    ]);
    await alice.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: "public.txt", ACL: "private" }));
    assert.equal(await anonymousStatus("public.txt"), 403);
    await alice.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: "public.txt", GrantRead: `uri="${ALL_USERS}"`, GrantFullControl: `id="${aliceId}"` }));
    assert.equal(await anonymousStatus("public.txt"), 200);
    await expectS3Error(alice.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: "public.txt", GrantRead: `id="${"0".repeat(64)}"` })), "InvalidArgument", 400);
  });

  it("lets a user the bucket ACL grants WRITE put objects, which are that user's (ObjectWriter)", async () => {
    await expectS3Error(bob.send(new PutObjectCommand({ Bucket: BUCKET, Key: "bobs.txt", Body: "x" })), "AccessDenied", 403);
    await alice.send(new PutBucketAclCommand({ Bucket: BUCKET, GrantFullControl: `id="${aliceId}"`, GrantRead: `uri="${ALL_USERS}"`, GrantWrite: `id="${bobId}"` }));
    await bob.send(new PutObjectCommand({ Bucket: BUCKET, Key: "bobs.txt", Body: "bob's" }));
    const bobsAcl = await bob.send(new GetObjectAclCommand({ Bucket: BUCKET, Key: "bobs.txt" }));
    assert.deepEqual(bobsAcl.Owner, { ID: bobId, DisplayName: "bob" });
    // The bucket's owner may read and manage everything in the bucket (docs/architecture.md, Access control).
    const read = await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: "bobs.txt" }));
    assert.equal((await readAll(read.Body)).toString(), "bob's");
    assert.equal(await anonymousStatus("bobs.txt"), 403);
    await bob.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: "bobs.txt", ACL: "public-read" }));
    assert.equal(await anonymousStatus("bobs.txt"), 200);
    // Bob's grant is on the bucket: alice's private object stays closed to him.
    await expectS3Error(bob.send(new GetObjectCommand({ Bucket: BUCKET, Key: "private.txt" })), "AccessDenied", 403);
    await expectS3Error(bob.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: "private.txt", ACL: "public-read" })), "AccessDenied", 403);
  });

  it("hands the object to the bucket owner under BucketOwnerPreferred when the writer says bucket-owner-full-control", async () => {
    await alice.send(new PutBucketOwnershipControlsCommand({ Bucket: BUCKET, OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerPreferred" }] } }));
    await bob.send(new PutObjectCommand({ Bucket: BUCKET, Key: "handed-over.txt", Body: "x", ACL: "bucket-owner-full-control" }));
    assert.equal((await alice.send(new GetObjectAclCommand({ Bucket: BUCKET, Key: "handed-over.txt" }))).Owner?.ID, aliceId);
    await bob.send(new PutObjectCommand({ Bucket: BUCKET, Key: "kept.txt", Body: "x" }));
    assert.equal((await bob.send(new GetObjectAclCommand({ Bucket: BUCKET, Key: "kept.txt" }))).Owner?.ID, bobId);
  });

  it("applies the ACL a multipart upload or a copy is started with", async () => {
    const { UploadId } = await alice.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "multipart.txt", ACL: "public-read" }));
    const part = await alice.send(new UploadPartCommand({ Bucket: BUCKET, Key: "multipart.txt", UploadId, PartNumber: 1, Body: "assembled" }));
    await alice.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "multipart.txt", UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    assert.equal(await anonymousStatus("multipart.txt"), 200);
    await alice.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "copied.txt", CopySource: `${BUCKET}/private.txt`, ACL: "public-read" }));
    assert.equal(await anonymousStatus("copied.txt"), 200);
    // An ACL is not copied: a copy without one is private.
    await alice.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "copied-plain.txt", CopySource: `${BUCKET}/public.txt` }));
    assert.equal(await anonymousStatus("copied-plain.txt"), 403);
  });

  it("sets public grants aside under IgnorePublicAcls, and ignores every ACL once ownership is BucketOwnerEnforced", async () => {
    await alice.send(new PutPublicAccessBlockCommand({ Bucket: BUCKET, PublicAccessBlockConfiguration: { IgnorePublicAcls: true } }));
    assert.equal(await anonymousStatus("public.txt"), 403);
    assert.equal(await anonymousStatus("?list-type=2"), 403);
    await alice.send(new DeletePublicAccessBlockCommand({ Bucket: BUCKET }));
    assert.equal(await anonymousStatus("public.txt"), 200);

    const enforce = new PutBucketOwnershipControlsCommand({ Bucket: BUCKET, OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] } });
    await expectS3Error(alice.send(enforce), "InvalidBucketAclWithObjectOwnership", 400);
    await alice.send(new PutBucketAclCommand({ Bucket: BUCKET, ACL: "private" }));
    await alice.send(enforce);
    assert.equal(await anonymousStatus("public.txt"), 403, "object ACLs count for nothing now");
    await expectS3Error(bob.send(new ListObjectsV2Command({ Bucket: BUCKET })), "AccessDenied", 403);
    assert.equal((await alice.send(new GetObjectAclCommand({ Bucket: BUCKET, Key: "kept.txt" }))).Owner?.ID, aliceId, "every object is the bucket owner's");
  });
});
