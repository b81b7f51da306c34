// vitest globalSetup: one chromium for the whole run, for the three files that drive the approval
// page in a browser (each used to launch its own: ~1.6 s of CPU per launch). The files connect to it
// (test/helpers/browser.ts, sharedChromium) and each test opens contexts of its own, which share no
// cookies, storage or authenticators. Launched in the background: the files connect once it is up.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
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
    .then(({ chromium }) =>
      chromium.launchServer({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, host: "127.0.0.1", port, wsPath }),
    )
    // A failed launch shows where the files connect (they then fail with the reason).
    .catch(() => undefined);
  project.provide("chromiumEndpoint", `ws://127.0.0.1:${port}${wsPath}`);
  return async () => {
    await (await launching)?.close();
  };
}
