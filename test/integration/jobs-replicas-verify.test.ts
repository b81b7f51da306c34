// Replicas (in-process servers with their own RedisState connections to one real redis-server) and
// verify: true: a job whose end is recorded and whose verification was never saved (its replica
// stopped during the search) is verified by the replicas that start next, by one of them at a time.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { expect, it, vi } from "vitest";
import { RedisState } from "../../src/state/redis.js";
import type { Lease } from "../../src/state/types.js";
import { useJobDataDir } from "../helpers/jobs.js";
import { structured } from "../helpers/mcp.js";
import { useRedis } from "../helpers/redis-server.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator({ extraInteractions: 4 });
const data = useJobDataDir();
const r = useRedis({ aof: true });

const CRITERIA = { connectFrom: "+441632960101", from: "2026-11-20T09:00:00Z", to: "2026-11-20T11:00:00Z", contentTypes: ["all"] };
const ENV = { VCC_JOB_LEASE_MS: "1500", VCC_JOB_SWEEP_MS: "50", VCC_TIMEOUT_MS: "500", VCC_RETRY_BASE_MS: "1" };
const WAIT = { timeout: 20_000, interval: 20 };

const searches = () => h.sim.requests("GET", "list-interactions").length;

it("an ended job's unsaved verification is run by one of the replicas that start, not by each", async () => {
  const prefix = `v-${randomUUID()}:`;
  const open = async (name: string) => {
    const state = new RedisState({ url: r.redis.url, prefix });
    r.defer(() => state.close());
    await vi.waitFor(() => state.ping(), { timeout: 10_000, interval: 10 });
    const c = await h.inProcess({
      env: { ...ENV, VCC_DATA_DIR: `${data.dir()}-${name}` },
      state,
      elicit: (params) => ({ action: "accept", content: { count: /type the number of items: (\d+)/.exec(params.message)?.[1] ?? "" } }),
    });
    return { c, state };
  };

  const a = await open("a");
  const before = searches();
  const started = structured(await a.c.call("erase_interaction_content", { ...CRITERIA, verify: true }));
  const jobId: string = started.jobId;
  const oneSearch = searches() - before;
  await vi.waitFor(async () => {
    const job = structured(await a.c.call("get_erasure_job", { jobId })).job;
    expect(job).toMatchObject({ status: "completed", verification: { status: "done" } });
  }, WAIT);
  // As if A had stopped during the search: the end recorded, the verification asked for, not saved.
  const redis = new Redis(r.redis.url);
  r.defer(async () => {
    redis.disconnect();
  });
  expect(await redis.hdel(`${prefix}job:${jobId}:notes`, "verification.json")).toBe(1);
  expect(await redis.hexists(`${prefix}job:${jobId}:notes`, "verify-requested")).toBe(1);

  // The first replica to start runs the search again; it is held at the simulator.
  h.sim.injectFaults("list-interactions", { hold: true });
  const held = searches();
  const c = await open("c");
  await c.c.call("get_erasure_job", {});
  await vi.waitFor(() => expect(searches()).toBe(held + 1), WAIT);

  // The second finds it under way (its lease) and leaves it.
  const d = await open("d");
  const acquire = vi.spyOn(d.state.leases, "acquire");
  await d.c.call("get_erasure_job", {});
  await vi.waitFor(() => expect(acquire.mock.calls.some(([name]) => name === `verify:${jobId}`)).toBe(true), WAIT);
  const answers = acquire.mock.calls.flatMap(([name], i) => (name === `verify:${jobId}` ? [acquire.mock.results[i]?.value] : []));
  expect(await Promise.all(answers as Promise<Lease | undefined>[])).toEqual([undefined]);
  expect(structured(await d.c.call("get_erasure_job", { jobId })).job.verification).toEqual({ status: "pending" });

  h.sim.release();
  for (const replica of [c, d])
    await vi.waitFor(async () => {
      const job = structured(await replica.c.call("get_erasure_job", { jobId })).job;
      expect(job.verification).toMatchObject({ status: "done", stillMatching: [] });
    }, WAIT);
  await h.sim.idle();
  expect(searches() - held).toBe(oneSearch);
});
