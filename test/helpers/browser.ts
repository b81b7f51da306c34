// Debian's chromium driven by playwright-core (no downloaded browsers), for the approval page tests.
// They run in CI (CI=true, .ci/run installs chromium); elsewhere they are skipped only when chromium
// is not installed.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const IN_CI = Boolean(process.env.CI) && process.env.CI !== "false";
const available = existsSync(CHROMIUM);

/** Whether a browser test must be skipped here (says so on stderr); in CI it never is. */
export function skipWithoutChromium(name: string): boolean {
  if (available || IN_CI) return false;
  process.stderr.write(
    `\n[${name}] SKIPPED: no chromium at ${CHROMIUM}. Install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH; CI runs this test.\n\n`,
  );
  return true;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A headless chromium with a fresh profile, no network beyond loopback, no background services. */
export async function launchChromium(viewport: { width: number; height: number }): Promise<Browser> {
  if (!available) throw new Error(`CI needs chromium at ${CHROMIUM}: .ci/run installs it with apt-get`);
  const profile = mkdtempSync(join(tmpdir(), "vcc-approval-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
    viewport,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
