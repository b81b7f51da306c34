// A server process started with VCC_STATE_URL runs the erasure job sweeper from its start, without
// any tool call: replica A (an engine in this process) starts a job and freezes with a DELETE in
// flight (no renewals, as a replica that died); replica B, the built server spawned with the same
// Redis, takes the job over once A's lease lapsed and finishes it; the simulator's journal shows each
// approved item deleted once plus the one in flight repeated; B's tools answer with the job and its
// receipt. Spawns the built server (npm run build).
import { randomUUID } from "node:crypto";
import { expect, it, vi } from "vitest";
import { type DeleteItem, ErasureJobs } from "../../src/jobs/engine.js";
import { verifyReceipt } from "../../src/jobs/receipt.js";
import { vccDeleteItem } from "../../src/jobs/vcc.js";
import type { LeaseStore } from "../../src/state/index.js";
import { RedisState } from "../../src/state/redis.js";
import { staticTokens } from "../../src/vcc/auth.js";
import { VccClient } from "../../src/vcc/client.js";
import { deletePath, deletesByPath, generated, simItems, tempDataDir } from "../helpers/jobs.js";
import { SECRET_TOKEN, structured } from "../helpers/mcp.js";
import { useRedis } from "../helpers/redis-server.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator({ extraInteractions: 3 });

const r = useRedis();

it("a replica process takes over, by itself, the job of a replica that stopped renewing its lease", async () => {
  const prefix = "vcc:"; // the server's own prefix
  const state = new RedisState({ url: r.redis.url, prefix });
  await vi.waitFor(() => state.ping(), { timeout: 10_000, interval: 10 });
  const data = await tempDataDir();
  const client = new VccClient({ apiBaseUrl: h.sim.apiBaseUrl, timeoutMs: 500, tokens: staticTokens(SECRET_TOKEN) });
  let frozen = false;
  let wake = () => {};
  const asleep = new Promise<void>((resolve) => {
    wake = resolve;
  });
  let inFlight = () => {};
  const reached = new Promise<void>((resolve) => {
    inFlight = resolve;
  });
  const items = simItems(h.sim, generated);
  const real = vccDeleteItem(client);
  // Item 1 is deleted, then A freezes before recording it: no renewals, nothing more written.
  const dying: DeleteItem = async (item, signal, guard) => {
    const outcome = await real(item, signal, guard);
    if (item.contentKey === items[1]?.contentKey && item.guid === items[1]?.guid) {
      frozen = true;
      inFlight();
      await asleep;
    }
    return outcome;
  };
  const leases: LeaseStore = {
    ...state.leases,
    acquire: (...args) => state.leases.acquire(...args),
    renew: (...args) => (frozen ? new Promise(() => {}) : state.leases.renew(...args)),
    check: (...args) => state.leases.check(...args),
    release: (...args) => state.leases.release(...args),
    holder: (...args) => state.leases.holder(...args),
  };
  const a = await ErasureJobs.open({
    dataDir: data.dir,
    store: state.jobs,
    replicas: { leases, holder: `A-${randomUUID()}`, leaseMs: 1_000, renewMs: 200, sweepMs: 0 },
    deleteItem: dying,
  });
  r.defer(async () => {
    wake();
    await a.close({ abortInFlight: true });
    await client.close();
    await state.close();
    await data.cleanup();
  });
  const proposed = await a.propose({ items, criteria: null });
  if (!proposed.ok) throw new Error(proposed.error.message);
  const started = await a.start(proposed.plan, { method: "approval" });
  if (!started.ok) throw new Error(started.error.message);
  const { jobId } = started.job;
  await reached;

  // Replica B: the built server, with the same Redis and short lease and sweep settings.
  const b = await h.connect({
    env: {
      VCC_STATE_URL: r.redis.url,
      VCC_JOB_LEASE_MS: "1000",
      VCC_JOB_SWEEP_MS: "50",
      VCC_TIMEOUT_MS: "500",
      VCC_DATA_DIR: `${data.dir}-b`,
    },
  });
  r.defer(() => b.close());
  // No tool call yet: the process's sweeper alone takes the job over and deletes the rest.
  await vi.waitFor(() => expect(h.deletes()).toHaveLength(items.length + 1), { timeout: 15_000, interval: 50 });
  expect(b.stderr()).toMatch(new RegExp(`taking over an erasure job whose lease lapsed jobId=${jobId}`));
  let job: Record<string, unknown> = {};
  await vi.waitFor(
    async () => {
      job = structured(await b.call("get_erasure_job", { jobId })).job;
      expect(job.status).toBe("completed");
    },
    { timeout: 15_000, interval: 50 },
  );
  const byPath = deletesByPath(h.sim);
  expect(byPath.size).toBe(items.length);
  items.forEach((item, index) => {
    expect(byPath.get(deletePath(h.sim, item))?.map((e) => e.status)).toEqual(index === 1 ? [204, 404] : [204]);
  });
  const receipt = job.receipt as { json: string };
  const read = await b.client.readResource({ uri: receipt.json });
  expect(verifyReceipt(String((read.contents[0] as { text?: string }).text))).toBe(true);
});
