// SigV2 from the clients that still produce it: the aws cli v1's `s3 presign`, boto3's presigned URLs and POST
// forms, botocore with signature_version "s3" for every call, and s3cmd --signature-v2. The test gateway's region
// is us-east-1 (cluster/local-cluster.ts), where AWS takes SigV2 and where these clients default to it.
import assert from "node:assert/strict";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestCluster } from "../support/cluster.js";
import { md5Hex, randomData, readAll } from "../support/bytes.js";
import { sharedCluster } from "../support/shared.js";
import { awsEnv, ensureDebianClients, logClientVersion, pipPython, removeDir, runProgram, runPythonJson, tempDir } from "../support/clients.js";

const BUCKET = "sigv2-clients";
const MiB = 1024 * 1024;

const PRELUDE = `
import json, sys, boto3, botocore
from botocore.config import Config
from boto3.s3.transfer import TransferConfig
args = json.loads(sys.argv[1])
default = boto3.client("s3", endpoint_url=args["endpoint"])
v2 = boto3.client("s3", endpoint_url=args["endpoint"], config=Config(signature_version="s3"))
`;

/** curl's body, then its status code on the last line. */
async function curl(args: string[]): Promise<{ body: string; status: number }> {
  const { stdout } = await runProgram("curl", ["-sS", "-w", "\n%{http_code}", ...args]);
  const newline = stdout.lastIndexOf("\n");
  return { body: stdout.slice(0, newline), status: Number(stdout.slice(newline + 1)) };
}

function tamper(url: string): string {
  return url.replace(/Signature=([^&])/, (_, first: string) => `Signature=${first === "A" ? "B" : "A"}`);
}

