// s3cmd (Debian's) with its default settings: SigV4 over a signed payload, path-style because host_bucket
// names no bucket, location `US` sent on bucket creation, ListObjects v1.
import assert from "node:assert/strict";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestCluster } from "../support/cluster.js";
import { randomData } from "../support/bytes.js";
import { sharedCluster } from "../support/shared.js";
import { ensureDebianClients, listFiles, logClientVersion, removeDir, runProgram, tempDir, writeTree } from "../support/clients.js";

const MiB = 1024 * 1024;

/** `s3cmd ls` lines → object URL → size. */
function parseLs(stdout: string): Map<string, number> {
  const entries = new Map<string, number>();
  for (const line of stdout.split("\n")) {
    const match = /^\S+ \S+\s+(\d+)\s+(s3:\/\/.+)$/.exec(line);
    if (match) entries.set(match[2], Number(match[1]));
  }
  return entries;
}

function uploads(stdout: string): string[] {
  return stdout.split("\n").filter((line) => /^(upload|download|delete):/.test(line));
}

describe("s3cmd", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let work: string;
  let config: string;
  const s3cmd = (args: string[], allowFailure = false) => runProgram("s3cmd", ["-c", config, ...args], { allowFailure });

  before(async function () {
    this.timeout(600_000);
    await ensureDebianClients();
    cluster = await sharedCluster();
    work = await tempDir("s3cmd");
    config = join(work, "s3cfg");
    const host = new URL(cluster.endpoint).host;
    // Only what a user must set for a private endpoint; every other setting keeps s3cmd's default.
    await writeFile(config, [
      "[default]",
      `access_key = ${cluster.accessKey}`,
      `secret_key = ${cluster.secretKey}`,
      `host_base = ${host}`,
      `host_bucket = ${host}`,
      "use_https = False",
      "",
    ].join("\n"));
    logClientVersion("s3cmd", (await s3cmd(["--version"])).stdout);
  });
  after(async () => {
    await removeDir(work);
  });

  it("mb, put (single and multipart), get, ls, del, rb", async () => {
    await s3cmd(["mb", "s3://s3cmd-basic"]);
    assert.match((await s3cmd(["ls"])).stdout, /s3:\/\/s3cmd-basic$/m);
    const small = randomData(2000);
    const large = randomData(20 * MiB + 7);
    await writeFile(join(work, "small.bin"), small);
    await writeFile(join(work, "large.bin"), large);
    await s3cmd(["put", join(work, "small.bin"), "s3://s3cmd-basic/dir/small file+.bin"]);
    // 15 MiB chunks: a two-part upload, checked by s3cmd against the md5 it keeps in x-amz-meta-s3cmd-attrs.
    await s3cmd(["put", join(work, "large.bin"), "s3://s3cmd-basic/dir/large.bin"]);
    const head = await cluster.client().send(new HeadObjectCommand({ Bucket: "s3cmd-basic", Key: "dir/large.bin" }));
    assert.match(head.ETag ?? "", /-2"$/);
    assert.match(head.Metadata?.["s3cmd-attrs"] ?? "", /md5:[0-9a-f]{32}/);

    const listed = parseLs((await s3cmd(["ls", "--recursive", "s3://s3cmd-basic"])).stdout);
    assert.deepEqual([...listed].sort(), [
      ["s3://s3cmd-basic/dir/large.bin", 20 * MiB + 7],
      ["s3://s3cmd-basic/dir/small file+.bin", 2000],
    ]);
    assert.match((await s3cmd(["ls", "s3://s3cmd-basic"])).stdout, /DIR\s+s3:\/\/s3cmd-basic\/dir\/$/m);

    await s3cmd(["get", "s3://s3cmd-basic/dir/small file+.bin", join(work, "small.out")]);
    await s3cmd(["get", "s3://s3cmd-basic/dir/large.bin", join(work, "large.out")]);
    assert.ok((await readFile(join(work, "small.out"))).equals(small));
    assert.ok((await readFile(join(work, "large.out"))).equals(large));

    const info = await s3cmd(["info", "s3://s3cmd-basic/dir/large.bin"]);
    assert.match(info.stdout, /File size:\s+20971527/);
    assert.match(info.stdout, /MD5 sum:\s+[0-9a-f]{32}/);

    const refused = await s3cmd(["rb", "s3://s3cmd-basic"], true);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /BucketNotEmpty/);
    await s3cmd(["del", "s3://s3cmd-basic/dir/small file+.bin"]);
    await s3cmd(["del", "s3://s3cmd-basic/dir/large.bin"]);
    assert.equal((await s3cmd(["ls", "--recursive", "s3://s3cmd-basic"])).stdout.trim(), "");
    await s3cmd(["rb", "s3://s3cmd-basic"]);
    const gone = await s3cmd(["ls", "s3://s3cmd-basic"], true);
    assert.match(gone.stderr, /NoSuchBucket/);
  });

  it("sync up (a second run uploads nothing, a changed file goes again) and sync down", async () => {
    const local = join(work, "tree");
    const files: Record<string, string | Buffer> = {
      "a.txt": "alpha",
      "with space/b.txt": "beta",
      "plus+percent%/c.txt": "gamma",
      "ü/日本.txt": "unicode",
      "big.bin": randomData(17 * MiB),
    };
    for (let i = 0; i < 40; i++) files[`many/f${i}.txt`] = `file ${i}`;
    await writeTree(local, files);
    await s3cmd(["mb", "s3://s3cmd-sync"]);
    const first = await s3cmd(["sync", `${local}/`, "s3://s3cmd-sync/tree/"]);
    assert.equal(uploads(first.stdout).length, Object.keys(files).length);
    assert.deepEqual(uploads((await s3cmd(["sync", `${local}/`, "s3://s3cmd-sync/tree/"])).stdout), []);

    await writeFile(join(local, "a.txt"), "alpha, changed");
    const second = uploads((await s3cmd(["sync", `${local}/`, "s3://s3cmd-sync/tree/"])).stdout);
    assert.equal(second.length, 1);
    assert.match(second[0], /a\.txt/);

    const mirror = join(work, "mirror");
    const down = await s3cmd(["sync", "s3://s3cmd-sync/tree/", `${mirror}/`]);
    assert.equal(uploads(down.stdout).length, Object.keys(files).length);
    assert.deepEqual(await listFiles(mirror), await listFiles(local));
    for (const name of await listFiles(local)) assert.ok((await readFile(join(mirror, name))).equals(await readFile(join(local, name))), name);
    assert.deepEqual(uploads((await s3cmd(["sync", "s3://s3cmd-sync/tree/", `${mirror}/`])).stdout), []);
  });

  it("sync --delete-removed and del --recursive", async () => {
    const local = join(work, "deltree");
    await writeTree(local, { "keep.txt": "keep", "drop.txt": "drop", "sub/x.txt": "x" });
    await s3cmd(["mb", "s3://s3cmd-delete"]);
    await s3cmd(["sync", `${local}/`, "s3://s3cmd-delete/t/"]);
    await rm(join(local, "drop.txt"));
    const synced = await s3cmd(["sync", "--delete-removed", `${local}/`, "s3://s3cmd-delete/t/"]);
    assert.match(synced.stdout, /delete: 's3:\/\/s3cmd-delete\/t\/drop\.txt'/);
    assert.deepEqual([...parseLs((await s3cmd(["ls", "-r", "s3://s3cmd-delete"])).stdout).keys()].sort(), [
      "s3://s3cmd-delete/t/keep.txt",
      "s3://s3cmd-delete/t/sub/x.txt",
    ]);
    await s3cmd(["del", "--recursive", "--force", "s3://s3cmd-delete/t/"]);
    assert.equal((await s3cmd(["ls", "-r", "s3://s3cmd-delete"])).stdout.trim(), "");
  });
});
