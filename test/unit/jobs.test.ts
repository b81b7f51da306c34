// The erasure-job engine against the in-process simulator over real HTTP, through the real VccClient.
import { existsSync } from "node:fs";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { DiskJobRecords } from "../../src/jobs/disk-store.js";
import { type DeleteItem, ErasureJobs, type ErasureJobsOptions, type JobEvent, type JobView } from "../../src/jobs/engine.js";
import { JournalFile } from "../../src/jobs/files.js";
import { replayJournal } from "../../src/jobs/journal.js";
import type { Plan, PlanItem, ProposedPlan } from "../../src/jobs/plan.js";
import { type Receipt, verifyReceipt } from "../../src/jobs/receipt.js";
import { jobAuditRecord } from "../../src/jobs/service.js";
import { vccDeleteItem } from "../../src/jobs/vcc.js";
import { SEED, type Simulator, startSimulator } from "../../src/simulator/server.js";
import { staticTokens } from "../../src/vcc/auth.js";
import { VccClient } from "../../src/vcc/client.js";
import { addContent, deletePath, deletesByPath, generated, simItems, tempDataDir } from "../helpers/jobs.js";

const CRITERIA = { party: "+441632960101", contentTypes: ["all"] };
const FAIL_500 = { status: 500, body: JSON.stringify({ message: "Simulated 500" }) };

let sim: Simulator;
let client: VccClient;
let data: { dir: string; cleanup: () => Promise<void> };
const engines: ErasureJobs[] = [];

beforeAll(async () => {
  sim = await startSimulator({ extraInteractions: 4 });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(async () => {
  sim.reset();
  client = new VccClient({
    apiBaseUrl: sim.apiBaseUrl,
    timeoutMs: 5_000,
    tokens: staticTokens("sandbox-token"),
    retry: { maxRetries: 0, deadlineMs: 10_000, baseDelayMs: 1 },
  });
  data = await tempDataDir();
});
afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.close();
  await client.close();
  await data.cleanup();
});

async function openEngine(options: Partial<ErasureJobsOptions> = {}): Promise<{ jobs: ErasureJobs; events: JobEvent[] }> {
  const events: JobEvent[] = [];
  const { onEvent, ...rest } = options;
  const jobs = await ErasureJobs.open({
    dataDir: data.dir,
    deleteItem: vccDeleteItem(client),
    ...rest,
    onEvent: async (event) => {
      events.push(event);
      await onEvent?.(event);
    },
  });
  engines.push(jobs);
  return { jobs, events };
}

async function propose(jobs: ErasureJobs, items: PlanItem[] = simItems(sim, generated)): Promise<ProposedPlan> {
  const proposed = await jobs.propose({ items, criteria: CRITERIA });
  if (!proposed.ok) throw new Error(proposed.error.message);
  return proposed.plan;
}

async function startJob(jobs: ErasureJobs, plan: ProposedPlan): Promise<string> {
  const started = await jobs.start(plan, { method: "approval", approvedBy: "dpo@example.com" });
  if (!started.ok) throw new Error(started.error.message);
  return started.job.jobId;
}

