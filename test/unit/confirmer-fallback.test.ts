// Where the Confirmer sends a decision when the client cannot prompt: the approval page (mode auto,
// where the person can reach it), a bare token (HTTP for other machines), and with passkeys required,
// the page only, never a prompt, and a refusal while no passkey is registered.
import { describe, expect, it } from "vitest";
import { type ApprovalPages, Confirmer, type ConfirmerOptions, type ElicitationChannel } from "../../src/confirmation/confirmer.js";
import { MemoryState } from "../../src/state/index.js";

const ITEM = { guid: "5f1c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f11", contentKey: "transcript" };

function channel(options: { form: boolean; failing?: boolean }): ElicitationChannel & { prompts: number } {
  const c = {
    prompts: 0,
    supportsForm: () => options.form,
    supportsUrl: () => false,
    elicitForm: async () => {
      c.prompts++;
      if (options.failing) throw new Error("no answer");
      return { action: "accept" as const, content: { confirm: true } };
    },
    elicitUrl: async () => ({ action: "cancel" as const }),
    completeUrl: async () => {},
  };
  return c;
}

const pages: ApprovalPages = { attach: () => () => {}, urlFor: async (pageId) => `http://127.0.0.1:1234/approve/${pageId}` };

function decide(options: Partial<ConfirmerOptions> & Pick<ConfirmerOptions, "channel">) {
  const confirmer = new Confirmer({ mode: "auto", ttlSeconds: 60, elicitationTimeoutSeconds: 5, ...options });
  return confirmer.decide({ binding: "one", items: [ITEM], question: "Delete?" });
}

describe("mode auto when the client cannot prompt", () => {
  it("uses the approval page where it is reachable", async () => {
    const decision = await decide({ channel: channel({ form: false }), approvals: pages, pageFallback: true });
    expect(decision).toMatchObject({ kind: "token_issued", reason: "approval_page", approvalUrl: expect.stringMatching(/\/approve\//) });
  });

  it("uses the approval page when the prompt fails or gets no answer", async () => {
    const failing = channel({ form: true, failing: true });
    const decision = await decide({ channel: failing, approvals: pages, pageFallback: true });
    expect(failing.prompts).toBe(1);
    expect(decision).toMatchObject({ kind: "token_issued", reason: "approval_page" });
  });

  it("issues a bare token only where the page is out of reach (HTTP for other machines)", async () => {
    const decision = await decide({ channel: channel({ form: false }) });
    expect(decision).toMatchObject({ kind: "token_issued", reason: "no_elicitation" });
    expect(decision).not.toHaveProperty("approvalUrl");
  });

  it("a token from the page counts as an approval on the page, not a bare token", async () => {
    const state = new MemoryState();
    const confirmer = new Confirmer({
      tokens: state.tokens,
      mode: "auto",
      ttlSeconds: 60,
      elicitationTimeoutSeconds: 5,
      channel: channel({ form: false }),
      approvals: pages,
      pageFallback: true,
    });
    const issued = await confirmer.decide({ binding: "one", items: [ITEM], question: "Delete?" });
    if (issued.kind !== "token_issued") throw new Error(issued.kind);
    const pageId = new URL(issued.approvalUrl ?? "").pathname.split("/").pop() ?? "";
    const view = await state.tokens.page(pageId);
    expect(await state.tokens.decide(pageId, view?.formKey ?? "", "approve")).toEqual({ ok: true, state: "approved" });
    expect(await confirmer.decide({ binding: "one", items: [ITEM], question: "Delete?", token: issued.token })).toMatchObject({
      kind: "approved",
      method: "approval",
    });
  });
});

describe("passkeys required", () => {
  it("refuses with passkey_required while none is registered, and says how to enrol", async () => {
    const decision = await decide({ channel: channel({ form: true }), approvals: pages, passkeys: { registered: async () => false } });
    expect(decision).toMatchObject({ kind: "refused", error: { code: "passkey_required" } });
    if (decision.kind === "refused") expect(decision.error.message).toContain("vcc-interaction-content-mcp passkey add");
  });

  it("never asks the client's prompt (it may answer on its own): the page decides", async () => {
    const prompting = channel({ form: true });
    const decision = await decide({ channel: prompting, approvals: pages, passkeys: { registered: async () => true } });
    expect(prompting.prompts).toBe(0);
    expect(decision).toMatchObject({ kind: "token_issued", reason: "approval_page" });
  });

  it("refuses when the passkey list cannot be read", async () => {
    const decision = await decide({
      channel: channel({ form: false }),
      approvals: pages,
      passkeys: { registered: async () => Promise.reject(new Error("EACCES")) },
    });
    expect(decision).toMatchObject({ kind: "refused", error: { code: "approval_unavailable" } });
  });
});
