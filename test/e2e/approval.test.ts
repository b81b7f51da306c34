// Confirmation mode `approval` end to end: the server driven by the SDK Client, the approval page
// over real HTTP on 127.0.0.1 (played by node:http requests, as a browser or an attacker would send
// them), and the simulator recording what reached "the API". The first test runs the built server
// over stdio; the others run it in this process (each server with its own approval page server, as
// a process of its own has), which lets them shorten the token lifetime and the prompt's timeout
// below what a user may configure.
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer as createNetServer, type Server as NetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { SEED, SEED_ITEM_KEYS } from "../../src/simulator/seed.js";
import { decideOnPage, formKeyOf, pageRequest, postDecision } from "../helpers/approval-page.js";
import { type Connected, countingApprover, structured, textOf } from "../helpers/mcp.js";
import { type InProcessOptions, useSimulator } from "../helpers/simulator.js";

const TOOL = "delete_interaction_content";
const URL_PATTERN = /^http:\/\/127\.0\.0\.1:\d+\/approve\/[A-Za-z0-9_-]{43}$/;
const h = useSimulator();

const server = (options: InProcessOptions = {}) => h.inProcess({ ...options, env: { VCC_CONFIRMATION: "approval", ...options.env } });
/** The built server in its own process. */
const spawned = () => h.connect({ env: { VCC_CONFIRMATION: "approval" } });

const deletes = () => h.deletes();
const hasContent = (guid: string, key: string) => h.sim.holds(guid, key);

/** The first call of the link path: confirmation_required with a token and a page. */
async function ask(c: Connected, guid: string = SEED.inboundCall, contentKey = "transcript") {
  const result = await c.call(TOOL, { guid, contentKey });
  const s = structured(result);
  expect(result.isError).toBeFalsy();
  expect(s.status).toBe("confirmation_required");
  return { result, token: s.confirmationToken as string, url: s.approvalUrl as string, guid, contentKey };
}

