// Two in-process servers ("replicas") with their own RedisState connections to one real
// redis-server, against one simulator: a job started through A is seen, cancelled and its receipt
// read through B (tools and resources), and B's tools answer state_unavailable while Redis is away.
// The takeover of a job whose replica died is tested at the engine (jobs-replicas.test.ts).
import { randomUUID } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { verifyReceipt } from "../../src/jobs/receipt.js";
import { RedisState } from "../../src/state/redis.js";
import { generated, simItems, useJobDataDir } from "../helpers/jobs.js";
import { type Connected, structured, textOf } from "../helpers/mcp.js";
import { useRedis } from "../helpers/redis-server.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator({ extraInteractions: 4 });
const data = useJobDataDir();

const r = useRedis({ aof: true });

/** The generated interactions: one caller, 2026-11-20 10:00, a recording and a transcript each. */
const CRITERIA = { connectFrom: "+441632960101", from: "2026-11-20T09:00:00Z", to: "2026-11-20T11:00:00Z", contentTypes: ["all"] };

/** Lease and sweep shortened; one API attempt (VCC_TIMEOUT_MS) well within the lease. */
const ENV = { VCC_JOB_LEASE_MS: "1500", VCC_JOB_SWEEP_MS: "50", VCC_TIMEOUT_MS: "500", VCC_RETRY_BASE_MS: "1" };

async function replicas(): Promise<[Connected, Connected]> {
  const prefix = `m-${randomUUID()}:`;
  // Each its own data directory: what they share is in Redis.
  const open = async (name: string) => {
    const state = new RedisState({ url: r.redis.url, prefix });
    r.defer(() => state.close());
    await vi.waitFor(() => state.ping(), { timeout: 10_000, interval: 10 });
    return h.inProcess({
      env: { ...ENV, VCC_DATA_DIR: `${data.dir()}-${name}` },
      state,
      elicit: (params) => ({ action: "accept", content: { count: /type the number of items: (\d+)/.exec(params.message)?.[1] ?? "" } }),
    });
  };
  return [await open("a"), await open("b")];
}

describe("job tools and receipts from any replica", () => {
  it("a job started through A: B lists it, follows it to the end, reads its receipt and its verification; a second job cancelled through B stops", async () => {
    const [a, b] = await replicas();
    const planned = simItems(h.sim, generated);
    const started = structured(await a.call("erase_interaction_content", { ...CRITERIA, verify: true }));
    expect(started).toMatchObject({ status: "running", verify: true, plan: { items: planned.length } });
    const listed = structured(await b.call("get_erasure_job", {}));
    expect(listed.jobs.map((j: { jobId: string }) => j.jobId)).toContain(started.jobId);
    let job: Record<string, unknown> = {};
    await vi.waitFor(
      async () => {
        job = structured(await b.call("get_erasure_job", { jobId: started.jobId })).job;
        expect(job).toMatchObject({ status: "completed", verification: { status: "done", stillMatching: [] } });
      },
      { timeout: 10_000, interval: 20 },
    );
    const receipt = job.receipt as { sha256: string; json: string; markdown: string };
    const read = await b.client.readResource({ uri: receipt.json });
    const text = String((read.contents[0] as { text?: string }).text);
    expect(verifyReceipt(text)).toBe(true);
    expect(JSON.parse(text)).toMatchObject({ jobId: started.jobId, status: "completed", totals: { deleted: planned.length } });
    const resources = await b.client.listResources();
    expect(resources.resources.map((r) => r.uri)).toContain(receipt.markdown);

    // A second job (other interactions), cancelled through B: A runs it, or it already ended.
    const others = simItems(h.sim, (i) => !generated(i))
      .slice(0, 3)
      .map(({ guid, contentKey }) => ({ guid, contentKey }));
    const second = structured(await a.call("erase_interaction_content", { items: others }));
    expect(second.status).toBe("running");
    const cancelled = await b.call("cancel_erasure_job", { jobId: second.jobId });
    const answer = structured(cancelled);
    if (answer.error) expect(answer.error.message, textOf(cancelled)).toMatch(/already ended/);
    await vi.waitFor(
      async () => {
        const seen = structured(await a.call("get_erasure_job", { jobId: second.jobId })).job;
        expect(["cancelled", "completed"]).toContain(seen.status);
      },
      { timeout: 10_000, interval: 20 },
    );
    // Nothing deleted twice, nothing outside the plans.
    const deletes = h.deletes();
    expect(new Set(deletes.map((d) => d.path)).size).toBe(deletes.length);
    expect(deletes.every((d) => d.status === 204)).toBe(true);
  });

  it("without Redis, starting a job answers state_unavailable and sends nothing; reads of jobs say so too", async () => {
    const [a] = await replicas();
    const items = simItems(h.sim, generated).map(({ guid, contentKey }) => ({ guid, contentKey }));
    await r.redis.stop();
    try {
      const refused = await a.call("erase_interaction_content", { items: items.slice(0, 2) });
      expect(structured(refused).error, textOf(refused)).toMatchObject({ code: "state_unavailable" });
      expect(textOf(refused)).toMatch(/nothing was deleted/i);
      expect(structured(await a.call("get_erasure_job", {})).error).toMatchObject({ code: "state_unavailable" });
      expect(h.deletes()).toHaveLength(0);
    } finally {
      await r.redis.start();
    }
  });
});
