// The deletion workflow through the tools, in process (createServer + InMemoryTransport + the
// simulator over real HTTP): the token's claim is owned by the run (issue 15, item 2), and what the
// API leaves out is never invented (issue 15, item 3).
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it, vi } from "vitest";
import { SEED, SEED_ITEM_KEYS } from "../../src/simulator/seed.js";
import { VccClient } from "../../src/vcc/client.js";
import { decideOnPage, pageRequest } from "../helpers/approval-page.js";
import { structured, textOf } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator();
const BULK = "bulk_delete_interaction_content";
const DELETE = "delete_interaction_content";

/** Resolves once `check` holds, polling the event loop (no fixed sleep decides the outcome). */
async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("a confirmation token is in use by one run at a time", () => {
  it("a second call during the run is refused even after an item's DELETE was never sent; the token is released at the end only because nothing was sent", async () => {
    // Deletions go one at a time; with a 100 ms deadline, an item that cannot get its turn while
    // another deletion is in flight ends `busy` without its DELETE being sent.
    const c = await h.inProcess({ env: { VCC_CONFIRMATION: "token", VCC_DEADLINE_MS: "100", VCC_MAX_RETRIES: "0" } });
    const blocker = { guid: SEED.chat, contentKey: "chatTranscript" };
    const items = [
      { guid: SEED.inboundCall, contentKey: "callRecording" },
      { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail },
    ];
    const blockerToken = structured(await c.call(DELETE, blocker)).confirmationToken;
    const token = structured(await c.call(BULK, { items })).confirmationToken;

    // The blocker's DELETE is in flight (its fault was taken) until released.
    h.sim.injectFaults("delete-content", { hold: true });
    const blocking = c.call(DELETE, { ...blocker, confirmationToken: blockerToken });
    await until(() => h.sim.pendingFaults() === 0, "the blocking DELETE to arrive");

    // The run: item 1 cannot get its turn (busy, nothing sent); while item 2 waits, a second call
    // with the same token arrives.
    let second: Promise<CallToolResult> | undefined;
    const first = c.client.callTool({ name: BULK, arguments: { items, confirmationToken: token } }, undefined, {
      onprogress: (p) => {
        if (p.progress >= 1 && !second) second = c.call(BULK, { items, confirmationToken: token });
      },
    }) as Promise<CallToolResult>;
    const firstResult = await first;
    await until(() => second !== undefined, "the second call");
    const secondResult = await (second as Promise<CallToolResult>);
    h.sim.release();

    expect(structured(secondResult).error?.code).toBe("confirmation_invalid");
    expect(textOf(secondResult)).toMatch(/being used by another call/);
    expect(structured(firstResult).results.map((r: { error?: { code: string } }) => r.error?.code)).toEqual(["busy", "busy"]);
    expect(structured(await blocking).status).toBe("deleted");
    expect(h.deletes()).toHaveLength(1);

    // Nothing of the run was sent, so its token was released (once, at the end) and still works.
    const retried = await c.call(BULK, { items, confirmationToken: token });
    expect(structured(retried)).toMatchObject({ status: "deleted", deleted: 2 });
    // Once DELETEs were sent, it is spent.
    expect(structured(await c.call(BULK, { items, confirmationToken: token })).error?.code).toBe("confirmation_invalid");
    expect(h.deletes()).toHaveLength(3);
  });
});

describe("what the API leaves out is unknown, never invented", () => {
  // The API's record of the interaction with a content item that has only its key.
  const bare = () =>
    h.sim.setStandingFault("get-interaction", {
      status: 200,
      body: JSON.stringify({ guid: SEED.inboundCall, content: [{ contentKey: "callRecording" }] }),
    });
  const target = { guid: SEED.inboundCall, contentKey: "callRecording" };
  const invented = /\b0 B\b|octet-stream|1970/;

  it("the list leaves the fields out and says unknown", async () => {
    bare();
    const c = await h.inProcess();
    const result = await c.call("list_interaction_content", { guid: SEED.inboundCall });
    expect(structured(result).content).toEqual([{ contentKey: "callRecording" }]);
    expect(textOf(result)).toContain("callRecording: type unknown, content type unknown, size unknown, last modified unknown");
    expect(textOf(result)).not.toMatch(invented);
  });

  it("the prompt and the confirmation text say unknown", async () => {
    bare();
    const prompts: string[] = [];
    const c = await h.inProcess({
      elicit: ({ message }) => {
        prompts.push(message);
        return { action: "decline" };
      },
    });
    await c.call(DELETE, target);
    expect(prompts[0]).toContain("item of unknown type 'callRecording' (content type unknown, size unknown, last modified unknown)");
    expect(prompts[0]).not.toMatch(invented);

    const tokens = await h.inProcess();
    const asked = await tokens.call(DELETE, target);
    expect(structured(asked).preview).toEqual({});
    expect(textOf(asked)).toContain("size unknown");
    expect(textOf(asked)).not.toMatch(invented);
  });

  it("the approval page says unknown", async () => {
    bare();
    const c = await h.inProcess({ env: { VCC_CONFIRMATION: "approval" } });
    const asked = structured(await c.call(DELETE, target));
    const page = await pageRequest(asked.approvalUrl);
    expect(page.status).toBe(200);
    expect(page.body).toContain("<dt>Size</dt><dd>unknown</dd>");
    expect(page.body).toContain("<dt>Last modified</dt><dd>unknown</dd>");
    expect(page.body).toContain("<dt>Type</dt><dd>unknown (content type unknown)</dd>");
    expect(page.body).not.toMatch(invented);
  });
});

