// Team server approvals in a real browser (Debian's chromium through playwright-core) against a real
// OpenID provider (oidc-provider on 127.0.0.1). Alice connects as a desktop assistant would: the SDK
// client's own OAuth support sends her to sign in (authorization code + PKCE), and she asks for a
// deletion. The approval page is on the server's public origin; with the four-eyes rule, Alice herself
// and Carol (not an approver) cannot approve, Bob (group vcc-approvers) can. The audit trail names both.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SEED } from "../../src/simulator/seed.js";
import { type Simulator, startSimulator } from "../../src/simulator/server.js";
import { sharedChromium, skipWithoutChromium } from "../helpers/browser.js";
import { connectHttp, type HttpConnected, type InProcessHttp } from "../helpers/http.js";
import { SECRET_TOKEN, SECRET_TOKEN_SCOPES, structured, textOf } from "../helpers/mcp.js";
import {
  DESKTOP,
  FOUR_EYES_APPROVAL_ENV,
  type OpenIdProvider,
  PEOPLE,
  startTeamServer,
  TEAM_SERVER,
  type TeamSetup,
} from "../helpers/openid-provider.js";

const TOOL = "delete_interaction_content";
/**
 * Where the desktop client's sign-in returns: nothing listens there; the test takes the code from the
 * browser's request. (A route for it was not called for the provider's redirect: the browser showed an
 * error page and the route only saw the error page's automatic reload, a second later.)
 */
const DESKTOP_REDIRECT = "http://127.0.0.1:8976/desktop-callback";

let sim: Simulator;
let op: OpenIdProvider;
let server: InProcessHttp;
let browser: Browser;
let publicUrl: string;
let dir: string;
let team: TeamSetup | undefined;
const contexts: BrowserContext[] = [];
const clients: HttpConnected[] = [];

/** A desktop assistant's OAuth client (pre-registered public client): the SDK drives it, a browser signs in. */
class DesktopClient implements OAuthClientProvider {
  authorizationUrl?: URL;
  #tokens?: OAuthTokens;
  #verifier = "";
  #info: OAuthClientInformationMixed = { client_id: DESKTOP.clientId };

  get redirectUrl(): string {
    return DESKTOP_REDIRECT;
  }
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: "Desktop assistant", redirect_uris: [DESKTOP_REDIRECT], token_endpoint_auth_method: "none" };
  }
  clientInformation(): OAuthClientInformationMixed {
    return this.#info;
  }
  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.#info = info;
  }
  tokens(): OAuthTokens | undefined {
    return this.#tokens;
  }
  saveTokens(tokens: OAuthTokens): void {
    this.#tokens = tokens;
  }
  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier;
  }
  codeVerifier(): string {
    return this.#verifier;
  }
}

async function newPage(): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  return context.newPage();
}

/**
 * Signs `login` in on the provider's (development) login form, in `page`, which is at the provider,
 * and agrees on its consent page; resolves once the browser has left the provider.
 */
async function signInAt(page: Page, login: string): Promise<void> {
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("any password");
  await page.locator('button[type="submit"]').click();
  // The provider may ask for consent next: agree, until the browser has left the provider.
  const consent = page.getByRole("button", { name: "Continue" });
  await expect
    .poll(
      async () => {
        if (!page.url().startsWith(op.issuer)) return "left";
        if (await consent.isVisible().catch(() => false)) await consent.click().catch(() => undefined);
        return "at the provider";
      },
      { timeout: 15_000 },
    )
    .toBe("left");
}

/** Alice's assistant: the SDK client finds the server's authorization server and sends her to sign in there. */
async function connectAs(login: string): Promise<HttpConnected> {
  const provider = new DesktopClient();
  const transport = new StreamableHTTPClientTransport(new URL(server.url), { authProvider: provider });
  await expect(new Client({ name: "desktop", version: "1" }).connect(transport)).rejects.toThrow(/Unauthorized/);
  const authorizationUrl = provider.authorizationUrl;
  if (!authorizationUrl) throw new Error("the SDK did not start an authorization");
  expect(authorizationUrl.origin).toBe(op.issuer);
  expect(authorizationUrl.searchParams.get("resource")).toBe(`${publicUrl}/mcp`);
  const page = await newPage();
  const callback = page.waitForRequest((request) => request.url().startsWith(DESKTOP_REDIRECT), { timeout: 15_000 });
  await page.goto(authorizationUrl.href);
  await signInAt(page, login);
  const code = new URL((await callback).url()).searchParams.get("code");
  expect(code).toBeTruthy();
  await transport.finishAuth(code ?? "");
  const connected = await connectHttp(server, { authProvider: provider });
  clients.push(connected);
  await connected.client.listTools();
  return connected;
}

