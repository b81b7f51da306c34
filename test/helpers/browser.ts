// Debian's chromium driven by playwright-core (no downloaded browsers), for the approval page tests.
// They run in CI (CI=true, .ci/run installs chromium); elsewhere they are skipped only when chromium
// is not installed.
import { existsSync } from "node:fs";
import type { BrowserContext, Browser as PlaywrightBrowser } from "playwright-core";
import { inject } from "vitest";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/**
 * playwright-core's own --disable-features (its chromiumSwitches.ts, version 1.65): chromium takes
 * only the last --disable-features switch, so ours repeats them (test/setup/browser.ts checks that
 * it still does).
 */
export const PLAYWRIGHT_DISABLED_FEATURES = [
  "AvoidUnnecessaryBeforeUnloadCheckSync",
  "DestroyProfileOnBrowserClose",
  "HttpsUpgrades",
  "HttpsFirstBalancedModeAutoEnable",
  "LensOverlay",
  "MediaRouter",
  "PaintHolding",
  "ThirdPartyStoragePartitioning",
  "AvoidCorsURLLoaderRestartOnRedirect",
  "TcpPortRandomizationWin",
  "OptimizationHints",
  "NetworkTimeServiceQuerying",
  "AimEnabled",
  "PreconnectToSearch",
  "msForceBrowserSignIn",
  "msEdgeUpdateLaunchServicesPreferredVersion",
];
/**
 * The address bar's popups, which no test opens: every window (one per context) preloaded both as
 * web pages in renderer processes of their own, about 0.8 s of CPU per context, a third of what
 * chromium spent in the browser tests.
 */
const UNUSED_FEATURES = ["WebUIOmniboxPopup", "WebUIOmniboxAimPopup"];
/** Headless, no network beyond loopback, no background services. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
  `--disable-features=${[...PLAYWRIGHT_DISABLED_FEATURES, ...UNUSED_FEATURES].join(",")}`,
];
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

let shared: Promise<PlaywrightBrowser> | undefined;

/**
 * The chromium of this worker's files: the run's (test/setup/browser.ts), connected to once it is up,
 * else one launched here. Never close it: close the contexts you open.
 */
export function sharedChromium(): Promise<PlaywrightBrowser> {
  if (!available) throw new Error(`CI needs chromium at ${CHROMIUM}: .ci/run installs it with apt-get`);
  shared ??= (async () => {
    const { chromium } = await import("playwright-core");
    const endpoint = inject("chromiumEndpoint");
    if (!endpoint) return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    // Launched in the background at the start of the run: connect once it listens.
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        return await chromium.connect(endpoint, { timeout: 10_000 });
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`the run's chromium (${CHROMIUM}) did not start: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  })();
  return shared;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A fresh context (no cookies, storage or authenticators of other tests) of the shared chromium. */
export async function chromiumContext(viewport: { width: number; height: number }): Promise<Browser> {
  const context = await (await sharedChromium()).newContext({ viewport });
  return { context, close: () => context.close() };
}