describe("approval page, link path (client cannot prompt)", () => {
  it("pending → approved on the page → deleted, once (the built server over stdio)", async () => {
    const c = await spawned();
    const { result, token, url } = await ask(c);
    expect(url).toMatch(URL_PATTERN);
    expect(url).not.toContain(token.replace("vcc-confirm-", ""));
    expect(token).toMatch(/^vcc-confirm-/);
    expect(textOf(result)).toContain(url);
    expect(textOf(result)).toMatch(/show the user this link/i);
    expect(deletes()).toHaveLength(0);

    // Before the person decides: approval_pending, nothing sent, the token is not spent.
    const early = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(early.isError).toBe(true);
    expect(structured(early)).toMatchObject({ status: "error", approvalUrl: url, error: { code: "approval_pending" } });
    expect(structured(early).error.message).toContain(url);
    expect(deletes()).toHaveLength(0);

    // The page shows what would be deleted and offers two buttons.
    const page = await pageRequest(url);
    expect(page.status).toBe(200);
    expect(page.body).toContain(SEED.inboundCall);
    expect(page.body).toContain("transcript");
    expect(page.body).toMatch(/cannot be undone/i);
    expect(page.body).toContain(">Delete permanently</button>");
    expect(page.body).toContain(">Cancel</button>");
    // The preview from the interaction's listing: type, size, date.
    expect(page.body).toContain("transcript (application/json)");
    expect(page.body).toContain("18.2 kB (18,233 bytes)");
    expect(page.body).toContain("2026-11-23 09:23 UTC");
    expect(page.body).not.toContain(token);
    expect(page.body).not.toMatch(/<script/i);

    const posted = await postDecision(url, { formKey: formKeyOf(page.body), decision: "approve" });
    expect(posted.status).toBe(303);
    expect(posted.headers.location).toBe(new URL(url).pathname);
    const after = await pageRequest(url);
    expect(after.body).toMatch(/Approved/);
    expect(after.body).toMatch(/return to your assistant/i);
    expect(after.body).not.toContain("formKey");
    expect(deletes()).toHaveLength(0); // approving on the page sends nothing by itself

    const done = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(done.isError).toBeFalsy();
    expect(structured(done)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(deletes()).toHaveLength(1);
    expect(deletes()[0]?.path).toBe(`/interaction-content/interactions/${SEED.inboundCall}/content/transcript`);
    expect(hasContent(SEED.inboundCall, "transcript")).toBe(false);

    // Single use: the token and the page decision are both spent.
    const replay = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(replay).error.code).toBe("confirmation_invalid");
    const replayedPost = await postDecision(url, { formKey: formKeyOf(page.body), decision: "approve" });
    expect(replayedPost.status).toBe(409);
    expect(deletes()).toHaveLength(1);
  });

  it("says so when no preview was available (no read scope), and still works", async () => {
    const c = await server();
    h.sim.injectFaults("get-interaction", { status: 403, body: '{"message":"Forbidden"}' });
    const { token, url } = await ask(c);
    const page = await pageRequest(url);
    expect(page.body).toMatch(/No preview available/);
    expect(page.body).not.toContain("application/json");
    await postDecision(url, { formKey: formKeyOf(page.body), decision: "approve" });
    const done = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(done).status).toBe("deleted");
  });

  it("rejected on the page → the next call with the token is cancelled; nothing sent; the rejection is final", async () => {
    const c = await server();
    const { token, url } = await ask(c, SEED.voicemails, SEED_ITEM_KEYS.voicemail);
    const page = await pageRequest(url);
    const formKey = formKeyOf(page.body);
    expect((await postDecision(url, { formKey, decision: "reject" })).status).toBe(303);
    expect((await pageRequest(url)).body).toMatch(/Nothing was deleted/);

    const next = await c.call(TOOL, { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail, confirmationToken: token });
    expect(next.isError).toBeFalsy();
    expect(structured(next).status).toBe("cancelled");
    expect(textOf(next)).toMatch(/Cancel on the approval page/);
    expect(textOf(next)).toMatch(/do not try again unless the user asks/i);

    // A later approval on the same page is refused, and the token stays cancelled.
    expect((await postDecision(url, { formKey, decision: "approve" })).status).toBe(409);
    const again = await c.call(TOOL, { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail, confirmationToken: token });
    expect(structured(again).status).toBe("cancelled");
    expect(deletes()).toHaveLength(0);
    expect(hasContent(SEED.voicemails, SEED_ITEM_KEYS.voicemail)).toBe(true);
  });

  it("forged posts (no or wrong anti-forgery value) are refused and change nothing", async () => {
    const c = await server();
    const { token, url } = await ask(c);
    const formKey = formKeyOf((await pageRequest(url)).body);

    const missing = await postDecision(url, { decision: "approve" });
    expect(missing.status).toBe(400);
    const wrong = await postDecision(url, { formKey: `${formKey.slice(0, -2)}xx`, decision: "approve" });
    expect(wrong.status).toBe(403);
    expect(wrong.body).toMatch(/could not be verified/);
    const badDecision = await postDecision(url, { formKey, decision: "yes" });
    expect(badDecision.status).toBe(400);
    const asJson = await postDecision(url, { formKey, decision: "approve" }, { headers: { "content-type": "application/json" } });
    expect(asJson.status).toBe(415);

    const still = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(still).error.code).toBe("approval_pending");
    expect(deletes()).toHaveLength(0);

    // The person's real click still works afterwards.
    expect((await postDecision(url, { formKey, decision: "approve" })).status).toBe(303);
    const done = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(done).status).toBe("deleted");
  });

  it("a wrong Host header is refused (DNS rebinding), for the page and for the form", async () => {
    const c = await server();
    const { token, url } = await ask(c);
    const port = new URL(url).port;
    for (const host of [`rebind.example:${port}`, "127.0.0.1", `127.0.0.1:${Number(port) + 1}`, `127.0.0.1.nip.io:${port}`]) {
      const page = await pageRequest(url, { host });
      expect(page.status, host).toBe(403);
      expect(page.body).not.toContain("formKey");
    }
    const formKey = formKeyOf((await pageRequest(url)).body);
    const rebound = await postDecision(
      url,
      { formKey, decision: "approve" },
      { host: `rebind.example:${port}`, headers: { origin: `http://rebind.example:${port}` } },
    );
    expect(rebound.status).toBe(403);
    // localhost is the same machine and is accepted.
    expect((await pageRequest(url, { host: `localhost:${port}` })).status).toBe(200);

    const still = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(still).error.code).toBe("approval_pending");
    expect(deletes()).toHaveLength(0);
  });

  it("cross-origin posts are refused (Origin, Sec-Fetch-Site, Referer)", async () => {
    const c = await server();
    const { token, url } = await ask(c);
    const formKey = formKeyOf((await pageRequest(url)).body);
    const origin = new URL(url).origin;
    const attempts: Record<string, string | undefined>[] = [
      { origin: "http://attacker.example", "sec-fetch-site": undefined, referer: undefined },
      { origin: "null", "sec-fetch-site": undefined, referer: undefined },
      { origin: origin.replace("127.0.0.1", "localhost") },
      { origin, "sec-fetch-site": "cross-site" },
      { origin, "sec-fetch-site": "same-site" },
      { origin: undefined, "sec-fetch-site": undefined, referer: "http://attacker.example/page" },
      { origin: undefined, "sec-fetch-site": undefined, referer: undefined },
    ];
    for (const headers of attempts) {
      const response = await postDecision(url, { formKey, decision: "approve" }, { headers });
      expect(response.status, JSON.stringify(headers)).toBe(403);
    }
    const still = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(still).error.code).toBe("approval_pending");

    // A browser that sends no Origin but a same-origin Referer is accepted.
    const ok = await postDecision(url, { formKey, decision: "approve" }, { headers: { origin: undefined, "sec-fetch-site": undefined } });
    expect(ok.status).toBe(303);
  });

  it("a GET never approves, whatever its query; other methods are refused", async () => {
    const c = await server();
    const { token, url } = await ask(c);
    const formKey = formKeyOf((await pageRequest(url)).body);
    const query = `?formKey=${encodeURIComponent(formKey)}&decision=approve`;
    expect((await pageRequest(url + query)).status).toBe(200);
    expect((await pageRequest(url + query, { method: "HEAD" })).status).toBe(200);
    expect((await pageRequest(url, { method: "PUT", body: `formKey=${formKey}&decision=approve` })).status).toBe(405);
    const still = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(still).error.code).toBe("approval_pending");
    expect(deletes()).toHaveLength(0);
  });

  it("sends no-cache, anti-framing and a strict content security policy on every answer", async () => {
    const c = await server();
    const { url } = await ask(c);
    const port = new URL(url).port;
    const answers = [
      await pageRequest(url),
      await pageRequest(`http://127.0.0.1:${port}/approve/${"A".repeat(43)}`),
      await pageRequest(`http://127.0.0.1:${port}/`),
      await postDecision(url, { formKey: "forged", decision: "approve" }),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 404, 404, 403]);
    for (const answer of answers) {
      expect(answer.headers["cache-control"]).toMatch(/no-store/);
      expect(answer.headers["x-frame-options"]).toBe("DENY");
      expect(answer.headers["x-content-type-options"]).toBe("nosniff");
      const csp = String(answer.headers["content-security-policy"]);
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("form-action 'self'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|script-src/);
    }
  });

  it("decisions expire with the token", async () => {
    const c = await server({ durations: { confirmationTtlSeconds: 0.5 } });
    const { token, url } = await ask(c);
    const formKey = formKeyOf((await pageRequest(url)).body);
    // Wait for the expiry itself rather than a fixed time (slow machines).
    await waitFor(async () => (await pageRequest(url)).status === 410);
    const page = await pageRequest(url);
    expect(page.status).toBe(410);
    expect(page.body).toMatch(/expired/);
    expect((await postDecision(url, { formKey, decision: "approve" })).status).toBe(410);
    const late = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(late).error.code).toBe("confirmation_invalid");
    expect(deletes()).toHaveLength(0);
  });

  it("an approval is bound to its item: the token cannot delete anything else", async () => {
    const c = await server();
    const { token, url } = await decideAfterAsk(c);
    const other = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording", confirmationToken: token });
    expect(structured(other).error.code).toBe("confirmation_invalid");
    expect(deletes()).toHaveLength(0);
    expect(url).toMatch(URL_PATTERN);
  });

  it("an approval in one server process means nothing to another", async () => {
    const a = await server();
    const b = await server();
    const fromA = await ask(a);
    await decideOnPage(fromA.url, "approve");
    const inB = await b.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: fromA.token });
    expect(structured(inB).error.code).toBe("confirmation_invalid");
    expect(deletes()).toHaveLength(0);
  });
});

