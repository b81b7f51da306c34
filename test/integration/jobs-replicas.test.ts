// Erasure jobs on two replicas sharing one real redis-server (each with its own connection), against
// one simulator over real HTTP: a job survives its replica (the lease lapses, the other replica's
// sweeper takes it over and finishes it), a cancellation on one replica stops the job the other
// runs, and Redis going away stops sending until it is back. Durations are short and injected.
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type DeleteItem, ErasureJobs, type ErasureJobsOptions, type JobView } from "../../src/jobs/engine.js";
import type { PlanItem } from "../../src/jobs/plan.js";
import { verifyReceipt } from "../../src/jobs/receipt.js";
import { vccDeleteItem } from "../../src/jobs/vcc.js";
import { setLogSink, writeStderr } from "../../src/log.js";
import { type Simulator, startSimulator } from "../../src/simulator/server.js";
import { jobLease, type LeaseStore } from "../../src/state/index.js";
import { RedisState } from "../../src/state/redis.js";
import { jobText } from "../../src/tools/erasure-jobs.js";
import { staticTokens } from "../../src/vcc/auth.js";
import { VccClient } from "../../src/vcc/client.js";
import { deletePath, deletesByPath, generated, simItems, tempDataDir } from "../helpers/jobs.js";
import { type RedisServer, startRedis } from "../helpers/redis-server.js";

const CRITERIA = { party: "+441632960101", contentTypes: ["all"] };
/** Short, injected: a lease lapses 1 s (twice an attempt's limit) after its last renewal; the sweeper looks every 50 ms. */
const LEASE_MS = 1_000;
const RENEW_MS = 200;
const SWEEP_MS = 50;

let redis: RedisServer;
let sim: Simulator;
beforeAll(async () => {
  // AOF, as docs/replicas.md asks for jobs: a Redis restart keeps them.
  [redis, sim] = await Promise.all([startRedis({ aof: true }), startSimulator({ extraInteractions: 4 })]);
});
afterAll(async () => {
  await Promise.all([redis?.close(), sim?.close()]);
});

const cleanups: (() => Promise<void>)[] = [];
let data: { dir: string; cleanup: () => Promise<void> };
/** The server's log lines (replicas warn when Redis goes away and when they take a job over). */
let logged: string[] = [];
beforeEach(async () => {
  sim.reset();
  data = await tempDataDir();
  logged = [];
  setLogSink((line) => logged.push(line));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  setLogSink(writeStderr);
  await data.cleanup();
});

async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A lease store whose renewals can be stopped, as a replica that froze stops renewing (until it thaws). */
function freezable(leases: LeaseStore): { leases: LeaseStore; freeze: () => void; thaw: () => void } {
  let frozen = false;
  return {
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
    },
    leases: {
      acquire: (...args) => leases.acquire(...args),
      renew: (...args) => (frozen ? new Promise<boolean>(() => {}) : leases.renew(...args)),
      check: (...args) => (frozen ? new Promise<boolean>(() => {}) : leases.check(...args)),
      release: (...args) => (frozen ? Promise.resolve() : leases.release(...args)),
      holder: (...args) => leases.holder(...args),
    },
  };
}

interface Replica {
  name: string;
  state: RedisState;
  jobs: ErasureJobs;
  client: VccClient;
}