describe("a definite 401 on the lookup", () => {
  it("ends the call with unauthorized before anyone is asked, for one item or many", async () => {
    const asked: string[] = [];
    const c = await h.inProcess({
      elicit: ({ message }) => {
        asked.push(message);
        return { action: "accept", content: { confirm: true } };
      },
    });
    h.sim.setStandingFault("get-interaction", { status: 401 });
    const one = await c.call(DELETE, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(one)).toMatchObject({ status: "error", error: { code: "unauthorized" } });
    const many = await c.call(BULK, {
      items: [
        { guid: SEED.inboundCall, contentKey: "callRecording" },
        { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail },
      ],
    });
    expect(structured(many)).toMatchObject({ status: "error", error: { code: "unauthorized" } });
    expect(structured(many).results.map((r: { status: string }) => r.status)).toEqual(["not_attempted", "not_attempted"]);
    // One lookup per call: after the refusal, no other interaction is looked up.
    expect(h.sim.requests("GET", "get-interaction")).toHaveLength(2);
    expect(asked).toHaveLength(0);
    expect(h.deletes()).toHaveLength(0);
  });
});

describe("progress", () => {
  it("the bulk tool reports the approval wait, then each item, always increasing", async () => {
    let url: string | undefined;
    let clicked: Promise<unknown> | undefined;
    const c = await h.inProcess({
      env: { VCC_CONFIRMATION: "approval" },
      elicitUrl: (params) => {
        url = params.url;
        return { action: "accept" };
      },
    });
    const progress: { progress: number; message?: string }[] = [];
    const items = [
      { guid: SEED.inboundCall, contentKey: "callRecording" },
      { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail },
    ];
    const result = (await c.client.callTool({ name: BULK, arguments: { items } }, undefined, {
      onprogress: (p) => {
        progress.push(p);
        if (url) clicked ??= decideOnPage(url, "approve");
      },
    })) as CallToolResult;
    await clicked;
    expect(structured(result)).toMatchObject({ status: "deleted", deleted: 2 });
    expect(progress[0]?.message).toMatch(/approval page/);
    expect(progress.map((p) => p.message).filter((m) => m?.startsWith("Deleting"))).toHaveLength(2);
    for (let i = 1; i < progress.length; i++) expect(progress[i]?.progress).toBeGreaterThan(progress[i - 1]?.progress ?? -1);
  });
});

describe("the four-eyes rule of a team server (VCC_APPROVAL_SEPARATE_APPROVER)", () => {
  const FOUR_EYES = {
    VCC_TRANSPORT: "http",
    VCC_HTTP_HOST: "0.0.0.0",
    VCC_HTTP_AUTH: "oauth",
    VCC_OAUTH_ISSUER: "https://login.example.com/realms/ops/",
    VCC_HTTP_PUBLIC_URL: "https://vcc-mcp.example.com/",
    VCC_OIDC_CLIENT_ID: "vcc-mcp",
    VCC_CONFIRMATION: "approval",
    VCC_APPROVAL_SEPARATE_APPROVER: "true",
    VCC_APPROVER_CLAIM: "groups:vcc-approvers",
  };
  const alice = { subject: "alice", issuer: "https://login.example.com/realms/ops" };

  it("the requester's own form prompt never approves: the deletion waits for the approval page", async () => {
    let prompts = 0;
    const c = await h.inProcess({
      env: FOUR_EYES,
      caller: { identity: alice, mayDelete: true },
      elicit: () => {
        prompts++;
        return { action: "accept", content: { confirm: true } };
      },
    });
    const result = await c.call(DELETE, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(prompts).toBe(0);
    expect(structured(result)).toMatchObject({ status: "confirmation_required" });
    expect(structured(result).approvalUrl).toMatch(/\/approve\//);
    expect(h.deletes()).toHaveLength(0);
  });
});

describe("a deletion confirmed by the content's absence", () => {
  it("after a 502 that came after the deletion, says so: not that the attempt got no answer", async () => {
    const c = await h.inProcess({
      env: { VCC_CONFIRMATION: "elicitation", VCC_RETRY_BASE_MS: "1" },
      elicit: () => ({ action: "accept", content: { confirm: true } }),
    });
    const ref = { guid: SEED.inboundCall, contentKey: "callRecording" };
    h.sim.injectFaults("delete-content", { status: 502, body: "Bad Gateway", afterAction: true });
    const result = await c.call(DELETE, ref);
    expect(structured(result)).toMatchObject({ status: "deleted", httpStatus: 404, verifiedByAbsence: true });
    expect(h.deletes().map((e) => e.status)).toEqual([502, 404]);
    expect(textOf(result)).not.toMatch(/got no answer \(timeout or broken connection\)/);
    expect(textOf(result)).toMatch(/HTTP 500\/502\/504/);
  });
});

describe("a failure the workflow does not expect", () => {
  it("after a DELETE may have been sent, leaves the token used, never usable again", async () => {
    const c = await h.inProcess({ env: { VCC_CONFIRMATION: "token" } });
    const ref = { guid: SEED.inboundCall, contentKey: "callRecording" };
    const token = structured(await c.call(DELETE, ref)).confirmationToken;
    // A defect after the DELETE went out: the handler throws instead of answering.
    const send = VccClient.prototype.deleteContent;
    const spy = vi.spyOn(VccClient.prototype, "deleteContent").mockImplementationOnce(async function (this: VccClient, ...args) {
      await send.apply(this, args);
      throw new Error("a defect after the DELETE was sent");
    });
    try {
      const failed = await c.call(DELETE, { ...ref, confirmationToken: token });
      expect(textOf(failed)).toMatch(/^Error \(internal_error\): .*may or may not have happened/);
    } finally {
      spy.mockRestore();
    }
    const again = await c.call(DELETE, { ...ref, confirmationToken: token });
    expect(again.structuredContent).toMatchObject({ status: "error" });
    expect(h.deletes()).toHaveLength(1);
  });
});
