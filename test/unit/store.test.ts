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

  it("stays bounded when a model loops", () => {
    const store = new ConfirmationStore(60_000);
    for (let i = 0; i < 2_000; i++) store.issue(`b${i}`);
    expect(store.size).toBeLessThanOrEqual(500);
  });
});
