// The approval page in a real browser (test/helpers/browser.ts). A person opens the link the
// assistant showed, reads the page, clicks, and the deletion reaches the simulator.
//
// UPDATE_SCREENSHOTS=1 also writes docs/approval-page.png (desktop) and docs/approval-page-phone.png.
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SEED } from "../../src/simulator/seed.js";
import { type Simulator, startSimulator } from "../../src/simulator/server.js";
import { type Browser, chromiumContext, skipWithoutChromium } from "../helpers/browser.js";
import { type Connected, connect, SECRET_TOKEN, SECRET_TOKEN_SCOPES, structured } from "../helpers/mcp.js";

// What the functions run inside the page use (the tests are type-checked without the DOM library).
declare const window: { innerWidth: number; getComputedStyle(element: unknown): { backgroundColor: string } };
declare const document: { documentElement: { scrollWidth: number } };

const TOOL = "delete_interaction_content";
const DOCS = fileURLToPath(new URL("../../docs/", import.meta.url));
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

let sim: Simulator;
let browser: Browser;
let context: BrowserContext;
let shots: string;
let mcp: Connected;

describe.skipIf(skipWithoutChromium("approval-browser"))("approval page in a real browser (chromium)", () => {
  beforeAll(async () => {
    sim = await startSimulator({ staticTokens: { [SECRET_TOKEN]: SECRET_TOKEN_SCOPES } });
    shots = process.env.UPDATE_SCREENSHOTS ? DOCS : mkdtempSync(join(tmpdir(), "vcc-approval-shots-"));
    mkdirSync(shots, { recursive: true });
    browser = await chromiumContext(PHONE);
    context = browser.context;
    mcp = await connect({
      env: { VCC_ACCESS_TOKEN: SECRET_TOKEN, VCC_API_BASE_URL: sim.apiBaseUrl, VCC_CONFIRMATION: "approval" },
    });
  });

  afterAll(async () => {
    await mcp?.close();
    await browser?.close();
    await sim?.close();
  });

  beforeEach(() => sim.reset());

  async function openApproval(contentKey: string): Promise<{ page: Page; token: string }> {
    const asked = await mcp.call(TOOL, { guid: SEED.inboundCall, contentKey });
    const { approvalUrl, confirmationToken } = structured(asked);
    expect(approvalUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/approve\//);
    const page = await context.newPage();
    const response = await page.goto(approvalUrl);
    expect(response?.status()).toBe(200);
    return { page, token: confirmationToken };
  }

  /** Nothing sticks out sideways: the page reads without horizontal scrolling. */
  async function fitsWidth(page: Page): Promise<boolean> {
    return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  }

  it("shows what will be deleted, and Delete permanently deletes it", async () => {
    const { page, token } = await openApproval("callRecording");
    const text = await page.locator("body").textContent();
    expect(text).toContain(SEED.inboundCall);
    expect(text).toContain("callRecording");
    expect(text).toMatch(/cannot be undone/i);
    // The preview: what the person is about to lose.
    expect(text).toContain("call recording (audio/wav)");
    expect(text).toContain("2.5 MB (2,457,644 bytes)");
    expect(text).toContain("2026-11-23 09:21 UTC");
    const remove = page.getByRole("button", { name: "Delete permanently" });
    const cancel = page.getByRole("button", { name: "Cancel" });
    await expect.poll(() => remove.isVisible()).toBe(true);
    await expect.poll(() => cancel.isVisible()).toBe(true);
    // The stylesheet is allowed by the CSP (its hash): the destructive button is red.
    expect(await remove.evaluate((el) => window.getComputedStyle(el).backgroundColor)).toBe("rgb(179, 38, 30)");

    expect(await fitsWidth(page)).toBe(true);
    await page.screenshot({ path: join(shots, "approval-page-phone.png"), fullPage: true });
    await page.setViewportSize(DESKTOP);
    expect(await fitsWidth(page)).toBe(true);
    await page.screenshot({ path: join(shots, "approval-page.png"), fullPage: true });

    expect(sim.requests("DELETE")).toHaveLength(0);
    await Promise.all([page.waitForURL(page.url()), remove.click()]);
    const after = await page.locator("body").textContent();
    expect(after).toMatch(/Approved/);
    expect(after).toMatch(/return to your assistant/i);
    expect(sim.requests("DELETE")).toHaveLength(0);

    const done = await mcp.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording", confirmationToken: token });
    expect(structured(done)).toMatchObject({ status: "deleted", httpStatus: 204 });
    const sent = sim.requests("DELETE");
    expect(sent).toHaveLength(1);
    expect(sent[0]?.path).toBe(`/interaction-content/interactions/${SEED.inboundCall}/content/callRecording`);

    // Going back and clicking again changes nothing.
    await page.goBack();
    await page.reload();
    expect(await page.getByRole("button", { name: "Delete permanently" }).count()).toBe(0);
    await page.close();
  });

  it("Cancel cancels: the next call is cancelled and nothing reaches the API", async () => {
    const { page, token } = await openApproval("transcript");
    await Promise.all([page.waitForURL(page.url()), page.getByRole("button", { name: "Cancel" }).click()]);
    expect(await page.locator("body").textContent()).toMatch(/Nothing was deleted/);
    const next = await mcp.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(next).status).toBe("cancelled");
    expect(sim.requests("DELETE")).toHaveLength(0);
    await page.close();
  });
});
