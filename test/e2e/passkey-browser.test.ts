// Passkey approvals (VCC_APPROVAL_PASSKEY=required) in a real browser: chromium with a virtual
// WebAuthn authenticator (DevTools protocol, user verification on). The person enrols with the
// one-time link `passkey add` prints, then approves on the page with the passkey and the deletion
// proceeds. Everything a model could try instead is refused and nothing reaches the simulator: a form
// POST without an assertion, an assertion for another page or item set, a replayed assertion, an
// assertion from an authenticator that was never registered, an enrolment link used twice or late.
//
// UPDATE_SCREENSHOTS=1 also writes docs/passkey-enrolment.png and docs/passkey-approval.png.
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CDPSession, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEnrolment } from "../../src/confirmation/passkey-enrolment.js";
import { PasskeyStore, sharedLocation, sharedPasskeys } from "../../src/confirmation/passkeys.js";
import { SEED } from "../../src/simulator/seed.js";
import { RedisState } from "../../src/state/redis.js";
import { formKeyOf, pageRequest, postDecision } from "../helpers/approval-page.js";
import { type Browser, chromiumContext, skipWithoutChromium } from "../helpers/browser.js";
import { childEnv, type Loose, runNode, SERVER_ENTRY, structured } from "../helpers/mcp.js";
import { eventually, useRedis } from "../helpers/redis-server.js";
import { useSimulator } from "../helpers/simulator.js";

const TOOL = "delete_interaction_content";
const DOCS = fileURLToPath(new URL("../../docs/", import.meta.url));
const LOCALHOST_PAGE = /^http:\/\/localhost:\d+\/approve\/[A-Za-z0-9_-]{43}$/;

const h = useSimulator();
/** base64url from and to bytes, in the page (the tests are type-checked without the DOM library, so page code is text). */
const BROWSER_CODING = `
  const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const text = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/[+]/g, "-").replace(/[/]/g, "_").replace(/=+$/, "");`;
let browser: Browser;
let dataDir: string;
let shots: string;
/** The tab with the person's authenticator. */
let page: Page;
let personal: { cdp: CDPSession; authenticatorId: string };

