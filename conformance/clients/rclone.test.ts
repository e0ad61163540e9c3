// rclone (Debian's), the backup tool users run: one remote as `provider = Other` (ListObjects v1, unencoded
// listings, no multipart-ETag trust) and one as `provider = Minio` (ListObjectsV2, URL-encoded listings).
import assert from "node:assert/strict";
import {
  CreateBucketCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectLockConfigurationCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestCluster } from "../support/cluster.js";
import { randomData } from "../support/bytes.js";
import { sharedCluster } from "../support/shared.js";
import { ensureDebianClients, listFiles, logClientVersion, removeDir, runProgram, tempDir, writeTree } from "../support/clients.js";

const MiB = 1024 * 1024;

/** rclone -v log lines (`INFO  : path: Copied (new)`) → "path: Copied (new)", in sorted order. */
function actions(stderr: string): string[] {
  return stderr
    .split("\n")
    .map((line) => /INFO\s+:\s+(.+: (?:Copied \(new\)|Copied \(replaced existing\)|Deleted|Updated modification time.*))$/.exec(line)?.[1])
    .filter((line): line is string => line !== undefined)
    .sort();
}

describe("rclone", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let s3: S3Client;
  let work: string;

  const rclone = (args: string[]) => {
    const env: Record<string, string | undefined> = {
      // rclone's own HTTP transport fails to start when AWS_CA_BUNDLE is set for a plain-http endpoint.
      AWS_CA_BUNDLE: undefined,
      RCLONE_CONFIG: "/dev/null",
    };
    for (const [name, provider] of [["WEFTOTHER", "Other"], ["WEFTMINIO", "Minio"]]) {
      Object.assign(env, {
        [`RCLONE_CONFIG_${name}_TYPE`]: "s3",
        [`RCLONE_CONFIG_${name}_PROVIDER`]: provider,
        [`RCLONE_CONFIG_${name}_ENDPOINT`]: cluster.endpoint,
        [`RCLONE_CONFIG_${name}_ACCESS_KEY_ID`]: cluster.accessKey,
        [`RCLONE_CONFIG_${name}_SECRET_ACCESS_KEY`]: cluster.secretKey,
        [`RCLONE_CONFIG_${name}_REGION`]: cluster.region,
      });
    }
    // Multipart from 10 MiB in 5 MiB chunks, so the "large" files of a test tree go through it.
    return runProgram("rclone", ["--transfers", "8", "--checkers", "8", "--s3-upload-cutoff", "10M", "--s3-chunk-size", "5M", ...args], { env });
  };

  before(async function () {
    this.timeout(600_000);
    await ensureDebianClients();
    cluster = await sharedCluster();
    s3 = cluster.client();
    work = await tempDir("rclone");
    logClientVersion("rclone", (await rclone(["version"])).stdout);
  });
  after(async () => {
    await removeDir(work);
  });

  const mtimeNs = async (path: string) => (await stat(path, { bigint: true })).mtimeNs;

  it("provider Other: sync of 2,000 small files and a few large ones, check, mtimes round trip, changes and deletions", async () => {
    const local = join(work, "other-src");
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 2000; i++) files[`d${String(i % 40).padStart(2, "0")}/file-${i}.txt`] = randomData(i % 1500);
    files["large/one.bin"] = randomData(12 * MiB + 1);
    files["large/two.bin"] = randomData(23 * MiB);
    files["large/three.bin"] = randomData(6 * MiB);
    await writeTree(local, files);
    // Distinct, sub-second modification times, to see them survive the round trip exactly.
    for (const [i, name] of ["d00/file-0.txt", "d01/file-1.txt", "large/one.bin"].entries()) {
      const when = new Date(Date.UTC(2021, 2, 3 + i, 4, 5, 6, 789));
      await utimes(join(local, name), when, when);
    }
    const remote = "WEFTOTHER:rclone-other/backup";

    await rclone(["sync", local, remote]);
    const checked = await rclone(["check", local, remote]);
    assert.match(checked.stderr, /0 differences found/);
    assert.match(checked.stderr, /2003 matching files/);

    // rclone keeps the mtime in x-amz-meta-mtime, and the whole-file MD5 of multipart uploads in md5chksum.
    const small = await s3.send(new HeadObjectCommand({ Bucket: "rclone-other", Key: "backup/d00/file-0.txt" }));
    assert.match(small.Metadata?.mtime ?? "", /^1614744306\.789/);
    const large = await s3.send(new HeadObjectCommand({ Bucket: "rclone-other", Key: "backup/large/two.bin" }));
    assert.match(large.ETag ?? "", /-5"$/);
    assert.ok(large.Metadata?.md5chksum, "md5chksum stored for a multipart upload");

    const back = join(work, "other-back");
    await rclone(["sync", remote, back]);
    assert.deepEqual(await listFiles(back), Object.keys(files).sort());
    for (const [name, content] of Object.entries(files)) {
      assert.ok((await readFile(join(back, name))).equals(content), name);
      assert.equal(await mtimeNs(join(back, name)), await mtimeNs(join(local, name)), `mtime of ${name}`);
    }

    // One file changed, one removed, one added: exactly those three actions, the other 2,000 untouched.
    await writeFile(join(local, "d05/file-5.txt"), "changed content");
    await rm(join(local, "d06/file-6.txt"));
    await writeFile(join(local, "d07/added.txt"), "added");
    const second = await rclone(["sync", "-v", local, remote]);
    assert.deepEqual(actions(second.stderr), [
      "d05/file-5.txt: Copied (replaced existing)",
      "d06/file-6.txt: Deleted",
      "d07/added.txt: Copied (new)",
    ]);
    assert.deepEqual(actions((await rclone(["sync", "-v", local, remote])).stderr), [], "a third run does nothing");
    const after = await rclone(["check", local, remote]);
    assert.match(after.stderr, /0 differences found/);
    assert.match(after.stderr, /2003 matching files/);
  });

  it("provider Minio: listings v2 with URL encoding over odd names, multipart, check and copy back", async () => {
    const local = join(work, "minio-src");
    const files: Record<string, string | Buffer> = {
      "plain.txt": "plain",
      "with space.txt": "space",
      "plus+sign.txt": "plus",
      "percent%2Fliteral.txt": "percent",
      "ümlaut/ö.txt": "umlaut",
      "日本語/ファイル.txt": "cjk",
      "emoji-😀.txt": "astral",
      "fullwidth-Ａ.txt": "bmp-high",
      "deep/a/b/c/d/e/f/leaf.txt": "deep",
      "big/multipart.bin": randomData(11 * MiB),
    };
    for (let i = 0; i < 30; i++) files[`many/n${i}`] = `n${i}`;
    await writeTree(local, files);
    const remote = "WEFTMINIO:rclone-minio/set";
    await rclone(["sync", local, remote]);
    const checked = await rclone(["check", local, remote]);
    assert.match(checked.stderr, /0 differences found/);
    // --s3-list-chunk 7 makes rclone follow continuation tokens through several encoded pages.
    const listed = (await rclone(["lsf", "-R", "--files-only", "--s3-list-chunk", "7", remote])).stdout.split("\n").filter(Boolean).sort();
    assert.deepEqual(listed, Object.keys(files).sort());
    const back = join(work, "minio-back");
    await rclone(["copy", remote, back]);
    for (const [name, content] of Object.entries(files)) assert.ok((await readFile(join(back, name))).equals(Buffer.from(content)), name);
    assert.deepEqual(actions((await rclone(["sync", "-v", local, remote])).stderr), [], "a second run does nothing");
  });

  it("an unchanged file with a new mtime is not re-uploaded: its mtime is updated in place", async () => {
    const local = join(work, "touch-src");
    await writeTree(local, { "same.txt": "same bytes", "other.txt": "other" });
    const remote = "WEFTOTHER:rclone-touch/x";
    await rclone(["sync", local, remote]);
    const when = new Date(Date.UTC(2022, 0, 1));
    await utimes(join(local, "same.txt"), when, when);
    const second = await rclone(["sync", "-v", local, remote]);
    assert.deepEqual(actions(second.stderr), ["same.txt: Updated modification time in destination"]);
    const head = await s3.send(new HeadObjectCommand({ Bucket: "rclone-touch", Key: "x/same.txt" }));
    assert.match(head.Metadata?.mtime ?? "", /^1640995200/);
  });

  it("server-side copy and move: rclone copyto / moveto remote:a remote:b, single and in parts", async () => {
    // 12 MiB: one CopyObject for copyto; for moveto, 5 MiB parts (the cutoff is also rclone's copy part size).
    const data = randomData(12 * MiB);
    await writeTree(join(work, "copy-src"), { "a.bin": data });
    await rclone(["copyto", join(work, "copy-src", "a.bin"), "WEFTOTHER:rclone-copy/a.bin"]);
    const copied = await rclone(["copyto", "-v", "WEFTOTHER:rclone-copy/a.bin", "WEFTOTHER:rclone-copy/b.bin"]);
    assert.match(copied.stderr, /Copied \(server-side copy\)/);
    // Above --s3-copy-cutoff rclone copies in parts (UploadPartCopy with ranges); moveto is copy + delete.
    const moved = await rclone(["moveto", "-v", "--s3-copy-cutoff", "5M", "WEFTOTHER:rclone-copy/b.bin", "WEFTOTHER:rclone-copy/c.bin"]);
    assert.match(moved.stderr, /b\.bin: Copied \(server-side copy\) to: c\.bin\n.*b\.bin: Deleted/);
    const parts = await s3.send(new HeadObjectCommand({ Bucket: "rclone-copy", Key: "c.bin" }));
    assert.match(parts.ETag ?? "", /-3"$/, "copied in three parts");
    assert.deepEqual((await rclone(["lsf", "WEFTOTHER:rclone-copy"])).stdout.split("\n").filter(Boolean).sort(), ["a.bin", "c.bin"]);
    await rclone(["copyto", "WEFTOTHER:rclone-copy/c.bin", join(work, "copy-src", "c.bin")]);
    assert.ok((await readFile(join(work, "copy-src", "c.bin"))).equals(data));
    assert.match((await rclone(["check", join(work, "copy-src"), "WEFTOTHER:rclone-copy", "--include", "{a,c}.bin"])).stderr, /0 differences found/);
  });

  it("bisync keeps a local folder and a bucket in step both ways by modification time", async () => {
    const local = join(work, "bisync-local");
    const state = join(work, "bisync-state");
    const remote = "WEFTOTHER:rclone-bisync/folder";
    await writeTree(local, { "a.txt": "a v1", "b.txt": "b v1", "c.txt": "c v1", "d.txt": "d v1" });
    const old = new Date(Date.now() - 3600_000);
    for (const name of ["a.txt", "b.txt", "c.txt", "d.txt"]) await utimes(join(local, name), old, old);
    await rclone(["mkdir", remote]);
    await rclone(["bisync", local, remote, "--resync", "--workdir", state]);
    assert.deepEqual((await rclone(["lsf", remote])).stdout.split("\n").filter(Boolean).sort(), ["a.txt", "b.txt", "c.txt", "d.txt"]);

    // Local: a changed, c deleted, e added. Remote (through another folder, as another machine would): b changed,
    // d deleted, f added.
    await writeFile(join(local, "a.txt"), "a v2 from local");
    await rm(join(local, "c.txt"));
    await writeFile(join(local, "e.txt"), "e new local");
    const elsewhere = join(work, "bisync-elsewhere");
    await writeTree(elsewhere, { "b.txt": "b v2 from remote", "f.txt": "f new remote" });
    await rclone(["copyto", join(elsewhere, "b.txt"), `${remote}/b.txt`]);
    await rclone(["copyto", join(elsewhere, "f.txt"), `${remote}/f.txt`]);
    await rclone(["deletefile", `${remote}/d.txt`]);

    await rclone(["bisync", local, remote, "--workdir", state]);
    const expected = { "a.txt": "a v2 from local", "b.txt": "b v2 from remote", "e.txt": "e new local", "f.txt": "f new remote" };
    assert.deepEqual(await listFiles(local), Object.keys(expected).sort());
    for (const [name, body] of Object.entries(expected)) assert.equal(await readFile(join(local, name), "utf8"), body, `local ${name}`);
    const mirror = join(work, "bisync-mirror");
    await rclone(["copy", remote, mirror]);
    assert.deepEqual(await listFiles(mirror), Object.keys(expected).sort());
    for (const [name, body] of Object.entries(expected)) assert.equal(await readFile(join(mirror, name), "utf8"), body, `remote ${name}`);
    assert.match((await rclone(["check", local, remote])).stderr, /0 differences found/);
  });
});