/** Opens the approval link in a fresh browser, signs `login` in there, and returns the page shown after. */
async function openAs(approvalUrl: string, login: string): Promise<Page> {
  const page = await newPage();
  await page.goto(approvalUrl);
  // Not signed in yet: the page sends the browser to the identity provider.
  expect(page.url().startsWith(op.issuer)).toBe(true);
  await signInAt(page, login);
  await page.waitForURL(approvalUrl);
  return page;
}

const auditLines = () =>
  readFileSync(join(dir, "audit.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe.skipIf(skipWithoutChromium("team-approval-browser"))("team server approvals (four eyes) in a real browser", () => {
  beforeAll(async () => {
    sim = await startSimulator({ staticTokens: { [SECRET_TOKEN]: SECRET_TOKEN_SCOPES } });
    dir = mkdtempSync(join(tmpdir(), "vcc-team-approval-"));
    team = await startTeamServer({
      provider: { desktopRedirect: DESKTOP_REDIRECT, teamServerRedirect: "/approve/callback" },
      env: {
        VCC_ACCESS_TOKEN: SECRET_TOKEN,
        VCC_API_BASE_URL: sim.apiBaseUrl,
        ...FOUR_EYES_APPROVAL_ENV,
        VCC_AUDIT_LOG: join(dir, "audit.jsonl"),
        VCC_DATA_DIR: join(dir, "data"),
      },
    });
    ({ op, server, publicUrl } = team);
    browser = await sharedChromium();
  });
  afterAll(async () => {
    await team?.close();
    await sim?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => sim.reset());
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    for (const c of contexts.splice(0)) await c.close();
    // The team server's client secret and the VCC token never reach its log.
    expect(server.stderr()).not.toContain(TEAM_SERVER.clientSecret);
    expect(server.stderr()).not.toContain(SECRET_TOKEN);
  });

  it("the requester cannot approve their own request; a non-approver cannot either; an approver can, and both are recorded", async () => {
    const alice = await connectAs("alice");
    const first = await alice.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    const asked = structured(first);
    expect(asked.status).toBe("confirmation_required");
    const { approvalUrl, confirmationToken } = asked as { approvalUrl: string; confirmationToken: string };
    expect(approvalUrl.startsWith(`${publicUrl}/approve/`)).toBe(true);
    // The assistant is told that the person signs in there (not "on this computer").
    expect(textOf(first)).toContain(approvalUrl);
    expect(textOf(first)).not.toMatch(/this computer/);
    expect(textOf(first)).toMatch(/sign in/);

    // Alice signs in: the page says who asked, and that she cannot approve her own request.
    const own = await openAs(approvalUrl, "alice");
    const ownText = (await own.locator("body").textContent()) ?? "";
    expect(ownText).toContain(`Requested by${PEOPLE.alice?.name}`);
    expect(ownText).toMatch(/four-eyes/);
    expect(await own.getByRole("button", { name: "Delete permanently" }).count()).toBe(0);
    // She may still withdraw her own request.
    expect(await own.getByRole("button", { name: "Cancel" }).count()).toBe(1);
    // Sending the approval anyway (as the form would, from the page's origin) is refused.
    const formKey = await own.locator('input[name="formKey"]').getAttribute("value");
    const forced = await own.context().request.post(approvalUrl, {
      form: { formKey: formKey ?? "", decision: "approve" },
      headers: { origin: publicUrl },
      maxRedirects: 0,
    });
    expect(forced.status()).toBe(403);
    expect(structured(await alice.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording", confirmationToken })).error?.code).toBe(
      "approval_pending",
    );

    // Carol is signed in, but not an approver.
    const carol = await openAs(approvalUrl, "carol");
    expect(await carol.locator("body").textContent()).toMatch(/vcc-approvers/);
    expect(await carol.getByRole("button", { name: "Delete permanently" }).count()).toBe(0);
    expect(await carol.getByRole("button", { name: "Cancel" }).count()).toBe(0);

    // Bob is an approver: he sees who asked, and approves.
    const bob = await openAs(approvalUrl, "bob");
    expect(await bob.locator("body").textContent()).toContain(`Requested by${PEOPLE.alice?.name}`);
    expect(sim.requests("DELETE")).toHaveLength(0);
    await Promise.all([bob.waitForURL(approvalUrl), bob.getByRole("button", { name: "Delete permanently" }).click()]);
    expect(await bob.locator("body").textContent()).toContain(`Approved by${PEOPLE.bob?.name}`);

    const done = structured(await alice.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording", confirmationToken }));
    expect(done).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(sim.requests("DELETE")).toHaveLength(1);

    // Alice withdraws another request of hers on its page (she is still signed in in that browser).
    const second = structured(await alice.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript" })) as {
      approvalUrl: string;
      confirmationToken: string;
    };
    const withdraw = await own.context().newPage();
    await withdraw.goto(second.approvalUrl);
    expect(await withdraw.getByRole("button", { name: "Delete permanently" }).count()).toBe(0);
    await Promise.all([withdraw.waitForURL(second.approvalUrl), withdraw.getByRole("button", { name: "Cancel" }).click()]);
    expect(await withdraw.locator("body").textContent()).toContain(`Cancelled by${PEOPLE.alice?.name}`);
    const cancelled = structured(
      await alice.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: second.confirmationToken }),
    );
    expect(cancelled.status).toBe("cancelled");
    expect(sim.requests("DELETE")).toHaveLength(1);
    expect(auditLines().find((l) => l.event === "decision" && l.contentKey === "transcript")).toMatchObject({
      outcome: "declined",
      approver: { subject: "alice" },
      requester: { subject: "alice" },
    });

    const deletion = auditLines().find((l) => l.event === "deletion");
    expect(deletion).toMatchObject({
      outcome: "deleted",
      requester: { subject: "alice", name: PEOPLE.alice?.name, email: PEOPLE.alice?.email, issuer: op.issuer },
      approver: { subject: "bob", name: PEOPLE.bob?.name, issuer: op.issuer },
    });
    // Four sign-ins in a real browser: more than the default 30 s on a heavily loaded machine.
  }, 60_000);

  it("an erasure job's audit trail names who asked and who approved; a Cancel on an erasure's page names who cancelled", async () => {
    const alice = await connectAs("alice");
    const erase = (contentKey: string, confirmationToken?: string) =>
      alice.call("erase_interaction_content", {
        items: [{ guid: SEED.inboundCall, contentKey }],
        ...(confirmationToken ? { confirmationToken } : {}),
      });
    const asked = structured(await erase("callRecording")) as { status: string; approvalUrl: string; confirmationToken: string };
    expect(asked.status).toBe("confirmation_required");
    const bob = await openAs(asked.approvalUrl, "bob");
    await Promise.all([bob.waitForURL(asked.approvalUrl), bob.getByRole("button", { name: "Delete permanently" }).click()]);
    const started = structured(await erase("callRecording", asked.confirmationToken)) as { status: string; jobId: string };
    expect(started.status).toBe("running");
    await expect
      .poll(async () => (structured(await alice.call("get_erasure_job", { jobId: started.jobId })).job as { status: string }).status, {
        timeout: 10_000,
      })
      .toBe("completed");
    expect(sim.requests("DELETE")).toHaveLength(1);
    // Written to the log: the job's approval names Bob as approver and Alice as requester.
    expect(auditLines().find((l) => l.jobId === started.jobId && l.action === "approval")).toMatchObject({
      outcome: "approved",
      confirmation: "approval",
      approver: { subject: "bob", name: PEOPLE.bob?.name, issuer: op.issuer },
      requester: { subject: "alice", name: PEOPLE.alice?.name, issuer: op.issuer },
    });

    // Alice asks for another erasure and cancels it on its page herself: the record says she did.
    const second = structured(await erase("transcript")) as { approvalUrl: string; confirmationToken: string };
    const own = await openAs(second.approvalUrl, "alice");
    await Promise.all([own.waitForURL(second.approvalUrl), own.getByRole("button", { name: "Cancel" }).click()]);
    expect(await own.locator("body").textContent()).toContain(`Cancelled by${PEOPLE.alice?.name}`);
    expect(sim.requests("DELETE")).toHaveLength(1);
    const cancelled = structured(await erase("transcript", second.confirmationToken)) as { status: string; jobId?: string };
    expect(cancelled.status).toBe("cancelled");
    // The same token again (a retry) is told the same, and not recorded a second time.
    expect(structured(await erase("transcript", second.confirmationToken)).status).toBe("cancelled");
    expect(auditLines().filter((l) => l.action === "decision" && l.outcome === "declined")).toHaveLength(1);
    const secondPlan = auditLines()
      .filter((l) => l.action === "plan")
      .at(-1);
    expect(secondPlan?.jobId).not.toBe(started.jobId);
    expect(auditLines().find((l) => l.action === "decision" && l.outcome === "declined")).toMatchObject({
      jobId: secondPlan?.jobId,
      confirmation: "approval",
      approver: { subject: "alice" },
      requester: { subject: "alice" },
    });
  });
});
