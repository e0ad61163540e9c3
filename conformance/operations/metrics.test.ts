// The operators' view of a real cluster: GET /_weft/metrics (and each ioserver's GET /metrics) counts what the SDK did,
// a read rebuilt from parity and a damaged block are counted, the disks and backlogs are reported; /_weft/healthz and
// /_weft/readyz answer without credentials, readiness follows PostgreSQL and the disks; WEFT_METRICS_TOKEN closes the
// metrics to whoever lacks it.
import assert from "node:assert/strict";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { startTestCluster, type TestCluster } from "../support/cluster.js";
import { randomData, readAll } from "../support/bytes.js";
import { flipByteAt, holderOfFirstDataSlot } from "../support/datafiles.js";
import { expectS3Error } from "../support/expect.js";
import { nextDiskRound } from "../support/weft.js";

const BUCKET = "observed";
const MiB = 1024 * 1024;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus' text format, as prom-client writes it: one sample per line, `#` lines are HELP and TYPE. */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[name!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The samples named `name` whose labels include `labels`. */
function matching(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((sample) => sample.name === name && Object.entries(labels).every(([label, value]) => sample.labels[label] === value));
}

function sum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return matching(samples, name, labels).reduce((total, sample) => total + sample.value, 0);
}

async function scrape(url: string, token?: string): Promise<Sample[]> {
  const response = await fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parseMetrics(text);
}

