// vitest globalSetup: `npm pack` once per run, for the two files that test what ships (the npm package,
// test/e2e/package.test.ts, and the Claude Desktop bundle built from the same files, mcpb.test.ts).
// Packing costs ~0.7 s of CPU in a child process; each file packing on its own (the bundle test twice,
// as `npm pack --dry-run`) cost three of them. The tests read the tarball and npm's report with
// `packed()` (test/helpers/packed.ts); the directory is removed after the run.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { runIncludesAny } from "./run-filters.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The files that read the pack: a run limited to other files does not pack. */
const READERS = ["test/e2e/package.test.ts", "test/e2e/mcpb.test.ts"];

/** What `npm pack --json` reports for one package. */
export interface PackReport {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
}

export interface Packed {
  /** The tarball, in a temporary directory of its own. */
  tarball: string;
  report: PackReport;
}

declare module "vitest" {
  export interface ProvidedContext {
    packed: Packed | null;
  }
}

export default function setup(project: TestProject): (() => void) | undefined {
  if (!runIncludesAny(READERS)) {
    project.provide("packed", null);
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), "vcc-pack-"));
  // --ignore-scripts: prepack would rebuild dist/ under the feet of the test files; `npm test` built it.
  const run = spawnSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], {
    cwd: ROOT,
    encoding: "utf8",
    // No user configuration and a cache of its own, as the package test installs it.
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? tmpdir(),
      npm_config_cache: join(dir, "npm-cache"),
      npm_config_userconfig: join(dir, "npmrc"),
      npm_config_update_notifier: "false",
    },
    shell: process.platform === "win32",
  });
  if (run.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`npm pack failed: ${run.stderr}`);
  }
  const [report] = JSON.parse(run.stdout) as [PackReport];
  project.provide("packed", { tarball: join(dir, report.filename), report });
  return () => rmSync(dir, { recursive: true, force: true });
}
