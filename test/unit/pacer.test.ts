// The pacer after a rate limit (src/vcc/pacer.ts): learns the pace from a 429 (over a second after a
// Retry-After, over its longer window without one), and with forgetAfterMs drops it after that long
// without another 429.
import { describe, expect, it } from "vitest";
import { Pacer } from "../../src/vcc/pacer.js";

describe("Pacer", () => {
  it("after a 429 with Retry-After keeps to the number of requests answered in the second before", () => {
    let now = 0;
    const pacer = new Pacer(() => now);
    for (let i = 0; i < 3; i++) {
      expect(pacer.waitMs()).toBe(0);
      pacer.answered();
      now += 100;
    }
    // Three answered at 0, 100 and 200 ms: the next may go one second (and a margin) after the oldest.
    expect(pacer.limited({ retryAfter: true })).toBe(1_005 - now);
    expect(pacer.waitMs()).toBe(1_005 - now);
  });

  it("after a 429 without Retry-After keeps to what was accepted in the window before (a minute), and says how long to wait", () => {
    let now = 0;
    const pacer = new Pacer(() => now);
    // Sixteen accepted in four seconds, then the 429 (VCC's documented limit: about 16 deletions a minute).
    for (let i = 0; i < 16; i++) {
      pacer.answered();
      now += 250;
    }
    expect(pacer.limited({ retryAfter: false })).toBe(60_005 - now);
    now = 60_005;
    // The oldest left the minute: one may go, then the next waits for the second oldest.
    expect(pacer.waitMs()).toBe(0);
    pacer.answered();
    expect(pacer.waitMs()).toBe(250);
    // A later 429 with Retry-After counts a second: it does not replace the minute's pace.
    pacer.limited({ retryAfter: true });
    expect(pacer.waitMs()).toBe(250);
  });

  it("learns nothing from a 429 when nothing was accepted in the window before (the account's other traffic)", () => {
    let now = 0;
    const pacer = new Pacer(() => now, { unsaidWindowMs: 10_000 });
    pacer.answered();
    now = 10_001;
    expect(pacer.limited({ retryAfter: false })).toBe(0);
    expect(pacer.waitMs()).toBe(0);
  });

  it("with forgetAfterMs, goes at full speed again after that long without a 429 (at least five windows); without it, never", () => {
    let now = 0;
    const forgetting = new Pacer(() => now, { forgetAfterMs: 60_000 });
    const keeping = new Pacer(() => now);
    for (const pacer of [forgetting, keeping]) {
      pacer.answered();
      pacer.limited({ retryAfter: true });
    }
    now = 60_001;
    for (const pacer of [forgetting, keeping]) pacer.answered();
    expect(forgetting.waitMs()).toBe(0);
    expect(keeping.waitMs()).toBeGreaterThan(0);

    // A minute's pace is kept five minutes.
    now = 0;
    const minute = new Pacer(() => now, { forgetAfterMs: 60_000 });
    minute.answered();
    minute.limited({ retryAfter: false });
    now = 60_001;
    minute.answered();
    expect(minute.waitMs()).toBeGreaterThan(0);
    now = 300_001;
    expect(minute.waitMs()).toBe(0);
  });
});