/** A virtual platform authenticator that verifies the user (as Touch ID or Windows Hello would) without asking. */
async function addAuthenticator(target: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await target.context().newCDPSession(target);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

/**
 * A server with passkeys required, in this process: the same createServer and approval page server
 * reading the passkeys `passkey add` (a process of its own) wrote. `spawned` is the built server.
 */
const server = () => h.inProcess({ env: { VCC_APPROVAL_PASSKEY: "required", VCC_DATA_DIR: dataDir } });
const spawned = (env: Record<string, string> = {}) =>
  h.connect({ env: { VCC_APPROVAL_PASSKEY: "required", VCC_DATA_DIR: dataDir, ...env } });

/** Asks for a deletion: the page link (on localhost) and the token. */
async function ask(c: Awaited<ReturnType<typeof server>>, contentKey: string, guid: string = SEED.inboundCall) {
  const s = structured(await c.call(TOOL, { guid, contentKey }));
  expect(s.status).toBe("confirmation_required");
  expect(s.approvalUrl).toMatch(LOCALHOST_PAGE);
  return { url: s.approvalUrl as string, token: s.confirmationToken as string, guid, contentKey };
}

/** Runs `passkey add` as the person would (with the server's settings `env`) and returns the link it prints. */
function passkeyAdd(
  dir: string,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; url: string; stdout: () => string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, [SERVER_ENTRY, "passkey", "add"], {
    env: childEnv({ VCC_DATA_DIR: dir, ...env }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const exit = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return new Promise((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const url = /http:\/\/localhost:\d+\/enrol\/[A-Za-z0-9_-]{43}/.exec(out)?.[0];
      if (url) resolve({ child, url, stdout: () => out, exit });
    });
    child.once("exit", (code) => reject(new Error(`passkey add exited (${code}) before printing a link: ${out}`)));
  });
}

/** The form body the page would send, with its assertion, captured on the way out (and not delivered). */
async function captureApproval(url: string): Promise<string> {
  await page.goto(url);
  let body: string | undefined;
  await page.route("**/approve/*", async (route) => {
    if (route.request().method() !== "POST") return route.continue();
    body = route.request().postData() ?? "";
    await route.abort();
  });
  await page.getByRole("button", { name: "Delete permanently" }).click();
  await expect.poll(() => body, { timeout: 10_000 }).toBeDefined();
  await page.unroute("**/approve/*");
  return body as string;
}

describe.skipIf(skipWithoutChromium("passkey-browser"))("passkey approvals in a real browser (chromium, virtual authenticator)", () => {
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "vcc-passkey-data-"));
    shots = process.env.UPDATE_SCREENSHOTS ? DOCS : mkdtempSync(join(tmpdir(), "vcc-passkey-shots-"));
    browser = await chromiumContext({ width: 720, height: 480 });
    page = await browser.context.newPage();
    personal = await addAuthenticator(page);
  });

  afterAll(async () => {
    await browser?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("without a registered passkey, deletions are refused with passkey_required and how to enrol", async () => {
    const c = await server();
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript" });
    expect(result.isError).toBe(true);
    const s = structured(result);
    expect(s.error.code).toBe("passkey_required");
    expect(s.error.message).toContain("vcc-interaction-content-mcp passkey add");
    expect(s.confirmationToken).toBeUndefined();
    expect(s.approvalUrl).toBeUndefined();
    expect(h.deletes()).toHaveLength(0);
  });

  it("enrols with the link `passkey add` prints; the file is owner-only", async () => {
    const add = await passkeyAdd(dataDir);
    const response = await page.goto(add.url);
    expect(response?.status()).toBe(200);
    expect(await page.locator("h1").textContent()).toBe("Add a passkey for approving deletions");
    await page.screenshot({ path: join(shots, "passkey-enrolment.png"), fullPage: true });
    await Promise.all([page.waitForURL(add.url), page.getByRole("button", { name: "Add passkey" }).click()]);
    await expect.poll(() => page.locator("h1").textContent(), { timeout: 10_000 }).toBe("Passkey added.");
    expect(await add.exit).toBe(0);
    expect(add.stdout()).toMatch(/Passkey added: [A-Za-z0-9_-]+/);

    const listed = await runNode([SERVER_ENTRY, "passkey", "list"], { env: { VCC_DATA_DIR: dataDir } });
    expect(listed.code).toBe(0);
    const id = /Passkey added: ([A-Za-z0-9_-]+)/.exec(add.stdout())?.[1] as string;
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).toContain("never used");
    const store = new PasskeyStore(dataDir);
    expect(statSync(store.dir).mode & 0o777).toBe(0o700);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    expect(readFileSync(store.path, "utf8")).not.toMatch(/private/i);
  });

  it("approving with the passkey deletes exactly the approved item, once (the built server); the records name the passkey", async () => {
    const audit = join(dataDir, "audit.jsonl");
    const c = await spawned({ VCC_AUDIT_LOG: audit });
    const { url, token } = await ask(c, "callRecording");
    const response = await page.goto(url);
    expect(response?.status()).toBe(200);
    await page.screenshot({ path: join(shots, "passkey-approval.png"), fullPage: true });
    await Promise.all([page.waitForURL(url), page.getByRole("button", { name: "Delete permanently" }).click()]);
    await expect.poll(() => page.locator("h1").textContent(), { timeout: 10_000 }).toMatch(/Approved/);
    expect(h.deletes()).toHaveLength(0);

    const done = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording", confirmationToken: token });
    expect(structured(done)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(h.deletes()).toHaveLength(1);
    expect(h.deletes()[0]?.path).toBe(`/interaction-content/interactions/${SEED.inboundCall}/content/callRecording`);
    const again = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording", confirmationToken: token });
    expect(structured(again).error.code).toBe("confirmation_invalid");
    expect(h.deletes()).toHaveLength(1);
    // The audit trail says which registered passkey approved: on a one-person server, who agreed.
    const [registered] = await new PasskeyStore(dataDir).list();
    const records = readFileSync(audit, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(records.find((r) => r.event === "deletion")).toMatchObject({
      outcome: "deleted",
      confirmation: "approval",
      passkey: registered?.id,
    });
  });

  it("an erasure approved with the passkey: the job, its receipt and its audit record name the passkey", async () => {
    const audit = join(dataDir, "erase-audit.jsonl");
    const c = await h.inProcess({ env: { VCC_APPROVAL_PASSKEY: "required", VCC_DATA_DIR: dataDir, VCC_AUDIT_LOG: audit } });
    const items = [{ guid: SEED.inboundCall, contentKey: "transcript" }];
    const asked = structured(await c.call("erase_interaction_content", { items }));
    expect(asked.approvalUrl).toMatch(LOCALHOST_PAGE);
    await page.goto(asked.approvalUrl);
    await Promise.all([page.waitForURL(asked.approvalUrl), page.getByRole("button", { name: "Delete permanently" }).click()]);
    await expect.poll(() => page.locator("h1").textContent(), { timeout: 10_000 }).toMatch(/Approved/);
    const started = structured(await c.call("erase_interaction_content", { items, confirmationToken: asked.confirmationToken }));
    let job: Loose = {};
    await expect
      .poll(
        async () => {
          job = structured(await c.call("get_erasure_job", { jobId: started.jobId })).job;
          return job.status;
        },
        { timeout: 10_000 },
      )
      .toBe("completed");
    const [registered] = await new PasskeyStore(dataDir).list();
    expect(job.approval).toMatchObject({ method: "approval", passkey: registered?.id });
    const markdown = ((await c.client.readResource({ uri: job.receipt.markdown })).contents[0] as { text: string }).text;
    expect(markdown).toContain(`by the approval page with passkey ${registered?.id}`);
    const approval = readFileSync(audit, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .find((r) => r.action === "approval");
    expect(approval).toMatchObject({ jobId: started.jobId, passkey: registered?.id });
  });

  it("Cancel needs no passkey", async () => {
    const c = await server();
    const { url, token } = await ask(c, "transcript");
    const page0 = await pageRequest(url);
    const cancelled = await postDecision(url, { formKey: formKeyOf(page0.body), decision: "reject" });
    expect(cancelled.status).toBe(303);
    const next = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(next).status).toBe("cancelled");
    expect(h.deletes()).toHaveLength(0);
  });

  it("a form POST without an assertion approves nothing", async () => {
    const c = await server();
    const { url, token } = await ask(c, "transcript");
    const own = await pageRequest(url);
    expect(own.status).toBe(200);
    // The page's one script is allowed by its hash, and nothing else is.
    expect(String(own.headers["content-security-policy"])).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(String(own.headers["content-security-policy"])).not.toMatch(/unsafe-inline|unsafe-eval/);
    // Passkeys work on the localhost origin only: the link opened as 127.0.0.1 moves there.
    const viaAddress = await pageRequest(url.replace("//localhost:", "//127.0.0.1:"));
    expect(viaAddress.status).toBe(308);
    expect(viaAddress.headers.location).toBe(url);
    const posted = await postDecision(url, { formKey: formKeyOf(own.body), decision: "approve" });
    expect(posted.status).toBe(403);
    expect(posted.body).toMatch(/passkey check failed/i);
    const garbage = new URLSearchParams({ formKey: formKeyOf(own.body), decision: "approve", assertion: '{"id":"x","response":{}}' });
    expect((await postForm(url, garbage)).status).toBe(403);
    const next = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(next).error.code).toBe("approval_pending");
    expect(h.deletes()).toHaveLength(0);
  });

  it("an assertion for another page or item set, or replayed, approves nothing", async () => {
    const c = await server();
    const a = await ask(c, "transcript");
    const signedForA = await captureApproval(a.url);
    expect(new URLSearchParams(signedForA).get("assertion")).toMatch(/"signature"/);

    // Another page, for other items: the signature is valid, but for A's challenge.
    const b = await ask(c, "callRecording");
    const onB = new URLSearchParams(signedForA);
    onB.set("formKey", formKeyOf((await pageRequest(b.url)).body));
    expect((await postForm(b.url, onB)).status).toBe(403);
    // Another page for the same item: a new page, a new challenge.
    const a2 = await ask(c, "transcript");
    const onA2 = new URLSearchParams(signedForA);
    onA2.set("formKey", formKeyOf((await pageRequest(a2.url)).body));
    expect((await postForm(a2.url, onA2)).status).toBe(403);
    for (const other of [b, a2]) {
      const next = await c.call(TOOL, { guid: other.guid, contentKey: other.contentKey, confirmationToken: other.token });
      expect(structured(next).error.code).toBe("approval_pending");
    }
    expect(h.deletes()).toHaveLength(0);

    // On its own page it approves, once; sent again it changes nothing.
    expect((await postForm(a.url, new URLSearchParams(signedForA))).status).toBe(303);
    expect((await postForm(a.url, new URLSearchParams(signedForA))).status).toBe(409);
    const done = await c.call(TOOL, { guid: a.guid, contentKey: a.contentKey, confirmationToken: a.token });
    expect(structured(done).status).toBe("deleted");
    expect(h.deletes()).toHaveLength(1);
  });

  it("an assertion from an authenticator that was never registered approves nothing", async () => {
    const c = await server();
    const { url, token } = await ask(c, "transcript");
    // Another person's (or a script's) authenticator, with its own credential for localhost.
    const stranger = await browser.context.newPage();
    const { cdp, authenticatorId } = await addAuthenticator(stranger);
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    await cdp.send("WebAuthn.addCredential", {
      authenticatorId,
      credential: {
        credentialId: randomBytes(32).toString("base64"),
        isResidentCredential: true,
        rpId: "localhost",
        privateKey: privateKey.export({ format: "der", type: "pkcs8" }).toString("base64"),
        userHandle: randomBytes(16).toString("base64"),
        signCount: 0,
      },
    });
    await stranger.goto(url);
    const data = JSON.parse((await stranger.locator("form[data-passkey]").getAttribute("data-passkey")) ?? "{}") as {
      approve: { challenge: string };
    };
    // The page's challenge, signed by the unregistered credential (any credential may answer).
    const assertion = await stranger.evaluate(`(async () => {
      ${BROWSER_CODING}
      const c = await navigator.credentials.get({ publicKey: { challenge: bytes(${JSON.stringify(data.approve.challenge)}), rpId: "localhost", userVerification: "required" } });
      return JSON.stringify({ id: c.id, rawId: text(c.rawId), type: c.type, clientExtensionResults: {}, response: { clientDataJSON: text(c.response.clientDataJSON), authenticatorData: text(c.response.authenticatorData), signature: text(c.response.signature) } });
    })()`);
    await stranger.close();
    const form = new URLSearchParams({
      formKey: formKeyOf((await pageRequest(url)).body),
      decision: "approve",
      assertion: String(assertion),
    });
    const posted = await postForm(url, form);
    expect(posted.status).toBe(403);
    const next = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(next).error.code).toBe("approval_pending");
    expect(h.deletes()).toHaveLength(0);
  });

  it("a further passkey needs an existing one; an enrolment link works once, and not after it expired", async () => {
    const store = new PasskeyStore(dataDir);
    const before = await store.list();
    expect(before).toHaveLength(1);

    // A second device: the person confirms with the passkey they have (their authenticator), then
    // creates the new passkey on a security key. The page's own script does one device per step in
    // a real browser; here the two steps run one by one, so that the test can switch devices between them.
    const enrolment = await startEnrolment({ store });
    await page.goto(enrolment.url);
    expect(await page.locator("body").textContent()).toMatch(/already registered: first confirm with one of them/);
    const assertion = await page.evaluate(`(async () => {
      ${BROWSER_CODING}
      const o = JSON.parse(document.querySelector("form[data-passkey]").dataset.passkey);
      const c = await navigator.credentials.get({ publicKey: { challenge: bytes(o.prove.challenge), rpId: "localhost", userVerification: "required", allowCredentials: o.prove.ids.map((id) => ({ type: "public-key", id: bytes(id) })) } });
      return JSON.stringify({ id: c.id, rawId: text(c.rawId), type: c.type, clientExtensionResults: {}, response: { clientDataJSON: text(c.response.clientDataJSON), authenticatorData: text(c.response.authenticatorData), signature: text(c.response.signature) } });
    })()`);
    await personal.cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId: personal.authenticatorId });
    const securityKey = await addAuthenticator(page);
    const registration = await page.evaluate(`(async () => {
      ${BROWSER_CODING}
      const r = JSON.parse(document.querySelector("form[data-passkey]").dataset.passkey).register;
      const c = await navigator.credentials.create({ publicKey: { ...r, challenge: bytes(r.challenge), user: { ...r.user, id: bytes(r.user.id) }, excludeCredentials: r.excludeCredentials.map((x) => ({ ...x, id: bytes(x.id) })) } });
      return JSON.stringify({ id: c.id, rawId: text(c.rawId), type: c.type, clientExtensionResults: {}, response: { clientDataJSON: text(c.response.clientDataJSON), attestationObject: text(c.response.attestationObject), transports: c.response.getTransports() } });
    })()`);
    // The new passkey lives on the security key.
    const { credentials } = (await securityKey.cdp.send("WebAuthn.getCredentials", { authenticatorId: securityKey.authenticatorId })) as {
      credentials: unknown[];
    };
    expect(credentials).toHaveLength(1);

    // Without the proof, the new passkey alone is refused; with it, it is added.
    const registrationOnly = new URLSearchParams({ registration: String(registration) });
    expect((await postForm(enrolment.url, registrationOnly)).status).toBe(403);
    const sent = new URLSearchParams({ assertion: String(assertion), registration: String(registration) });
    const added = await postForm(enrolment.url, sent);
    expect(added.status).toBe(200);
    expect(added.body).toContain("Passkey added.");
    expect((await enrolment.done).kind).toBe("enrolled");
    expect(await store.list()).toHaveLength(2);

    // The same link again: refused, whether opened or sent the same answer.
    expect((await pageRequest(enrolment.url)).status).toBe(410);
    expect((await postForm(enrolment.url, sent)).status).toBe(410);
    await enrolment.close();
    expect(await store.list()).toHaveLength(2);

    // A new link: without an existing passkey's assertion for it, no further passkey.
    const third = await startEnrolment({ store });
    expect((await postForm(third.url, registrationOnly)).status).toBe(403);
    // The earlier link's assertion answers that link's challenge, not this one's.
    expect((await postForm(third.url, sent)).status).toBe(403);
    await third.close();
    expect(await store.list()).toHaveLength(2);

    // Expired (a short expiry injected): the page and the form are refused.
    const late = await startEnrolment({ store, ttlMs: 50 });
    expect((await late.done).kind).toBe("expired");
    expect((await pageRequest(late.url)).status).toBe(410);
    expect((await postForm(late.url, sent)).status).toBe(410);
    await late.close();
    expect(await store.list()).toHaveLength(2);
  });
});

