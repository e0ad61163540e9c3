// Who may do what, as a table: for each way a bucket can be shared (nothing, policies, ACLs, the public access block
// setting them aside), each of six operations, by the owner (alice), another user (bob) and anonymous requests.
// Each cell is ✓ (served) or ✗ (403 AccessDenied, and nothing changed).
import assert from "node:assert/strict";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeletePublicAccessBlockCommand,
  GetBucketAclCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketAclCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3ServiceException,
  type S3Client,
} from "@aws-sdk/client-s3";
import { startTestCluster, type TestCluster } from "../support/cluster.js";

/** In this order: GetObject, HeadObject, ListObjectsV2, PutObject, DeleteObject, GetBucketAcl. */
const OPERATIONS = ["get", "head", "list", "put", "delete", "getAcl"] as const;
type Operation = (typeof OPERATIONS)[number];

interface Sharing {
  name: string;
  /** ObjectWriter: ACLs enabled; otherwise the default, BucketOwnerEnforced. */
  acls?: boolean;
  /** Sets the bucket up (alice), after its objects exist. */
  setUp(bucket: string, ids: { bob: string }): Promise<void>;
  /** Expected cells for alice, bob and anonymous. */
  expect: { owner: string; bob: string; anonymous: string };
}

const policy = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });

