import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { sharedCluster } from "../support/shared.js";
import type { TestCluster } from "../support/cluster.js";
import { randomData } from "../support/bytes.js";

const run = promisify(execFile);

describe("aws cli end to end", function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  let work: string;
  const aws = (...args: string[]) =>
    run("aws", ["--endpoint-url", cluster.endpoint, ...args], {
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: cluster.accessKey,
        AWS_SECRET_ACCESS_KEY: cluster.secretKey,
        AWS_DEFAULT_REGION: cluster.region,
        AWS_CONFIG_FILE: "/dev/null",
        AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
      },
      maxBuffer: 16 * 1024 * 1024,
    });

  before(async () => {
    cluster = await sharedCluster();
    work = await mkdtemp(join(tmpdir(), "weft-awscli-"));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("mb, cp up and down (20 MiB: multipart), ls, rm, rb", async () => {
    const data = randomData(20 * 1024 * 1024 + 5);
    await writeFile(join(work, "upload.bin"), data);
    await aws("s3", "mb", "s3://cli-bucket");
    await aws("s3", "cp", join(work, "upload.bin"), "s3://cli-bucket/dir/upload.bin");
    await aws("s3", "cp", "s3://cli-bucket/dir/upload.bin", join(work, "download.bin"));
    assert.ok((await readFile(join(work, "download.bin"))).equals(data), "downloaded bytes equal uploaded bytes");

    const { stdout: listing } = await aws("s3", "ls", "--recursive", "s3://cli-bucket/");
    assert.match(listing, /\s20971525 dir\/upload\.bin/);
    const { stdout: buckets } = await aws("s3", "ls");
    assert.match(buckets, /cli-bucket/);

    await aws("s3", "rm", "s3://cli-bucket/dir/upload.bin");
    const { stdout: after } = await aws("s3", "ls", "--recursive", "s3://cli-bucket/");
    assert.equal(after.trim(), "");
    await aws("s3", "rb", "s3://cli-bucket");
  });

  it("syncs a folder tree up and back, byte for byte", async () => {
    const source = join(work, "tree");
    const files: Record<string, Buffer> = {
      "a.txt": Buffer.from("alpha"),
      "sub/b.bin": randomData(100_000),
      "sub/deeper/c with space.txt": Buffer.from("gamma"),
      "sub/deeper/ü+%.txt": randomData(9 * 1024 * 1024),
    };
    for (const [name, content] of Object.entries(files)) {
      await run("mkdir", ["-p", join(source, name, "..")]);
      await writeFile(join(source, name), content);
    }
    await aws("s3", "mb", "s3://cli-sync");
    await aws("s3", "sync", source, "s3://cli-sync/tree");
    const { stdout: second } = await aws("s3", "sync", source, "s3://cli-sync/tree");
    assert.equal(second.trim(), "", "a second sync copies nothing");
    const back = join(work, "back");
    await aws("s3", "sync", "s3://cli-sync/tree", back);
    for (const [name, content] of Object.entries(files)) {
      assert.ok((await readFile(join(back, name))).equals(content), name);
    }
  });
});
