// The session's view of confirmation tokens (src/confirmation/store.ts) on the shared state, in
// memory here (the Redis implementation passes the same contract: test/integration/state.test.ts;
// across replicas: test/integration/shared-confirmations.test.ts).
import { describe, expect, it } from "vitest";
import { ConfirmationStore } from "../../src/confirmation/store.js";
import { MemoryState } from "../../src/state/index.js";

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function store(ttlMs = 60_000, c = clock(), requester?: { subject: string; issuer: string }) {
  const state = new MemoryState({ now: c.now });
  return new ConfirmationStore(state.tokens, { ttlMs, now: c.now, ...(requester ? { requester } : {}) });
}

describe("confirmation tokens", () => {
  it("are long, random and expire at the TTL", async () => {
    const c = clock();
    const s = store(60_000, c);
    const a = await s.issue("x");
    const b = await s.issue("x");
    expect(a.token).not.toBe(b.token);
    expect(a.token.length).toBeGreaterThanOrEqual(12 + 32);
    expect(a.expiresAt.getTime()).toBe(c.now() + 60_000);
    c.advance(60_000);
    expect(await s.claim(a.token, "x")).toEqual({ ok: false, reason: "expired" });
  });

  it("work once, for their own binding only", async () => {
    const s = store();
    const { token } = await s.issue("delete:g:k");
    expect(await s.claim(token, "delete:g:other")).toEqual({ ok: false, reason: "mismatch" });
    const first = await s.claim(token, "delete:g:k");
    expect(first).toMatchObject({ ok: true, approved: false });
    expect(await s.claim(token, "delete:g:k")).toEqual({ ok: false, reason: "in_use" });
    if (first.ok) await first.claim.spend();
    expect(await s.claim(token, "delete:g:k")).toEqual({ ok: false, reason: "used" });
    expect(await s.claim("vcc-confirm-unknown", "delete:g:k")).toEqual({ ok: false, reason: "unknown" });
  });

  it("a released claim can be used again; a spent one cannot be released back", async () => {
    const s = store();
    const { token } = await s.issue("b");
    const first = await s.claim(token, "b");
    if (!first.ok) throw new Error("claim failed");
    await first.claim.release();
    const second = await s.claim(token, "b");
    expect(second.ok).toBe(true);
    if (second.ok) {
      await second.claim.spend();
      await second.claim.release();
    }
    expect(await s.claim(token, "b")).toEqual({ ok: false, reason: "used" });
  });

  it("a withdrawn token never works (e.g. one whose audit record could not be written); a claimed one is not touched", async () => {
    const s = store();
    const { token } = await s.issue("b");
    await s.withdraw(token);
    expect(await s.claim(token, "b")).toEqual({ ok: false, reason: "used" });
    const other = await s.issue("b");
    const claimed = await s.claim(other.token, "b");
    await s.withdraw(other.token);
    expect(claimed.ok).toBe(true);
    if (claimed.ok) await claimed.claim.release();
    expect((await s.claim(other.token, "b")).ok).toBe(true);
  });

  it("belong to their session: another session is told unknown, and ending the session discards them", async () => {
    const state = new MemoryState();
    const mine = new ConfirmationStore(state.tokens, { ttlMs: 60_000 });
    const other = new ConfirmationStore(state.tokens, { ttlMs: 60_000 });
    const { token } = await mine.issue("b");
    expect(await other.claim(token, "b")).toEqual({ ok: false, reason: "unknown" });
    expect(mine.live).toBe(1);
    expect(await mine.close()).toBe(1);
    expect(mine.live).toBe(0);
    expect(await new ConfirmationStore(state.tokens, { ttlMs: 60_000 }).claim(token, "b")).toEqual({ ok: false, reason: "unknown" });
  });

  it("with OAuth belong to the person: usable in their other sessions, kept when a session ends, not another person's", async () => {
    const state = new MemoryState();
    const alice = { subject: "alice", issuer: "https://idp.example" };
    const first = new ConfirmationStore(state.tokens, { ttlMs: 60_000, requester: alice });
    const { token } = await first.issue("b");
    // Ending a session discards nothing: nothing is held that ending it would lose.
    expect(first.live).toBe(0);
    expect(await first.close()).toBe(0);
    const bob = new ConfirmationStore(state.tokens, { ttlMs: 60_000, requester: { ...alice, subject: "bob" } });
    expect(await bob.claim(token, "b")).toEqual({ ok: false, reason: "unknown" });
    const otherIssuer = new ConfirmationStore(state.tokens, { ttlMs: 60_000, requester: { ...alice, issuer: "https://other.example" } });
    expect(await otherIssuer.claim(token, "b")).toEqual({ ok: false, reason: "unknown" });
    const second = new ConfirmationStore(state.tokens, { ttlMs: 60_000, requester: { ...alice, name: "Alice" } });
    expect((await second.claim(token, "b")).ok).toBe(true);
  });

  it("counts what is still to be acted on: not what was spent, withdrawn or expired", async () => {
    const c = clock();
    const s = store(1_000, c);
    const spent = await s.issue("a");
    await s.issue("b");
    const withdrawn = await s.issue("c");
    expect(s.live).toBe(3);
    const claim = await s.claim(spent.token, "a");
    if (claim.ok) await claim.claim.spend();
    await s.withdraw(withdrawn.token);
    expect(s.live).toBe(1);
    c.advance(1_000);
    expect(s.live).toBe(0);
  });

  it("stays bounded when a model loops: the oldest are discarded", async () => {
    const s = store();
    const first = await s.issue("b0");
    for (let i = 1; i < 600; i++) await s.issue(`b${i}`);
    expect(s.live).toBeLessThanOrEqual(500);
    expect(await s.claim(first.token, "b0")).toEqual({ ok: false, reason: "unknown" });
  });
});

