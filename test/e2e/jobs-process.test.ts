// An erasure job's process killed with SIGKILL while a DELETE is in flight, then started again and
// resumed: the simulator's journal must show exactly one 204 per approved item, at most one repeated
// DELETE (the one in flight), and nothing outside the plan. And two processes on one data directory
// (each MCP client starts its own server): one runs a job, the other neither resumes nor re-sends it. Spawns test/fixtures/erasure-job.mjs,
// which runs the built engine (npm run build).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { DiskJobRecords } from "../../src/jobs/disk-store.js";
import { ErasureJobs, type JobEvent, type JobView } from "../../src/jobs/engine.js";
import type { PlanItem } from "../../src/jobs/plan.js";
import { type Receipt, verifyReceipt } from "../../src/jobs/receipt.js";
import { vccDeleteItem } from "../../src/jobs/vcc.js";
import { SEED, type Simulator, startSimulator } from "../../src/simulator/server.js";
import { staticTokens } from "../../src/vcc/auth.js";
import { VccClient } from "../../src/vcc/client.js";
import { addContent, deletePath, deletesByPath, generated, simItems, tempDataDir } from "../helpers/jobs.js";
import { childEnv } from "../helpers/mcp.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/erasure-job.mjs", import.meta.url));
const BUILT = fileURLToPath(new URL("../../dist/jobs/index.js", import.meta.url));
const TOKEN = "jobs-process-token-5b7e20";

