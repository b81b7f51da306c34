import type { ServerNotification } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { describeWait, progressFor } from "../../src/deletion/progress.js";

describe("progress notifications", () => {
  it("are sent only when the client gave a progressToken", () => {
    expect(progressFor({ sendNotification: async () => {} }, 1)).toBeUndefined();
    expect(progressFor({ _meta: { progressToken: 7 }, sendNotification: async () => {} }, 1)).toBeDefined();
  });

  it("always increase: waits move toward the next step, steps come after them", async () => {
    const sent: ServerNotification[] = [];
    const progress = progressFor({ _meta: { progressToken: "t" }, sendNotification: async (n) => void sent.push(n) }, 3);
    const slow = { kind: "slow", attempt: 1, elapsedMs: 1000 } as const;
    await progress?.step(0, "first");
    for (let i = 0; i < 5; i++) progress?.onWait(0)(slow);
    await progress?.step(1, "second");
    progress?.onWait(1)(slow);
    await progress?.step(2, "third");
    const values = sent.map((n) => (n.params as { progress: number }).progress);
    expect(values.slice(0, 7)).toEqual([0, 0.5, 0.75, 0.875, 0.9375, 0.96875, 1]);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1] ?? -1);
    expect(values.at(-1)).toBe(2);
    expect(sent.every((n) => n.method === "notifications/progress" && (n.params as { total: number }).total === 3)).toBe(true);
  });

  it("a client that went away does not fail the call", async () => {
    const progress = progressFor({ _meta: { progressToken: 1 }, sendNotification: () => Promise.reject(new Error("closed")) }, 1);
    await expect(progress?.step(0, "x")).resolves.toBeUndefined();
  });

  it("say why and how long", () => {
    expect(
      describeWait({
        kind: "retry",
        attempt: 2,
        delayMs: 1500,
        fromRetryAfter: true,
        reason: { code: "rate_limited", message: "", httpStatus: 429 },
      }),
    ).toBe("Attempt 2 failed (HTTP 429, rate_limited); trying again in 1.5 s as the API asked (Retry-After).");
    expect(describeWait({ kind: "slow", attempt: 1, elapsedMs: 4200 })).toBe("Still waiting for the VCC API to answer (4 s so far).");
  });
});

describe("progress across a whole call", () => {
  it("waits after a longer wait for the person continue upward", async () => {
    const sent: { progress: number; total?: number }[] = [];
    const progress = progressFor(
      { _meta: { progressToken: "t" }, sendNotification: async (n) => void sent.push(n.params as { progress: number; total?: number }) },
      1,
    );
    progress?.report({ progress: 0, total: 120, message: "waiting for the person" });
    progress?.report({ progress: 37, total: 120, message: "waiting for the person" });
    progress?.onWait(0)({ kind: "slow", attempt: 1, elapsedMs: 1000 });
    progress?.onWait(0)({ kind: "slow", attempt: 1, elapsedMs: 2000 });
    await new Promise((r) => setImmediate(r));
    expect(sent.map((n) => n.progress)).toEqual([0, 37, 38, 39]);
    expect(sent.every((n) => n.total === 120)).toBe(true);
  });
});
