import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // End-to-end tests spawn processes; a slow, noisy machine needs room.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
