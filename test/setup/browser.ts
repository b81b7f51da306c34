// vitest globalSetup: one chromium for the whole run, for the three files that drive the approval
// page in a browser (each used to launch its own: ~1.6 s of CPU per launch). The files connect to it
// (test/helpers/browser.ts, sharedChromium) and each test opens contexts of its own, which share no
// cookies, storage or authenticators. Launched in the background: the files connect once it is up.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { BrowserServer } from "playwright-core";
import type { TestProject } from "vitest/node";
import { CHROMIUM, CHROMIUM_ARGS } from "../helpers/browser.js";
import { freePort } from "../helpers/ports.js";
import { runIncludesAny } from "./run-filters.js";

const BROWSER_FILES = ["test/e2e/approval-browser.test.ts", "test/e2e/passkey-browser.test.ts", "test/e2e/team-approval-browser.test.ts"];

declare module "vitest" {
  export interface ProvidedContext {
    /** The run's chromium (playwright's browser server), or null: each file launches its own. */
    chromiumEndpoint: string | null;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (!runIncludesAny(BROWSER_FILES) || !existsSync(CHROMIUM)) {
    project.provide("chromiumEndpoint", null);
    return undefined;
  }
  const port = await freePort();
  const wsPath = `/${randomBytes(16).toString("hex")}`;
  const launching: Promise<BrowserServer | undefined> = import("playwright-core")
    .then(async ({ chromium }) => {
      const server = await chromium.launchServer({
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        host: "127.0.0.1",
        port,
        wsPath,
      });
      const dropped = droppedPlaywrightFeatures(server.process().pid);
      if (dropped.length === 0) return server;
      await server.close();
      throw new Error(
        `playwright-core disables features that CHROMIUM_ARGS's --disable-features, which replaces its list, leaves out: add ${dropped.join(", ")} to PLAYWRIGHT_DISABLED_FEATURES in test/helpers/browser.ts`,
      );
    })
    // A failed launch shows where the files connect (they then fail, and the reason is on stderr).
    .catch((error: unknown) => {
      process.stderr.write(`\n[chromium for the browser tests] ${String(error)}\n\n`);
      return undefined;
    });
  project.provide("chromiumEndpoint", `ws://127.0.0.1:${port}${wsPath}`);
  return async () => {
    await (await launching)?.close();
  };
}

/**
 * The features playwright-core's own --disable-features (the first on the browser's command line)
 * names that ours (the last, the one chromium keeps) does not: none, unless playwright-core changed.
 */
function droppedPlaywrightFeatures(pid: number | undefined): string[] {
  const cmdline = `/proc/${pid}/cmdline`;
  if (pid === undefined || !existsSync(cmdline)) return [];
  const lists = readFileSync(cmdline, "utf8")
    .split("\0")
    .filter((arg) => arg.startsWith("--disable-features="))
    .map((arg) => arg.slice("--disable-features=".length).split(","));
  const [playwrights, ours] = [lists[0] ?? [], lists.at(-1) ?? []];
  return playwrights.filter((feature) => !ours.includes(feature));
}
