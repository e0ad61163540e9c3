// Mocha root hooks: whatever a suite left running is stopped before mocha exits.
import { stopSharedCluster } from "./shared.js";

export const mochaHooks = {
  async afterAll(this: { timeout(ms: number): void }) {
    this.timeout(60_000);
    await stopSharedCluster();
  },
};
