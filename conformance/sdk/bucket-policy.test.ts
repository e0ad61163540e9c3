// Bucket policies and the public access block, driven with the SDK by three parties: the bucket's owner (alice),
// another user (bob) and anonymous requests (plain unsigned fetch). What each may do follows the policy, AWS's
// evaluation rules (explicit Deny wins) and the block; ACL headers are refused on buckets that have ACLs disabled.
import assert from "node:assert/strict";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  DeletePublicAccessBlockCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { readAll } from "../support/bytes.js";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { expectS3Error } from "../support/expect.js";

const BUCKET = "alices-bucket";

function policy(...statements: object[]): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

const publicRead = { Sid: "PublicRead", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${BUCKET}/public/*` };

describe("bucket policies and the public access block (owner, another user, anonymous)", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let alice: S3Client;
  let bob: S3Client;
  const anonymous = (method: string, path: string, body?: string) =>
    fetch(`${cluster.endpoint}/${BUCKET}/${path}`, { method, body });

  async function anonymousCode(method: string, path: string, body?: string): Promise<string> {
    const response = await anonymous(method, path, body);
    if (response.ok) return String(response.status);
    return /<Code>([^<]+)<\/Code>/.exec(await response.text())?.[1] ?? String(response.status);
  }

  before(async () => {
    cluster = await startTestCluster();
    alice = await cluster.strangerClient("alice");
    bob = await cluster.strangerClient("bob");
    await alice.send(new CreateBucketCommand({ Bucket: BUCKET }));
    for (const key of ["public/photo.jpg", "private/diary.txt", "bob/notes.txt"]) {
      await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `contents of ${key}` }));
    }
  });
  after(async () => {
    await cluster?.destroy();
  });

  it("blocks public access on a new bucket, and keeps strangers out without a policy", async () => {
    const block = await alice.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET }));
    assert.deepEqual(block.PublicAccessBlockConfiguration, { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
    assert.equal(await anonymousCode("GET", "public/photo.jpg"), "AccessDenied");
    assert.equal(await anonymousCode("GET", ""), "AccessDenied");
    assert.equal((await fetch(`${cluster.endpoint}/`)).status, 403, "anonymous ListBuckets");
    assert.equal((await fetch(`${cluster.endpoint}/no-such-bucket/key`)).status, 404, "a missing bucket is NoSuchBucket, to strangers too");
    await expectS3Error(bob.send(new GetObjectCommand({ Bucket: BUCKET, Key: "public/photo.jpg" })), "AccessDenied", 403);
    await expectS3Error(alice.send(new GetBucketPolicyCommand({ Bucket: BUCKET })), "NoSuchBucketPolicy", 404);
    await expectS3Error(alice.send(new GetBucketPolicyStatusCommand({ Bucket: BUCKET })), "NoSuchBucketPolicy", 404);
  });

  it("refuses a public policy while BlockPublicPolicy is on, then takes it once the block is lifted", async () => {
    await expectS3Error(alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policy(publicRead) })), "AccessDenied", 403);
    await expectS3Error(alice.send(new GetBucketPolicyCommand({ Bucket: BUCKET })), "NoSuchBucketPolicy", 404);
    await alice.send(new DeletePublicAccessBlockCommand({ Bucket: BUCKET }));
    await expectS3Error(alice.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET })), "NoSuchPublicAccessBlockConfiguration", 404);
    await alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policy(publicRead) }));
    assert.equal((await alice.send(new GetBucketPolicyCommand({ Bucket: BUCKET }))).Policy, policy(publicRead));
    assert.equal((await alice.send(new GetBucketPolicyStatusCommand({ Bucket: BUCKET }))).PolicyStatus?.IsPublic, true);
  });

  it("lets anyone read exactly what a public-read policy names, and nothing more", async () => {
    const response = await anonymous("GET", "public/photo.jpg");
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "contents of public/photo.jpg");
    assert.equal((await anonymous("HEAD", "public/photo.jpg")).status, 200);
    assert.equal(await anonymousCode("GET", "private/diary.txt"), "AccessDenied");
    assert.equal(await anonymousCode("PUT", "public/vandalism.txt", "x"), "AccessDenied");
    assert.equal(await anonymousCode("DELETE", "public/photo.jpg"), "AccessDenied");
    assert.equal(await anonymousCode("GET", "?list-type=2"), "AccessDenied");
    assert.equal(await anonymousCode("GET", "no-such/key"), "AccessDenied", "outside the policy's resources: nothing is revealed");
    assert.equal(await anonymousCode("GET", "public/no-such-key"), "AccessDenied", "a missing key is told only to whoever may list");
    const publicList = { Effect: "Allow", Principal: "*", Action: "s3:ListBucket", Resource: `arn:aws:s3:::${BUCKET}` };
    await alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policy(publicRead, publicList) }));
    assert.equal(await anonymousCode("GET", "public/no-such-key"), "NoSuchKey", "told to whoever may list");
    assert.equal(await anonymousCode("GET", "?list-type=2"), "200");
    await alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policy(publicRead) }));
    const got = await bob.send(new GetObjectCommand({ Bucket: BUCKET, Key: "public/photo.jpg" }));
    assert.equal((await readAll(got.Body)).toString(), "contents of public/photo.jpg");
    // The policy and its block are the owner's alone.
    await expectS3Error(bob.send(new GetBucketPolicyCommand({ Bucket: BUCKET })), "AccessDenied", 403);
    await expectS3Error(bob.send(new DeleteBucketPolicyCommand({ Bucket: BUCKET })), "AccessDenied", 403);
  });

  it("RestrictPublicBuckets keeps everyone but the owner out while the policy is public", async () => {
    await alice.send(new PutPublicAccessBlockCommand({ Bucket: BUCKET, PublicAccessBlockConfiguration: { RestrictPublicBuckets: true } }));
    const block = await alice.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET }));
    assert.deepEqual(block.PublicAccessBlockConfiguration, { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: true });
    assert.equal(await anonymousCode("GET", "public/photo.jpg"), "AccessDenied");
    await expectS3Error(bob.send(new GetObjectCommand({ Bucket: BUCKET, Key: "public/photo.jpg" })), "AccessDenied", 403);
    await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: "public/photo.jpg" }));
    await alice.send(new DeletePublicAccessBlockCommand({ Bucket: BUCKET }));
    assert.equal((await anonymous("GET", "public/photo.jpg")).status, 200);
  });

  it("grants another user writes under a prefix and listing of it only, per key in DeleteObjects too", async () => {
    const bobsCorner = policy(
      { Effect: "Allow", Principal: { AWS: "arn:aws:iam:::user/bob" }, Action: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"], Resource: `arn:aws:s3:::${BUCKET}/bob/*` },
      { Effect: "Allow", Principal: { AWS: "arn:aws:iam:::user/bob" }, Action: "s3:ListBucket", Resource: `arn:aws:s3:::${BUCKET}`, Condition: { StringLike: { "s3:prefix": "bob/*" } } },
    );
    await alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: bobsCorner }));
    assert.equal((await alice.send(new GetBucketPolicyStatusCommand({ Bucket: BUCKET }))).PolicyStatus?.IsPublic, false);
    assert.equal(await anonymousCode("GET", "public/photo.jpg"), "AccessDenied", "the new policy replaced the public one");

    await bob.send(new PutObjectCommand({ Bucket: BUCKET, Key: "bob/new.txt", Body: "bob was here" }));
    await expectS3Error(bob.send(new PutObjectCommand({ Bucket: BUCKET, Key: "private/new.txt", Body: "x" })), "AccessDenied", 403);
    const listed = await bob.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "bob/" }));
    assert.deepEqual(listed.Contents?.map((object) => object.Key), ["bob/new.txt", "bob/notes.txt"]);
    await expectS3Error(bob.send(new ListObjectsV2Command({ Bucket: BUCKET })), "AccessDenied", 403);
    await expectS3Error(bob.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "private/" })), "AccessDenied", 403);

    const deleted = await bob.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: "bob/new.txt" }, { Key: "private/diary.txt" }] } }));
    assert.deepEqual(deleted.Deleted?.map((entry) => entry.Key), ["bob/new.txt"]);
    assert.deepEqual(deleted.Errors?.map((entry) => [entry.Key, entry.Code]), [["private/diary.txt", "AccessDenied"]]);
    await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: "private/diary.txt" }));
  });

  it("lets a copy read a source only where the source's policy allows it", async () => {
    await bob.send(new CreateBucketCommand({ Bucket: "bobs-bucket" }));
    await bob.send(new CopyObjectCommand({ Bucket: "bobs-bucket", Key: "copied", CopySource: `${BUCKET}/bob/notes.txt` }));
    const copied = await bob.send(new GetObjectCommand({ Bucket: "bobs-bucket", Key: "copied" }));
    assert.equal((await readAll(copied.Body)).toString(), "contents of bob/notes.txt");
    await expectS3Error(bob.send(new CopyObjectCommand({ Bucket: "bobs-bucket", Key: "stolen", CopySource: `${BUCKET}/private/diary.txt` })), "AccessDenied", 403);
    // The destination must be writable too: alice's bucket takes bob's writes under bob/ only.
    await expectS3Error(bob.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "private/x", CopySource: "bobs-bucket/copied" })), "AccessDenied", 403);
  });

  it("applies an explicit Deny to the owner as well, but never locks the owner out of the policy", async () => {
    const noDeletes = policy({ Effect: "Deny", Principal: "*", Action: "s3:DeleteObject", Resource: `arn:aws:s3:::${BUCKET}/*` });
    await alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: noDeletes }));
    await expectS3Error(alice.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "public/photo.jpg" })), "AccessDenied", 403);
    const batch = await alice.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: "public/photo.jpg" }] } }));
    assert.deepEqual(batch.Errors?.map((entry) => entry.Code), ["AccessDenied"]);
    await alice.send(new DeleteBucketPolicyCommand({ Bucket: BUCKET }));
    await alice.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "public/photo.jpg" }));
  });

  it("tests the client's address: a Deny outside 10.0.0.0/8 shuts out loopback callers, owner included", async () => {
    const onlyFromTen = policy({ Effect: "Deny", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${BUCKET}/*`, Condition: { NotIpAddress: { "aws:SourceIp": "10.0.0.0/8" } } });
    await alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: onlyFromTen }));
    await expectS3Error(alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: "private/diary.txt" })), "AccessDenied", 403);
    const fromLoopback = policy({ Effect: "Deny", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${BUCKET}/*`, Condition: { NotIpAddress: { "aws:SourceIp": ["127.0.0.0/8", "::1/128"] } } });
    await alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: fromLoopback }));
    await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: "private/diary.txt" }));
    await alice.send(new DeleteBucketPolicyCommand({ Bucket: BUCKET }));
  });

  it("refuses malformed policies with MalformedPolicy and changes nothing", async () => {
    const refused = [
      "not json",
      policy({ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::another-bucket/*" }),
      policy({ Effect: "Allow", Principal: { AWS: "arn:aws:iam:::user/nobody" }, Action: "s3:GetObject", Resource: `arn:aws:s3:::${BUCKET}/*` }),
      policy({ Effect: "Perhaps", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${BUCKET}/*` }),
      policy({ Effect: "Allow", Principal: "*", Action: "ec2:RunInstances", Resource: `arn:aws:s3:::${BUCKET}/*` }),
      policy({ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${BUCKET}/*`, Condition: { StringEquals: { "aws:PrincipalOrgID": "o-1" } } }),
    ];
    for (const text of refused) await expectS3Error(alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: text })), "MalformedPolicy", 400);
    await expectS3Error(alice.send(new GetBucketPolicyCommand({ Bucket: BUCKET })), "NoSuchBucketPolicy", 404);
  });

  it("refuses ACLs on a bucket that has them disabled (the default), rather than ignoring them", async () => {
    await expectS3Error(alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: "acl/public", Body: "x", ACL: "public-read" })), "AccessControlListNotSupported", 400);
    await expectS3Error(alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: "acl/grant", Body: "x", GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' })), "AccessControlListNotSupported", 400);
    await expectS3Error(alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: "acl/public" })), "NoSuchKey", 404);
    await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: "acl/owner", Body: "x", ACL: "bucket-owner-full-control" }));
    await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: "acl/private", Body: "x", ACL: "private" }));
    await expectS3Error(alice.send(new CreateBucketCommand({ Bucket: "public-from-birth", ACL: "public-read" })), "InvalidBucketAclWithObjectOwnership", 400);
    await alice.send(new CreateBucketCommand({ Bucket: "private-from-birth", ACL: "private" }));
  });
});