/** Posts form fields as the page itself would (same-origin headers). */
function postForm(url: string, form: URLSearchParams) {
  const origin = new URL(url).origin;
  return pageRequest(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin, referer: url, "sec-fetch-site": "same-origin" },
    body: form.toString(),
  });
}

// Replicas (VCC_STATE_URL): the passkeys live in the shared state. `passkey add` with the replicas'
// settings registers one there; two servers, each with its own RedisState connection and its own
// (empty) data directory and approval page server, both accept it; and a counter raised by a use
// on one replica is seen by the other: an assertion made before that use, delivered late to the
// other replica, is refused (its counter is not above the one recorded), as a cloned authenticator's.
describe.skipIf(skipWithoutChromium("passkey-browser"))("passkeys shared by replicas (Redis)", () => {
  const shared = useRedis();
  let dirs: string[] = [];

  beforeAll(async () => {
    browser = await chromiumContext({ width: 720, height: 480 });
    page = await browser.context.newPage();
    personal = await addAuthenticator(page);
  });
  afterAll(async () => {
    await browser?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    dirs = [];
  });

  it("enrolled once through the command, used on either replica, its counter seen by both", async () => {
    const prefix = `t-${randomBytes(6).toString("hex")}:`;
    const dir = () => {
      const d = mkdtempSync(join(tmpdir(), "vcc-passkey-replica-"));
      dirs.push(d);
      return d;
    };
    const settings = { VCC_STATE_URL: shared.redis.url, VCC_STATE_KEY_PREFIX: prefix };
    const add = await passkeyAdd(dir(), settings);
    await page.goto(add.url);
    await Promise.all([page.waitForURL(add.url), page.getByRole("button", { name: "Add passkey" }).click()]);
    await expect.poll(() => page.locator("h1").textContent(), { timeout: 10_000 }).toBe("Passkey added.");
    expect(await add.exit).toBe(0);
    expect(add.stdout()).toContain(`stored in the shared state (VCC_STATE_URL), key ${prefix}passkeys`);

    const replica = async () => {
      const state = new RedisState({ url: shared.redis.url, prefix });
      shared.defer(() => state.close());
      await eventually(() => state.ping().then(() => true), "Redis to answer");
      const c = await h.inProcess({ state, env: { VCC_APPROVAL_PASSKEY: "required", VCC_DATA_DIR: dir() } });
      return { c, state };
    };
    const a = await replica();
    const b = await replica();

    // An approval made on B's page, held back (the person's browser was slow to send it).
    const onB = await ask(b.c, "transcript");
    const late = await captureApproval(onB.url);
    // Meanwhile a deletion approved with the same passkey on A's page: its counter goes up for both.
    const onA = await ask(a.c, "callRecording");
    await page.goto(onA.url);
    await Promise.all([page.waitForURL(onA.url), page.getByRole("button", { name: "Delete permanently" }).click()]);
    await expect.poll(() => page.locator("h1").textContent(), { timeout: 10_000 }).toMatch(/Approved/);
    const [used] = await sharedPasskeys(a.state.passkeys, sharedLocation(prefix)).list();
    expect(used?.counter).toBeGreaterThan(0);
    expect(used?.lastUsedAt).toBeDefined();

    // The held-back approval reaches B: signed for B's page, but with a counter not above the one A recorded.
    const refused = await postForm(onB.url, new URLSearchParams(late));
    expect(refused.status).toBe(403);
    expect(
      structured(await b.c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: onB.token })).error.code,
    ).toBe("approval_pending");
    // Approved afresh on B's page, with the passkey B never saw enrolled: accepted.
    await page.goto(onB.url);
    await Promise.all([page.waitForURL(onB.url), page.getByRole("button", { name: "Delete permanently" }).click()]);
    await expect.poll(() => page.locator("h1").textContent(), { timeout: 10_000 }).toMatch(/Approved/);

    expect(h.deletes()).toHaveLength(0);
    const doneA = await a.c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording", confirmationToken: onA.token });
    expect(structured(doneA)).toMatchObject({ status: "deleted", httpStatus: 204 });
    const doneB = await b.c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: onB.token });
    expect(structured(doneB)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(h.deletes()).toHaveLength(2);
    const [after] = await sharedPasskeys(b.state.passkeys, sharedLocation(prefix)).list();
    expect(after?.counter).toBeGreaterThan(used?.counter ?? 0);
  });
});