describe("approval tokens (mode approval)", () => {
  const items = [{ guid: "5f1c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f11", contentKey: "callRecording" }];

  async function pending(ttlMs = 60_000) {
    const c = clock();
    const state = new MemoryState({ now: c.now });
    const s = new ConfirmationStore(state.tokens, { ttlMs, now: c.now });
    const issued = await s.issue("delete:g:k", undefined, { approvalItems: items, approvalSummary: ["1 item"] });
    const pageId = issued.pageId as string;
    const view = await state.tokens.page(pageId);
    return { c, state, store: s, token: issued.token, pageId, formKey: view?.formKey as string, view };
  }

  it("get a page id of at least 128 random bits that is not derived from the token, and a challenge of their own", async () => {
    const { token, pageId, store: s, view, state } = await pending();
    expect(Buffer.from(pageId, "base64url").length).toBeGreaterThanOrEqual(16);
    expect(token).not.toContain(pageId);
    expect(pageId).not.toContain(token.replace("vcc-confirm-", ""));
    const other = await s.issue("delete:g:k", undefined, { approvalItems: items });
    expect(other.pageId).not.toBe(pageId);
    expect((await s.issue("x")).pageId).toBeUndefined();
    expect(view).toMatchObject({ items, summary: ["1 item"], state: "pending" });
    expect(view?.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await state.tokens.page(other.pageId as string))?.challenge).not.toBe(view?.challenge);
  });

  it("cannot be claimed while pending; the claim does not spend them", async () => {
    const { store: s, token, pageId, state } = await pending();
    expect(await s.claim(token, "delete:g:k")).toMatchObject({
      ok: false,
      reason: "approval_pending",
      pageId,
      expiresAt: expect.any(Date),
    });
    expect(await s.claim(token, "delete:g:k")).toMatchObject({ ok: false, reason: "approval_pending" });
    expect(await s.claim(token, "delete:g:other")).toEqual({ ok: false, reason: "mismatch" });
    expect((await state.tokens.page(pageId))?.state).toBe("pending");
  });

  it("an approval on the page makes the claim an approval, with who approved; a rejection says who rejected", async () => {
    const approver = { subject: "bob", issuer: "https://idp.example" };
    const a = await pending();
    expect(await a.state.tokens.decide(a.pageId, a.formKey, "approve", approver)).toEqual({ ok: true, state: "approved" });
    expect(await a.store.claim(a.token, "delete:g:k")).toMatchObject({ ok: true, approved: true, approver });
    const b = await pending();
    await b.state.tokens.decide(b.pageId, b.formKey, "reject", approver);
    expect(await b.store.claim(b.token, "delete:g:k")).toEqual({ ok: false, reason: "rejected", approver });
    expect(b.store.live).toBe(0);
  });

  it("a waiting call learns the decision, a timeout, an abort, or that the session ended", async () => {
    const a = await pending();
    const approved = a.store.waitForDecision(a.pageId, { timeoutMs: 60_000 });
    await a.state.tokens.decide(a.pageId, a.formKey, "approve");
    expect(await approved).toBe("approved");

    const b = await pending();
    expect(await b.store.waitForDecision(b.pageId, { timeoutMs: 10 })).toBe("timeout");
    const controller = new AbortController();
    const aborted = b.store.waitForDecision(b.pageId, { timeoutMs: 60_000, signal: controller.signal });
    controller.abort();
    expect(await aborted).toBe("aborted");
    const ended = b.store.waitForDecision(b.pageId, { timeoutMs: 60_000 });
    await b.store.close();
    expect(await ended).toBe("gone");
    expect(await b.state.tokens.page(b.pageId)).toBeUndefined();
  });
});
