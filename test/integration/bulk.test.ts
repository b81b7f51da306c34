// bulk_delete_interaction_content (issue 10): one confirmation for a set, strictly sequential execution.
import { describe, expect, it } from "vitest";
import { SEED, SEED_ITEM_KEYS } from "../../src/simulator/seed.js";
import { countingApprover, type ElicitHandler, structured, textOf } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const TOOL = "bulk_delete_interaction_content";
const h = useSimulator();

// Tool logic: in process (fast); the spawned server is covered by the other end-to-end files.
const server = (env: Record<string, string> = {}, elicit?: ElicitHandler) => h.inProcess({ env, elicit });
const deletes = () => h.deletes();
const has = (guid: string, key: string) => h.sim.holds(guid, key);

const ITEMS = [
  { guid: SEED.inboundCall, contentKey: "callRecording" },
  { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail },
  { guid: SEED.screenRecording, contentKey: SEED_ITEM_KEYS.screenRecording },
  { guid: SEED.inboundCall, contentKey: "transcript" },
];

describe("one confirmation for the whole set", () => {
  it("token: lists every item, then deletes exactly that set one at a time, in any order", async () => {
    const c = await server({ VCC_CONFIRMATION: "token" });
    const asked = await c.call(TOOL, { items: ITEMS });
    const s = structured(asked);
    expect(s.status).toBe("confirmation_required");
    expect(s.results.map((r: { status: string }) => r.status)).toEqual(["pending", "pending", "pending", "pending"]);
    expect(s.results[1].preview).toMatchObject({ type: "voicemail", contentLength: 412_876 });
    const text = textOf(asked);
    for (const item of ITEMS) expect(text).toContain(item.contentKey);
    expect(text).toContain("screen recording");
    expect(deletes()).toHaveLength(0);
    // Two interactions of the same GUID share one lookup.
    expect(h.sim.requests("GET", "get-interaction")).toHaveLength(3);

    h.sim.setStandingFault("delete-content", { latencyMs: 60 });
    const done = await c.call(TOOL, { items: [...ITEMS].reverse(), confirmationToken: s.confirmationToken });
    expect(structured(done)).toMatchObject({ status: "deleted", deleted: 4, failed: 0 });
    const sent = deletes();
    expect(sent).toHaveLength(4);
    // Strictly sequential: each DELETE arrives only after the previous one was answered (>= 60 ms later).
    for (let i = 1; i < sent.length; i++)
      expect(Date.parse(sent[i]?.time ?? "") - Date.parse(sent[i - 1]?.time ?? "")).toBeGreaterThanOrEqual(55);
    for (const item of ITEMS) expect(has(item.guid, item.contentKey)).toBe(false);

    const replay = await c.call(TOOL, { items: ITEMS, confirmationToken: s.confirmationToken });
    expect(structured(replay).error.code).toBe("confirmation_invalid");
    expect(deletes()).toHaveLength(4);
  });

  it("a token works only for exactly its set", async () => {
    const c = await server();
    const token = structured(await c.call(TOOL, { items: ITEMS })).confirmationToken;
    for (const items of [ITEMS.slice(0, 3), [...ITEMS, { guid: SEED.chat, contentKey: "chatTranscript" }]]) {
      const result = await c.call(TOOL, { items, confirmationToken: token });
      expect(structured(result).error.code).toBe("confirmation_invalid");
      expect(structured(result).results.every((r: { status: string }) => r.status === "not_attempted")).toBe(true);
    }
    const single = await c.call("delete_interaction_content", { ...ITEMS[0], confirmationToken: token });
    expect(structured(single).error.code).toBe("confirmation_invalid");
    expect(deletes()).toHaveLength(0);
  });

  it("a token used again deletes nothing, and does not count the items the first call deleted as failed", async () => {
    const c = await server({ VCC_CONFIRMATION: "token" });
    const token = structured(await c.call(TOOL, { items: ITEMS })).confirmationToken;
    expect(structured(await c.call(TOOL, { items: ITEMS, confirmationToken: token }))).toMatchObject({
      deleted: 4,
      failed: 0,
      notAttempted: 0,
    });
    const again = structured(await c.call(TOOL, { items: ITEMS, confirmationToken: token }));
    expect(again).toMatchObject({ status: "error", error: { code: "confirmation_invalid" }, deleted: 0, failed: 0, notAttempted: 4 });
    expect(again.error.message).toMatch(/the call that used it did what the token approved/);
    expect(deletes()).toHaveLength(4);
  });

  it("elicitation: one prompt listing every item; progress per item", async () => {
    const prompts: string[] = [];
    const c = await server({}, ({ message }) => {
      prompts.push(message);
      return { action: "accept", content: { confirm: true } };
    });
    const progress: { progress: number; total?: number }[] = [];
    const result = await c.client.callTool({ name: TOOL, arguments: { items: ITEMS } }, undefined, { onprogress: (p) => progress.push(p) });
    expect(structured(result as never)).toMatchObject({ status: "deleted", deleted: 4 });
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toMatch(/these 4 items/);
    for (const item of ITEMS) expect(prompts[0]).toContain(item.contentKey);
    expect(progress.map((p) => p.progress)).toEqual([0, 1, 2, 3]);
    expect(progress[0]?.total).toBe(4);
    expect(deletes()).toHaveLength(4);
  });

  it("a decline deletes nothing", async () => {
    const c = await server({}, () => ({ action: "decline" }));
    const result = await c.call(TOOL, { items: ITEMS });
    expect(structured(result)).toMatchObject({ status: "cancelled", deleted: 0 });
    expect(structured(result).results.every((r: { status: string }) => r.status === "cancelled")).toBe(true);
    expect(deletes()).toHaveLength(0);
  });
});

