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

/** Lease and sweep shortened; one API attempt (VCC_TIMEOUT_MS) well within the lease. */
const ENV = { VCC_JOB_LEASE_MS: "1500", VCC_JOB_SWEEP_MS: "50", VCC_TIMEOUT_MS: "500", VCC_RETRY_BASE_MS: "1" };

async function replicas(): Promise<[Connected, Connected]> {
  const prefix = `m-${randomUUID()}:`;
  const open = async () => {
    const state = new RedisState({ url: r.redis.url, prefix });
    r.defer(() => state.close());
    await vi.waitFor(() => state.ping(), { timeout: 10_000, interval: 10 });
    return h.inProcess({
      env: { ...ENV, VCC_DATA_DIR: data.dir() },
      state,
      elicit: (params) => ({ action: "accept", content: { count: /type the number of items: (\d+)/.exec(params.message)?.[1] ?? "" } }),
    });
  };
  return [await open(), await open()];
}

describe("job tools and receipts from any replica", () => {
  it("a job started through A: B lists it, follows it to the end and reads its receipt; a second job cancelled through B stops", async () => {
    const [a, b] = await replicas();
    const items = simItems(h.sim, generated).map(({ guid, contentKey }) => ({ guid, contentKey }));
    const started = structured(await a.call("erase_interaction_content", { items: items.slice(0, 4) }));
    expect(started.status).toBe("running");
    const listed = structured(await b.call("get_erasure_job", {}));
    expect(listed.jobs.map((j: { jobId: string }) => j.jobId)).toContain(started.jobId);
    let job: Record<string, unknown> = {};
    await vi.waitFor(
      async () => {
        job = structured(await b.call("get_erasure_job", { jobId: started.jobId })).job;
        expect(job.status).toBe("completed");
      },
      { timeout: 10_000, interval: 20 },
    );
    const receipt = job.receipt as { sha256: string; json: string; markdown: string };
    const read = await b.client.readResource({ uri: receipt.json });
    const text = String((read.contents[0] as { text?: string }).text);
    expect(verifyReceipt(text)).toBe(true);
    expect(JSON.parse(text)).toMatchObject({ jobId: started.jobId, status: "completed", totals: { deleted: 4 } });
    const resources = await b.client.listResources();
    expect(resources.resources.map((r) => r.uri)).toContain(receipt.markdown);

    // A second job, cancelled through B (A runs it, or it already ended: either answer is true).
    const second = structured(await a.call("erase_interaction_content", { items: items.slice(4) }));
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