describe("access matrix: sharing settings × operations × owner, another user, anonymous", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let alice: S3Client;
  let bob: S3Client;
  let bobId: string;

  before(async () => {
    cluster = await startTestCluster();
    alice = await cluster.strangerClient("alice");
    bob = await cluster.strangerClient("bob");
    bobId = (await cluster.admin().call<{ users: { name: string; canonicalId: string }[] }>("GET", "user/list")).users.find((user) => user.name === "bob")!.canonicalId;
  });
  after(async () => {
    await cluster?.destroy();
  });

  const openToPublic = (bucket: string) => alice.send(new DeletePublicAccessBlockCommand({ Bucket: bucket }));
  const sharings: Sharing[] = [
    { name: "private (a new bucket's defaults)", setUp: async () => {}, expect: { owner: "✓✓✓✓✓✓", bob: "✗✗✗✗✗✗", anonymous: "✗✗✗✗✗✗" } },
    {
      name: "policy: everyone may read objects",
      setUp: async (bucket) => {
        await openToPublic(bucket);
        await alice.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy({ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${bucket}/*` }) }));
      },
      expect: { owner: "✓✓✓✓✓✓", bob: "✓✓✗✗✗✗", anonymous: "✓✓✗✗✗✗" },
    },
    {
      name: "policy: bob may read, list, write and delete",
      setUp: async (bucket) => {
        const statement = { Effect: "Allow", Principal: { AWS: "arn:aws:iam:::user/bob" }, Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"], Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] };
        await alice.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy(statement) }));
      },
      expect: { owner: "✓✓✓✓✓✓", bob: "✓✓✓✓✓✗", anonymous: "✗✗✗✗✗✗" },
    },
    {
      name: "policy: deletes denied to everyone, owner included",
      setUp: async (bucket) => {
        await alice.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy({ Effect: "Deny", Principal: "*", Action: "s3:DeleteObject", Resource: `arn:aws:s3:::${bucket}/*` }) }));
      },
      expect: { owner: "✓✓✓✓✗✓", bob: "✗✗✗✗✗✗", anonymous: "✗✗✗✗✗✗" },
    },
    {
      name: "policy: everyone may read, set aside by RestrictPublicBuckets",
      setUp: async (bucket) => {
        await openToPublic(bucket);
        await alice.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy({ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${bucket}/*` }) }));
        await alice.send(new PutPublicAccessBlockCommand({ Bucket: bucket, PublicAccessBlockConfiguration: { RestrictPublicBuckets: true } }));
      },
      expect: { owner: "✓✓✓✓✓✓", bob: "✗✗✗✗✗✗", anonymous: "✗✗✗✗✗✗" },
    },
    {
      name: "ACL: public-read bucket, private objects",
      acls: true,
      setUp: async (bucket) => {
        await openToPublic(bucket);
        await alice.send(new PutBucketAclCommand({ Bucket: bucket, ACL: "public-read" }));
      },
      expect: { owner: "✓✓✓✓✓✓", bob: "✗✗✓✗✗✗", anonymous: "✗✗✓✗✗✗" },
    },
    {
      name: "ACL: public-read objects",
      acls: true,
      setUp: async (bucket) => {
        await openToPublic(bucket);
        await alice.send(new PutObjectCommand({ Bucket: bucket, Key: "object", Body: "shared", ACL: "public-read" }));
      },
      expect: { owner: "✓✓✓✓✓✓", bob: "✓✓✗✗✗✗", anonymous: "✓✓✗✗✗✗" },
    },
    {
      name: "ACL: the bucket grants bob WRITE and READ_ACP",
      acls: true,
      setUp: async (bucket, ids) => {
        await alice.send(new PutBucketAclCommand({ Bucket: bucket, GrantWrite: `id="${ids.bob}"`, GrantReadACP: `id="${ids.bob}"` }));
      },
      expect: { owner: "✓✓✓✓✓✓", bob: "✗✗✗✓✓✓", anonymous: "✗✗✗✗✗✗" },
    },
    {
      name: "ACL: everything public-read, set aside by IgnorePublicAcls",
      acls: true,
      setUp: async (bucket) => {
        await openToPublic(bucket);
        await alice.send(new PutBucketAclCommand({ Bucket: bucket, ACL: "public-read" }));
        await alice.send(new PutObjectCommand({ Bucket: bucket, Key: "object", Body: "shared", ACL: "public-read" }));
        await alice.send(new PutPublicAccessBlockCommand({ Bucket: bucket, PublicAccessBlockConfiguration: { IgnorePublicAcls: true } }));
      },
      expect: { owner: "✓✓✓✓✓✓", bob: "✗✗✗✗✗✗", anonymous: "✗✗✗✗✗✗" },
    },
  ];

  /** ✓ when served, ✗ when refused with 403; anything else fails the test. */
  async function cell(attempt: () => Promise<unknown>): Promise<string> {
    try {
      await attempt();
      return "✓";
    } catch (error) {
      if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 403) return "✗";
      throw error;
    }
  }

  function sdkOperations(client: S3Client, bucket: string, requester: string): Record<Operation, () => Promise<unknown>> {
    return {
      get: () => client.send(new GetObjectCommand({ Bucket: bucket, Key: "object" })).then((got) => got.Body?.transformToString()),
      head: () => client.send(new HeadObjectCommand({ Bucket: bucket, Key: "object" })),
      list: () => client.send(new ListObjectsV2Command({ Bucket: bucket })),
      put: () => client.send(new PutObjectCommand({ Bucket: bucket, Key: `by-${requester}`, Body: requester })),
      delete: () => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: "victim" })),
      getAcl: () => client.send(new GetBucketAclCommand({ Bucket: bucket })),
    };
  }

  function anonymousOperations(bucket: string): Record<Operation, () => Promise<unknown>> {
    const request = async (method: string, path: string, body?: string) => {
      const response = await fetch(`${cluster.endpoint}/${bucket}/${path}`, { method, body });
      await response.arrayBuffer();
      if (response.status === 403) throw new S3ServiceException({ name: "AccessDenied", $fault: "client", $metadata: { httpStatusCode: 403 } });
      if (!response.ok) throw new Error(`${method} /${bucket}/${path}: ${response.status}`);
    };
    return {
      get: () => request("GET", "object"),
      head: () => request("HEAD", "object"),
      list: () => request("GET", "?list-type=2"),
      put: () => request("PUT", "by-anonymous", "anonymous"),
      delete: () => request("DELETE", "victim"),
      getAcl: () => request("GET", "?acl"),
    };
  }

  sharings.forEach((sharing, index) => {
    it(sharing.name, async () => {
      const bucket = `matrix-${index}`;
      await alice.send(new CreateBucketCommand({ Bucket: bucket, ...(sharing.acls ? { ObjectOwnership: "ObjectWriter" as const } : {}) }));
      await alice.send(new PutObjectCommand({ Bucket: bucket, Key: "object", Body: "shared" }));
      await sharing.setUp(bucket, { bob: bobId });
      const rows: Record<string, Record<Operation, () => Promise<unknown>>> = {
        owner: sdkOperations(alice, bucket, "alice"),
        bob: sdkOperations(bob, bucket, "bob"),
        anonymous: anonymousOperations(bucket),
      };
      const got: Record<string, string> = {};
      for (const [requester, operations] of Object.entries(rows)) {
        let cells = "";
        for (const operation of OPERATIONS) {
          // Each requester's delete meets the victim there; a denied one leaves it.
          if (operation === "delete") await alice.send(new PutObjectCommand({ Bucket: bucket, Key: "victim", Body: "x" }));
          cells += await cell(operations[operation]);
        }
        got[requester] = cells;
      }
      assert.deepEqual(got, sharing.expect, `${sharing.name}: cells in the order ${OPERATIONS.join(", ")}`);
    });
  });
});