async function json(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Polls `check` until it passes or `ms` have gone by (the last failure is thrown). */
async function eventually(check: () => Promise<void>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** The ioserver holding data slot 0 of an object: that datafile starts with the object's first bytes. */
describe("metrics, health and readiness", function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  let s3: S3Client;
  let metricsUrl: string;

  before(async () => {
    cluster = await startTestCluster();
    // One attempt per command, so that the counters go up by exactly what the test sent.
    s3 = cluster.client({ maxAttempts: 1 });
    metricsUrl = `${cluster.endpoint}/_weft/metrics`;
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => cluster?.destroy());

  it("answers /_weft/healthz and /_weft/readyz without credentials, telling nothing about the cluster's members", async () => {
    assert.deepEqual(await json(`${cluster.endpoint}/_weft/healthz`), { status: 200, body: { alive: true } });
    assert.deepEqual(await json(`${cluster.endpoint}/_weft/readyz`), { status: 200, body: { ready: true, missing: [], disks: { up: 6, needed: 5 } } });
    const post = await fetch(`${cluster.endpoint}/_weft/readyz`, { method: "POST" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
  });

  it("counts requests by operation and status, their latency and their bytes, and nothing else", async () => {
    const before = await scrape(metricsUrl);
    const small = randomData(1000);
    const large = randomData(MiB);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "small", Body: small }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "large", Body: large }));
    assert.ok((await readAll((await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "small" }))).Body)).equals(small));
    assert.ok((await readAll((await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "large" }))).Body)).equals(large));
    for (let i = 0; i < 2; i++) await expectS3Error(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "missing" })), "NoSuchKey", 404);
    const after = await scrape(metricsUrl);
    const delta = (name: string, labels: Record<string, string> = {}) => sum(after, name, labels) - sum(before, name, labels);

    assert.equal(delta("weft_gateway_requests_total", { op: "PutObject", status: "200" }), 2);
    assert.equal(delta("weft_gateway_requests_total", { op: "GetObject", status: "200" }), 2);
    assert.equal(delta("weft_gateway_requests_total", { op: "GetObject", status: "404" }), 2);
    // The scrapes themselves are not requests of the S3 API.
    assert.equal(delta("weft_gateway_requests_total"), 6);
    assert.equal(delta("weft_gateway_request_duration_seconds_count", { op: "PutObject" }), 2);
    assert.equal(delta("weft_gateway_request_duration_seconds_count", { op: "GetObject" }), 4);
    assert.equal(delta("weft_gateway_request_duration_seconds_bucket", { op: "GetObject", le: "+Inf" }), 4);
    assert.ok(delta("weft_gateway_request_duration_seconds_sum", { op: "PutObject" }) > 0);
    assert.ok(delta("weft_gateway_received_bytes_total") >= small.length + large.length, "bytes received");
    assert.ok(delta("weft_gateway_sent_bytes_total") >= small.length + large.length, "bytes sent");
    // At least the lookup of each GET and the write of each PUT went through the metadata facade.
    assert.ok(delta("weft_gateway_metadata_call_seconds_count") >= 6);
    assert.equal(sum(after, "weft_gateway_postgres_pool_connections"), 4);
    assert.ok(matching(after, "process_cpu_user_seconds_total").length === 1, "Node's process metrics");
    assert.ok(matching(after, "nodejs_heap_size_used_bytes").length === 1, "Node's heap metrics");
  });

  it("reports each disk as the gateway last saw it, and the heal and scrub backlogs", async () => {
    // Each ioserver counts its datafiles in the background; the gateway sees the count from the next disk round on.
    await eventually(async () => {
      const samples = await scrape(metricsUrl);
      const ids = cluster.ioservers.map((ioserver) => ioserver.diskId).sort();
      assert.deepEqual(matching(samples, "weft_gateway_disk_up").map((sample) => sample.labels.disk).sort(), ids);
      for (const id of ids) {
        assert.equal(sum(samples, "weft_gateway_disk_up", { disk: id }), 1);
        assert.ok(sum(samples, "weft_gateway_disk_free_bytes", { disk: id }) > 0);
        assert.ok(sum(samples, "weft_gateway_disk_used_bytes", { disk: id }) > 0);
        assert.equal(matching(samples, "weft_gateway_disk_datafiles", { disk: id }).length, 1, `datafile count of ${id}`);
      }
      assert.equal(sum(samples, "weft_gateway_heal_queue_parts"), 0);
      // No disk has been scrubbed yet.
      assert.equal(sum(samples, "weft_gateway_scrub_due_disks"), 6);
    });
  });

  it("serves an ioserver's /metrics without a signature: routes, bytes, disk and datafiles", async () => {
    const samples = await Promise.all(cluster.ioservers.map((ioserver) => scrape(`${ioserver.url}/metrics`)));
    const overAll = (name: string, labels: Record<string, string> = {}) => samples.reduce((total, one) => total + sum(one, name, labels), 0);
    // The 1 MiB object is the only striped write so far: 4 data and 2 parity datafiles, one on each ioserver.
    assert.equal(overAll("weft_ioserver_requests_total", { route: "PUT /blobs/:id", status: "200" }), 6);
    assert.ok(overAll("weft_ioserver_received_bytes_total") >= 1.5 * MiB);
    assert.ok(overAll("weft_ioserver_requests_total", { route: "GET /blobs/:id" }) >= 4);
    assert.ok(overAll("weft_ioserver_sent_bytes_total") >= MiB);
    for (const one of samples) {
      assert.ok(sum(one, "weft_ioserver_disk_free_bytes") > 0);
      assert.ok(sum(one, "weft_ioserver_disk_used_bytes") > 0);
      assert.equal(matching(one, "weft_ioserver_datafiles").length, 1);
      assert.equal(sum(one, "weft_ioserver_checksum_failures_total", { during: "read" }), 0);
      assert.ok(sum(one, "weft_ioserver_request_duration_seconds_count") > 0);
    }
  });

  it("counts a damaged block on the ioserver that found it, and the read the gateway rebuilt from parity", async () => {
    const data = randomData(MiB);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "damaged", Body: data }));
    const { index, path } = await holderOfFirstDataSlot(cluster.ioservers, data);
    await flipByteAt(path, 1000);
    const before = await scrape(metricsUrl);
    assert.ok((await readAll((await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "damaged" }))).Body)).equals(data));
    const after = await scrape(metricsUrl);
    assert.equal(sum(after, "weft_gateway_degraded_reads_total") - sum(before, "weft_gateway_degraded_reads_total"), 1);
    const holder = await scrape(`${cluster.ioservers[index]!.url}/metrics`);
    assert.equal(sum(holder, "weft_ioserver_checksum_failures_total", { during: "read" }), 1);
  });

  it("counts a read rebuilt while an ioserver holding a data slot is stopped, and is not ready while writes would be refused", async () => {
    const data = randomData(MiB);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "degraded", Body: data }));
    const { index } = await holderOfFirstDataSlot(cluster.ioservers, data);
    const stopped = cluster.ioservers[index]!;
    await stopped.stop();
    await nextDiskRound();
    const before = await scrape(metricsUrl);
    assert.ok((await readAll((await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "degraded" }))).Body)).equals(data));
    const after = await scrape(metricsUrl);
    assert.equal(sum(after, "weft_gateway_degraded_reads_total") - sum(before, "weft_gateway_degraded_reads_total"), 1);
    assert.equal(sum(after, "weft_gateway_disk_up", { disk: stopped.diskId }), 0);
    assert.deepEqual(matching(after, "weft_gateway_disk_free_bytes", { disk: stopped.diskId }), [], "no size for a disk that is down");
    // STANDARD is 4+2 and a write needs k + 1 slots: five disks up still take writes, four do not.
    assert.deepEqual(await json(`${cluster.endpoint}/_weft/readyz`), { status: 200, body: { ready: true, missing: [], disks: { up: 5, needed: 5 } } });
    const other = (index + 1) % cluster.ioservers.length;
    await cluster.ioservers[other]!.stop();
    await nextDiskRound();
    assert.deepEqual(await json(`${cluster.endpoint}/_weft/readyz`), { status: 503, body: { ready: false, missing: ["disks"], disks: { up: 4, needed: 5 } } });

    await Promise.all([cluster.restartIoServer(index), cluster.restartIoServer(other)]);
    // Ready needs five disks; the next test starts from all six up, which a loaded machine may take a round longer to see.
    await eventually(async () => assert.deepEqual(await json(`${cluster.endpoint}/_weft/readyz`), { status: 200, body: { ready: true, missing: [], disks: { up: 6, needed: 5 } } }));
  });

  it("is not ready while PostgreSQL is down, still alive and still serving metrics, and ready again once it is back", async () => {
    await cluster.killPostgres();
    try {
      await eventually(async () => {
        assert.deepEqual(await json(`${cluster.endpoint}/_weft/readyz`), { status: 503, body: { ready: false, missing: ["postgresql"], disks: { up: 6, needed: 5 } } });
      }, 10_000);
      assert.equal((await json(`${cluster.endpoint}/_weft/healthz`)).status, 200);
      const samples = await scrape(metricsUrl);
      assert.ok(Number.isNaN(sum(samples, "weft_gateway_heal_queue_parts")), "the heal queue is unknown without PostgreSQL");
      assert.equal(sum(samples, "weft_gateway_disk_up"), 6);
    } finally {
      await cluster.restartPostgres();
    }
    await eventually(async () => assert.equal((await json(`${cluster.endpoint}/_weft/readyz`)).status, 200));
  });
});

