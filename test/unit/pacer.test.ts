// The pacer after a rate limit (src/vcc/pacer.ts): learns the pace from a 429, and with forgetAfterMs
// drops it after that long without another 429.
import { describe, expect, it } from "vitest";
import { Pacer } from "../../src/vcc/pacer.js";

describe("Pacer", () => {
  it("after a 429 keeps to the number of requests answered in the second before", () => {
    let now = 0;
    const pacer = new Pacer(() => now);
    for (let i = 0; i < 3; i++) {
      expect(pacer.waitMs()).toBe(0);
      pacer.answered();
      now += 100;
    }
    pacer.limited();
    // Three answered at 0, 100 and 200 ms: the next may go one second (and a margin) after the oldest.
    expect(pacer.waitMs()).toBe(1_005 - now);
  });

  it("with forgetAfterMs, goes at full speed again after that long without a 429; without it, never", () => {
    let now = 0;
    const forgetting = new Pacer(() => now, { forgetAfterMs: 60_000 });
    const keeping = new Pacer(() => now);
    for (const pacer of [forgetting, keeping]) {
      pacer.answered();
      pacer.limited();
    }
    now = 60_001;
    for (const pacer of [forgetting, keeping]) pacer.answered();
    expect(forgetting.waitMs()).toBe(0);
    expect(keeping.waitMs()).toBeGreaterThan(0);
  });
});
