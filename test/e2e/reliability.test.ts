// Waiting and giving up: progress notifications while a call waits for the API (backoff,
// Retry-After, a slow answer), cancellation in flight and between attempts, and a bulk run paced by
// the simulator's rate limit. In process: what is tested is the server's logic over real HTTP to the
// simulator, not the process; retry waits last a hundredth of the planned time and a slow answer is
// announced every SLOW_NOTICE_MS instead of every second, where the test does not measure them.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { SEED, SEED_ITEM_KEYS } from "../../src/simulator/seed.js";
import { type Connected, type ElicitHandler, structured } from "../helpers/mcp.js";
import { HUNDREDFOLD, useSimulator } from "../helpers/simulator.js";

const approve: ElicitHandler = () => ({ action: "accept", content: { confirm: true } });
const TARGET = { guid: SEED.inboundCall, contentKey: "callRecording" };
const h = useSimulator();

/** How often this file's servers announce a slow answer; SLOW_MS is a latency that gets announced. */
const SLOW_NOTICE_MS = 50;
const SLOW_MS = 400;

/** A server in this process; `realWaits`: waits between attempts last as long as planned. */
async function server(env: Record<string, string> = {}, realWaits = false): Promise<{ c: Connected; audit: string }> {
  const audit = join(mkdtempSync(join(tmpdir(), "vcc-rel-")), "audit.jsonl");
  const timing = { slowNoticeMs: SLOW_NOTICE_MS, ...(realWaits ? {} : HUNDREDFOLD) };
  const c = await h.inProcess({ env: { VCC_AUDIT_LOG: audit, ...env }, elicit: approve, timing });
  return { c, audit };
}

const deletions = (audit: string) =>
  readFileSync(audit, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.event === "deletion");