let sim: Simulator;
let data: { dir: string; cleanup: () => Promise<void> };
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run npm run build first`);
  sim = await startSimulator({
    extraInteractions: 5,
    staticTokens: { [TOKEN]: ["interaction-content:read", "interaction-content:delete"] },
  });
});
afterAll(() => sim.close());
beforeEach(async () => {
  sim.reset();
  data = await tempDataDir();
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await data.cleanup();
});

interface Line {
  event?: JobEvent;
  settled?: JobView;
  loaded?: { ok: boolean; job?: JobView };
}

/** Spawns the fixture; `lines` grows as it writes; `exited` resolves with its exit code and signal. */
function spawnJob(env: Record<string, string>) {
  const child = spawn(process.execPath, [FIXTURE], {
    env: childEnv({ DATA_DIR: data.dir, API_BASE_URL: sim.apiBaseUrl, ACCESS_TOKEN: TOKEN, ...env }),
    cwd: tmpdir(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const lines: Line[] = [];
  let stderr = "";
  let buffered = "";
  const watchers: { test: (line: Line) => boolean; resolve: (line: Line) => void }[] = [];
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const line = JSON.parse(buffered.slice(0, nl)) as Line;
      buffered = buffered.slice(nl + 1);
      lines.push(line);
      for (const w of [...watchers]) if (w.test(line)) watchers.splice(watchers.indexOf(w), 1) && w.resolve(line);
    }
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    /** Resolves with the first line (already written or to come) that passes the test. */
    waitFor(test: (line: Line) => boolean): Promise<Line> {
      const seen = lines.find(test);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => watchers.push({ test, resolve }));
    },
  };
}

it("SIGKILL while a DELETE is in flight, start again, resume: one 204 per approved item, one repeated DELETE, nothing else", async () => {
  const items = simItems(sim, generated);
  expect(items).toHaveLength(10);
  const planFile = join(data.dir, "..", "plan-input.json");
  await writeFile(planFile, JSON.stringify({ items, criteria: { party: "+441632960101", contentTypes: ["all"] } }));
  // The third DELETE is held: the process is killed while it is in flight. The API still carries it out.
  sim.injectFaults("delete-content", {}, {}, { hold: true });

  const first = spawnJob({ MODE: "start", PLAN_FILE: planFile });
  const started = await first.waitFor((l) => l.event?.type === "item" && l.event.phase === "started" && l.event.index === 2);
  const jobId = started.event?.jobId ?? "";
  await vi.waitFor(() => expect(sim.requests("DELETE")).toHaveLength(3), { timeout: 10_000, interval: 10 });
  first.child.kill("SIGKILL");
  expect(await first.exited).toEqual({ code: null, signal: "SIGKILL" });
  expect(first.lines.some((l) => l.event?.type === "item" && l.event.phase === "outcome" && l.event.index === 2)).toBe(false);

  // Recorded after planning: never touched.
  const later = {
    contentKey: "f0f0f0f0-0000-4000-8000-000000000002",
    type: "voicemail",
    contentType: "audio/wav",
    contentLength: 99,
    lastModified: "2026-12-02T00:00:00.000Z",
  };
  addContent(sim, items[0]?.guid ?? "", later);
  // The API finishes the DELETE the dead process sent.
  sim.release();
  await vi.waitFor(() => expect(sim.holds(items[2]?.guid ?? "", items[2]?.contentKey ?? "")).toBe(false), {
    timeout: 10_000,
    interval: 20,
  });

  const second = spawnJob({ MODE: "resume", JOB_ID: jobId });
  const loaded = await second.waitFor((l) => l.loaded !== undefined);
  expect(loaded.loaded?.job).toMatchObject({ status: "interrupted", progress: { deleted: 2, outcomeUnknown: 1, remaining: 7 } });
  const { settled } = await second.waitFor((l) => l.settled !== undefined);
  expect(await second.exited).toEqual({ code: 0, signal: null });
  expect(second.stderr()).toBe("");
  expect(settled).toMatchObject({ status: "completed", progress: { deleted: 10, remaining: 0, failed: 0 } });

  const byPath = deletesByPath(sim);
  const planned = new Set(items.map((item) => deletePath(sim, item)));
  expect([...byPath.keys()].filter((path) => !planned.has(path))).toEqual([]);
  items.forEach((item, index) => {
    const statuses = byPath.get(deletePath(sim, item))?.map((e) => e.status);
    // The one in flight was sent again and found gone; every other item got exactly one DELETE.
    expect(statuses).toEqual(index === 2 ? [204, 404] : [204]);
  });
  expect(sim.holds(items[0]?.guid ?? "", later.contentKey)).toBe(true);
  expect(sim.holds(SEED.inboundCall, "callRecording")).toBe(true);

  const receiptText = await readFile(settled?.receipt?.json ?? "", "utf8");
  expect(verifyReceipt(receiptText)).toBe(true);
  const receipt = JSON.parse(receiptText) as Receipt;
  expect(receipt.items[2]).toMatchObject({ outcome: "deleted", httpStatus: 404, verifiedByAbsence: true, deleteCalls: 2 });
  expect(receipt.totals).toMatchObject({ items: 10, deleted: 10, verifiedByAbsence: 1 });
  // The access token appears nowhere the job wrote.
  const journal = await readFile(join(data.dir, "jobs", jobId, "journal.jsonl"), "utf8");
  for (const text of [receiptText, journal, JSON.stringify(first.lines), JSON.stringify(second.lines)]) expect(text).not.toContain(TOKEN);
});

describe("two server processes on one data directory", () => {
  /** Process A runs a job whose third DELETE is held; B is an engine of this process on the same data directory. */
  async function runningElsewhere() {
    const items = simItems(sim, generated);
    const planFile = join(data.dir, "..", "plan-input.json");
    await writeFile(planFile, JSON.stringify({ items, criteria: { party: "+441632960101", contentTypes: ["all"] } }));
    sim.injectFaults("delete-content", {}, {}, { hold: true });
    const a = spawnJob({ MODE: "start", PLAN_FILE: planFile });
    const started = await a.waitFor((l) => l.event?.type === "item" && l.event.phase === "started" && l.event.index === 2);
    const jobId = started.event?.jobId ?? "";
    await vi.waitFor(() => expect(sim.requests("DELETE")).toHaveLength(3), { timeout: 10_000, interval: 10 });
    const client = new VccClient({
      apiBaseUrl: sim.apiBaseUrl,
      timeoutMs: 5_000,
      tokens: staticTokens(TOKEN),
      retry: { maxRetries: 0, deadlineMs: 5_000, baseDelayMs: 1 },
    });
    const b = await ErasureJobs.open({ dataDir: data.dir, deleteItem: vccDeleteItem(client) });
    closers.push(async () => {
      await b.close();
      await client.close();
    });
    return { a, b, jobId, items };
  }

  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  /** Every planned item got exactly one DELETE that deleted it, or none (not attempted). */
  function deletedOnce(items: PlanItem[], attempted: number): void {
    const byPath = deletesByPath(sim);
    items.forEach((item, index) => {
      expect(byPath.get(deletePath(sim, item))?.map((e) => e.status) ?? []).toEqual(index < attempted ? [204] : []);
    });
  }

  it("another process sees the job running, cannot resume it, and cancels it: the runner stops after the item in flight", async () => {
    const { a, b, jobId, items } = await runningElsewhere();
    const seen = await b.get(jobId);
    expect(seen.ok && seen.job).toMatchObject({ status: "running" });
    expect(seen.ok && seen.job.resumable).toBeUndefined();
    const resumed = await b.resume(jobId);
    expect(resumed).toMatchObject({ ok: false, error: { code: "invalid_input" } });
    expect(resumed.ok ? "" : resumed.error.message).toContain(`another server process on this machine (process ${a.child.pid}`);

    const cancelled = await b.cancel(jobId);
    expect(cancelled.ok).toBe(true);
    sim.release();
    const { settled } = await a.waitFor((l) => l.settled !== undefined);
    expect(await a.exited).toEqual({ code: 0, signal: null });
    expect(settled?.status).toBe("cancelled");
    deletedOnce(items, 3);
    const after = await b.get(jobId);
    expect(after.ok && after.job).toMatchObject({ status: "cancelled", receipt: { sha256: settled?.receipt?.sha256 } });
    const journal = await readFile(join(data.dir, "jobs", jobId, "journal.jsonl"), "utf8");
    expect(journal.split("\n").filter((line) => line.includes('"event":"finish"'))).toHaveLength(1);
  });

  it("a cancelling process that dies between its two writes has still cancelled: the runner stops after the item in flight", async () => {
    const { a, b, jobId, items } = await runningElsewhere();
    // B dies after its first write: the journal line is never written.
    const append = vi.spyOn(DiskJobRecords.prototype, "append").mockImplementation(async (_id: string, entry: object) => {
      if ((entry as { event?: string }).event === "cancel") throw new Error("killed");
      throw new Error("unexpected append");
    });
    try {
      expect((await b.cancel(jobId)).ok).toBe(false);
    } finally {
      append.mockRestore();
    }
    sim.release();
    const { settled } = await a.waitFor((l) => l.settled !== undefined);
    expect(await a.exited).toEqual({ code: 0, signal: null });
    expect(settled?.status).toBe("cancelled");
    deletedOnce(items, 3);
  });

  it("a process that saw the job running finds it completed once it has, and resumes nothing", async () => {
    const { a, b, jobId, items } = await runningElsewhere();
    expect(await b.list()).toMatchObject([{ jobId, status: "running" }]);
    sim.release();
    const { settled } = await a.waitFor((l) => l.settled !== undefined);
    expect(settled?.status).toBe("completed");
    const resumed = await b.resume(jobId);
    expect(resumed).toMatchObject({ ok: false, error: { code: "invalid_input" } });
    expect(resumed.ok ? "" : resumed.error.message).toMatch(/is completed/);
    expect(await b.list()).toMatchObject([{ jobId, status: "completed" }]);
    deletedOnce(items, items.length);
  });
});