describe("per-item outcomes", () => {
  it("one failing item never stops the others", async () => {
    // Retries off, so that the 500 is the item's final answer.
    const c = await server({ VCC_MAX_RETRIES: "0" }, () => ({ action: "accept", content: { confirm: true } }));
    h.sim.injectFaults("delete-content", {}, { status: 500, body: '{"message":"boom"}' });
    const result = await c.call(TOOL, { items: ITEMS });
    const s = structured(result);
    expect(s).toMatchObject({ status: "partial", deleted: 3, failed: 0, outcomeUnknown: 1 });
    // A 500 may come after the deletion was carried out: that item's outcome is unknown.
    expect(s.results[1]).toMatchObject({ status: "error", httpStatus: 500, error: { code: "upstream_error", outcomeUnknown: true } });
    expect(result.isError).toBeFalsy();
    expect(deletes()).toHaveLength(4);
  });

  it("an item whose outcome is unknown is not counted as failed, and the result does not say nothing was deleted", async () => {
    const c = await server({ VCC_MAX_RETRIES: "0" }, () => ({ action: "accept", content: { confirm: true } }));
    // Carried out, then answered 502: whether it was deleted is not known from the answer.
    h.sim.injectFaults("delete-content", { status: 502, body: "Bad Gateway", afterAction: true });
    const result = await c.call(TOOL, { items: ITEMS.slice(0, 1) });
    expect(structured(result)).toMatchObject({ status: "partial", deleted: 0, failed: 0, outcomeUnknown: 1 });
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toMatch(
      /0 of 1 item\(s\) deleted, 1 outcome unknown \(may or may not have been deleted: check with list_interaction_content\)/,
    );
  });

  it("items already gone are reported and left out of the confirmation and the deletion", async () => {
    const c = await server({ VCC_CONFIRMATION: "token" });
    const items = [
      ...ITEMS.slice(0, 2),
      { guid: SEED.inboundCall, contentKey: "voicemail-999" },
      { guid: SEED.empty, contentKey: "callRecording" },
    ];
    const asked = structured(await c.call(TOOL, { items }));
    expect(asked.status).toBe("confirmation_required");
    expect(asked.results.map((r: { status: string }) => r.status)).toEqual(["pending", "pending", "error", "error"]);
    expect(asked.results[2].error.code).toBe("not_found");
    const done = structured(await c.call(TOOL, { items, confirmationToken: asked.confirmationToken }));
    expect(done).toMatchObject({ status: "partial", deleted: 2, failed: 2, outcomeUnknown: 0 });
    expect(deletes()).toHaveLength(2);
  });

  it("nothing left to delete: no confirmation at all", async () => {
    const approver = countingApprover();
    const c = await server({}, approver.handler);
    const result = await c.call(TOOL, { items: [{ guid: SEED.empty, contentKey: "callRecording" }] });
    expect(structured(result)).toMatchObject({ status: "error", deleted: 0 });
    expect(approver.asked).toBe(0);
    expect(deletes()).toHaveLength(0);
  });

  it("an item outside the allowlist refuses the whole request before asking", async () => {
    const approver = countingApprover();
    const c = await server({ VCC_ALLOWED_CONTENT_KEYS: "callRecording,voicemail" }, approver.handler);
    const result = await c.call(TOOL, { items: ITEMS });
    expect(structured(result)).toMatchObject({ status: "error", error: { code: "not_allowed" } });
    expect(structured(result).results[2].error.code).toBe("not_allowed");
    expect(approver.asked).toBe(0);
    expect(deletes()).toHaveLength(0);
  });

  it("dry run: confirmed, nothing sent", async () => {
    const c = await server({ VCC_DRY_RUN: "true" }, () => ({ action: "accept", content: { confirm: true } }));
    const result = await c.call(TOOL, { items: ITEMS });
    expect(structured(result).status).toBe("dry_run");
    expect(deletes()).toHaveLength(0);
  });

  it("cancellation stops before the next item", async () => {
    const c = await server({}, () => ({ action: "accept", content: { confirm: true } }));
    // The first DELETE is held in flight until the call was cancelled.
    h.sim.injectFaults("delete-content", { hold: true });
    const controller = new AbortController();
    const call = c.client
      .callTool({ name: TOOL, arguments: { items: ITEMS } }, undefined, { signal: controller.signal })
      .catch((e: unknown) => e);
    while (deletes().length === 0) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await call;
    h.sim.release();
    // Whatever was already under way has reached the simulator and finished.
    await h.sim.idle();
    expect(deletes().length).toBeLessThanOrEqual(2);
    expect(has(ITEMS[3]?.guid ?? "", "transcript")).toBe(true);
  });
});

