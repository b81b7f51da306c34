import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffMs, MAX_BACKOFF_MS, planRetry, RETRY_AFTER_CAP_MS, type RetrySettings } from "../../src/vcc/retry.js";

const settings: RetrySettings = { maxRetries: 3, deadlineMs: 60_000, baseDelayMs: 500 };

describe("backoff with full jitter", () => {
  it("spans 0 to base·2^retry, capped", () => {
    expect(backoffMs(0, 500, () => 0)).toBe(0);
    expect(backoffMs(0, 500, () => 0.999_999)).toBe(499);
    expect(backoffMs(2, 500, () => 0.5)).toBe(1000);
    expect(backoffMs(20, 500, () => 0.999_999)).toBe(MAX_BACKOFF_MS - 1);
  });
  it("is never negative and never above the cap", () => {
    fc.assert(
      fc.property(
        fc.nat(40),
        fc.integer({ min: 1, max: 60_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retry, base, r) => {
          const delay = backoffMs(retry, base, () => r);
          return delay >= 0 && delay < Math.max(1, Math.min(MAX_BACKOFF_MS, base * 2 ** retry));
        },
      ),
    );
  });
});

describe("planRetry", () => {
  const plan = (input: Partial<Parameters<typeof planRetry>[0]>) =>
    planRetry({ retry: 0, settings, remainingMs: 60_000, attemptMs: 15_000, random: () => 0.5, ...input });

  it("retries up to maxRetries, then stops", () => {
    expect(plan({ retry: 0 })).toEqual({ retry: true, delayMs: 250, fromRetryAfter: false });
    expect(plan({ retry: 2 })).toEqual({ retry: true, delayMs: 1000, fromRetryAfter: false });
    expect(plan({ retry: 3 })).toMatchObject({ retry: false, why: "3 retries were made" });
    expect(plan({ settings: { ...settings, maxRetries: 0 } })).toMatchObject({ retry: false, why: "retries are disabled" });
  });
  it("after a 429 without Retry-After: the pacer's wait where it fits the deadline (beyond the Retry-After cap), else a longer backoff of at least half its span", () => {
    expect(plan({ rateLimited: true, pacedMs: 45_000 })).toEqual({ retry: true, delayMs: 45_000, fromRetryAfter: false, paced: true });
    // A pace that does not fit the deadline: the backoff instead (which may still get through).
    expect(plan({ rateLimited: true, pacedMs: 59_500 })).toEqual({ retry: true, delayMs: 1_500, fromRetryAfter: false });
    // No pace learned: 4·base·2^retry, from half of it (0.5 → three quarters of it).
    expect(plan({ rateLimited: true, pacedMs: 0 })).toEqual({ retry: true, delayMs: 1_500, fromRetryAfter: false });
    expect(plan({ rateLimited: true, retry: 1, random: () => 0 })).toEqual({ retry: true, delayMs: 2_000, fromRetryAfter: false });
    // A Retry-After the API sent comes first.
    expect(plan({ rateLimited: true, retryAfterMs: 3_000, pacedMs: 45_000 })).toEqual({
      retry: true,
      delayMs: 3_000,
      fromRetryAfter: true,
    });
  });

  it("waits exactly as long as Retry-After asks, up to the cap", () => {
    expect(plan({ retryAfterMs: 7000 })).toEqual({ retry: true, delayMs: 7000, fromRetryAfter: true });
    expect(plan({ retryAfterMs: 0 })).toEqual({ retry: true, delayMs: 0, fromRetryAfter: true });
    expect(plan({ retryAfterMs: RETRY_AFTER_CAP_MS })).toMatchObject({ retry: true });
    expect(plan({ retryAfterMs: RETRY_AFTER_CAP_MS + 1000 })).toMatchObject({ retry: false, why: /asked to wait 31 s/ });
  });
  it("never plans past the deadline, and leaves the next attempt time to finish", () => {
    expect(plan({ retryAfterMs: 5000, remainingMs: 5500 })).toMatchObject({ retry: false, why: /deadline/ });
    expect(plan({ retryAfterMs: 5000, remainingMs: 6000 })).toMatchObject({ retry: true, delayMs: 5000 });
    // A short per-attempt timeout needs only that much room.
    expect(plan({ retryAfterMs: 5000, remainingMs: 5300, attemptMs: 300 })).toMatchObject({ retry: true });
  });
  it("for any input, a planned wait fits in what is left of the deadline and within the caps", () => {
    fc.assert(
      fc.property(
        fc.nat(12),
        fc.nat(10),
        fc.option(fc.nat(120_000), { nil: undefined }),
        fc.nat(120_000),
        fc.integer({ min: 100, max: 60_000 }),
        (retry, maxRetries, retryAfterMs, remainingMs, attemptMs) => {
          const p = planRetry({ retry, settings: { ...settings, maxRetries }, retryAfterMs, remainingMs, attemptMs });
          if (!p.retry) return true;
          return (
            retry < maxRetries &&
            p.delayMs <= remainingMs &&
            p.delayMs <= Math.max(RETRY_AFTER_CAP_MS, MAX_BACKOFF_MS) &&
            (retryAfterMs === undefined || p.delayMs === retryAfterMs)
          );
        },
      ),
    );
  });
});
