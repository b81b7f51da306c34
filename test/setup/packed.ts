// vitest globalSetup: `npm pack` once per run, for the two files that test what ships (the npm package,
// test/e2e/package.test.ts, and the Claude Desktop bundle built from the same files, mcpb.test.ts).
// Packing costs ~0.7 s of CPU in a child process; each file packing on its own (the bundle test twice,
// as `npm pack --dry-run`) cost three of them. It runs in the background while the tests start: the
// two files wait for it with `await packed()` (test/helpers/packed.ts), which reads what this setup
// writes when npm is done. The directory is removed after the run.
import { spawn } from "node:child_process";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { runIncludesAny } from "./run-filters.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The files that read the pack: a run limited to other files does not pack. */
const READERS = ["test/e2e/package.test.ts", "test/e2e/mcpb.test.ts"];
/** Written in the pack's directory once npm is done: the outcome (npm's report, or why it failed). */
export const PACK_OUTCOME = "outcome.json";

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

/** What the setup writes to PACK_OUTCOME. */
export type PackOutcome = { ok: true; report: PackReport } | { ok: false; error: string };

declare module "vitest" {
  export interface ProvidedContext {
    /** The directory npm packs into (PACK_OUTCOME appears there when it is done), or null: not packed. */
    packDir: string | null;
  }
}

export default function setup(project: TestProject): (() => Promise<void>) | undefined {
  if (!runIncludesAny(READERS)) {
    project.provide("packDir", null);
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), "vcc-pack-"));
  // --ignore-scripts: prepack would rebuild dist/ under the feet of the test files; `npm test` built it.
  const child = spawn("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], {
    cwd: ROOT,
    // No user configuration and a cache of its own, as the package test installs it.
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? tmpdir(),
      npm_config_cache: join(dir, "npm-cache"),
      npm_config_userconfig: join(dir, "npmrc"),
      npm_config_update_notifier: "false",
    },
    stdio: ["ignore", "pipe", "pipe"],
    shell: process.platform === "win32",
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<void>((resolve) => {
    const write = (outcome: PackOutcome) => {
      // Whole or not at all: the readers poll for the file.
      writeFileSync(join(dir, `${PACK_OUTCOME}.part`), JSON.stringify(outcome));
      renameSync(join(dir, `${PACK_OUTCOME}.part`), join(dir, PACK_OUTCOME));
      resolve();
    };
    child.on("error", (error) => write({ ok: false, error: `npm pack could not start: ${error.message}` }));
    child.on("close", (code) => {
      if (code !== 0) return write({ ok: false, error: `npm pack failed: ${stderr}` });
      const [report] = JSON.parse(stdout) as [PackReport];
      write({ ok: true, report });
    });
  });
  project.provide("packDir", dir);
  return async () => {
    await done;
    rmSync(dir, { recursive: true, force: true });
  };
}
