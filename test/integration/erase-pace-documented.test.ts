// An erasure job against the rate limit as VCC documents it: a 429 that says nothing of how long to
// wait (no Retry-After). The job learns the pace the API accepted in the window before
// (VCC_RATE_LIMIT_WINDOW_MS), waits until that allows the refused DELETE, and then keeps to it.
import { expect, it, vi } from "vitest";
import { SEED } from "../../src/simulator/seed.js";
import { decideOnPage } from "../helpers/approval-page.js";
import { deletesByPath, useJobDataDir } from "../helpers/jobs.js";
import { structured, textOf } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator({ extraInteractions: 20, retryAfterHeader: false });
const CRITERIA = { connectFrom: "+441632960101", from: "2026-11-20T09:00:00Z", to: "2026-11-20T11:00:00Z", contentTypes: ["all"] };

const data = useJobDataDir();

/** The window of startSlowJob's rate limit: 3 requests in any 8 s (22.5 a minute). */
const WINDOW = 8_000;

/** A server whose job of 40 items meets a limit of 3 DELETEs in any WINDOW (429s without Retry-After). */
async function startSlowJob() {
  const c = await h.inProcess({
    env: { VCC_DATA_DIR: data.dir(), VCC_CONFIRMATION: "token", VCC_RATE_LIMIT_WINDOW_MS: String(WINDOW), VCC_RETRY_BASE_MS: "1" },
  });
  const asked = structured(await c.call("erase_interaction_content", CRITERIA));
  h.sim.setRateLimit({ limit: 3, windowMs: WINDOW });
  const started = structured(await c.call("erase_interaction_content", { ...CRITERIA, confirmationToken: asked.confirmationToken }));
  return { c, started };
}

it("40 DELETEs at 10 requests in any second, 429s without Retry-After: at most three 429s, every item deleted once, the job completed", async () => {
  const c = await h.inProcess({
    env: { VCC_DATA_DIR: data.dir(), VCC_CONFIRMATION: "token", VCC_RATE_LIMIT_WINDOW_MS: "1000", VCC_RETRY_BASE_MS: "1" },
  });
  const asked = structured(await c.call("erase_interaction_content", CRITERIA));
  expect(asked.plan.items).toBe(40);
  h.sim.setRateLimit({ limit: 10, windowMs: 1_000 });
  const started = structured(await c.call("erase_interaction_content", { ...CRITERIA, confirmationToken: asked.confirmationToken }));
  let job: { status: string; failed: number } | undefined;
  await vi.waitFor(
    async () => {
      job = structured(await c.call("get_erasure_job", { jobId: started.jobId })).job;
      expect(job?.status).not.toBe("running");
    },
    { timeout: 15_000, interval: 100 },
  );
  expect(job?.status).toBe("completed");
  const deletes = h.deletes();
  expect(deletes.filter((d) => d.status === 429).length).toBeGreaterThanOrEqual(1);
  // Two, or three when a stalled event loop bunched the answers the pace is learned from (then relearned); unpaced, many more.
  expect(deletes.filter((d) => d.status === 429).length).toBeLessThanOrEqual(3);
  expect([...deletesByPath(h.sim).values()].map((entries) => entries.filter((e) => e.status === 204).length)).toEqual(Array(40).fill(1));
}, 20_000);

it("a cancellation while the job waits for the API's pace ends it without that wait, and no DELETE is sent after it", async () => {
  const { c, started } = await startSlowJob();
  // The 4th DELETE meets the limit and gets a short backoff; its retry meets it again (a second 429 in a
  // row), and only then does the job learn the pace and wait most of the window for it.
  await vi.waitFor(() => expect(h.deletes().filter((d) => d.status === 429).length).toBeGreaterThanOrEqual(2), {
    timeout: 10_000,
    interval: 20,
  });
  const sent = h.deletes().length;
  const cancelledAt = Date.now();
  expect(structured(await c.call("cancel_erasure_job", { jobId: started.jobId })).job.cancelRequested).toBe(true);
  let job: { status: string; endedAt?: string } | undefined;
  await vi.waitFor(
    async () => {
      job = structured(await c.call("get_erasure_job", { jobId: started.jobId })).job;
      expect(job?.status).toBe("cancelled");
    },
    { timeout: 15_000, interval: 50 },
  );
  // Ended without waiting out the window, and nothing reached the API after the cancellation.
  expect(Date.parse(job?.endedAt ?? "") - cancelledAt).toBeLessThan(WINDOW / 2);
  expect(h.deletes()).toHaveLength(sent);
}, 30_000);

