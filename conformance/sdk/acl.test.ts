// ACLs and object ownership on buckets that have ACLs disabled (BucketOwnerEnforced, the only setting Weft has), as
// AWS answers them: every ACL reads as the bucket owner's full control, setting exactly that is accepted, any other
// ACL is refused. Driven with the SDK by the owner (alice), another user (bob) and anonymous requests.
import assert from "node:assert/strict";
import {
  CreateBucketCommand,
  DeleteBucketOwnershipControlsCommand,
  GetBucketAclCommand,
  GetBucketOwnershipControlsCommand,
  GetObjectAclCommand,
  PutBucketAclCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  type Grant,
  type S3Client,
} from "@aws-sdk/client-s3";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { expectS3Error } from "../support/expect.js";

const BUCKET = "acl-bucket";
const ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers";

describe("ACLs and object ownership with ACLs disabled (owner, another user, anonymous)", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let alice: S3Client;
  let bob: S3Client;
  let aliceId: string;

  before(async () => {
    cluster = await startTestCluster();
    alice = await cluster.strangerClient("alice");
    bob = await cluster.strangerClient("bob");
    await alice.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: "object", Body: "x" }));
    aliceId = (await alice.send(new GetBucketAclCommand({ Bucket: BUCKET }))).Owner!.ID!;
  });
  after(async () => {
    await cluster?.destroy();
  });

  const ownersFullControl = (): Grant[] => [{ Grantee: { Type: "CanonicalUser", ID: aliceId, DisplayName: "alice" }, Permission: "FULL_CONTROL" }];

  it("reads every ACL as the bucket owner's full control", async () => {
    const bucketAcl = await alice.send(new GetBucketAclCommand({ Bucket: BUCKET }));
    assert.match(aliceId, /^[0-9a-f]{64}$/);
    assert.deepEqual(bucketAcl.Owner, { ID: aliceId, DisplayName: "alice" });
    assert.deepEqual(bucketAcl.Grants, ownersFullControl());
    const objectAcl = await alice.send(new GetObjectAclCommand({ Bucket: BUCKET, Key: "object" }));
    assert.deepEqual([objectAcl.Owner, objectAcl.Grants], [{ ID: aliceId, DisplayName: "alice" }, ownersFullControl()]);
    await expectS3Error(alice.send(new GetObjectAclCommand({ Bucket: BUCKET, Key: "missing" })), "NoSuchKey", 404);
    const ownership = await alice.send(new GetBucketOwnershipControlsCommand({ Bucket: BUCKET }));
    assert.deepEqual(ownership.OwnershipControls?.Rules, [{ ObjectOwnership: "BucketOwnerEnforced" }]);
  });

  it("accepts setting exactly the owner's full control, and refuses any other ACL", async () => {
    await alice.send(new PutBucketAclCommand({ Bucket: BUCKET, ACL: "private" }));
    await alice.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: "object", ACL: "bucket-owner-full-control" }));
    await alice.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: "object", AccessControlPolicy: { Owner: { ID: aliceId }, Grants: ownersFullControl() } }));
    await expectS3Error(alice.send(new PutBucketAclCommand({ Bucket: BUCKET, ACL: "public-read" })), "AccessControlListNotSupported", 400);
    await expectS3Error(alice.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: "object", GrantRead: `uri="${ALL_USERS}"` })), "AccessControlListNotSupported", 400);
    const publicGrant: Grant[] = [...ownersFullControl(), { Grantee: { Type: "Group", URI: ALL_USERS }, Permission: "READ" }];
    await expectS3Error(alice.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: "object", AccessControlPolicy: { Owner: { ID: aliceId }, Grants: publicGrant } })), "AccessControlListNotSupported", 400);
    await expectS3Error(alice.send(new PutBucketAclCommand({ Bucket: BUCKET, ACL: "no-such-acl" as "private" })), "InvalidArgument", 400);
    await expectS3Error(alice.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: "missing", ACL: "private" })), "NoSuchKey", 404);
    // Nothing was made public.
    assert.equal((await fetch(`${cluster.endpoint}/${BUCKET}/object`)).status, 403);
  });

  it("reads, changes and deletes the ownership controls, the owner's alone", async () => {
    await alice.send(new PutBucketOwnershipControlsCommand({ Bucket: BUCKET, OwnershipControls: { Rules: [{ ObjectOwnership: "ObjectWriter" }] } }));
    assert.deepEqual((await alice.send(new GetBucketOwnershipControlsCommand({ Bucket: BUCKET }))).OwnershipControls?.Rules, [{ ObjectOwnership: "ObjectWriter" }]);
    await alice.send(new DeleteBucketOwnershipControlsCommand({ Bucket: BUCKET }));
    await expectS3Error(alice.send(new GetBucketOwnershipControlsCommand({ Bucket: BUCKET })), "OwnershipControlsNotFoundError", 404);
    await expectS3Error(bob.send(new PutBucketOwnershipControlsCommand({ Bucket: BUCKET, OwnershipControls: { Rules: [{ ObjectOwnership: "ObjectWriter" }] } })), "AccessDenied", 403);
    await alice.send(new PutBucketOwnershipControlsCommand({ Bucket: BUCKET, OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] } }));
    await expectS3Error(bob.send(new GetBucketOwnershipControlsCommand({ Bucket: BUCKET })), "AccessDenied", 403);
  });

  it("lets others read ACLs only where the bucket policy allows it", async () => {
    await expectS3Error(bob.send(new GetBucketAclCommand({ Bucket: BUCKET })), "AccessDenied", 403);
    await expectS3Error(bob.send(new GetObjectAclCommand({ Bucket: BUCKET, Key: "object" })), "AccessDenied", 403);
    assert.equal((await fetch(`${cluster.endpoint}/${BUCKET}?acl`)).status, 403, "anonymous");
    const readAcls = { Effect: "Allow", Principal: { AWS: "arn:aws:iam:::user/bob" }, Action: ["s3:GetBucketAcl", "s3:GetObjectAcl"], Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`] };
    await alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: JSON.stringify({ Version: "2012-10-17", Statement: [readAcls] }) }));
    assert.deepEqual((await bob.send(new GetBucketAclCommand({ Bucket: BUCKET }))).Grants, ownersFullControl());
    assert.deepEqual((await bob.send(new GetObjectAclCommand({ Bucket: BUCKET, Key: "object" }))).Owner?.ID, aliceId);
    await expectS3Error(bob.send(new PutBucketAclCommand({ Bucket: BUCKET, ACL: "private" })), "AccessDenied", 403);
  });
});