describe("SigV2 clients", function () {
  this.timeout(300_000);
  let python = "python3";
  let cluster: TestCluster;
  let work: string;
  const py = (body: string, args: Record<string, unknown> = {}) => runPythonJson(python, PRELUDE + body, cluster, args);

  before(async function () {
    const found = await pipPython(["boto3", "awscli"]);
    // Skipped, and said so: boto3 and aws cli v1 come from pip on the developer image and CI's (.ci/run); a machine without them
    // cannot drive these clients.
    if (!found) {
      console.log("      skipped: no python with boto3, aws cli v1 importable");
      return this.skip();
    }
    python = found.executable;
    logClientVersion("boto3 / aws cli v1 (SigV2)", `boto3 ${found.versions[0]}, aws cli ${found.versions[1]}`);
    cluster = await sharedCluster();
    await py(`v2.create_bucket(Bucket="${BUCKET}")\nprint("{}")`);
    work = await tempDir("sigv2");
  });
  after(async () => {
    await removeDir(work);
  });

  it("aws cli v1 `s3 presign` (SigV2 by default in us-east-1): curl GET works; tampered or expired, 403", async () => {
    const data = randomData(40_000);
    await cluster.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: "cli/shared file+.bin", Body: data }));
    const presign = async (expires: string) => {
      const args = ["-m", "awscli", "s3", "presign", `s3://${BUCKET}/cli/shared file+.bin`, "--expires-in", expires, "--endpoint-url", cluster.endpoint];
      return (await runProgram(python, args, { env: awsEnv(cluster) })).stdout.trim();
    };
    const url = await presign("300");
    assert.match(url, /[?&]AWSAccessKeyId=[^&]+&Signature=[^&]+&Expires=\d+$/, "the aws cli v1 presigns with SigV2");
    const out = join(work, "cli.out");
    await runProgram("curl", ["-sS", "--fail", "-o", out, url]);
    assert.ok((await readFile(out)).equals(data));

    const tampered = await curl([tamper(url)]);
    assert.equal(tampered.status, 403);
    assert.match(tampered.body, /<Code>SignatureDoesNotMatch<\/Code>[\s\S]*<StringToSign>GET\n\n\n\d+\n\/sigv2-clients\/cli\/shared%20file%2B\.bin<\/StringToSign>/);

    const short = await presign("1");
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const expired = await curl([short]);
    assert.equal(expired.status, 403);
    assert.match(expired.body, /<Code>AccessDenied<\/Code><Message>Request has expired<\/Message>/);
  });

  it("boto3 generate_presigned_url: SigV2 by default in us-east-1, as with signature_version 's3'; path and virtual-hosted", async () => {
    const data = randomData(30_000);
    await writeFile(join(work, "put.bin"), data);
    const port = new URL(cluster.endpoint).port;
    const urls = await py(`
virtual = boto3.client("s3", endpoint_url="http://localhost:${port}", config=Config(signature_version="s3", s3={"addressing_style": "virtual"}))
key = {"Bucket": "${BUCKET}", "Key": "boto3/ü +.bin"}
print(json.dumps({
    "defaultGet": default.generate_presigned_url("get_object", Params=key, ExpiresIn=300),
    "put": v2.generate_presigned_url("put_object", Params=key, ExpiresIn=300),
    "getOverride": v2.generate_presigned_url("get_object", Params={**key, "ResponseContentType": "text/x-weft; charset=utf-8"}, ExpiresIn=300),
    "virtualGet": virtual.generate_presigned_url("get_object", Params=key, ExpiresIn=300),
}))
`);
    for (const url of Object.values(urls)) assert.match(url as string, /AWSAccessKeyId=.*Signature=.*Expires=/);
    assert.equal((await curl(["-T", join(work, "put.bin"), urls.put])).status, 200);
    const got = await cluster.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: "boto3/ü +.bin" }));
    assert.equal(md5Hex(await readAll(got.Body)), md5Hex(data));

    assert.equal((await curl(["-o", "/dev/null", urls.defaultGet])).status, 200);
    // The response-* override is a signed sub-resource: honoured as signed, and refused once changed.
    const headers = await runProgram("curl", ["-sS", "-D", "-", "-o", "/dev/null", urls.getOverride]);
    assert.match(headers.stdout, /^content-type: text\/x-weft; charset=utf-8\r?$/im);
    assert.equal((await curl([urls.getOverride.replace("x-weft", "x-other")])).status, 403);
    // <bucket>.localhost: the bucket comes from the Host header and is signed as part of the resource.
    assert.match(urls.virtualGet, new RegExp(`^http://${BUCKET}\\.localhost:${port}/`));
    const virtual = await curl(["--resolve", `${BUCKET}.localhost:${port}:127.0.0.1`, "-o", "/dev/null", urls.virtualGet]);
    assert.equal(virtual.status, 200);
  });

  it("boto3 generate_presigned_post: a SigV2 form (AWSAccessKeyId, policy, signature) by default in us-east-1", async () => {
    const data = randomData(20_000);
    await writeFile(join(work, "form.bin"), data);
    const forms = await py(`
print(json.dumps({
    "default": default.generate_presigned_post("${BUCKET}", "forms/\${filename}", Conditions=[["starts-with", "$key", "forms/"]]),
    "v2": v2.generate_presigned_post("${BUCKET}", "forms/v2.bin", Fields={"Content-Type": "application/x-weft"},
                                      Conditions=[{"Content-Type": "application/x-weft"}, ["content-length-range", 1, 1000000]]),
}))
`);
    assert.deepEqual(Object.keys(forms.default.fields).sort(), ["AWSAccessKeyId", "key", "policy", "signature"]);
    const post = (form: { url: string; fields: Record<string, string> }, fields: Record<string, string> = {}) =>
      curl([...Object.entries({ ...form.fields, ...fields }).flatMap(([name, value]) => ["-F", `${name}=${value}`]), "-F", `file=@${join(work, "form.bin")}`, form.url]);
    assert.equal((await post(forms.default)).status, 204);
    assert.equal((await post(forms.v2)).status, 204);
    const got = await cluster.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: "forms/v2.bin" }));
    assert.equal(got.ContentType, "application/x-weft");
    assert.equal(md5Hex(await readAll(got.Body)), md5Hex(data));
    assert.equal(md5Hex(await readAll((await cluster.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: "forms/form.bin" }))).Body)), md5Hex(data));

    const forged = await post(forms.v2, { signature: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=" });
    assert.equal(forged.status, 403);
    assert.match(forged.body, /<Code>SignatureDoesNotMatch<\/Code>/);
    const extra = await post(forms.v2, { "x-amz-meta-extra": "not in the policy" });
    assert.match(extra.body, /<Code>AccessDenied<\/Code><Message>Invalid according to Policy: Extra input fields: x-amz-meta-extra/);
  });

  it("botocore with signature_version 's3' (header auth): put, get, list, multipart, copy, delete", async () => {
    const big = randomData(12 * MiB + 5);
    await writeFile(join(work, "big.bin"), big);
    const result = await py(`
b = "${BUCKET}"
v2.put_object(Bucket=b, Key="api/a b+c.txt", Body=b"hello", ContentType="text/plain", Metadata={"who": "v2"})
head = v2.head_object(Bucket=b, Key="api/a b+c.txt")
body = v2.get_object(Bucket=b, Key="api/a b+c.txt", Range="bytes=1-3")["Body"].read().decode()
v2.upload_file(args["big"], b, "api/big.bin", Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
big = v2.head_object(Bucket=b, Key="api/big.bin")
v2.copy_object(Bucket=b, Key="api/copy.txt", CopySource={"Bucket": b, "Key": "api/a b+c.txt"})
listed = [o["Key"] for o in v2.list_objects_v2(Bucket=b, Prefix="api/")["Contents"]]
v1listed = [o["Key"] for o in v2.list_objects(Bucket=b, Prefix="api/", MaxKeys=2)["Contents"]]
upload = v2.create_multipart_upload(Bucket=b, Key="api/aborted")["UploadId"]
v2.upload_part(Bucket=b, Key="api/aborted", UploadId=upload, PartNumber=1, Body=b"part")
parts = [p["PartNumber"] for p in v2.list_parts(Bucket=b, Key="api/aborted", UploadId=upload)["Parts"]]
v2.abort_multipart_upload(Bucket=b, Key="api/aborted", UploadId=upload)
deleted = v2.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "api/copy.txt"}, {"Key": "api/big.bin"}]})["Deleted"]
v2.delete_object(Bucket=b, Key="api/a b+c.txt")
left = v2.list_objects_v2(Bucket=b, Prefix="api/").get("KeyCount")
print(json.dumps({"meta": head["Metadata"], "type": head["ContentType"], "range": body, "bigEtag": big["ETag"], "bigSize": big["ContentLength"],
                  "listed": listed, "v1listed": v1listed, "parts": parts, "deleted": sorted(d["Key"] for d in deleted), "left": left}))
`, { big: join(work, "big.bin") });
    assert.deepEqual(result.meta, { who: "v2" });
    assert.equal(result.type, "text/plain");
    assert.equal(result.range, "ell");
    assert.match(result.bigEtag, /-3"$/);
    assert.equal(result.bigSize, big.length);
    assert.deepEqual(result.listed, ["api/a b+c.txt", "api/big.bin", "api/copy.txt"]);
    assert.deepEqual(result.v1listed, ["api/a b+c.txt", "api/big.bin"]);
    assert.deepEqual(result.parts, [1]);
    assert.deepEqual(result.deleted, ["api/big.bin", "api/copy.txt"]);
    assert.equal(result.left, 0);
  });

  it("s3cmd --signature-v2: put, get, ls, del", async () => {
    await ensureDebianClients();
    const host = new URL(cluster.endpoint).host;
    const config = join(work, "s3cfg");
    await writeFile(config, ["[default]", `access_key = ${cluster.accessKey}`, `secret_key = ${cluster.secretKey}`, `host_base = ${host}`, `host_bucket = ${host}`, "use_https = False", ""].join("\n"));
    const s3cmd = (args: string[]) => runProgram("s3cmd", ["-c", config, "--signature-v2", ...args]);
    logClientVersion("s3cmd", (await s3cmd(["--version"])).stdout);
    const data = randomData(9 * MiB); // with 5 MiB chunks: a multipart upload of two parts
    await writeFile(join(work, "s3cmd.bin"), data);
    await s3cmd(["put", "--multipart-chunk-size-mb=5", join(work, "s3cmd.bin"), `s3://${BUCKET}/s3cmd/big file.bin`]);
    await s3cmd(["get", "--force", `s3://${BUCKET}/s3cmd/big file.bin`, join(work, "s3cmd.out")]);
    assert.ok((await readFile(join(work, "s3cmd.out"))).equals(data));
    assert.match((await s3cmd(["ls", `s3://${BUCKET}/s3cmd/`])).stdout, /9437184\s+s3:\/\/sigv2-clients\/s3cmd\/big file\.bin/);
    await s3cmd(["del", `s3://${BUCKET}/s3cmd/big file.bin`]);
    assert.equal((await s3cmd(["ls", `s3://${BUCKET}/s3cmd/`])).stdout.trim(), "");
  });
});
