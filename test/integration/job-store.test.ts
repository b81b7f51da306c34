// The erasure job records contract (JobRecords, src/state/types.ts): one suite, run against the disk
// records (one machine, the default) and the Redis records (replicas; a real redis-server).
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DiskJobRecords } from "../../src/jobs/disk-store.js";
import { type JobRecords, jobLease, LeaseLostError, StateUnavailableError } from "../../src/state/index.js";
import { RedisState } from "../../src/state/redis.js";
import { tempDataDir } from "../helpers/jobs.js";
import { startRedis, useRedis } from "../helpers/redis-server.js";

const r = useRedis();

async function ready(state: RedisState): Promise<RedisState> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await state.ping();
      return state;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** Two handles on one store, as two engines (or replicas) would have. */
const IMPLEMENTATIONS: { name: string; pair: () => Promise<{ a: JobRecords; b: JobRecords; states?: [RedisState, RedisState] }> }[] = [
  {
    name: "disk",
    pair: async () => {
      const data = await tempDataDir();
      const a = await new DiskJobRecords(data.dir).open();
      const b = await new DiskJobRecords(data.dir).open();
      r.defer(async () => {
        await a.close();
        await b.close();
        await data.cleanup();
      });
      return { a, b };
    },
  },
  {
    name: "redis",
    pair: async () => {
      const prefix = `t-${randomUUID()}:`;
      const sa = await ready(new RedisState({ url: r.redis.url, prefix }));
      const sb = await ready(new RedisState({ url: r.redis.url, prefix }));
      r.defer(async () => {
        await sa.close();
        await sb.close();
      });
      if (!sa.jobs || !sb.jobs) throw new Error("Redis state without job records");
      return { a: sa.jobs, b: sb.jobs, states: [sa, sb] };
    },
  },
];

const plan = (jobId: string) => ({ version: 1, jobId, items: [{ guid: "g", contentKey: "k" }], criteria: { party: "+44" } });
const entry = (event: string, more: object = {}) => ({ at: "2026-12-02T10:00:00.000Z", event, ...more });

describe.each(IMPLEMENTATIONS)("job records: $name", ({ pair }) => {
  it("records a plan once, and lists the job from the other handle", async () => {
    const { a, b } = await pair();
    const jobId = randomUUID();
    expect(await b.plan(jobId)).toBeUndefined();
    expect(await a.create(jobId, plan(jobId))).toBe(true);
    expect(await b.create(jobId, { ...plan(jobId), criteria: "other" })).toBe(false);
    expect(await b.plan(jobId)).toEqual(plan(jobId));
    expect(await b.ids()).toContain(jobId);
  });

  it("keeps the journal in the order written, each entry readable as soon as append resolves", async () => {
    const { a, b } = await pair();
    const jobId = randomUUID();
    await a.create(jobId, plan(jobId));
    expect(await b.journal(jobId)).toEqual([]);
    const written = [entry("run", { kind: "start" }), entry("item_started", { index: 0 }), entry("item_outcome", { index: 0 })];
    for (const [i, e] of written.entries()) {
      await a.append(jobId, e);
      expect(await b.journal(jobId)).toEqual(written.slice(0, i + 1));
    }
  });

  it("keeps the running set with the run, pause and finish entries", async () => {
    const { a, b } = await pair();
    const [one, two] = [randomUUID(), randomUUID()];
    for (const jobId of [one, two]) {
      await a.create(jobId, plan(jobId));
      await a.append(jobId, entry("run", { kind: "start" }), { running: true });
    }
    expect((await b.running()).sort()).toEqual([one, two].sort());
    await a.append(one, entry("pause", { code: "upstream_error", reason: "x" }), { running: false });
    expect(await b.running()).toEqual([two]);
    await a.append(one, entry("run", { kind: "resume" }), { running: true });
    await a.append(two, entry("finish", { status: "completed" }), { running: false });
    expect(await b.running()).toEqual([one]);
  });

  it("records a cancellation asked for on either handle, in the journal too", async () => {
    const { a, b } = await pair();
    const jobId = randomUUID();
    await a.create(jobId, plan(jobId));
    await a.append(jobId, entry("run", { kind: "start" }), { running: true });
    expect(await a.cancelRequested(jobId)).toBe(false);
    await b.requestCancel(jobId, entry("cancel"));
    expect(await a.cancelRequested(jobId)).toBe(true);
    expect((await a.journal(jobId)).map((e) => (e as { event: string }).event)).toEqual(["run", "cancel"]);
  });

  it("stores the receipt from its pieces; both texts and the hash readable from the other handle", async () => {
    const { a, b } = await pair();
    const jobId = randomUUID();
    await a.create(jobId, plan(jobId));
    expect(await b.receipt(jobId)).toBeUndefined();
    expect(await b.receiptText(jobId, "json")).toBeUndefined();
    const sha256 = "ab".repeat(32);
    // A receipt's JSON carries its own hash (receipt.ts).
    const stored = await a.putReceipt(jobId, { sha256, json: ['{"a":1,', `"sha256":"${sha256}"}\n`], markdown: ["# R", "\n"] });
    expect(await b.receipt(jobId)).toEqual(stored);
    expect(stored.sha256).toBe(sha256);
    expect(await b.receiptText(jobId, "json")).toBe(`{"a":1,"sha256":"${sha256}"}\n`);
    expect(await b.receiptText(jobId, "md")).toBe("# R\n");
  });

  it("keeps notes with a job (the verification after it), readable from the other handle", async () => {
    const { a, b } = await pair();
    const jobId = randomUUID();
    await a.create(jobId, plan(jobId));
    expect(await b.note(jobId, "verify-requested")).toBeUndefined();
    await a.putNote(jobId, "verify-requested", 1);
    await a.putNote(jobId, "verification.json", { status: "done", stillMatching: [] });
    expect(await b.note(jobId, "verify-requested")).toBe(1);
    expect(await b.note(jobId, "verification.json")).toEqual({ status: "done", stillMatching: [] });
  });
});

