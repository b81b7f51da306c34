import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Fails the run at once when dist/ (what the end-to-end tests spawn) is older than src/.
    globalSetup: ["test/setup/fresh-dist.ts"],
    // End-to-end tests spawn processes; a slow, noisy machine needs room.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // vitest 4 defaults to one worker on a 2-core machine; the files are independent (free ports,
    // their own temporary directories), so use every core, and at least two.
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