describe("approval in the audit log", () => {
  it("records the request, the approval on the page, the refusal before it and the deletion, as confirmation approval", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "vcc-approval-audit-")), "audit.jsonl");
    const c = await server({ env: { VCC_AUDIT_LOG: path } });
    const { token, url } = await ask(c);
    await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    await decideOnPage(url, "approve");
    await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    const text = readFileSync(path, "utf8");
    const records = text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(records.map((r) => [r.event, r.confirmation, r.outcome, r.errorCode])).toEqual([
      ["confirmation_requested", "approval", "token_issued", undefined],
      ["decision", undefined, "refused", "approval_pending"],
      ["decision", "approval", "confirmed", undefined],
      ["deletion", "approval", "deleted", undefined],
    ]);
    expect(text).not.toContain(token);
    expect(text).not.toContain(new URL(url).pathname);
  });

  it("records Cancel on the page as declined", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "vcc-approval-audit-")), "audit.jsonl");
    const c = await server({ env: { VCC_AUDIT_LOG: path } });
    const { token, url } = await ask(c);
    await decideOnPage(url, "reject");
    await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    const last = JSON.parse(readFileSync(path, "utf8").trim().split("\n").at(-1) ?? "{}");
    expect(last).toMatchObject({ event: "decision", confirmation: "approval", outcome: "declined" });
  });
});

