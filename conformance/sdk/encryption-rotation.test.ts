// A master key rotation with SSE-S3 objects (docs/operations.md): objects written under the old key stay readable while
// it is in WEFT_MASTER_KEY_PREVIOUS; a gateway started with the new key wraps their data keys (and those of uploads in
// progress) again under it, after which the old key is no longer needed.
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { connect, type Sql } from "../../meta/src/db.js";
import { MasterKeys, newMasterKeyText, parseMasterKey } from "../../gateway/src/auth/master-keys.js";
import { randomData, readAll } from "../support/bytes.js";
import { startTestCluster, type TestCluster } from "../support/cluster.js";

const BUCKET = "rotated";

describe("encryption at rest: a master key rotation re-wraps SSE-S3 data keys", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let s3: S3Client;
  let sql: Sql;

  before(async () => {
    cluster = await startTestCluster();
    s3 = cluster.client({ maxAttempts: 1 });
    sql = connect(cluster.databaseUrl, { max: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    await sql?.end();
    await cluster?.destroy();
  });

  /** The master key fingerprints the data keys of versions and uploads are wrapped under. */
  async function wrappingKeys(): Promise<string[]> {
    const rows = await sql<{ master_key: string }[]>`
      select encryption ->> 'masterKey' as master_key from versions where encryption is not null
      union all select encryption ->> 'masterKey' from uploads where encryption is not null`;
    return [...new Set(rows.map((row) => row.master_key))];
  }

  async function expectReadable(key: string, data: Buffer): Promise<void> {
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    assert.equal(got.ServerSideEncryption, "AES256");
    assert.ok((await readAll(got.Body)).equals(data), key);
  }

  it("reads old objects under the previous key, wraps their keys again, and then needs only the new key", async () => {
    const oldKey = (await readFile(`${cluster.dataDir}/master-key`, "utf8")).trim();
    const newKey = newMasterKeyText();
    const [oldPrint, newPrint] = [oldKey, newKey].map((key) => new MasterKeys(parseMasterKey(key)!).currentFingerprint);
    const data = randomData(200_000);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "before", Body: data, ServerSideEncryption: "AES256" }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "uploading", ServerSideEncryption: "AES256" }));
    const part = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "uploading", UploadId, PartNumber: 1, Body: data }));
    assert.deepEqual(await wrappingKeys(), [oldPrint]);

    await cluster.gateway.stop();
    await cluster.restartGateway({ WEFT_MASTER_KEY_FILE: "", WEFT_MASTER_KEY: newKey, WEFT_MASTER_KEY_PREVIOUS: oldKey });
    await expectReadable("before", data);
    for (let wait = 0; wait < 100 && (await wrappingKeys()).includes(oldPrint); wait++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(await wrappingKeys(), [newPrint], "every data key wrapped again under the new key");

    await cluster.gateway.stop();
    await cluster.restartGateway({ WEFT_MASTER_KEY_PREVIOUS: "" });
    await expectReadable("before", data);
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "uploading", UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    await expectReadable("uploading", data);
  });
});