/** One replica: its own Redis connection and API client, one engine with leases and (unless sweepMs is 0) a sweeper. */
async function replica(
  name: string,
  prefix: string,
  options: {
    sweepMs?: number;
    leases?: (leases: LeaseStore) => LeaseStore;
    deleteItem?: (real: DeleteItem) => DeleteItem;
    onEvent?: ErasureJobsOptions["onEvent"];
  } = {},
): Promise<Replica> {
  const state = new RedisState({ url: redis.url, prefix });
  await eventually(() => state.ping().then(() => true), "Redis to answer");
  const client = new VccClient({
    apiBaseUrl: sim.apiBaseUrl,
    // One attempt's limit must be shorter than the lease: the check before each DELETE asks for that much left.
    timeoutMs: 500,
    tokens: staticTokens("sandbox-token"),
    retry: { maxRetries: 0, deadlineMs: 5_000, baseDelayMs: 1 },
  });
  const real = vccDeleteItem(client);
  const jobs = await ErasureJobs.open({
    dataDir: data.dir,
    store: state.jobs,
    replicas: {
      leases: options.leases ? options.leases(state.leases) : state.leases,
      holder: name,
      leaseMs: LEASE_MS,
      renewMs: RENEW_MS,
      sweepMs: options.sweepMs ?? SWEEP_MS,
    },
    deleteItem: options.deleteItem ? options.deleteItem(real) : real,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
  cleanups.push(async () => {
    await jobs.close({ abortInFlight: true });
    await client.close();
    await state.close();
  });
  return { name, state, jobs, client };
}

async function startJob(on: Replica, items: PlanItem[] = simItems(sim, generated)): Promise<{ jobId: string; items: PlanItem[] }> {
  const proposed = await on.jobs.propose({ items, criteria: CRITERIA });
  if (!proposed.ok) throw new Error(proposed.error.message);
  const started = await on.jobs.start(proposed.plan, { method: "approval", approvedBy: "dpo@example.com" });
  if (!started.ok) throw new Error(started.error.message);
  return { jobId: started.job.jobId, items: proposed.plan.items };
}

async function statusOn(on: Replica, jobId: string, status: JobView["status"]): Promise<JobView> {
  return eventually(async () => {
    const found = await on.jobs.get(jobId);
    return found.ok && found.job.status === status ? found.job : undefined;
  }, `job ${jobId} to be ${status} as ${on.name} sees it`);
}

/** A DeleteItem that, at item `index`, calls `at` first (which may hold it) and then sends (or not). */
function holdAt(index: number, items: () => PlanItem[], at: () => Promise<void>, sendFirst: boolean): (real: DeleteItem) => DeleteItem {
  return (real) => async (item, signal, guard) => {
    const target = items()[index];
    if (item.guid !== target?.guid || item.contentKey !== target?.contentKey) return real(item, signal, guard);
    if (sendFirst) {
      const outcome = await real(item, signal, guard);
      await at();
      return outcome;
    }
    await at();
    return real(item, signal, guard);
  };
}

function gate(): { wait: () => Promise<void>; open: () => void; reached: Promise<void> } {
  let open = () => {};
  let reach = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const reached = new Promise<void>((resolve) => {
    reach = resolve;
  });
  return {
    wait: () => {
      reach();
      return opened;
    },
    open,
    reached,
  };
}

/**
 * Replica A, without a sweeper, that starts a job and freezes at item `index` (no renewals, nothing
 * written) after or before sending its DELETE; resolves once it froze. `wake` thaws it and lets it go on.
 */
async function jobOnFrozenReplica(
  prefix: string,
  index: number,
  sendFirst: boolean,
): Promise<{ a: Replica; jobId: string; items: PlanItem[]; wake: () => void }> {
  let planned: PlanItem[] = [];
  let control: ReturnType<typeof freezable> | undefined;
  const paused = gate();
  const a = await replica("A", prefix, {
    sweepMs: 0,
    leases: (leases) => {
      control = freezable(leases);
      return control.leases;
    },
    deleteItem: holdAt(
      index,
      () => planned,
      async () => {
        control?.freeze();
        await paused.wait();
      },
      sendFirst,
    ),
  });
  cleanups.push(async () => paused.open());
  const { jobId, items } = await startJob(a);
  planned = items;
  expect((await a.state.leases.holder(jobLease(jobId)))?.holder).toBe("A");
  await paused.reached;
  return {
    a,
    jobId,
    items,
    wake: () => {
      control?.thaw();
      paused.open();
    },
  };
}

describe("erasure jobs on two replicas (one Redis)", () => {
  for (const sendFirst of [true, false])
    it(`a job survives its replica: A freezes ${sendFirst ? "after" : "before"} sending a DELETE, its lease lapses, B's sweeper takes the job over and finishes; A, waking up, sends and writes nothing`, async () => {
      const prefix = `r-${randomUUID()}:`;
      // C, a replica without a sweeper, only looks: running (A holds the lease), then, once the lease
      // lapsed, running with no replica running it, which the view and its text say. Started first:
      // its start does not use up the time A's lease has left.
      const c = await replica("C", prefix, { sweepMs: 0 });
      // At item 3, A freezes after or before its DELETE is sent.
      const { a, jobId, items, wake } = await jobOnFrozenReplica(prefix, 3, sendFirst);

      const held = await c.jobs.get(jobId);
      expect(held.ok && held.job.status).toBe("running");
      expect(held.ok && held.job.awaitingTakeover).toBeUndefined();
      await eventually(async () => (await c.state.leases.holder(jobLease(jobId))) === undefined, "A's lease to lapse");
      const stalled = await c.jobs.get(jobId);
      if (!stalled.ok) throw new Error(stalled.error.message);
      expect(stalled.job).toMatchObject({ status: "running", awaitingTakeover: true });
      expect(jobText(stalled.job)).toMatch(/No replica is running it at this moment/);
      expect((await c.jobs.list()).find((v) => v.jobId === jobId)?.awaitingTakeover).toBe(true);

      // B only now: its sweeper finds the running job, waits for the lease to lapse, takes it over.
      const b = await replica("B", prefix);
      const done = await statusOn(b, jobId, "completed");
      // Released once it finished.
      await eventually(async () => (await b.state.leases.holder(jobLease(jobId))) === undefined, "B to release the lease");
      expect(logged.some((line) => line.includes("taking over an erasure job whose lease lapsed") && line.includes(jobId))).toBe(true);
      expect(done.progress).toMatchObject({ deleted: 8, failed: 0, remaining: 0 });

      // Each approved item deleted exactly once; the one in flight when A froze repeated once if A had sent it (404: gone).
      const expected = (index: number) => (index === 3 && sendFirst ? [204, 404] : [204]);
      const byPath = deletesByPath(sim);
      expect(byPath.size).toBe(8);
      items.forEach((item, index) => {
        expect(byPath.get(deletePath(sim, item))?.map((e) => e.status)).toEqual(expected(index));
      });

      // Status and receipt from B.
      const receiptText = await b.jobs.receiptText(jobId, "json");
      expect(receiptText && verifyReceipt(receiptText)).toBe(true);
      const receipt = JSON.parse(receiptText ?? "{}") as { items: { outcome: string; verifiedByAbsence?: boolean; deleteCalls: number }[] };
      expect(receipt.items[3]).toMatchObject(
        sendFirst ? { outcome: "deleted", verifiedByAbsence: true, deleteCalls: 2 } : { outcome: "deleted", deleteCalls: 2 },
      );
      expect(await b.jobs.receiptText(jobId, "md")).toContain(done.receipt?.sha256);

      // A wakes up: its lease check before the DELETE fails (nothing sent), or its outcome line is
      // refused (nothing written over B's work); either way it sends nothing more.
      const journal = await b.state.jobs?.journal(jobId);
      const settledOnA = a.jobs.settled(jobId);
      wake();
      await settledOnA;
      await sim.idle();
      const after = deletesByPath(sim);
      items.forEach((item, index) => {
        expect(after.get(deletePath(sim, item))?.map((e) => e.status)).toEqual(expected(index));
      });
      expect(await b.state.jobs?.journal(jobId)).toEqual(journal);
      // A, no longer running it, answers from the shared records too.
      const fromA = await a.jobs.get(jobId);
      expect(fromA.ok && fromA.job).toMatchObject({ status: "completed", receipt: { sha256: done.receipt?.sha256 } });
    });

  it("a take-over that cannot begin (B's audit trail fails) sends nothing, is tried again at every sweep, and finishes the job once it can", async () => {
    const prefix = `r-${randomUUID()}:`;
    // A freezes before sending item 3's DELETE: three items deleted, the job's lease lapses.
    const { a, jobId, items, wake } = await jobOnFrozenReplica(prefix, 3, false);

    let auditWorks = false;
    const b = await replica("B", prefix, {
      onEvent: () => {
        if (!auditWorks) throw new Error("EACCES: the audit log cannot be written");
      },
    });
    const failures = () => logged.filter((line) => line.includes("an erasure job could not be taken over") && line.includes(jobId));
    await eventually(async () => failures().length >= 3, "B to try (and fail) three take-overs");
    expect(failures()[0]).toMatch(/audit/);
    // Nothing sent meanwhile, and no replica holds the job for good: it is still there to be taken over.
    await sim.idle();
    expect(sim.requests("DELETE")).toHaveLength(3);
    const meanwhile = await b.jobs.get(jobId);
    expect(meanwhile.ok && meanwhile.job).toMatchObject({ status: "running", progress: { deleted: 3, remaining: 5 } });

    auditWorks = true;
    const done = await statusOn(b, jobId, "completed");
    expect(done.progress).toMatchObject({ deleted: 8, failed: 0, remaining: 0 });
    const byPath = deletesByPath(sim);
    for (const item of items) expect(byPath.get(deletePath(sim, item))?.map((e) => e.status)).toEqual([204]);

    // A wakes up and sends nothing: its lease is gone.
    const settledOnA = a.jobs.settled(jobId);
    wake();
    await settledOnA;
    await sim.idle();
    expect(sim.requests("DELETE")).toHaveLength(8);
  });

  it("a cancellation on B stops the job A runs before its next item", async () => {
    const prefix = `r-${randomUUID()}:`;
    let planned: PlanItem[] = [];
    const held = gate();
    const a = await replica("A", prefix, { deleteItem: holdAt(2, () => planned, held.wait, false) });
    cleanups.push(async () => held.open());
    const b = await replica("B", prefix);
    const { jobId, items } = await startJob(a);
    planned = items;
    await held.reached;
    const cancelled = await b.jobs.cancel(jobId);
    expect(cancelled.ok && cancelled.job).toMatchObject({ status: "running", cancelRequested: true });
    held.open();
    expect((await a.jobs.settled(jobId)).status).toBe("cancelled");
    const view = await statusOn(b, jobId, "cancelled");
    expect(view.progress).toMatchObject({ deleted: 3, remaining: 5 });
    await sim.idle();
    expect(sim.requests("DELETE")).toHaveLength(3);
    const text = await b.jobs.receiptText(jobId, "json");
    expect(text && verifyReceipt(text)).toBe(true);
  });

  it("cancels at once, from B, a job no replica runs (paused)", async () => {
    const prefix = `r-${randomUUID()}:`;
    const a = await replica("A", prefix);
    const b = await replica("B", prefix);
    const FAIL = { status: 500, body: JSON.stringify({ message: "Simulated 500" }) };
    sim.injectFaults("delete-content", FAIL, FAIL, FAIL, FAIL, FAIL);
    const { jobId } = await startJob(a);
    expect((await a.jobs.settled(jobId)).status).toBe("paused");
    const cancelled = await b.jobs.cancel(jobId);
    expect(cancelled.ok && cancelled.job).toMatchObject({ status: "cancelled" });
    expect((await a.jobs.get(jobId)).ok).toBe(true);
    expect(await a.state.leases.holder(jobLease(jobId))).toBeUndefined();
  });

  it("resumes on B a job paused on A: B runs it to the end, the failed items sent again, the deleted ones never", async () => {
    const prefix = `r-${randomUUID()}:`;
    const a = await replica("A", prefix);
    const b = await replica("B", prefix);
    const FAIL = { status: 500, body: JSON.stringify({ message: "Simulated 500" }) };
    sim.injectFaults("delete-content", {}, FAIL, FAIL, FAIL, FAIL, FAIL);
    const { jobId, items } = await startJob(a);
    expect((await a.jobs.settled(jobId)).status).toBe("paused");
    const [resumed, twice] = await Promise.all([b.jobs.resume(jobId), a.jobs.resume(jobId)]);
    // One of the two replicas runs it; the other is refused.
    expect([resumed.ok, twice.ok].sort()).toEqual([false, true]);
    const done = await statusOn(b, jobId, "completed");
    expect(done.progress).toMatchObject({ deleted: 8, failed: 0 });
    const byPath = deletesByPath(sim);
    items.forEach((item, index) => {
      expect(byPath.get(deletePath(sim, item))?.map((e) => e.status)).toEqual(index >= 1 && index < 6 ? [500, 204] : [204]);
    });
  });

  it("fails closed without Redis: nothing starts, a running job stops sending and continues once Redis is back", async () => {
    const prefix = `r-${randomUUID()}:`;
    let planned: PlanItem[] = [];
    const held = gate();
    const a = await replica("A", prefix, { deleteItem: holdAt(2, () => planned, held.wait, true) });
    cleanups.push(async () => held.open());
    const b = await replica("B", prefix);
    const { jobId, items } = await startJob(a);
    planned = items;
    await held.reached;
    await redis.stop();
    try {
      // Starting, resuming or cancelling answers state_unavailable; nothing is sent.
      const proposed = await b.jobs.propose({ items: items.slice(0, 1), criteria: CRITERIA });
      if (!proposed.ok) throw new Error(proposed.error.message);
      expect(await b.jobs.start(proposed.plan, { method: "approval" })).toMatchObject({ ok: false, error: { code: "state_unavailable" } });
      expect(await b.jobs.cancel(jobId)).toMatchObject({ ok: false, error: { code: "state_unavailable" } });
      expect(await b.jobs.resume(jobId)).toMatchObject({ ok: false, error: { code: "state_unavailable" } });
      // A's DELETE in flight was answered; its outcome cannot be recorded, so A stops sending.
      const deletes = sim.requests("DELETE").length;
      held.open();
      await a.jobs.settled(jobId);
      await sim.idle();
      expect(sim.requests("DELETE")).toHaveLength(deletes);
    } finally {
      await redis.start();
    }
    // Back: once A's lease lapsed, a sweeper (A's or B's) takes the job over and finishes it.
    const done = await statusOn(b, jobId, "completed");
    expect(done.progress).toMatchObject({ deleted: 8, remaining: 0 });
    const byPath = deletesByPath(sim);
    items.forEach((item, index) => {
      expect(byPath.get(deletePath(sim, item))?.map((e) => e.status)).toEqual(index === 2 ? [204, 404] : [204]);
    });
  });
});

it("a job read on another replica while its replica is still ending it (at its audit record) is not recorded as ended by the reader", async () => {
  const prefix = `vcc:test:${randomUUID()}:`;
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let atFinish: () => void = () => {};
  const reached = new Promise<void>((resolve) => {
    atFinish = resolve;
  });
  const a = await replica("a", prefix, {
    sweepMs: 0,
    onEvent: async (event) => {
      if (event.type === "finish") {
        atFinish();
        await gate;
      }
    },
  });
  const seenByB: string[] = [];
  const b = await replica("b", prefix, { sweepMs: 0, onEvent: (event) => void seenByB.push(event.type) });
  const { jobId } = await startJob(a, simItems(sim, generated).slice(0, 2));
  await reached;
  // The finish line is in the journal and the receipt is not stored yet: B reads the job, several times at once.
  await Promise.all([b.jobs.get(jobId), b.jobs.get(jobId), b.jobs.list(), b.jobs.get(jobId)]);
  open();
  await statusOn(a, jobId, "completed");
  await b.jobs.get(jobId);
  expect(seenByB.filter((type) => type === "finish")).toEqual([]);
});