describe("approval page for several items (bulk_delete_interaction_content)", () => {
  const BULK = "bulk_delete_interaction_content";
  const items = [
    { guid: SEED.inboundCall, contentKey: "callRecording" },
    { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail },
  ];

  it("one page lists every item; after approval the token deletes exactly those", async () => {
    const c = await server();
    const asked = await c.call(BULK, { items });
    const s = structured(asked);
    expect(s.status).toBe("confirmation_required");
    expect(s.approvalUrl).toMatch(URL_PATTERN);
    expect(textOf(asked)).toContain(s.approvalUrl);

    const early = await c.call(BULK, { items, confirmationToken: s.confirmationToken });
    expect(structured(early)).toMatchObject({ status: "error", approvalUrl: s.approvalUrl, error: { code: "approval_pending" } });
    expect(deletes()).toHaveLength(0);

    const page = await pageRequest(s.approvalUrl);
    expect(page.body).toContain("Delete these 2 content files permanently?");
    expect(page.body).toContain(SEED.inboundCall);
    expect(page.body).toContain(SEED_ITEM_KEYS.voicemail);
    await postDecision(s.approvalUrl, { formKey: formKeyOf(page.body), decision: "approve" });

    const done = await c.call(BULK, { items: [...items].reverse(), confirmationToken: s.confirmationToken });
    expect(structured(done)).toMatchObject({ status: "deleted", deleted: 2 });
    expect(deletes()).toHaveLength(2);
  });

  it("Cancel on the page cancels the whole request", async () => {
    const c = await server();
    const s = structured(await c.call(BULK, { items }));
    await decideOnPage(s.approvalUrl, "reject");
    const next = await c.call(BULK, { items, confirmationToken: s.confirmationToken });
    expect(structured(next).status).toBe("cancelled");
    expect(textOf(next)).toMatch(/Cancel on the approval page/);
    expect(deletes()).toHaveLength(0);
  });
});

async function decideAfterAsk(c: Connected) {
  const asked = await ask(c);
  expect((await decideOnPage(asked.url, "approve")).status).toBe(303);
  return asked;
}