describe("rclone: versions", function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let s3: S3Client;

  const rclone = (args: string[], input?: string, allowFailure = false) =>
    runProgram("rclone", args, {
      input,
      allowFailure,
      env: {
        // rclone's own HTTP transport fails to start when AWS_CA_BUNDLE is set for a plain-http endpoint.
        AWS_CA_BUNDLE: undefined,
        RCLONE_CONFIG: "/dev/null",
        RCLONE_CONFIG_WEFTV_TYPE: "s3",
        RCLONE_CONFIG_WEFTV_PROVIDER: "Other",
        RCLONE_CONFIG_WEFTV_ENDPOINT: cluster.endpoint,
        RCLONE_CONFIG_WEFTV_ACCESS_KEY_ID: cluster.accessKey,
        RCLONE_CONFIG_WEFTV_SECRET_ACCESS_KEY: cluster.secretKey,
        RCLONE_CONFIG_WEFTV_REGION: cluster.region,
      },
    });

  /** `rclone ls` lines (`   size path`) → path → size. */
  const ls = async (args: string[]) =>
    new Map((await rclone(["ls", ...args])).stdout.split("\n").flatMap((line) => {
      const match = /^\s*(\d+) (.+)$/.exec(line);
      return match ? [[match[2], Number(match[1])] as [string, number]] : [];
    }));

  before(async function () {
    this.timeout(600_000);
    await ensureDebianClients();
    cluster = await sharedCluster();
    s3 = cluster.client();
  });

  it("--s3-versions: ls lists old versions as file-vYYYY-MM-DD-HHMMSS-mmm.txt, and cat of such a name returns the old bytes", async () => {
    const bucket = "rclone-versions";
    await rclone(["mkdir", `WEFTV:${bucket}`]);
    assert.match((await rclone(["backend", "versioning", `WEFTV:${bucket}`, "Enabled"])).stdout, /Enabled/);
    assert.match((await rclone(["backend", "versioning", `WEFTV:${bucket}`])).stdout, /Enabled/);
    const contents = ["version one", "version two, the longest", "version three"];
    for (const [index, content] of contents.entries()) {
      // rclone names versions by their LastModified; a second apart, they differ even at one-second resolution.
      if (index > 0) await new Promise((resolve) => setTimeout(resolve, 1100));
      await rclone(["rcat", `WEFTV:${bucket}/dir/file.txt`], content);
    }

    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    assert.equal(listed.Versions?.length, 3);
    const stamp = (date: Date) => date.toISOString().replace(/^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$/, "$1-$2$3$4-$5");
    const old = listed.Versions!.filter((version) => !version.IsLatest).map((version) => `dir/file-v${stamp(version.LastModified!)}.txt`);
    assert.deepEqual(
      await ls(["--s3-versions", `WEFTV:${bucket}`]),
      new Map([["dir/file.txt", contents[2].length], [old[0], contents[1].length], [old[1], contents[0].length]]),
    );
    assert.deepEqual(await ls([`WEFTV:${bucket}`]), new Map([["dir/file.txt", contents[2].length]]), "without the flag, only current versions");

    // rclone 1.60 does not resolve a version's name given as the whole path (it finds the version in its listing,
    // then takes the path for a folder), so the version is picked from its folder by a filter instead.
    const cat = async (name: string) => (await rclone(["cat", "--s3-versions", `WEFTV:${bucket}/dir`, "--include", `/${name.slice("dir/".length)}`])).stdout;
    assert.equal(await cat(old[1]), "version one");
    assert.equal(await cat(old[0]), "version two, the longest");
    assert.equal((await rclone(["cat", `WEFTV:${bucket}/dir/file.txt`])).stdout, "version three");
  });

  it("an immutable backup: what rclone sync wrote into a bucket with object lock outlives rclone delete, --s3-versions included", async () => {
    const bucket = "rclone-vault";
    await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
    await s3.send(
      new PutObjectLockConfigurationCommand({
        Bucket: bucket,
        ObjectLockConfiguration: { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: 1 } } },
      }),
    );
    const source = await tempDir("rclone-vault");
    try {
      await writeTree(source, { "notes.txt": "first backup", "disk/image.bin": randomData(12 * MiB) });
      // Multipart from 10 MiB, so the image goes up in parts, each with its digest as object lock wants.
      await rclone(["sync", "--s3-upload-cutoff", "10M", "--s3-chunk-size", "5M", source, `WEFTV:${bucket}`]);
      for (const key of ["notes.txt", "disk/image.bin"]) {
        assert.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ObjectLockMode, "COMPLIANCE", key);
      }

      await rclone(["delete", `WEFTV:${bucket}`]);
      assert.deepEqual(await ls([`WEFTV:${bucket}`]), new Map(), "the current objects are gone");
      const purge = await rclone(["delete", "--s3-versions", `WEFTV:${bucket}`], undefined, true);
      assert.notEqual(purge.code, 0, "deleting the locked versions fails");
      assert.match(purge.stderr, /AccessDenied/);
      const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
      assert.deepEqual(versions.Versions?.map((version) => version.Key).sort(), ["disk/image.bin", "notes.txt"]);

      // The backup is still there to restore, version by version.
      const restored = (await rclone(["cat", "--s3-versions", `WEFTV:${bucket}`, "--include", "/notes-v*.txt"])).stdout;
      assert.equal(restored, "first backup");
    } finally {
      await removeDir(source);
    }
  });
});
