// Mocha root hooks: the suites' processes run the compiled code, so it is built first (npm run build, ~2 s), and
// whatever a suite left running is stopped before mocha exits.
import { execFileSync } from "node:child_process";
import { stopSharedCluster } from "./shared.js";

export function mochaGlobalSetup(): void {
  execFileSync("npm", ["run", "-s", "build"], { stdio: "inherit" });
}

export const mochaHooks = {
  async afterAll(this: { timeout(ms: number): void }) {
    this.timeout(60_000);
    await stopSharedCluster();
  },
};
