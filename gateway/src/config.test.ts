import assert from "node:assert/strict";
import { readGatewayConfig, type Environment } from "./config.js";

const SIX_IOSERVERS = Array.from({ length: 6 }, (_, index) => `http://127.0.0.1:${9101 + index}`).join(",");
const MASTER_KEY_HEX = "ab".repeat(32);
const VALID: Environment = {
  DATABASE_URL: "postgres://weft:pw@db:5432/weft",
  WEFT_CLUSTER_SECRET: "s3cret",
  WEFT_MASTER_KEY: MASTER_KEY_HEX,
  WEFT_IOSERVERS: SIX_IOSERVERS,
};

function problemsOf(env: Environment): string[] {
  const reading = readGatewayConfig(env);
  assert.equal(reading.ok, false, "expected problems");
  return reading.ok ? [] : reading.problems;
}

describe("gateway configuration", () => {
  it("takes the required variables and fills in every default", () => {
    const reading = readGatewayConfig(VALID);
    assert.ok(reading.ok);
    const { config } = reading;
    assert.equal(config.port, 9000);
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.logLevel, "info");
    assert.deepEqual(config.storageClasses, { STANDARD: { k: 4, m: 2 }, REDUCED_REDUNDANCY: { k: 4, m: 1 } });
    assert.equal(config.ioserverUrls.length, 6);
    assert.deepEqual(config.accessKeys, { weftadmin: "weftadmin-secret-key" });
  });

  it("reads set values, an empty value being unset", () => {
    const reading = readGatewayConfig({
      ...VALID,
      DATABASE_URL: "postgresql://db/weft",
      WEFT_PORT: "0",
      WEFT_STORAGE_CLASSES: "STANDARD=2+1, COLD=3+3",
      WEFT_DEFAULT_STORAGE_CLASS: "COLD",
      WEFT_STRIPE_UNIT: "65536",
      WEFT_HEAL_BYTES_PER_SECOND: "0",
      WEFT_LOG_LEVEL: "silent",
      WEFT_ACCESS_KEY: "",
    });
    assert.ok(reading.ok);
    assert.equal(reading.config.port, 0);
    assert.deepEqual(reading.config.storageClasses, { STANDARD: { k: 2, m: 1 }, COLD: { k: 3, m: 3 } });
    assert.equal(reading.config.defaultStorageClass, "COLD");
    assert.equal(reading.config.stripeUnit, 65536);
    assert.equal(reading.config.healBytesPerSecond, 0);
    assert.equal(reading.config.logLevel, "silent");
    assert.deepEqual(Object.keys(reading.config.accessKeys), ["weftadmin"]);
  });

  it("reports every problem at once, one line each naming the variable and its value", () => {
    assert.deepEqual(
      problemsOf({
        WEFT_PORT: "abc",
        WEFT_STORAGE_CLASSES: "STANDARD=9+9",
        WEFT_LOG_LEVEL: "loud",
        WEFT_PG_POOL: "0",
        WEFT_STRIPE_UNIT: "5000",
        WEFT_GC_INTERVAL_MS: "1e3",
        WEFT_INLINE_THRESHOLD: "-1",
      }),
      [
        "DATABASE_URL: required (a postgres:// URL)",
        "WEFT_CLUSTER_SECRET: required (the secret shared with the ioservers)",
        "WEFT_MASTER_KEY: required (the key that seals access key secrets in PostgreSQL, 64 hex digits or the base64 of 32 bytes (`openssl rand -hex 32`); or WEFT_MASTER_KEY_FILE)",
        "WEFT_IOSERVERS: required (comma-separated ioserver URLs)",
        "WEFT_STORAGE_CLASSES=STANDARD=9+9: STANDARD=9+9: the erasure code takes 1 to 24 data slots (k) and 0 to 6 parity slots (m)",
        "WEFT_STRIPE_UNIT=5000: must be a multiple of 4096",
        "WEFT_PORT=abc: not a port number (0 to 65535)",
        "WEFT_PG_POOL=0: must be at least 1",
        "WEFT_INLINE_THRESHOLD=-1: not a whole number",
        "WEFT_GC_INTERVAL_MS=1e3: not a whole number",
        "WEFT_LOG_LEVEL=loud: must be one of trace, debug, info, warn, error, fatal, silent",
      ],
    );
  });

  it("runs lifecycle rounds hourly with 86400-second days unless told otherwise, and refuses a day or interval of 0", () => {
    const defaults = readGatewayConfig(VALID);
    assert.ok(defaults.ok);
    assert.equal(defaults.config.lifecycleDaySeconds, 86_400);
    assert.equal(defaults.config.lifecycleIntervalMs, 3_600_000);
    const short = readGatewayConfig({ ...VALID, WEFT_LIFECYCLE_DAY_SECONDS: "2", WEFT_LIFECYCLE_INTERVAL_MS: "250" });
    assert.ok(short.ok);
    assert.equal(short.config.lifecycleDaySeconds, 2);
    assert.equal(short.config.lifecycleIntervalMs, 250);
    assert.deepEqual(problemsOf({ ...VALID, WEFT_LIFECYCLE_DAY_SECONDS: "0", WEFT_LIFECYCLE_INTERVAL_MS: "0" }), [
      "WEFT_LIFECYCLE_INTERVAL_MS=0: must be at least 1",
      "WEFT_LIFECYCLE_DAY_SECONDS=0: must be at least 1",
    ]);
  });

  it("refuses a port above 65535 and integers written other than in digits", () => {
    assert.deepEqual(problemsOf({ ...VALID, WEFT_PORT: "70000" }), ["WEFT_PORT=70000: not a port number (0 to 65535)"]);
    for (const text of ["0x10", "1.5", "12abc", "9007199254740993"]) {
      assert.deepEqual(problemsOf({ ...VALID, WEFT_SCRUB_INTERVAL_MS: text }), [`WEFT_SCRUB_INTERVAL_MS=${text}: not a whole number`]);
    }
    assert.deepEqual(problemsOf({ ...VALID, WEFT_STRIPE_UNIT: "1024" }), ["WEFT_STRIPE_UNIT=1024: must be at least 4096"]);
  });

  it("refuses a storage class wider than the configured ioservers, or one it cannot parse, and an unknown default", () => {
    const threeIoservers = SIX_IOSERVERS.split(",").slice(0, 3).join(",");
    assert.deepEqual(problemsOf({ ...VALID, WEFT_IOSERVERS: threeIoservers }), [
      "WEFT_STORAGE_CLASSES: STANDARD=4+2 puts each part on 6 disks, but only 3 ioservers are configured",
      "WEFT_STORAGE_CLASSES: REDUCED_REDUNDANCY=4+1 puts each part on 5 disks, but only 3 ioservers are configured",
    ]);
    assert.deepEqual(problemsOf({ ...VALID, WEFT_STORAGE_CLASSES: "STANDARD=4-2", WEFT_DEFAULT_STORAGE_CLASS: "GLACIER" }), [
      'WEFT_STORAGE_CLASSES=STANDARD=4-2: "STANDARD=4-2" is not NAME=K+M (e.g. STANDARD=4+2)',
      "WEFT_DEFAULT_STORAGE_CLASS=GLACIER: no such class in WEFT_STORAGE_CLASSES (none)",
    ]);
    assert.deepEqual(problemsOf({ ...VALID, WEFT_STORAGE_CLASSES: "STANDARD=0+2" }), [
      "WEFT_STORAGE_CLASSES=STANDARD=0+2: STANDARD=0+2: the erasure code takes 1 to 24 data slots (k) and 0 to 6 parity slots (m)",
    ]);
  });

  it("refuses a DATABASE_URL that is not a PostgreSQL URL, without echoing it (it may hold a password)", () => {
    assert.deepEqual(problemsOf({ ...VALID, DATABASE_URL: "mysql://root:hunter2@db/weft" }), ["DATABASE_URL: not a postgres:// or postgresql:// URL"]);
    assert.deepEqual(problemsOf({ ...VALID, DATABASE_URL: "postgres://weft:hunter2@[db/weft" }), [
      "DATABASE_URL: not a URL (expected postgres://user:password@host:port/database)",
    ]);
  });

  it("reads the master key as hex, as base64 or from a file, with previous keys for rotation, and never echoes one", async () => {
    const { mkdtemp, writeFile, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const base64 = Buffer.alloc(32, 7).toString("base64");
    const reading = readGatewayConfig({ ...VALID, WEFT_MASTER_KEY_PREVIOUS: `${base64}, ${"cd".repeat(32)}` });
    assert.ok(reading.ok);
    assert.deepEqual(reading.config.masterKeys.current, Buffer.from(MASTER_KEY_HEX, "hex"));
    assert.deepEqual(reading.config.masterKeys.previous, [Buffer.alloc(32, 7), Buffer.from("cd".repeat(32), "hex")]);

    const dir = await mkdtemp(join(tmpdir(), "weft-master-key-"));
    try {
      await writeFile(join(dir, "key"), `${base64}\n`);
      const fromFile = readGatewayConfig({ ...VALID, WEFT_MASTER_KEY: "", WEFT_MASTER_KEY_FILE: join(dir, "key") });
      assert.ok(fromFile.ok);
      assert.deepEqual(fromFile.config.masterKeys.current, Buffer.alloc(32, 7));
      assert.deepEqual(problemsOf({ ...VALID, WEFT_MASTER_KEY_FILE: join(dir, "key") }), ["WEFT_MASTER_KEY_FILE=" + join(dir, "key") + ": give WEFT_MASTER_KEY or WEFT_MASTER_KEY_FILE, not both"]);
      assert.match(problemsOf({ ...VALID, WEFT_MASTER_KEY: "", WEFT_MASTER_KEY_FILE: join(dir, "missing") })[0]!, /^WEFT_MASTER_KEY_FILE=.*missing: cannot read it: ENOENT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    assert.deepEqual(problemsOf({ ...VALID, WEFT_MASTER_KEY: "too-short-to-be-a-key" }), [
      "WEFT_MASTER_KEY: not a master key: 64 hex digits or the base64 of 32 bytes (`openssl rand -hex 32`)",
    ]);
    assert.deepEqual(problemsOf({ ...VALID, WEFT_MASTER_KEY_PREVIOUS: `${"cd".repeat(32)},nope` }), [
      "WEFT_MASTER_KEY_PREVIOUS: an entry is not a master key: 64 hex digits or the base64 of 32 bytes (`openssl rand -hex 32`)",
    ]);
  });

  it("refuses an ioserver address that is not an http URL", () => {
    assert.deepEqual(problemsOf({ ...VALID, WEFT_IOSERVERS: `${SIX_IOSERVERS},ioserver-7:9100` }), [
      `WEFT_IOSERVERS=${SIX_IOSERVERS},ioserver-7:9100: "ioserver-7:9100" is not an http:// URL`,
    ]);
  });
});