async function readReceipt(view: JobView): Promise<{ text: string; receipt: Receipt; markdown: string }> {
  if (!view.receipt) throw new Error(`job ${view.jobId} has no receipt (${view.status})`);
  const text = await readFile(view.receipt.json, "utf8");
  return { text, receipt: JSON.parse(text) as Receipt, markdown: await readFile(view.receipt.markdown, "utf8") };
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

/** An API client whose credentials the API refuses (401). */
const refusedClient = () =>
  new VccClient({
    apiBaseUrl: sim.apiBaseUrl,
    timeoutMs: 5_000,
    tokens: staticTokens("not-a-valid-token"),
    retry: { maxRetries: 0, deadlineMs: 5_000, baseDelayMs: 1 },
  });

describe("erasure jobs", () => {
  it("runs an approved plan to completion: one 204 per item, nothing else touched, a receipt whose hash verifies", async () => {
    const { jobs, events } = await openEngine();
    const plan = await propose(jobs);
    expect(plan.totals).toMatchObject({ interactions: 4, items: 8, itemsOfUnknownSize: 0 });
    expect(plan.totals.byType).toEqual({ callRecording: { items: 4, bytes: 4 * 1_048_576 }, transcript: { items: 4, bytes: 4 * 8_192 } });
    expect(plan.totals.firstInteractionStart).toBe("2026-11-20T10:00:00.000Z");
    // Recorded after planning: not in the plan, never touched.
    const later = {
      contentKey: "e1e1e1e1-0000-4000-8000-000000000001",
      type: "voicemail",
      contentType: "audio/wav",
      contentLength: 10,
      lastModified: "2026-12-01T00:00:00.000Z",
    };
    addContent(sim, plan.items[0]?.guid ?? "", later);

    const jobId = await startJob(jobs, plan);
    const view = await jobs.settled(jobId);
    expect(view.status).toBe("completed");
    expect(view.progress).toEqual({ done: 8, deleted: 8, alreadyGone: 0, dryRun: 0, failed: 0, outcomeUnknown: 0, remaining: 0 });

    const byPath = deletesByPath(sim);
    expect(byPath.size).toBe(8);
    for (const item of plan.items) expect(byPath.get(deletePath(sim, item))?.map((e) => e.status)).toEqual([204]);
    expect(sim.holds(plan.items[0]?.guid ?? "", later.contentKey)).toBe(true);
    expect(sim.holds(SEED.inboundCall, "callRecording")).toBe(true);

    const { text, receipt, markdown } = await readReceipt(view);
    expect(verifyReceipt(text)).toBe(true);
    expect(receipt).toMatchObject({ jobId, status: "completed", dryRun: false, criteria: CRITERIA });
    expect(receipt.approval).toMatchObject({ method: "approval", approvedBy: "dpo@example.com" });
    expect(receipt.totals).toMatchObject({ items: 8, deleted: 8, bytesDeleted: 4 * (1_048_576 + 8_192) });
    expect(receipt.items.every((i) => i.outcome === "deleted" && i.httpStatus === 204 && i.deleteCalls === 1 && i.time)).toBe(true);
    expect(markdown).toContain(receipt.sha256);
    expect(markdown).toContain("dpo@example.com");
    expect(verifyReceipt(text.replace('"deleted": 8', '"deleted": 9'))).toBe(false);

    expect(events.map((e) => (e.type === "item" ? `item:${e.phase}` : e.type))).toEqual([
      "plan",
      "approval",
      "start",
      ...Array.from({ length: 8 }, () => ["item:started", "item:outcome"]).flat(),
      "finish",
    ]);
    expect(events.at(-1)).toMatchObject({ type: "finish", status: "completed", receiptSha256: receipt.sha256 });
  });

  it("team server: the requester and the approver are in the plan, the hashed receipt and the audit trail", async () => {
    const { jobs, events } = await openEngine();
    const requester = { subject: "alice", issuer: "https://idp.example.test", name: "Alice Asker", email: "alice@example.test" };
    const approver = { subject: "bob", issuer: "https://idp.example.test", name: "Bob Approver" };
    const proposed = await jobs.propose({ items: simItems(sim, generated), criteria: CRITERIA, requester });
    if (!proposed.ok) throw new Error(proposed.error.message);
    expect(proposed.plan.requester).toEqual(requester);
    const started = await jobs.start(proposed.plan, { method: "approval", approvedBy: "Bob Approver", approver });
    if (!started.ok) throw new Error(started.error.message);
    const view = await jobs.settled(started.job.jobId);
    const stored = JSON.parse(await readFile(join(data.dir, "jobs", view.jobId, "plan.json"), "utf8")) as ProposedPlan;
    expect(stored.requester).toEqual(requester);
    const { text, receipt, markdown } = await readReceipt(view);
    expect(receipt.requester).toEqual(requester);
    expect(receipt.approval.approver).toEqual(approver);
    expect(verifyReceipt(text)).toBe(true);
    // Changing who asked breaks the hash: the record of who did what cannot be edited unnoticed.
    expect(verifyReceipt(text.replace('"subject": "alice"', '"subject": "mallory"'))).toBe(false);
    expect(markdown).toContain("Requested by: Alice Asker <alice@example.test>, subject alice at https://idp.example.test");
    expect(markdown).toContain("Bob Approver, subject bob at https://idp.example.test");
    // The audit trail's approval record says who approved, and the event who asked.
    const approval = events.find((e) => e.type === "approval");
    expect(approval).toMatchObject({ requester });
    if (!approval) throw new Error("no approval event");
    expect(jobAuditRecord(approval)).toMatchObject({ action: "approval", confirmation: "approval", approver });
  });

  it("keeps its files private: 0700 directories, 0600 files", async () => {
    const { jobs } = await openEngine();
    const view = await jobs.settled(await startJob(jobs, await propose(jobs)));
    const jobDir = join(data.dir, "jobs", view.jobId);
    expect(await mode(data.dir)).toBe(0o700);
    expect(await mode(join(data.dir, "jobs"))).toBe(0o700);
    expect(await mode(jobDir)).toBe(0o700);
    for (const file of ["plan.json", "journal.jsonl", "receipt.json", "receipt.md"]) expect(await mode(join(jobDir, file))).toBe(0o600);
  });

  it("cancel stops after the item in flight; an item started but not yet sent is not sent; the receipt lists the rest as not attempted", async () => {
    let jobs: ErasureJobs | undefined;
    const opened = await openEngine({
      onEvent: async (event) => {
        if (event.type === "item" && event.phase === "started" && event.index === 2) {
          const cancelled = await jobs?.cancel(event.jobId);
          expect(cancelled?.ok && cancelled.job).toMatchObject({ status: "running", cancelRequested: true });
        }
      },
    });
    jobs = opened.jobs;
    const plan = await propose(jobs);
    const view = await jobs.settled(await startJob(jobs, plan));
    expect(view.status).toBe("cancelled");
    // Item 2's start was recorded when the cancellation came, its DELETE not yet sent: it is not sent.
    expect(view.progress).toMatchObject({ deleted: 2, remaining: 6 });
    expect(sim.requests("DELETE")).toHaveLength(2);
    const { text, receipt } = await readReceipt(view);
    expect(verifyReceipt(text)).toBe(true);
    expect(receipt.items.map((i) => i.outcome)).toEqual([...Array(2).fill("deleted"), ...Array(6).fill("not_attempted")]);
    expect(receipt.items[2]).toMatchObject({
      deleteCalls: 0,
      errorCode: "cancelled",
      message: expect.stringMatching(/before it was sent/),
    });
    expect(opened.events.filter((e) => e.type === "cancel")).toHaveLength(1);
    expect(await jobs.cancel(view.jobId)).toMatchObject({ ok: false, error: { code: "invalid_input" } });
    expect(await jobs.get("../../etc")).toMatchObject({ ok: false, error: { code: "not_found" } });
  });

  it("a cancellation at the last item's start, before its DELETE: the job is cancelled (not completed), the item not attempted", async () => {
    let jobs: ErasureJobs | undefined;
    const opened = await openEngine({
      onEvent: async (event) => {
        if (event.type === "item" && event.phase === "started" && event.index === 7) await jobs?.cancel(event.jobId);
      },
    });
    jobs = opened.jobs;
    const view = await jobs.settled(await startJob(jobs, await propose(jobs)));
    expect(view.status).toBe("cancelled");
    expect(sim.requests("DELETE")).toHaveLength(7);
    const { receipt } = await readReceipt(view);
    expect(receipt.items[7]).toMatchObject({ outcome: "not_attempted", deleteCalls: 0 });
    expect(receipt.totals).toMatchObject({ deleted: 7, notAttempted: 1, failed: 0 });
  });

  it("the engine closing (a shutdown) at the last item's start: the job is left interrupted and resumable, not ended", async () => {
    let jobs: ErasureJobs | undefined;
    let closing: Promise<void> | undefined;
    const opened = await openEngine({
      onEvent: async (event) => {
        if (event.type === "item" && event.phase === "started" && event.index === 7) closing = jobs?.close();
      },
    });
    jobs = opened.jobs;
    const jobId = await startJob(jobs, await propose(jobs));
    await vi.waitFor(() => expect(closing).toBeDefined(), { timeout: 10_000 });
    await closing;
    expect(sim.requests("DELETE")).toHaveLength(7);
    const { jobs: next } = await openEngine();
    const got = await next.get(jobId);
    expect(got.ok && got.job).toMatchObject({ status: "interrupted", resumable: { ok: true } });
    expect(got.ok && got.job.progress).toMatchObject({ deleted: 7, remaining: 1 });
  });

  it("a cancellation before an item whose earlier DELETE may have deleted it: that item stays of unknown outcome, and the job is cancelled, not paused", async () => {
    let jobs: ErasureJobs | undefined;
    let cancelAt: number | undefined;
    const opened = await openEngine({
      pauseAfterFailures: 1,
      onEvent: async (event) => {
        if (event.type === "item" && event.phase === "started" && event.index === cancelAt) await jobs?.cancel(event.jobId);
      },
    });
    jobs = opened.jobs;
    // Item 0's DELETE is carried out, but answered 500: its outcome is unknown, and the job pauses.
    sim.injectFaults("delete-content", { status: 500, afterAction: true });
    const jobId = await startJob(jobs, await propose(jobs));
    expect((await jobs.settled(jobId)).status).toBe("paused");
    cancelAt = 0;
    expect((await jobs.resume(jobId)).ok).toBe(true);
    const view = await jobs.settled(jobId);
    expect(view.status).toBe("cancelled");
    expect(sim.requests("DELETE")).toHaveLength(1);
    const { receipt } = await readReceipt(view);
    expect(receipt.items[0]).toMatchObject({ outcome: "unknown" });
    expect(receipt.totals).toMatchObject({ unknown: 1, notAttempted: 7 });
  });

  it("two cancellations of a paused job at once end it once: one finish line and event, both answers name the one receipt", async () => {
    const { jobs, events } = await openEngine({ pauseAfterFailures: 1 });
    sim.injectFaults("delete-content", { status: 503, body: JSON.stringify({ message: "Simulated 503" }) });
    const jobId = await startJob(jobs, await propose(jobs));
    expect((await jobs.settled(jobId)).status).toBe("paused");
    const [first, second] = await Promise.all([jobs.cancel(jobId), jobs.cancel(jobId.toUpperCase())]);
    if (!first.ok || !second.ok) throw new Error("a cancellation was refused");
    expect([first.job.status, second.job.status]).toEqual(["cancelled", "cancelled"]);
    const { receipt } = await readReceipt(first.job);
    expect(first.job.receipt?.sha256).toBe(receipt.sha256);
    expect(second.job.receipt?.sha256).toBe(receipt.sha256);
    const journal = (await readFile(join(jobs.jobsDir, jobId, "journal.jsonl"), "utf8")).trim().split("\n");
    expect(journal.map((line) => (JSON.parse(line) as { event: string }).event).filter((e) => e === "finish")).toHaveLength(1);
    expect(events.filter((e) => e.type === "finish")).toEqual([expect.objectContaining({ receiptSha256: receipt.sha256 })]);
    expect(events.filter((e) => e.type === "cancel")).toHaveLength(1);
  });

  it("pauses after 5 consecutive 5xx and resumes: the failed items are sent again, the deleted ones never", async () => {
    const { jobs, events } = await openEngine();
    const plan = await propose(jobs);
    sim.injectFaults("delete-content", {}, {}, FAIL_500, FAIL_500, FAIL_500, FAIL_500, FAIL_500);
    const jobId = await startJob(jobs, plan);
    const paused = await jobs.settled(jobId);
    expect(paused.status).toBe("paused");
    expect(paused.pause).toMatchObject({ code: "upstream_error" });
    expect(paused.pause?.reason).toMatch(/^5 deletions in a row failed/);
    // A 500 may come after the deletion was carried out: outcome unknown, not failed (as the receipt counts it).
    expect(paused.progress).toMatchObject({ deleted: 2, failed: 0, outcomeUnknown: 5, remaining: 1 });
    expect(paused.resumable).toEqual({ ok: true });
    // Failures page by page.
    const page1 = await jobs.get(jobId.toUpperCase(), { pageSize: 2 });
    const page3 = await jobs.get(jobId, { page: 3, pageSize: 2 });
    expect(page1.ok && page1.job.failures).toMatchObject({
      total: 5,
      nextPage: 2,
      items: [{ index: 2, httpStatus: 500, retryable: true }, { index: 3 }],
    });
    expect(page3.ok && page3.job.failures).toMatchObject({ total: 5, items: [{ index: 6 }] });
    expect(page3.ok && page3.job.failures.nextPage).toBeUndefined();

    // Asked twice at once: one resume runs, the other is refused.
    const [resumed, twice] = await Promise.all([jobs.resume(jobId), jobs.resume(jobId)]);
    expect(resumed.ok && resumed.job.status).toBe("running");
    expect(twice).toMatchObject({ ok: false, error: { code: "invalid_input" } });
    const view = await jobs.settled(jobId);
    expect(view.status).toBe("completed");
    const byPath = deletesByPath(sim);
    plan.items.forEach((item, index) => {
      const statuses = byPath.get(deletePath(sim, item))?.map((e) => e.status);
      expect(statuses).toEqual(index >= 2 && index < 7 ? [500, 204] : [204]);
    });
    const { receipt } = await readReceipt(view);
    expect(receipt.items.map((i) => i.deleteCalls)).toEqual([1, 1, 2, 2, 2, 2, 2, 1]);
    expect(events.filter((e) => e.type === "pause" || e.type === "resume").map((e) => e.type)).toEqual(["pause", "resume"]);
  });

  it("a call that sent nothing (e.g. refused by the allowlist) is not counted as a DELETE call in the receipt", async () => {
    const refusing: DeleteItem = async (item, signal, guard) =>
      item.contentKey === "transcript"
        ? { kind: "error", error: { code: "not_allowed", message: "not allowed here" }, notSent: true }
        : vccDeleteItem(client)(item, signal, guard);
    const { jobs } = await openEngine({ deleteItem: refusing });
    const plan = await propose(jobs);
    const view = await jobs.settled(await startJob(jobs, plan));
    const { receipt } = await readReceipt(view);
    const expected = plan.items.map((i) => (i.contentKey === "transcript" ? 0 : 1));
    expect(expected).toContain(0);
    expect(receipt.items.map((i) => i.deleteCalls)).toEqual(expected);
    // Replayed from a journal (after a restart), the same rule.
    const at = "2026-12-03T10:00:00.000Z";
    const replayed = replayJournal({ items: plan.items.slice(0, 2) } as Plan, [
      { at, event: "run", kind: "start" },
      { at, event: "item_started", index: 0 },
      {
        at,
        event: "item_outcome",
        index: 0,
        result: { outcome: "failed", code: "not_allowed", message: "x", retryable: false, notSent: true },
      },
      { at, event: "item_started", index: 1 },
      { at, event: "item_outcome", index: 1, attempts: 1, result: { outcome: "deleted", httpStatus: 204 } },
    ]);
    expect(replayed.items.map((i) => i.deleteCalls)).toEqual([0, 1]);
  });

  it("a 503 was not carried out: if the item is gone when the job is resumed, it is 'already gone', not deleted by this job", async () => {
    const { jobs } = await openEngine();
    const plan = await propose(jobs);
    const FAIL_503 = { status: 503, body: JSON.stringify({ message: "Simulated 503" }) };
    sim.injectFaults("delete-content", FAIL_503, FAIL_503, FAIL_503, FAIL_503, FAIL_503);
    const jobId = await startJob(jobs, plan);
    expect((await jobs.settled(jobId)).status).toBe("paused");
    // Someone else removes the first item meanwhile (the API has no other way: take it out of the live data).
    const [first] = plan.items;
    if (!first) throw new Error("no items");
    const interaction = sim.interactions().find((i) => i.guid === first.guid);
    const content = interaction?.content as { contentKey: string }[] | undefined;
    content?.splice(
      content.findIndex((c) => c.contentKey === first.contentKey),
      1,
    );
    expect((await jobs.resume(jobId)).ok).toBe(true);
    const view = await jobs.settled(jobId);
    const { receipt } = await readReceipt(view);
    expect(receipt.items[0]).toMatchObject({ outcome: "already_gone", httpStatus: 404 });
    expect(receipt.items.slice(1).every((i) => i.outcome === "deleted")).toBe(true);
  });

  it("fewer than 5 failures in a row do not pause: the job goes on and ends with errors", async () => {
    const { jobs } = await openEngine();
    sim.injectFaults("delete-content", FAIL_500, FAIL_500, FAIL_500, FAIL_500, {}, FAIL_500);
    const view = await jobs.settled(await startJob(jobs, await propose(jobs)));
    expect(view.status).toBe("completed_with_errors");
    expect(view.progress).toMatchObject({ deleted: 3, failed: 0, outcomeUnknown: 5 });
    const { receipt } = await readReceipt(view);
    expect(receipt.totals).toMatchObject({ deleted: 3, failed: 0, unknown: 5 });
  });

  it("records 403 and 404 and goes on; a 404 at the first call is 'already gone'", async () => {
    const { jobs } = await openEngine();
    const items = simItems(sim, generated).slice(0, 3);
    // The chat holds no call recording: the API answers 404.
    items.splice(1, 0, { guid: SEED.chat, contentKey: "callRecording" });
    sim.injectFaults("delete-content", {}, {}, { status: 403, body: JSON.stringify({ message: "Forbidden" }) });
    const view = await jobs.settled(await startJob(jobs, await propose(jobs, items)));
    expect(view.status).toBe("completed_with_errors");
    expect(view.progress).toMatchObject({ done: 3, deleted: 2, alreadyGone: 1, failed: 1, remaining: 0 });
    expect(view.failures.items).toEqual([expect.objectContaining({ index: 2, code: "forbidden", httpStatus: 403, retryable: false })]);
    const { receipt } = await readReceipt(view);
    expect(receipt.items.map((i) => [i.outcome, i.httpStatus])).toEqual([
      ["deleted", 204],
      ["already_gone", 404],
      ["failed", 403],
      ["deleted", 204],
    ]);
  });

  it("pauses at once when the API refuses the credentials (401): nothing more is sent", async () => {
    const bad = refusedClient();
    try {
      const { jobs } = await openEngine({ deleteItem: vccDeleteItem(bad) });
      const view = await jobs.settled(await startJob(jobs, await propose(jobs)));
      expect(view.status).toBe("paused");
      expect(view.pause?.code).toBe("unauthorized");
      expect(sim.requests("DELETE")).toHaveLength(1);
    } finally {
      await bad.close();
    }
  });

  it("dry run: no DELETE is sent, every item is dry_run", async () => {
    const { jobs } = await openEngine({ dryRun: true });
    const view = await jobs.settled(await startJob(jobs, await propose(jobs)));
    expect(view).toMatchObject({ status: "completed", dryRun: true, progress: { dryRun: 8, deleted: 0 } });
    expect(sim.requests("DELETE")).toHaveLength(0);
    const { receipt, markdown } = await readReceipt(view);
    expect(receipt.totals.dryRun).toBe(8);
    expect(markdown).toContain("Dry run");
  });

  it("fails closed when the audit record before a DELETE cannot be written", async () => {
    const { jobs } = await openEngine({
      onEvent: (event) => {
        if (event.type === "item" && event.phase === "started" && event.index === 1) throw new Error("disk full");
      },
    });
    const view = await jobs.settled(await startJob(jobs, await propose(jobs)));
    expect(view).toMatchObject({ status: "paused", pause: { code: "audit_failed" }, progress: { deleted: 1, remaining: 7 } });
    expect(sim.requests("DELETE")).toHaveLength(1);
  });

  it("refuses to start a job whose approval cannot be recorded", async () => {
    const { jobs } = await openEngine({
      onEvent: (event) => {
        if (event.type === "approval") throw new Error("read-only file system");
      },
    });
    const started = await jobs.start(await propose(jobs), { method: "token" });
    expect(started).toMatchObject({ ok: false, error: { code: "audit_failed" } });
    expect(await jobs.list()).toEqual([]);
    expect(sim.requests("DELETE")).toHaveLength(0);
  });

  it("reports the rate and the time left while running", async () => {
    let clock = Date.parse("2026-12-02T09:00:00.000Z");
    let during: JobView | undefined;
    let jobs: ErasureJobs | undefined;
    const opened = await openEngine({
      now: () => clock,
      onEvent: async (event) => {
        // After four items, as the fifth starts (the audit record of an outcome comes before its journal line).
        if (event.type === "item" && event.phase === "started" && event.index === 4) {
          const view = await jobs?.get(event.jobId);
          during = view?.ok ? view.job : undefined;
        }
        // Each DELETE takes 2 s of this clock: 30 a minute.
        if (event.type === "item" && event.phase === "started") clock += 2_000;
      },
    });
    jobs = opened.jobs;
    await jobs.settled(await startJob(jobs, await propose(jobs)));
    expect(during).toMatchObject({ status: "running", itemsPerMinute: 30, estimatedSecondsLeft: 8, progress: { done: 4, remaining: 4 } });
  });

  it("runs one job at a time: a second job waits for the first", async () => {
    const { jobs } = await openEngine();
    const all = simItems(sim, generated);
    const firstStarted = await jobs.start(await propose(jobs, all.slice(0, 4)), { method: "elicitation" });
    // Alone, a job is not "queued behind another job", even before its turn has begun.
    expect(firstStarted.ok && firstStarted.job.queued).toBeUndefined();
    const first = firstStarted.ok ? firstStarted.job.jobId : "";
    const second = await jobs.start(await propose(jobs, all.slice(4)), { method: "elicitation" });
    expect(second.ok && second.job).toMatchObject({ status: "running", queued: true });
    const secondId = second.ok ? second.job.jobId : "";
    expect((await jobs.settled(first)).status).toBe("completed");
    expect((await jobs.settled(secondId)).status).toBe("completed");
    // The simulator answers overlapping deletions with 429: none happened.
    expect(sim.requests("DELETE").map((e) => e.status)).toEqual(Array(8).fill(204));
  });
});

describe("a job whose process died", () => {
  /** Runs the job until item `index` is in flight, then abandons that engine as a killed process would. */
  async function dieWhileDeleting(
    index: number,
    sendFirst: boolean,
    options: { sandbox?: boolean } = {},
  ): Promise<{ jobId: string; plan: ProposedPlan }> {
    const real = vccDeleteItem(client);
    let inFlight: () => void = () => {};
    const reached = new Promise<void>((resolve) => {
      inFlight = resolve;
    });
    const dying: DeleteItem = async (item, signal) => {
      if (item.guid !== plan.items[index]?.guid || item.contentKey !== plan.items[index]?.contentKey) return real(item, signal);
      if (sendFirst) await real(item, signal);
      inFlight();
      return new Promise(() => {}); // never answers: the process is gone
    };
    const engine = await ErasureJobs.open({ dataDir: data.dir, deleteItem: dying, ...options });
    const plan = await propose(engine);
    const jobId = await startJob(engine, plan);
    await reached;
    return { jobId, plan };
  }

  for (const sendFirst of [true, false]) {
    it(`is interrupted on the next start; resume repeats only the DELETE in flight (${sendFirst ? "it had deleted the item: 404, verified by absence" : "it never arrived: 204"})`, async () => {
      const { jobId, plan } = await dieWhileDeleting(3, sendFirst);
      const { jobs, events } = await openEngine();
      const loaded = await jobs.get(jobId);
      expect(loaded.ok && loaded.job).toMatchObject({
        status: "interrupted",
        // The item in flight when the process died: it may or may not have been deleted.
        progress: { deleted: 3, outcomeUnknown: 1, remaining: 4 },
        resumable: { ok: true },
      });

      expect((await jobs.resume(jobId)).ok).toBe(true);
      const view = await jobs.settled(jobId);
      expect(view.status).toBe("completed");
      const byPath = deletesByPath(sim);
      plan.items.forEach((item, index) => {
        const statuses = byPath.get(deletePath(sim, item))?.map((e) => e.status);
        expect(statuses).toEqual(index === 3 && sendFirst ? [204, 404] : [204]);
      });
      const { text, receipt } = await readReceipt(view);
      expect(verifyReceipt(text)).toBe(true);
      expect(receipt.items[3]).toMatchObject(
        sendFirst
          ? { outcome: "deleted", httpStatus: 404, verifiedByAbsence: true, deleteCalls: 2 }
          : { outcome: "deleted", httpStatus: 204, deleteCalls: 2 },
      );
      expect(events.map((e) => e.type)).toEqual(["resume", ...Array(10).fill("item"), "finish"]);
    });
  }

  it("after a journal line could not be written, resume in the same process reports the item this job deleted as deleted (404 verified by absence), not already gone", async () => {
    const { jobs } = await openEngine();
    const plan = await propose(jobs);
    // The line after the first DELETE cannot be written (disk full): the job stops, interrupted.
    const append = JournalFile.prototype.append;
    let failed = false;
    const spy = vi.spyOn(JournalFile.prototype, "append").mockImplementation(function (this: JournalFile, entry: object) {
      if (!failed && (entry as { event?: string }).event === "item_outcome") {
        failed = true;
        return Promise.reject(new Error("ENOSPC: no space left on device"));
      }
      return append.call(this, entry);
    });
    try {
      const jobId = await startJob(jobs, plan);
      expect((await jobs.settled(jobId)).status).toBe("interrupted");
      spy.mockRestore();
      expect((await jobs.resume(jobId)).ok).toBe(true);
      const view = await jobs.settled(jobId);
      expect(view.status).toBe("completed");
      expect(view.progress).toMatchObject({ deleted: 8, alreadyGone: 0 });
      const first = plan.items[0] as PlanItem;
      expect(
        deletesByPath(sim)
          .get(deletePath(sim, first))
          ?.map((e) => e.status),
      ).toEqual([204, 404]);
      const { receipt } = await readReceipt(view);
      expect(receipt.items[0]).toMatchObject({ outcome: "deleted", httpStatus: 404, verifiedByAbsence: true, deleteCalls: 2 });
    } finally {
      spy.mockRestore();
    }
  });

  it("a DELETE in flight when the process died is still one that may have deleted the item after a later restart: a 404 then is this job's deletion, not 'already gone'", async () => {
    // The first process sent item 3's DELETE (the API deleted it) and died before recording the answer.
    const { jobId } = await dieWhileDeleting(3, true);
    // The second resumes: the repeated DELETE is refused (401), the job pauses, the process stops.
    const bad = refusedClient();
    try {
      const second = await openEngine({ deleteItem: vccDeleteItem(bad) });
      expect((await second.jobs.resume(jobId)).ok).toBe(true);
      expect((await second.jobs.settled(jobId)).pause?.code).toBe("unauthorized");
      await second.jobs.close();
    } finally {
      await bad.close();
    }
    // The third reads the journal again and resumes: the item is gone (404), deleted by this job's first call.
    const { jobs } = await openEngine();
    expect((await jobs.resume(jobId)).ok).toBe(true);
    const { receipt } = await readReceipt(await jobs.settled(jobId));
    expect(receipt.items[3]).toMatchObject({ outcome: "deleted", httpStatus: 404, verifiedByAbsence: true, deleteCalls: 3 });
  });

  it("the DELETE in flight when the process died, repeated on resume and failing (503): outcome unknown, never 'not deleted'", async () => {
    // The first process's DELETE of item 3 reached the API (deleted) and its answer was lost with the process.
    const { jobId, plan } = await dieWhileDeleting(3, true);
    const real = vccDeleteItem(client);
    const unavailable: DeleteItem = async (item, signal) =>
      item.guid === plan.items[3]?.guid && item.contentKey === plan.items[3]?.contentKey
        ? {
            kind: "error",
            attempts: 4,
            error: { code: "upstream_error", httpStatus: 503, message: `HTTP 503: ${item.contentKey} was not deleted.` },
          }
        : real(item, signal);
    const { jobs } = await openEngine({ deleteItem: unavailable });
    expect((await jobs.resume(jobId)).ok).toBe(true);
    const view = await jobs.settled(jobId);
    expect(view.progress).toMatchObject({ deleted: 7, failed: 0, outcomeUnknown: 1 });
    const { receipt, markdown } = await readReceipt(view);
    expect(receipt.items[3]).toMatchObject({ outcome: "unknown", httpStatus: 503 });
    expect(receipt.totals).toMatchObject({ unknown: 1, failed: 0 });
    expect(view.failures.items[0]?.message).toMatch(
      /An earlier attempt at this item may have deleted it .* whether it is deleted is unknown/,
    );
    expect(markdown).not.toContain("was not deleted");
  });

  it("a cancel whose process died after writing only its flag (no journal line) is a cancel: the job ends cancelled at the next start", async () => {
    const { jobId } = await dieWhileDeleting(1, true);
    await writeFile(join(data.dir, "jobs", jobId, "cancel"), "");
    const { jobs } = await openEngine();
    const loaded = await jobs.get(jobId);
    expect(loaded.ok && loaded.job.status).toBe("cancelled");
    expect((await jobs.resume(jobId)).ok).toBe(false);
  });

  it("the audit trail never misses an outcome or an end a process died before recording: outcome before journal line, end re-recorded at the next start", async () => {
    const { jobs, events } = await openEngine();
    const plan = await propose(jobs);
    // The first outcome's journal line cannot be written (the process is as good as dead there).
    const append = JournalFile.prototype.append;
    const spy = vi.spyOn(JournalFile.prototype, "append").mockImplementation(function (this: JournalFile, entry: object) {
      if ((entry as { event?: string }).event === "item_outcome") return Promise.reject(new Error("killed"));
      return append.call(this, entry);
    });
    let jobId = "";
    try {
      jobId = await startJob(jobs, plan);
      expect((await jobs.settled(jobId)).status).toBe("interrupted");
    } finally {
      spy.mockRestore();
    }
    // The DELETE's outcome reached the audit trail although the journal never got it.
    expect(events.filter((e) => e.type === "item" && e.phase === "outcome")).toEqual([
      expect.objectContaining({ index: 0, result: expect.objectContaining({ outcome: "deleted", httpStatus: 204 }) }),
    ]);
    await jobs.close();

    // A job that ended, its process dead before storing the receipt (and so, maybe, before the audit record).
    const second = await openEngine();
    expect((await second.jobs.resume(jobId)).ok).toBe(true);
    const ended = await second.jobs.settled(jobId);
    expect(second.events.filter((e) => e.type === "finish")).toHaveLength(1);
    await second.jobs.close();
    // Died after the journal's finish line, before its audit record (and so before the note of it and the receipt).
    await rm(join(data.dir, "jobs", jobId, "receipt.json"));
    await rm(join(data.dir, "jobs", jobId, "finish-recorded"));
    const third = await openEngine();
    const read = await third.jobs.get(jobId);
    expect(read.ok && read.job.receipt?.sha256).toBe(ended.receipt?.sha256);
    expect(third.events).toEqual([
      expect.objectContaining({ type: "finish", jobId, status: "completed", receiptSha256: ended.receipt?.sha256 }),
    ]);
    // Recorded once: later reads (this process or another) find the note and record nothing more.
    await third.jobs.get(jobId);
    await third.jobs.list();
    await third.jobs.close();
    const fourth = await openEngine();
    await fourth.jobs.get(jobId);
    expect(third.events.filter((e) => e.type === "finish")).toHaveLength(1);
    expect(fourth.events).toEqual([]);
  });

  it("sample data and real data never mix: a sandbox job is not resumed by a server of the real API, nor a real one by a sandbox", async () => {
    const { jobId: sandboxJob } = await dieWhileDeleting(1, false, { sandbox: true });
    const real = await openEngine();
    const refused = await real.jobs.resume(sandboxJob);
    expect(refused).toMatchObject({ ok: false, error: { message: expect.stringMatching(/approved in sandbox mode/) } });
    const { jobId: realJob } = await dieWhileDeleting(2, false);
    const sandbox = await openEngine({ sandbox: true });
    const refusedToo = await sandbox.jobs.resume(realJob);
    expect(refusedToo).toMatchObject({ ok: false, error: { message: expect.stringMatching(/This server is in sandbox mode/) } });
    await expect((await openEngine({ sandbox: true })).jobs.resume(sandboxJob)).resolves.toMatchObject({ ok: true });
  });

  it("a job being started is held by its process (its running file) before its plan is written, so that no other process on the data directory can resume it meanwhile and run it twice", async () => {
    const { jobs } = await openEngine();
    const plan = await propose(jobs);
    const create = DiskJobRecords.prototype.create;
    let heldWhenCreated: boolean | undefined;
    const spy = vi.spyOn(DiskJobRecords.prototype, "create").mockImplementation(async function (
      this: DiskJobRecords,
      jobId: string,
      value: object,
    ) {
      heldWhenCreated = existsSync(join(data.dir, "jobs", jobId, "running"));
      return create.call(this, jobId, value);
    });
    try {
      const jobId = await startJob(jobs, plan);
      expect(heldWhenCreated).toBe(true);
      expect((await jobs.settled(jobId)).status).toBe("completed");
      // Let go once it ended.
      expect(existsSync(join(data.dir, "jobs", jobId, "running"))).toBe(false);
    } finally {
      spy.mockRestore();
    }
  });

  it("cancelling an interrupted job ends it at once; the item in flight is 'unknown' in the receipt", async () => {
    const { jobId } = await dieWhileDeleting(1, true);
    const { jobs } = await openEngine();
    const cancelled = await jobs.cancel(jobId);
    expect(cancelled.ok && cancelled.job.status).toBe("cancelled");
    const { receipt } = await readReceipt(cancelled.ok ? cancelled.job : ({} as JobView));
    expect(receipt.items.slice(0, 3).map((i) => i.outcome)).toEqual(["deleted", "unknown", "not_attempted"]);
    expect(sim.requests("DELETE")).toHaveLength(2);
  });

  it("a read-only server resumes no job", async () => {
    const bad = refusedClient();
    let jobId: string;
    try {
      const first = await openEngine({ deleteItem: vccDeleteItem(bad) });
      jobId = await startJob(first.jobs, await propose(first.jobs));
      expect((await first.jobs.settled(jobId)).status).toBe("paused");
      await first.jobs.close();
    } finally {
      await bad.close();
    }
    const { jobs } = await openEngine({ readOnly: true });
    const resumed = await jobs.resume(jobId);
    expect(resumed).toMatchObject({ ok: false, error: { code: "invalid_input" } });
    expect(resumed.ok ? "" : resumed.error.message).toMatch(/read-only \(VCC_READ_ONLY=true\)/);
    expect(sim.requests("DELETE")).toHaveLength(1);
  });

  it("refuses to resume once the approval expired, and says a new approval is needed", async () => {
    let clock = Date.parse("2026-12-02T09:00:00.000Z");
    const now = () => clock;
    const { jobs } = await openEngine({ now, approvalTtlHours: 24 });
    sim.injectFaults("delete-content", FAIL_500, FAIL_500, FAIL_500, FAIL_500, FAIL_500);
    const jobId = await startJob(jobs, await propose(jobs));
    expect((await jobs.settled(jobId)).status).toBe("paused");
    clock += 24 * 3_600_000;
    const refused = await jobs.resume(jobId);
    expect(refused).toMatchObject({ ok: false, error: { code: "invalid_input" } });
    expect(refused.ok ? "" : refused.error.message).toMatch(/expired at 2026-12-03T09:00:00\.000Z.*8 approved item\(s\).*approved again/);
    // The same after a restart.
    const again = await openEngine({ now });
    const view = await again.jobs.get(jobId);
    expect(view.ok && view.job.resumable).toMatchObject({ ok: false });
    expect((await again.jobs.resume(jobId)).ok).toBe(false);
    expect(sim.requests("DELETE")).toHaveLength(5);
  });
});

describe("plans", () => {
  it("holds each item once (as the API matches them), at least one and at most 10 000", async () => {
    const { jobs } = await openEngine();
    const [a] = simItems(sim, generated);
    if (!a) throw new Error("no items");
    const twice = await jobs.propose({
      items: [a, { ...a, guid: a.guid.toUpperCase(), contentKey: a.contentKey.toUpperCase() }],
      criteria: null,
    });
    expect(twice.ok && twice.plan.totals.items).toBe(1);
    expect(await jobs.propose({ items: [], criteria: null })).toMatchObject({ ok: false, error: { code: "invalid_input" } });
    expect(await jobs.propose({ items: [{ guid: "not-a-guid", contentKey: "callRecording" }], criteria: null })).toMatchObject({
      ok: false,
    });
    expect(await jobs.propose({ items: [{ guid: a.guid, contentKey: ".." }], criteria: null })).toMatchObject({ ok: false });
    const many = Array.from({ length: 10_001 }, (_, i) => ({ guid: a.guid, contentKey: `item-${i}` }));
    const tooMany = await jobs.propose({ items: many, criteria: null });
    expect(tooMany.ok ? "" : tooMany.error.message).toMatch(/10001 items match, more than the 10000.*Narrow the criteria/);
    expect((await jobs.propose({ items: many.slice(1), criteria: null })).ok).toBe(true);
  });
});