describe("job records in Redis: leases and failures", () => {
  const redisPair = IMPLEMENTATIONS[1] as (typeof IMPLEMENTATIONS)[number];

  it("writes a holder's journal entries only while its lease is the job's current one", async () => {
    const { a, b, states } = await redisPair.pair();
    if (!states) throw new Error("unreachable");
    const [sa, sb] = states;
    const jobId = randomUUID();
    await a.create(jobId, plan(jobId));
    const first = await sa.leases.acquire(jobLease(jobId), "A", 1_000);
    if (!first) throw new Error("no lease");
    await a.append(jobId, entry("run", { kind: "start" }), { lease: first, running: true });
    // A's lease lapses (A paused); B takes the job over with a larger fence.
    let second = await sb.leases.acquire(jobLease(jobId), "B", 60_000);
    const deadline = Date.now() + 5_000;
    while (!second && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      second = await sb.leases.acquire(jobLease(jobId), "B", 60_000);
    }
    if (!second) throw new Error("the lease did not lapse");
    expect(second.fence).toBeGreaterThan(first.fence);
    await b.append(jobId, entry("run", { kind: "resume" }), { lease: second, running: true });
    // A wakes up: its entry is refused, nothing written, and the job stays in the running set.
    await expect(a.append(jobId, entry("item_outcome", { index: 0 }), { lease: first, running: false })).rejects.toBeInstanceOf(
      LeaseLostError,
    );
    expect((await b.journal(jobId)).map((e) => (e as { kind?: string }).kind ?? (e as { event: string }).event)).toEqual([
      "start",
      "resume",
    ]);
    expect(await b.running()).toEqual([jobId]);
  });

  it("fails closed while Redis is down (StateUnavailableError), and works again once it is back", async () => {
    const own = await startRedis({ aof: true });
    const state = await ready(new RedisState({ url: own.url, prefix: "t:" }));
    try {
      const jobs = state.jobs as JobRecords;
      const jobId = randomUUID();
      await jobs.create(jobId, plan(jobId));
      await jobs.append(jobId, entry("run", { kind: "start" }), { running: true });
      await own.stop();
      await expect(jobs.append(jobId, entry("item_started", { index: 0 }))).rejects.toBeInstanceOf(StateUnavailableError);
      await expect(jobs.create(randomUUID(), plan(jobId))).rejects.toBeInstanceOf(StateUnavailableError);
      await expect(jobs.requestCancel(jobId, entry("cancel"))).rejects.toBeInstanceOf(StateUnavailableError);
      await own.start();
      await ready(state);
      // With AOF, what was written before the restart is still there.
      expect(await jobs.plan(jobId)).toEqual(plan(jobId));
      expect(await jobs.journal(jobId)).toEqual([entry("run", { kind: "start" })]);
      expect(await jobs.running()).toEqual([jobId]);
    } finally {
      await state.close();
      await own.close();
    }
  });
});