describe("approval mode with clients that can prompt", () => {
  it("a client with form elicitation is asked directly, as in mode auto", async () => {
    const approver = countingApprover();
    const c = await server({ elicit: approver.handler });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(result)).toMatchObject({ status: "deleted" });
    expect(structured(result).approvalUrl).toBeUndefined();
    expect(approver.asked).toBe(1);
    expect(deletes()).toHaveLength(1);
  });

  it("when the form prompt fails, the approval page takes over (never a bare token)", async () => {
    const c = await server({
      elicit: () => {
        throw new Error("cannot show forms after all");
      },
    });
    const { url } = await ask(c);
    expect(url).toMatch(URL_PATTERN);
    expect(deletes()).toHaveLength(0);
  });

  it("URL-mode elicitation: the client opens the page, the call waits with progress, and deletes in the same call", async () => {
    const offered: { url: string; elicitationId: string; message: string }[] = [];
    const progress: { progress: number; total?: number; message?: string }[] = [];
    let clicked: Promise<unknown> | undefined;
    const c = await server({
      elicitUrl: (params): ElicitResult => {
        offered.push(params);
        expect(deletes()).toHaveLength(0);
        return { action: "accept" }; // the person agreed to open the page; this alone approves nothing
      },
    });
    const result = await c.call(
      TOOL,
      { guid: SEED.screenRecording, contentKey: SEED_ITEM_KEYS.screenRecording },
      {
        onprogress: (p) => {
          progress.push(p);
          // The person acts on the page once the server is waiting for them.
          const url = offered[0]?.url;
          if (url) clicked ??= decideOnPage(url, "approve");
        },
      },
    );
    expect(offered).toHaveLength(1);
    expect(offered[0]?.url).toMatch(URL_PATTERN);
    expect(offered[0]?.message).toMatch(/cannot be undone/i);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress[0]?.message).toMatch(/approval page/);
    expect(((await clicked) as { status: number }).status).toBe(303);
    expect(structured(result)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(structured(result).confirmationToken).toBeUndefined();
    expect(deletes()).toHaveLength(1);
    expect(hasContent(SEED.screenRecording, SEED_ITEM_KEYS.screenRecording)).toBe(false);
    // The client learns that the out-of-band interaction is over.
    await waitFor(() => c.completedElicitations.length > 0);
    expect(c.completedElicitations).toEqual([offered[0]?.elicitationId]);
  });

  it("URL-mode elicitation: Cancel on the page → cancelled in the same call, nothing sent", async () => {
    let clicked: Promise<unknown> | undefined;
    let offeredUrl = "";
    const c = await server({
      elicitUrl: ({ url }) => {
        offeredUrl = url;
        return { action: "accept" };
      },
    });
    const result = await c.call(
      TOOL,
      { guid: SEED.inboundCall, contentKey: "callRecording" },
      {
        onprogress: () => {
          clicked ??= decideOnPage(offeredUrl, "reject");
        },
      },
    );
    await clicked;
    expect(structured(result).status).toBe("cancelled");
    expect(deletes()).toHaveLength(0);
  });

  it("URL-mode elicitation: declining to open the page cancels, and the page is closed", async () => {
    let offeredUrl = "";
    const c = await server({
      elicitUrl: ({ url }) => {
        offeredUrl = url;
        return { action: "decline" };
      },
    });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(result).status).toBe("cancelled");
    expect(structured(result).confirmationToken).toBeUndefined();
    const page = await pageRequest(offeredUrl);
    expect(page.body).toMatch(/no longer active/);
    expect(page.body).not.toContain("formKey");
    expect(deletes()).toHaveLength(0);
  });

  it("URL-mode elicitation: no decision in time → the link and token to continue later", async () => {
    const c = await server({ durations: { elicitationTimeoutSeconds: 0.3 }, elicitUrl: () => ({ action: "accept" }) });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    const s = structured(result);
    expect(s.status).toBe("confirmation_required");
    expect(s.approvalUrl).toMatch(URL_PATTERN);
    expect(textOf(result)).toMatch(/has not decided/);
    expect(deletes()).toHaveLength(0);
    // The person decides later; the model's next call deletes.
    await decideOnPage(s.approvalUrl, "approve");
    const done = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording", confirmationToken: s.confirmationToken });
    expect(structured(done).status).toBe("deleted");
    expect(deletes()).toHaveLength(1);
  });
});

describe("the approval page server", () => {
  it("listens on VCC_APPROVAL_PORT when set", async () => {
    const port = await freePort();
    const c = await server({ env: { VCC_APPROVAL_PORT: String(port) } });
    const { url } = await ask(c);
    expect(new URL(url).port).toBe(String(port));
  });

  it("a port in use → approval_unavailable, nothing sent, no token", async () => {
    const blocker = await listen();
    try {
      const port = (blocker.address() as { port: number }).port;
      const c = await server({ env: { VCC_APPROVAL_PORT: String(port) } });
      const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
      expect(result.isError).toBe(true);
      expect(structured(result)).toMatchObject({ status: "error", error: { code: "approval_unavailable" } });
      expect(structured(result).confirmationToken).toBeUndefined();
      expect(deletes()).toHaveLength(0);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});

function listen(): Promise<NetServer> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
}

async function freePort(): Promise<number> {
  const s = await listen();
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function waitFor(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400 && !(await condition()); i++) await new Promise((r) => setTimeout(r, 25));
}
