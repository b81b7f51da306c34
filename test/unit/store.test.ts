import { describe, expect, it } from "vitest";
import { ConfirmationStore } from "../../src/confirmation/store.js";

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("confirmation tokens", () => {
  it("are long, random and expire at the TTL", () => {
    const c = clock();
    const store = new ConfirmationStore(60_000, c.now);
    const a = store.issue("x");
    const b = store.issue("x");
    expect(a.token).not.toBe(b.token);
    expect(a.token.length).toBeGreaterThanOrEqual(12 + 32);
    expect(a.expiresAt.getTime()).toBe(c.now() + 60_000);
    c.advance(60_000);
    expect(store.claim(a.token, "x")).toEqual({ ok: false, reason: "expired" });
  });

  it("work once, for their own binding only", () => {
    const store = new ConfirmationStore(60_000);
    const { token } = store.issue("delete:g:k");
    expect(store.claim(token, "delete:g:other")).toEqual({ ok: false, reason: "mismatch" });
    const first = store.claim(token, "delete:g:k");
    expect(first.ok).toBe(true);
    expect(store.claim(token, "delete:g:k")).toEqual({ ok: false, reason: "in_use" });
    if (first.ok) first.claim.spend();
    expect(store.claim(token, "delete:g:k")).toEqual({ ok: false, reason: "used" });
    expect(store.claim("vcc-confirm-unknown", "delete:g:k")).toEqual({ ok: false, reason: "unknown" });
  });

  it("a released claim can be used again; a spent one cannot be released back", () => {
    const store = new ConfirmationStore(60_000);
    const { token } = store.issue("b");
    const first = store.claim(token, "b");
    if (!first.ok) throw new Error("claim failed");
    first.claim.release();
    const second = store.claim(token, "b");
    expect(second.ok).toBe(true);
    if (second.ok) {
      second.claim.spend();
      second.claim.release();
    }
    expect(store.claim(token, "b")).toEqual({ ok: false, reason: "used" });
  });

  it("a withdrawn token never works (e.g. one whose audit record could not be written); a claimed one is not touched", () => {
    const store = new ConfirmationStore(60_000);
    const { token } = store.issue("b");
    store.withdraw(token);
    expect(store.claim(token, "b")).toEqual({ ok: false, reason: "used" });
    const other = store.issue("b");
    const claimed = store.claim(other.token, "b");
    store.withdraw(other.token);
    expect(claimed.ok).toBe(true);
    if (claimed.ok) claimed.claim.release();
    expect(store.claim(other.token, "b").ok).toBe(true);
  });

  it("stays bounded when a model loops", () => {
    const store = new ConfirmationStore(60_000);
    for (let i = 0; i < 2_000; i++) store.issue(`b${i}`);
    expect(store.size).toBeLessThanOrEqual(500);
  });
});

describe("approval tokens (mode approval)", () => {
  const items = [{ guid: "5f1c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f11", contentKey: "callRecording" }];

  function pending(ttlMs = 60_000) {
    const c = clock();
    const store = new ConfirmationStore(ttlMs, c.now);
    const issued = store.issue("delete:g:k", undefined, { approvalItems: items });
    const pageId = issued.pageId as string;
    const formKey = store.page(pageId)?.formKey as string;
    return { c, store, token: issued.token, pageId, formKey };
  }

  it("get a page id of at least 128 random bits that is not derived from the token", () => {
    const { token, pageId, store } = pending();
    expect(Buffer.from(pageId, "base64url").length).toBeGreaterThanOrEqual(16);
    expect(token).not.toContain(pageId);
    expect(pageId).not.toContain(token.replace("vcc-confirm-", ""));
    expect(store.issue("x", undefined, { approvalItems: items }).pageId).not.toBe(pageId);
    expect(store.issue("x").pageId).toBeUndefined();
  });

  it("cannot be claimed while pending; the claim does not spend them", () => {
    const { store, token, pageId } = pending();
    expect(store.claim(token, "delete:g:k")).toMatchObject({ ok: false, reason: "approval_pending", pageId });
    expect(store.claim(token, "delete:g:k")).toMatchObject({ ok: false, reason: "approval_pending" });
    expect(store.claim(token, "delete:g:other")).toEqual({ ok: false, reason: "mismatch" });
    expect(store.page(pageId)?.state).toBe("pending");
  });

  it("are decided once, only with the page's own anti-forgery value", () => {
    const { store, token, pageId, formKey } = pending();
    expect(store.decide(pageId, "", "approve")).toEqual({ ok: false, reason: "forged" });
    expect(store.decide(pageId, `${formKey}x`, "approve")).toEqual({ ok: false, reason: "forged" });
    expect(store.decide("unknown-page", formKey, "approve")).toEqual({ ok: false, reason: "unknown" });
    expect(store.page(pageId)?.state).toBe("pending");
    expect(store.decide(pageId, formKey, "approve")).toEqual({ ok: true, state: "approved" });
    expect(store.decide(pageId, formKey, "reject")).toEqual({ ok: false, reason: "decided", state: "approved" });
    const claimed = store.claim(token, "delete:g:k");
    expect(claimed.ok).toBe(true);
    if (claimed.ok) claimed.claim.spend();
    expect(store.claim(token, "delete:g:k")).toEqual({ ok: false, reason: "used" });
  });

  it("a rejection makes every later claim say rejected", () => {
    const { store, token, pageId, formKey } = pending();
    expect(store.decide(pageId, formKey, "reject")).toEqual({ ok: true, state: "rejected" });
    expect(store.claim(token, "delete:g:k")).toEqual({ ok: false, reason: "rejected" });
    expect(store.claim(token, "delete:g:k")).toEqual({ ok: false, reason: "rejected" });
  });

  it("expire with the token: the page says so and takes no decision", () => {
    const { c, store, token, pageId, formKey } = pending(1_000);
    c.advance(1_000);
    expect(store.page(pageId)?.state).toBe("expired");
    expect(store.decide(pageId, formKey, "approve")).toEqual({ ok: false, reason: "expired" });
    expect(store.claim(token, "delete:g:k")).toEqual({ ok: false, reason: "expired" });
  });

  it("a withdrawn page cannot be approved any more", () => {
    const { store, token, pageId, formKey } = pending();
    store.withdraw(token);
    expect(store.page(pageId)?.state).toBe("withdrawn");
    expect(store.decide(pageId, formKey, "approve")).toEqual({ ok: false, reason: "decided", state: "withdrawn" });
    expect(store.claim(token, "delete:g:k")).toEqual({ ok: false, reason: "used" });
  });

  it("a waiting call learns the decision, a timeout, an abort, or that the session ended", async () => {
    const a = pending();
    const approved = a.store.waitForDecision(a.token, { timeoutMs: 60_000 });
    a.store.decide(a.pageId, a.formKey, "approve");
    expect(await approved).toBe("approved");
    expect(await a.store.waitForDecision(a.token, { timeoutMs: 60_000 })).toBe("approved");

    const b = pending();
    expect(await b.store.waitForDecision(b.token, { timeoutMs: 10 })).toBe("timeout");
    const controller = new AbortController();
    const aborted = b.store.waitForDecision(b.token, { timeoutMs: 60_000, signal: controller.signal });
    controller.abort();
    expect(await aborted).toBe("aborted");
    const ended = b.store.waitForDecision(b.token, { timeoutMs: 60_000 });
    b.store.clear();
    expect(await ended).toBe("gone");
    expect(b.store.page(b.pageId)).toBeUndefined();
  });
});