describe("input rules", () => {
  it("rejects duplicates, empty and oversized sets, and bad items, sending nothing", async () => {
    const c = await server();
    const bad = [
      { items: [] },
      { items: [ITEMS[0], ITEMS[0]] },
      { items: [ITEMS[0], { guid: SEED.inboundCall.toUpperCase(), contentKey: "CALLRECORDING" }] },
      { items: Array.from({ length: 101 }, (_, i) => ({ guid: SEED.inboundCall, contentKey: `k${i}` })) },
      { items: [{ guid: SEED.inboundCall, contentKey: ".." }] },
      { items: [{ guid: "nope", contentKey: "callRecording" }] },
      { items: [{ ...ITEMS[0], extra: 1 }] },
      { items: ITEMS, other: true },
    ];
    for (const args of bad) expect((await c.call(TOOL, args)).isError, JSON.stringify(args).slice(0, 80)).toBe(true);
    expect(h.sim.journal).toHaveLength(0);
  });

  it("more than 100 items: pointed to the erasure job, which takes them with one approval", async () => {
    const c = await server();
    const result = await c.call(TOOL, { items: Array.from({ length: 101 }, (_, i) => ({ guid: SEED.inboundCall, contentKey: `k${i}` })) });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/at most 100 pairs: erase more as one job, with one approval, with erase_interaction_content/);
  });
});
