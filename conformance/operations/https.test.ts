// HTTPS between every process: ioservers and the gateway serve TLS with a certificate from a private authority that
// the gateway and the clients trust (NODE_EXTRA_CA_CERTS, an https agent); plain HTTP to them gets nowhere.
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { weftFor } from "../support/weft.js";

/** A certificate authority and a certificate it signed for 127.0.0.1 and localhost, made by the openssl command. */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=weft test authority", "-keyout", path("ca.key"), "-out", path("ca.pem"));
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost", "-keyout", path("server.key"), "-out", path("server.csr"));
  await writeFile(path("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl("x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", path("san.ext"), "-out", path("server.pem"));
  return { ca: path("ca.pem"), cert: path("server.pem"), key: path("server.key") };
}

describe("HTTPS on the gateway and the ioservers", function () {
  this.timeout(120_000);
  let certificates: string;
  let cluster: TestCluster;
  let s3: S3Client;

  before(async () => {
    certificates = await mkdtemp(join(tmpdir(), "weft-tls-"));
    const { ca, cert, key } = await makeCertificates(certificates);
    const tls = { WEFT_TLS_CERT: cert, WEFT_TLS_KEY: key };
    cluster = await startTestCluster({ ioserverEnv: tls, gatewayEnv: { ...tls, NODE_EXTRA_CA_CERTS: ca } });
    s3 = new S3Client({
      endpoint: cluster.endpoint,
      forcePathStyle: true,
      region: cluster.region,
      credentials: { accessKeyId: cluster.accessKey, secretAccessKey: cluster.secretKey },
      requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: await readFile(ca) }) }),
    });
  });
  after(async () => {
    s3?.destroy();
    await cluster?.destroy();
    if (certificates) await rm(certificates, { recursive: true, force: true });
  });

  it("serves S3 over HTTPS and stripes over HTTPS to every ioserver", async () => {
    assert.match(cluster.endpoint, /^https:\/\//);
    for (const ioserver of cluster.ioservers) assert.match(ioserver.url, /^https:\/\//);
    const body = randomBytes(3 * 1024 * 1024 + 17);
    await s3.send(new CreateBucketCommand({ Bucket: "secure" }));
    await s3.send(new PutObjectCommand({ Bucket: "secure", Key: "striped", Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket: "secure", Key: "striped" }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body));
    const status = await weftFor(cluster).run(["status", "--json"], { NODE_EXTRA_CA_CERTS: join(certificates, "ca.pem") });
    assert.equal(status.code, 0, status.stderr);
    const report = JSON.parse(status.stdout) as { disks: { state: string }[] };
    assert.equal(report.disks.filter((disk) => disk.state === "up").length, 6);
  });

  it("gives plain HTTP nothing", async () => {
    for (const url of [cluster.endpoint, cluster.ioservers[0]!.url]) {
      const plain = url.replace(/^https:/, "http:");
      const answer = await fetch(`${plain}/_weft/healthz`).then(
        (response) => response.status,
        () => "refused",
      );
      assert.ok(answer === "refused" || answer === 400, `${plain} answered ${answer}`);
    }
  });
});
