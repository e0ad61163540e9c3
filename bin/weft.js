#!/usr/bin/env node
// `npx weft …`: runs the compiled command (npm run build, which npm start runs too, compiles it to dist/).
try {
  await import("../dist/cli/main.js");
} catch (error) {
  if (error?.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist/cli/main.js")) {
    process.stderr.write("weft is not built yet: run `npm run build` (or `npm start`) in the Weft checkout first.\n");
    process.exit(2);
  }
  throw error;
}