it("one 429 alone (e.g. another deletion in progress) gets a short backoff, not the minute's pace: the job goes on at full speed", async () => {
  const c = await h.inProcess({ env: { VCC_DATA_DIR: data.dir(), VCC_CONFIRMATION: "token", VCC_RETRY_BASE_MS: "1" } });
  const asked = structured(await c.call("erase_interaction_content", CRITERIA));
  // The job's 4th DELETE meets it, after three were accepted (a pace to learn, were one 429 enough);
  // queued before the job starts, so that the job cannot end first.
  h.sim.injectFaults("delete-content", {}, {}, {}, { status: 429, body: JSON.stringify({ message: "Another deletion is in progress" }) });
  const started = structured(await c.call("erase_interaction_content", { ...CRITERIA, confirmationToken: asked.confirmationToken }));
  // With the pace of a minute learned from it, the job would wait most of a minute here.
  await vi.waitFor(async () => expect(structured(await c.call("get_erasure_job", { jobId: started.jobId })).job.status).toBe("completed"), {
    timeout: 15_000,
    interval: 100,
  });
  expect(h.deletes().filter((d) => d.status === 429)).toHaveLength(1);
  expect([...deletesByPath(h.sim).values()].map((entries) => entries.filter((e) => e.status === 204).length)).toEqual(Array(40).fill(1));
}, 30_000);

it("a bulk deletion keeps to the pace after the second 429 in a row: every item deleted once, none failed, the waits told as progress", async () => {
  const WINDOW = 2_000;
  const c = await h.inProcess({
    env: { VCC_CONFIRMATION: "token", VCC_RATE_LIMIT_WINDOW_MS: String(WINDOW), VCC_RETRY_BASE_MS: "1" },
  });
  const { contentTypes: _all, ...period } = CRITERIA;
  const found = structured(await c.call("search_interactions", { ...period, maxResults: 4 }));
  const items = found.interactions.flatMap((i: { guid: string; content: { contentKey: string }[] }) =>
    i.content.map((x) => ({ guid: i.guid, contentKey: x.contentKey })),
  );
  expect(items).toHaveLength(8);
  const asked = structured(await c.call("bulk_delete_interaction_content", { items }));
  h.sim.reset();
  h.sim.setRateLimit({ limit: 3, windowMs: WINDOW });
  const progress: string[] = [];
  const done = await c.call(
    "bulk_delete_interaction_content",
    { items, confirmationToken: asked.confirmationToken },
    {
      onprogress: (p: { message?: string }) => progress.push(p.message ?? ""),
    },
  );
  expect(structured(done)).toMatchObject({ status: "deleted", deleted: 8, failed: 0 });
  expect(h.deletes().filter((d) => d.status === 429).length).toBeLessThanOrEqual(2);
  expect(progress.some((m) => /Waiting .* for the API's rate limit|when the API's rate limit should accept it again/.test(m))).toBe(true);
  // Each item's own step is told, also after a wait for the pace.
  expect(progress.filter((m) => /^Deleting \d of 8/.test(m))).toHaveLength(8);
}, 30_000);

