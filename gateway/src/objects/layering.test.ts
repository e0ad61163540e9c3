import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const GATEWAY_SRC = dirname(dirname(fileURLToPath(import.meta.url)));

function sources(folder: string): { name: string; text: string }[] {
  const dir = join(GATEWAY_SRC, folder);
  return readdirSync(dir)
    .filter((name) => name.endsWith(".ts"))
    .map((name) => ({ name: `${folder}/${name}`, text: readFileSync(join(dir, name), "utf8") }));
}

const importsOf = (text: string) => [...text.matchAll(/^import[^;]*?from "([^"]+)";/gms)].map((match) => match[1]);

describe("the object layer's seams", () => {
  it("keeps Koa and request contexts out of gateway/src/objects", () => {
    for (const { name, text } of sources("objects")) {
      for (const specifier of importsOf(text)) {
        assert.ok(specifier !== "koa" && !specifier.endsWith("/context.js") && !specifier.includes("/ops/"), `${name} imports ${specifier}`);
      }
      assert.doesNotMatch(text, /\bS3Context\b|\bctx\./, name);
    }
  });

  it("reaches metadata only through MetaStore, from the object layer and the operations alike", () => {
    for (const { name, text } of [...sources("objects"), ...sources("ops")]) {
      for (const specifier of importsOf(text)) assert.ok(!specifier.includes("meta/src/pg/"), `${name} imports ${specifier}`);
    }
  });
});
