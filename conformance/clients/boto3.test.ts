// boto3 with current botocore and its defaults (CRC32 checksums on every upload): the transfer manager across
// its multipart thresholds, the paginators, and presigned PUTs (SigV4 and SigV2) that curl uses.
import assert from "node:assert/strict";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestCluster } from "../support/cluster.js";
import { md5Hex, randomData, readAll } from "../support/bytes.js";
import { sharedCluster } from "../support/shared.js";
import { fileMd5, logClientVersion, pipPython, removeDir, runProgram, runPythonJson, tempDir } from "../support/clients.js";

const MiB = 1024 * 1024;

// The Python side of each test: reads JSON arguments on argv, prints one JSON result.
const PRELUDE = `
import json, sys, hashlib, boto3, botocore
from boto3.s3.transfer import TransferConfig
from concurrent.futures import ThreadPoolExecutor
args = json.loads(sys.argv[1])
s3 = boto3.client("s3", endpoint_url=args["endpoint"])
def md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
`;

describe("boto3", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let work: string;
  let python = "python3";

  const py = (body: string, args: Record<string, unknown> = {}) => runPythonJson(python, PRELUDE + body, cluster, args);

  before(async function () {
    const found = await pipPython(["boto3", "botocore"]);
    // Skipped, and said so: boto3 come from pip on the developer image and CI's (.ci/run); a machine without them
    // cannot drive these clients.
    if (!found) {
      console.log("      skipped: no python with boto3 importable");
      return this.skip();
    }
    python = found.executable;
    logClientVersion("boto3", `boto3 ${found.versions[0]}, botocore ${found.versions[1]}`);
    cluster = await sharedCluster();
    work = await tempDir("boto3");
  });
  after(async () => {
    await removeDir(work);
  });

  it("upload_file and download_file across the multipart thresholds, with default checksums", async () => {
    const sizes = { "small.bin": 100_000, "threshold.bin": 8 * MiB, "large.bin": 37 * MiB + 11 };
    const md5s: Record<string, string> = {};
    for (const [name, size] of Object.entries(sizes)) {
      const data = randomData(size);
      md5s[name] = md5Hex(data);
      await writeFile(join(work, name), data);
    }
    const result = await py(`
s3.create_bucket(Bucket="boto3-xfer")
# 8 MiB threshold and chunks (the defaults, spelled out); downloads above it are parallel ranged GETs.
config = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024, max_concurrency=4)
out = {}
for name in args["names"]:
    s3.upload_file(args["dir"] + "/" + name, "boto3-xfer", "files/" + name, Config=config, ExtraArgs={"Metadata": {"origin": "boto3"}})
    head = s3.head_object(Bucket="boto3-xfer", Key="files/" + name, ChecksumMode="ENABLED")
    s3.download_file("boto3-xfer", "files/" + name, args["dir"] + "/" + name + ".down", Config=config)
    out[name] = {"etag": head["ETag"], "size": head["ContentLength"], "meta": head["Metadata"],
                 "crc32": head.get("ChecksumCRC32"), "down": md5(args["dir"] + "/" + name + ".down")}
print(json.dumps(out))
`, { dir: work, names: Object.keys(sizes) });
    for (const [name, size] of Object.entries(sizes)) {
      assert.equal(result[name].size, size, name);
      assert.equal(result[name].down, md5s[name], `downloaded ${name}`);
      assert.deepEqual(result[name].meta, { origin: "boto3" });
    }
    assert.equal(result["small.bin"].etag, `"${md5s["small.bin"]}"`);
    assert.ok(result["small.bin"].crc32, "the CRC32 botocore sent is stored and returned");
    assert.match(result["threshold.bin"].etag, /-1"$/, "at the threshold: multipart, one part");
    assert.match(result["large.bin"].etag, /-5"$/);
    // And what another client reads is the same bytes.
    const got = await cluster.client().send(new GetObjectCommand({ Bucket: "boto3-xfer", Key: "files/large.bin" }));
    assert.equal(md5Hex(await readAll(got.Body)), md5s["large.bin"]);
  });

  it("paginators: list_objects_v2 and list_objects (with delimiter) walk every page", async () => {
    const result = await py(`
s3.create_bucket(Bucket="boto3-pages")
keys = ["k/%03d" % i for i in range(230)] + ["p%d/x" % i for i in range(5)] + ["top"]
with ThreadPoolExecutor(8) as pool:
    list(pool.map(lambda k: s3.put_object(Bucket="boto3-pages", Key=k, Body=k.encode()), keys))
v2 = s3.get_paginator("list_objects_v2").paginate(Bucket="boto3-pages", PaginationConfig={"PageSize": 100})
v2_pages = [[o["Key"] for o in page.get("Contents", [])] for page in v2]
v1 = s3.get_paginator("list_objects").paginate(Bucket="boto3-pages", Delimiter="/", PaginationConfig={"PageSize": 2})
v1_pages = [([o["Key"] for o in page.get("Contents", [])], [p["Prefix"] for p in page.get("CommonPrefixes", [])]) for page in v1]
print(json.dumps({"v2": v2_pages, "v1": v1_pages}))
`);
    const all = [...Array.from({ length: 230 }, (_, i) => `k/${String(i).padStart(3, "0")}`), ...Array.from({ length: 5 }, (_, i) => `p${i}/x`), "top"];
    assert.deepEqual(result.v2.map((page: string[]) => page.length), [100, 100, 36]);
    assert.deepEqual(result.v2.flat(), all);
    // Pages of two entries, keys and prefixes together: k/, p0/ … p4/, top.
    assert.equal(result.v1.length, 4);
    assert.deepEqual(result.v1.flatMap((page: [string[], string[]]) => page[1]), ["k/", "p0/", "p1/", "p2/", "p3/", "p4/"]);
    assert.deepEqual(result.v1.flatMap((page: [string[], string[]]) => page[0]), ["top"]);
  });

  it("a presigned PUT from generate_presigned_url, used by curl, with SigV4 and with botocore's default SigV2", async () => {
    const data = randomData(50_000);
    await writeFile(join(work, "curl-put.bin"), data);
    // botocore presigns with SigV2 in us-east-1 unless asked for s3v4 (conformance/clients/sigv2.test.ts has more).
    const { url, v2url } = await py(`
from botocore.config import Config
s3.create_bucket(Bucket="boto3-presign")
v4 = boto3.client("s3", endpoint_url=args["endpoint"], config=Config(signature_version="s3v4"))
params = {"Bucket": "boto3-presign", "Key": "by curl/ü+.bin"}
print(json.dumps({"url": v4.generate_presigned_url("put_object", Params=params, ExpiresIn=300),
                  "v2url": s3.generate_presigned_url("put_object", Params=params, ExpiresIn=300)}))
`);
    assert.match(url, /X-Amz-Signature=/);
    assert.match(v2url, /AWSAccessKeyId=.*&Signature=/);
    const v2put = await runProgram("curl", ["-sS", "-w", "%{http_code}", "-T", join(work, "curl-put.bin"), v2url]);
    assert.equal(v2put.stdout, "200");
    const put = await runProgram("curl", ["-sS", "-w", "%{http_code}", "-T", join(work, "curl-put.bin"), url]);
    assert.equal(put.stdout, "200");
    const got = await cluster.client().send(new GetObjectCommand({ Bucket: "boto3-presign", Key: "by curl/ü+.bin" }));
    assert.ok((await readAll(got.Body)).equals(data));
    assert.equal(got.ETag, `"${await fileMd5(join(work, "curl-put.bin"))}"`);
  });
});