it("planning held up by the rate limit longer than a request may wait: it waits for the API and goes on where it stopped", async () => {
  const WINDOW = 1_500;
  const c = await h.inProcess({
    env: {
      VCC_DATA_DIR: data.dir(),
      VCC_CONFIRMATION: "token",
      VCC_RATE_LIMIT_WINDOW_MS: String(WINDOW),
      VCC_RETRY_BASE_MS: "1",
      // A request's whole time is shorter than the window: its retries cannot wait the pace out.
      VCC_DEADLINE_MS: "500",
    },
  });
  h.sim.setRateLimit({ limit: 3, windowMs: WINDOW });
  const progress: string[] = [];
  const values: number[] = [];
  // Eight weeks: eight requests, at three in any window.
  const weeks = { ...CRITERIA, from: "2026-09-26T11:00:00Z", to: "2026-11-20T11:00:00Z" };
  const asked = await c.call("erase_interaction_content", weeks, {
    onprogress: (p: { message?: string; progress: number }) => {
      progress.push(p.message ?? "");
      values.push(p.progress);
    },
  });
  expect(structured(asked), JSON.stringify(structured(asked)).slice(0, 400)).toMatchObject({ status: "confirmation_required" });
  expect(structured(asked).plan.items).toBeGreaterThanOrEqual(40);
  expect(h.sim.requests("GET", "list-interactions").some((e) => e.status === 429)).toBe(true);
  expect(progress.some((m) => /Waiting .* for the API's rate limit/.test(m))).toBe(true);
  // Progress increases with every notification, the waits between windows included (MCP requires it).
  for (let i = 1; i < values.length; i++) expect(values[i], progress[i]).toBeGreaterThan(values[i - 1] ?? -1);
}, 30_000);

it("while the job keeps to the learned pace, its estimate uses that pace, and the text says so", async () => {
  const { c, started } = await startSlowJob();
  // The second 429 in a row teaches the pace: 3 in any 8 s, 22.5 a minute.
  const got = await vi.waitFor(
    async () => {
      const answer = await c.call("get_erasure_job", { jobId: started.jobId });
      expect(structured(answer).job.rateLimitPerMinute).toBeDefined();
      return answer;
    },
    { timeout: 10_000, interval: 50 },
  );
  const job = structured(got).job;
  expect(h.deletes().filter((d) => d.status === 429).length).toBeGreaterThanOrEqual(2);
  expect(job).toMatchObject({ status: "running", rateLimitPerMinute: 22.5 });
  expect(job.itemsPerMinute).toBeGreaterThan(22.5);
  const remaining = job.progress.remaining;
  expect(job.estimatedSecondsLeft).toBe(Math.ceil((remaining / 22.5) * 60));
  expect(textOf(got)).toContain("the API's rate limit now allows about 22.5 a minute");
  await c.call("cancel_erasure_job", { jobId: started.jobId });
}, 30_000);

it("a deletion refused by the rate limit at every attempt deleted nothing: the person's token still works; after a gateway error it does not", async () => {
  const c = await h.inProcess({ env: { VCC_CONFIRMATION: "token", VCC_RETRY_BASE_MS: "1", VCC_MAX_RETRIES: "1" } });
  const { contentTypes: _all, ...period } = CRITERIA;
  const first = structured(await c.call("search_interactions", { ...period, maxResults: 2 })).interactions as {
    guid: string;
    content: { contentKey: string }[];
  }[];
  const [a, b] = first.map((i) => ({ guid: i.guid, contentKey: i.content[0]?.contentKey ?? "" }));
  if (!a || !b) throw new Error("the sample has too few interactions");
  const limited = { status: 429, body: JSON.stringify({ message: "Too many requests" }) };

  const askedA = structured(await c.call("delete_interaction_content", a));
  h.sim.injectFaults("delete-content", limited, limited);
  const refused = await c.call("delete_interaction_content", { ...a, confirmationToken: askedA.confirmationToken });
  expect(structured(refused).error).toMatchObject({ code: "rate_limited" });
  expect(JSON.stringify(refused.content)).toContain("the confirmation token was not used up");
  expect(structured(await c.call("delete_interaction_content", { ...a, confirmationToken: askedA.confirmationToken }))).toMatchObject({
    status: "deleted",
  });

  // A 500 first (it may have been carried out), then a 429: the token is spent.
  const askedB = structured(await c.call("delete_interaction_content", b));
  h.sim.injectFaults("delete-content", { status: 500 }, limited);
  const unknown = await c.call("delete_interaction_content", { ...b, confirmationToken: askedB.confirmationToken });
  expect(structured(unknown).error).toMatchObject({ outcomeUnknown: true });
  expect(JSON.stringify(unknown.content)).not.toContain("not used up");
  expect(structured(await c.call("delete_interaction_content", { ...b, confirmationToken: askedB.confirmationToken })).error).toMatchObject(
    {
      code: "confirmation_invalid",
    },
  );
});

it("approved on the page in the same call (URL mode), a deletion refused by the rate limit at every attempt does not tell of a token the model never saw", async () => {
  let offered: string | undefined;
  let clicked: Promise<unknown> | undefined;
  const c = await h.inProcess({
    env: { VCC_CONFIRMATION: "approval", VCC_RETRY_BASE_MS: "1", VCC_MAX_RETRIES: "1" },
    elicitUrl: ({ url }) => {
      offered = url;
      return { action: "accept" };
    },
  });
  const limited = { status: 429, body: JSON.stringify({ message: "Too many requests" }) };
  h.sim.injectFaults("delete-content", limited, limited);
  const refused = await c.call(
    "delete_interaction_content",
    { guid: SEED.inboundCall, contentKey: "callRecording" },
    {
      // The person opens the link and approves while the call waits.
      onprogress: () => {
        if (offered) clicked ??= decideOnPage(offered, "approve");
      },
    },
  );
  expect(((await clicked) as { status: number }).status).toBe(303);
  expect(structured(refused).error).toMatchObject({ code: "rate_limited" });
  expect(h.deletes().map((d) => d.status)).toEqual([429, 429]);
  expect(JSON.stringify(refused.content)).not.toContain("not used up");
  expect(structured(refused).confirmationToken).toBeUndefined();
});