describe("metrics behind WEFT_METRICS_TOKEN", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  const gatewayToken = "gateway-metrics-token";
  const ioserverToken = "ioserver-metrics-token";

  before(async () => {
    cluster = await startTestCluster({ gatewayEnv: { WEFT_METRICS_TOKEN: gatewayToken }, ioserverEnv: { WEFT_METRICS_TOKEN: ioserverToken } });
  });
  after(async () => cluster?.destroy());

  for (const side of ["gateway", "ioserver"] as const) {
    it(`refuses the ${side}'s metrics without the bearer token, and serves them with it`, async () => {
      const url = side === "gateway" ? `${cluster.endpoint}/_weft/metrics` : `${cluster.ioservers[0]!.url}/metrics`;
      const token = side === "gateway" ? gatewayToken : ioserverToken;
      const refused: Record<string, string>[] = [{}, { authorization: "Bearer wrong" }, { authorization: token }, { authorization: `Basic ${token}` }];
      for (const headers of refused) {
        const response = await fetch(url, { headers });
        assert.equal(response.status, 401, JSON.stringify(headers));
        assert.equal(response.headers.get("www-authenticate"), 'Bearer realm="weft metrics"');
        assert.doesNotMatch(await response.text(), /weft_/);
      }
      const samples = await scrape(url, token);
      assert.ok(matching(samples, "process_cpu_user_seconds_total").length === 1);
    });
  }

  it("keeps /_weft/healthz and /_weft/readyz open", async () => {
    assert.equal((await json(`${cluster.endpoint}/_weft/healthz`)).status, 200);
    assert.equal((await json(`${cluster.endpoint}/_weft/readyz`)).status, 200);
  });
});