/** Whether the audit log records the approval of this item of SEED.inboundCall (written just before its DELETE is queued). */
const confirmed = (audit: string, contentKey: string) =>
  readFileSync(audit, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .some((r) => r.event === "decision" && r.outcome === "confirmed" && r.guid === SEED.inboundCall && r.contentKey === contentKey);

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Calls a tool with a progressToken, collecting the notifications; `onProgress` may act on them. */
async function callWithProgress(
  c: Connected,
  name: string,
  args: Record<string, unknown>,
  options: { signal?: AbortSignal; onProgress?: (p: Progress) => void } = {},
): Promise<{ result?: CallToolResult; error?: unknown; progress: Progress[] }> {
  const progress: Progress[] = [];
  try {
    const result = (await c.client.callTool({ name, arguments: args }, undefined, {
      signal: options.signal,
      onprogress: (p) => {
        progress.push(p);
        options.onProgress?.(p);
      },
    })) as CallToolResult;
    return { result, progress };
  } catch (error) {
    return { error, progress };
  }
}

const increasing = (progress: Progress[]) => progress.every((p, i) => i === 0 || p.progress > (progress[i - 1]?.progress ?? -1));

describe("progress while waiting", () => {
  it("a Retry-After wait is announced, then the deletion completes", async () => {
    const { c } = await server();
    h.sim.injectFaults("delete-content", { status: 429, retryAfter: "1" });
    const { result, progress } = await callWithProgress(c, "delete_interaction_content", TARGET);
    expect(structured(result as CallToolResult)).toMatchObject({ status: "deleted" });
    const waits = progress.filter((p) => /trying again in 1\.0 s as the API asked \(Retry-After\)/.test(p.message ?? ""));
    expect(waits).toHaveLength(1);
    expect(waits[0]?.message).toMatch(/HTTP 429, rate_limited/);
    expect(increasing(progress)).toBe(true);
    expect(progress.every((p) => p.total === 1 && p.progress < 1)).toBe(true);
  });

  it("a backoff after a 503 is announced", async () => {
    const { c } = await server({ VCC_RETRY_BASE_MS: "10" });
    h.sim.injectFaults("delete-content", { status: 503 });
    const { result, progress } = await callWithProgress(c, "delete_interaction_content", TARGET);
    expect(structured(result as CallToolResult)).toMatchObject({ status: "deleted" });
    expect(progress.map((p) => p.message)).toContainEqual(
      expect.stringMatching(/^Attempt 1 failed \(HTTP 503, upstream_error\); trying again in/),
    );
  });

  it("a slow answer is announced while it is awaited", async () => {
    const { c } = await server();
    h.sim.injectFaults("delete-content", { latencyMs: SLOW_MS });
    const { result, progress } = await callWithProgress(c, "delete_interaction_content", TARGET);
    expect(structured(result as CallToolResult)).toMatchObject({ status: "deleted" });
    expect(progress.map((p) => p.message)).toContainEqual(expect.stringMatching(/Still waiting for the VCC API to answer/));
    expect(increasing(progress)).toBe(true);
  });

  it("bulk: waits within an item stay between that item's step and the next", async () => {
    const { c } = await server();
    h.sim.injectFaults("delete-content", {}, { status: 429, retryAfter: "0" });
    const items = [TARGET, { guid: SEED.inboundCall, contentKey: "transcript" }, { guid: SEED.chat, contentKey: "chatTranscript" }];
    const { result, progress } = await callWithProgress(c, "bulk_delete_interaction_content", { items });
    expect(structured(result as CallToolResult)).toMatchObject({ status: "deleted", deleted: 3 });
    expect(increasing(progress)).toBe(true);
    const wait = progress.find((p) => /Retry-After/.test(p.message ?? ""));
    expect(wait?.progress).toBeGreaterThan(1);
    expect(wait?.progress).toBeLessThan(2);
    expect(progress.filter((p) => Number.isInteger(p.progress)).map((p) => p.progress)).toEqual([0, 1, 2]);
  });
});

describe("cancellation", () => {
  it("in flight: the request is aborted, nothing is retried, and the audit says the outcome is unknown", async () => {
    const { c, audit } = await server();
    h.sim.injectFaults("delete-content", { latencyMs: SLOW_MS });
    const controller = new AbortController();
    // Cancelled once the server says it is still waiting for the DELETE's answer: it is in flight.
    const { error } = await callWithProgress(c, "delete_interaction_content", TARGET, {
      signal: controller.signal,
      onProgress: (p) => {
        if (/Still waiting/.test(p.message ?? "")) controller.abort();
      },
    });
    expect(error).toBeDefined();
    await until(() => deletions(audit).length === 1, "the audit record");
    expect(deletions(audit)[0]).toMatchObject({ outcome: "error", errorCode: "cancelled", outcomeUnknown: true, attempts: 1 });
    await until(
      () => /the outcome of deleting content 'callRecording' of interaction .* is unknown/.test(c.stderr()),
      "the warning on stderr",
    );
    await h.sim.idle();
    expect(h.sim.requests("DELETE")).toHaveLength(1);
  });

  it("while waiting to retry: no request in flight, so nothing was deleted, and no further attempt", async () => {
    // The 5 s wait is real (the cancellation ends it): a shortened one could end before the cancellation arrives.
    const { c, audit } = await server({}, true);
    h.sim.setStandingFault("delete-content", { status: 429, retryAfter: "5" });
    const controller = new AbortController();
    const { error } = await callWithProgress(c, "delete_interaction_content", TARGET, {
      signal: controller.signal,
      onProgress: (p) => {
        if (/trying again/.test(p.message ?? "")) controller.abort();
      },
    });
    expect(error).toBeDefined();
    await until(() => deletions(audit).length === 1, "the audit record");
    const record = deletions(audit)[0];
    expect(record).toMatchObject({ outcome: "error", errorCode: "cancelled", attempts: 1 });
    expect(record?.outcomeUnknown).toBeUndefined();
    expect(h.sim.requests("DELETE")).toHaveLength(1);
    expect(h.sim.holds(TARGET.guid, "callRecording")).toBe(true);
  });
});

describe("bulk deletion against the rate limit", () => {
  it("every item is deleted exactly once, each 429 followed by a wait of at least its Retry-After", async () => {
    // Real waits: the test measures them.
    const { c, audit } = await server({}, true);
    const items = [
      { guid: SEED.inboundCall, contentKey: "callRecording" },
      { guid: SEED.inboundCall, contentKey: "transcript" },
      { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail },
      { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.legacyVoicemail },
      { guid: SEED.screenRecording, contentKey: SEED_ITEM_KEYS.screenRecording },
      { guid: SEED.chat, contentKey: "chatTranscript" },
    ];
    const before = structuredClone([...h.sim.interactions()]);
    // Four requests a second, lookups included (twelve requests in all); the simulator answers 429
    // with Retry-After beyond that.
    h.sim.setRateLimit(4);
    const result = await c.call("bulk_delete_interaction_content", { items });
    expect(structured(result)).toMatchObject({ status: "deleted", deleted: 6, failed: 0 });

    const sent = h.sim.requests("DELETE");
    const succeeded = sent.filter((r) => r.status === 204).map((r) => r.path);
    expect(succeeded).toHaveLength(items.length);
    expect(new Set(succeeded).size).toBe(items.length);
    const journal = h.sim.journal;
    const limited = journal.map((r, index) => ({ r, index })).filter(({ r }) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    // Paced by Retry-After (at least 1 s from the simulator): the retry of a refused request comes no sooner.
    for (const { r: refused, index } of limited) {
      const retry = journal.slice(index + 1).find((r) => r.path === refused.path && r.method === refused.method);
      expect(retry, `${refused.method} ${refused.path} was retried`).toBeDefined();
      expect(Date.parse(retry?.time ?? "") - Date.parse(refused.time)).toBeGreaterThanOrEqual(1000);
    }
    expect(deletions(audit).map((r) => r.outcome)).toEqual(Array(items.length).fill("deleted"));
    // Nothing else changed.
    const keys = new Set(items.map((i) => `${i.guid}/${i.contentKey}`));
    const expected = before.map((i) => ({ ...i, content: i.content.filter((x) => !keys.has(`${i.guid}/${x.contentKey}`)) }));
    expect([...h.sim.interactions()]).toEqual(expected);
  });
});

describe("one deletion at a time across calls", () => {
  it("parallel calls (as an assistant may make them) reach the API one after another, never concurrently", async () => {
    const { c, audit } = await server();
    h.sim.setStandingFault("delete-content", { latencyMs: 150 });
    const items = [
      { guid: SEED.inboundCall, contentKey: "callRecording" },
      { guid: SEED.inboundCall, contentKey: "transcript" },
      { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail },
    ];
    const results = await Promise.all(items.map((args) => c.call("delete_interaction_content", args)));
    for (const r of results) expect(structured(r).status).toBe("deleted");
    const sent = h.sim.requests("DELETE");
    // The simulator answers a deletion that overlaps another with 429, as VCC does: none did.
    expect(sent.map((e) => e.status)).toEqual([204, 204, 204]);
    expect(deletions(audit).map((r) => r.attempts)).toEqual([1, 1, 1]);
  });

  it("a call cancelled while waiting for its turn sends nothing", async () => {
    const { c, audit } = await server();
    // The first DELETE stays in flight until released: the second call cannot get its turn before the abort.
    h.sim.injectFaults("delete-content", { hold: true });
    const first = c.call("delete_interaction_content", TARGET);
    await until(() => h.sim.requests("DELETE").length === 1, "the first DELETE");
    const controller = new AbortController();
    const second = c.client
      .callTool({ name: "delete_interaction_content", arguments: { guid: SEED.inboundCall, contentKey: "transcript" } }, undefined, {
        signal: controller.signal,
      })
      .catch((e: unknown) => e);
    await until(() => confirmed(audit, "transcript"), "the second call's approval (just before it waits for its turn)");
    controller.abort();
    await second;
    h.sim.release();
    expect(structured(await first).status).toBe("deleted");
    await h.sim.idle();
    expect(h.sim.requests("DELETE")).toHaveLength(1);
    expect(h.sim.holds(SEED.inboundCall, "transcript")).toBe(true);
  });
});

describe("a token whose deletion was never sent", () => {
  it("stays usable when the call is cancelled while waiting for its turn", async () => {
    const { c, audit } = await server({ VCC_CONFIRMATION: "token" });
    const other = { guid: SEED.inboundCall, contentKey: "transcript" };
    const token = structured(await c.call("delete_interaction_content", other)).confirmationToken;
    const first = structured(await c.call("delete_interaction_content", TARGET)).confirmationToken;
    // Held in flight until released: the waiting call cannot get its turn before the abort.
    h.sim.injectFaults("delete-content", { hold: true });
    const slow = c.call("delete_interaction_content", { ...TARGET, confirmationToken: first });
    await until(() => h.sim.requests("DELETE").length === 1, "the first DELETE");
    const controller = new AbortController();
    const waiting = c.client
      .callTool({ name: "delete_interaction_content", arguments: { ...other, confirmationToken: token } }, undefined, {
        signal: controller.signal,
      })
      .catch((e: unknown) => e);
    await until(() => confirmed(audit, "transcript"), "the waiting call's token accepted (just before it waits for its turn)");
    controller.abort();
    await waiting;
    h.sim.release();
    expect(structured(await slow).status).toBe("deleted");
    const again = await c.call("delete_interaction_content", { ...other, confirmationToken: token });
    expect(structured(again).status).toBe("deleted");
    expect(h.sim.requests("DELETE")).toHaveLength(2);
  });
});
