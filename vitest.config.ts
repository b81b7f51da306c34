import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Fails the run at once when dist/ (what the end-to-end tests spawn) is older than src/.
    // Starts one chromium for the browser tests in the background (test/setup/browser.ts), then
    // packs the npm package once for the tests of what ships (test/setup/packed.ts).
    globalSetup: ["test/setup/fresh-dist.ts", "test/setup/browser.ts", "test/setup/packed.ts"],
    // End-to-end tests spawn processes; a slow, noisy machine needs room.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // One process per worker for all its files, not one per file: a fresh process and its imports
    // cost ~0.4 s of CPU per file, a third of the suite's CPU. The files share no state that matters:
    // no test changes process.env or mocks modules, every file starts its own simulator and servers
    // on free ports in its own temporary directories, and the in-process harness installs its log
    // sink for every server it creates (see docs/development.md).
    isolate: false,
    // vitest 4 defaults to one worker on a 2-core machine; the files are independent (free ports,
    // their own temporary directories). One worker more than the cores: a worker waits on I/O (spawned
    // processes, timeouts, the browser) much of the time. Measured on 2 cores shared with other load,
    // back to back: 2 workers 76 s wall, 3 workers 50 s, 4 workers 48 s (and 65 s vs 69 s in another
    // pair): 3 is as fast as 4 within the noise, with less contention.
    maxWorkers: Math.max(3, availableParallelism() + 1),
    // The transformed test and source files kept on disk between runs (in node_modules/, keyed by
    // their contents): vitest otherwise transforms every TypeScript file again on every run
    // ("transform" 5-7 s summed over the files, 1.5 s with the cache).
    experimental: { fsModuleCache: true },
  },
});
