// The built server killed or shut down around an erasure job's end, as a process: SIGKILL while the
// verification search (verify: true) is held at the simulator, after the job's end was recorded, and
// the next start runs that search again; SIGTERM while a DELETE is in flight removes the job's
// `running` file before the process exits. Spawns the built server (npm run build).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, it, vi } from "vitest";
import { useJobDataDir } from "../helpers/jobs.js";
import { type Connected, SECRET_TOKEN, spawnServer, structured, textOf } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator({ extraInteractions: 5 });
/** The generated interactions: one caller, 2026-11-20 10:00, a recording and a transcript each. */
const CRITERIA = { connectFrom: "+441632960101", from: "2026-11-20T09:00:00Z", to: "2026-11-20T11:00:00Z", contentTypes: ["all"] };
/** Waits on a slow machine: generous, and polled (nothing waits a fixed time). */
const WAIT = { timeout: 20_000, interval: 50 };

const data = useJobDataDir();
const opened: Connected[] = [];
// Registered after the data directory's: run before its removal (hooks after a test run in reverse).
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close().catch(() => {});
});

/** The built server over stdio: its process id (to signal it), its stderr and its exit. */
async function start() {
  const c = await spawnServer({
    VCC_ACCESS_TOKEN: SECRET_TOKEN,
    VCC_API_BASE_URL: h.sim.apiBaseUrl,
    VCC_DATA_DIR: data.dir(),
    VCC_CONFIRMATION: "token",
  });
  opened.push(c);
  return { c, pid: c.pid, stderr: c.stderr, exited: c.exited };
}

const searches = () => h.sim.requests("GET", "list-interactions").length;

/**
 * A verify: true job of a server killed (SIGKILL) after the job's end was recorded, while its
 * verification search was held at the simulator (released after the kill): nothing saved it.
 */
async function jobKilledWhileVerifying() {
  const first = await start();
  const asked = structured(await first.c.call("erase_interaction_content", { ...CRITERIA, verify: true }));
  expect(asked.status).toBe("confirmation_required");
  // What one search takes (windows and pages): the planning's.
  const oneSearch = searches();
  expect(oneSearch).toBeGreaterThan(0);
  // The next search (the verification after the job) is held at the simulator.
  h.sim.injectFaults("list-interactions", { hold: true });
  const started = structured(
    await first.c.call("erase_interaction_content", { ...CRITERIA, verify: true, confirmationToken: asked.confirmationToken }),
  );
  expect(started).toMatchObject({ status: "running", verify: true });
  const jobId: string = started.jobId;
  const dir = join(data.dir(), "jobs", jobId);
  await vi.waitFor(() => expect(searches()).toBe(oneSearch + 1), WAIT);
  // The job ends (its receipt stored) while the search it started waits.
  await vi.waitFor(async () => {
    const during = structured(await first.c.call("get_erasure_job", { jobId })).job;
    expect(during).toMatchObject({ status: "completed", verification: { status: "pending" } });
  }, WAIT);
  expect(existsSync(join(dir, "finish-recorded"))).toBe(true);
  expect(existsSync(join(dir, "verify-requested"))).toBe(true);
  expect(existsSync(join(dir, "verification.json"))).toBe(false);
  process.kill(first.pid, "SIGKILL");
  await first.exited;
  h.sim.release();
  await h.sim.idle();
  return { jobId, dir, oneSearch, before: searches() };
}

/** Polls `c` until the job's verification is done: what it found, and that it ran once. */
async function verifiedOnce(c: Connected, killed: Awaited<ReturnType<typeof jobKilledWhileVerifying>>) {
  const { jobId, dir, oneSearch, before } = killed;
  let job: Record<string, unknown> = {};
  await vi.waitFor(async () => {
    job = structured(await c.call("get_erasure_job", { jobId })).job;
    expect(job.verification).toMatchObject({ status: "done" });
  }, WAIT);
  expect(job).toMatchObject({ status: "completed", verification: { status: "done", stillMatching: [] } });
  expect(existsSync(join(dir, "verification.json"))).toBe(true);
  const text = textOf(await c.call("get_erasure_job", { jobId }));
  expect(text).not.toContain("the search runs again once the job has ended");
  // Once: one search's requests, no second verification.
  await h.sim.idle();
  expect(searches() - before).toBe(oneSearch);
  // Every planned item was deleted once, by the first process.
  expect(h.deletes().every((d) => d.status === 204)).toBe(true);
}

it("SIGKILL while the verification search runs, after the job's end was recorded: the next start runs the search again, once", async () => {
  const killed = await jobKilledWhileVerifying();
  await verifiedOnce((await start()).c, killed);
});

it("the same with another server already running on the data directory: reading the job there runs the search (it said 'running' while nothing ran)", async () => {
  const other = await start();
  // Its job service is open before the job exists, so its start-up look does not see the job.
  await other.c.call("get_erasure_job", { jobId: "00000000-0000-4000-8000-000000000000" });
  const killed = await jobKilledWhileVerifying();
  await verifiedOnce(other.c, killed);
});

it("SIGTERM while a DELETE is in flight: the job is left interrupted and its `running` file is removed before the process exits", async () => {
  const first = await start();
  const asked = structured(await first.c.call("erase_interaction_content", CRITERIA));
  // The third DELETE is held: the shutdown comes while it is in flight.
  h.sim.injectFaults("delete-content", {}, {}, { hold: true });
  const started = structured(await first.c.call("erase_interaction_content", { ...CRITERIA, confirmationToken: asked.confirmationToken }));
  const jobId: string = started.jobId;
  const running = join(data.dir(), "jobs", jobId, "running");
  await vi.waitFor(() => expect(h.deletes()).toHaveLength(3), WAIT);
  expect(existsSync(running)).toBe(true);
  process.kill(first.pid, "SIGTERM");
  await vi.waitFor(() => expect(first.stderr()).toContain("shutting down (SIGTERM)"), WAIT);
  // The DELETE in flight is answered within the grace period; the job stops after it.
  h.sim.release();
  await first.exited;
  expect(existsSync(running)).toBe(false);
  expect(first.stderr()).not.toMatch(/still in flight after/);

  const second = await start();
  const job = structured(await second.c.call("get_erasure_job", { jobId })).job;
  expect(job).toMatchObject({ status: "interrupted", progress: { deleted: 3 }, resumable: { ok: true } });
});
