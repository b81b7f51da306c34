// The server itself killed with SIGKILL while its erasure job has a DELETE in flight, started again,
// and the job resumed with resume_erasure_job: the simulator's journal shows exactly one 204 per
// approved item, one repeated DELETE (the one in flight), nothing outside the plan, and content
// recorded after planning untouched. Spawns the built server (npm run build).
import { readFile } from "node:fs/promises";
import { afterEach, expect, it, vi } from "vitest";
import { verifyReceipt } from "../../src/jobs/receipt.js";
import { SEED } from "../../src/simulator/seed.js";
import { addContent, deletePath, deletesByPath, generated, simItems, useJobDataDir } from "../helpers/jobs.js";
import { type Connected, SECRET_TOKEN, spawnServer, structured, textOf } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator({ extraInteractions: 5 });
const CRITERIA = { connectFrom: "+441632960101", from: "2026-11-20T09:00:00Z", to: "2026-11-20T11:00:00Z", contentTypes: ["all"] };

const data = useJobDataDir();
const opened: Connected[] = [];
// Registered after the data directory's: run before its removal (hooks after a test run in reverse).
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close().catch(() => {});
});

/** The built server over stdio: its process id (to kill it) and its exit. */
async function start(): Promise<{ c: Connected; pid: number; exited: Promise<void> }> {
  const c = await spawnServer({
    VCC_ACCESS_TOKEN: SECRET_TOKEN,
    VCC_API_BASE_URL: h.sim.apiBaseUrl,
    VCC_DATA_DIR: data.dir(),
    VCC_CONFIRMATION: "token",
    VCC_AUDIT_LOG: `${data.dir()}-audit.jsonl`,
  });
  opened.push(c);
  return { c, pid: c.pid, exited: c.exited };
}

it("SIGKILL of the server mid-job, start again, resume_erasure_job: one 204 per approved item, one repeated DELETE, nothing else", async () => {
  const items = simItems(h.sim, generated);
  expect(items).toHaveLength(10);
  const first = await start();
  const asked = structured(await first.c.call("erase_interaction_content", CRITERIA));
  expect(asked.status).toBe("confirmation_required");
  // The third DELETE is held: the server is killed while it is in flight. The API still carries it out.
  h.sim.injectFaults("delete-content", {}, {}, { hold: true });
  const started = structured(await first.c.call("erase_interaction_content", { ...CRITERIA, confirmationToken: asked.confirmationToken }));
  expect(started.status).toBe("running");
  const jobId: string = started.jobId;
  await vi.waitFor(() => expect(h.deletes()).toHaveLength(3), { timeout: 10_000, interval: 10 });
  process.kill(first.pid, "SIGKILL");

  // Recorded after planning: never touched.
  const later = {
    contentKey: "f0f0f0f0-0000-4000-8000-000000000003",
    type: "voicemail",
    contentType: "audio/wav",
    contentLength: 99,
    lastModified: "2026-12-01T00:00:00.000Z",
  };
  addContent(h.sim, items[0]?.guid ?? "", later);
  // The held DELETE goes on now that its server is gone.
  h.sim.release();
  await vi.waitFor(() => expect(h.sim.holds(items[2]?.guid ?? "", items[2]?.contentKey ?? "")).toBe(false), {
    timeout: 10_000,
    interval: 20,
  });

  const second = await start();
  const listed = structured(await second.c.call("get_erasure_job", {}));
  // The DELETE in flight when the server was killed: its outcome is unknown (resuming repeats it).
  expect(listed.jobs).toEqual([{ jobId, status: "interrupted", items: 10, outcomeUnknown: 1, remaining: 7 }]);
  const resumed = await second.c.call("resume_erasure_job", { jobId });
  expect(resumed.isError, textOf(resumed)).toBeFalsy();
  let job: Record<string, unknown> & { status?: string } = {};
  await vi.waitFor(
    async () => {
      job = structured(await second.c.call("get_erasure_job", { jobId })).job;
      expect(job.status).toBe("completed");
    },
    { timeout: 10_000, interval: 50 },
  );

  const byPath = deletesByPath(h.sim);
  const planned = new Set(items.map((item) => deletePath(h.sim, item)));
  expect([...byPath.keys()].filter((path) => !planned.has(path))).toEqual([]);
  items.forEach((item, index) => {
    const statuses = byPath.get(deletePath(h.sim, item))?.map((e) => e.status);
    expect(statuses).toEqual(index === 2 ? [204, 404] : [204]);
  });
  expect(h.sim.holds(items[0]?.guid ?? "", later.contentKey)).toBe(true);
  expect(h.sim.holds(SEED.inboundCall, "callRecording")).toBe(true);

  const receipt = await second.c.client.readResource({ uri: `vcc-erasure://jobs/${jobId}/receipt.json` });
  const text = (receipt.contents[0] as { text: string }).text;
  expect(verifyReceipt(text)).toBe(true);
  expect(JSON.parse(text).totals).toMatchObject({ items: 10, deleted: 10, verifiedByAbsence: 1 });
  const audit = await readFile(`${data.dir()}-audit.jsonl`, "utf8");
  expect(audit).toContain('"action":"resume"');
  expect(audit).not.toContain(SECRET_TOKEN);
});

it("a server shut down (stdin closed) mid-job lets the DELETE in flight finish and leaves the job interrupted, resumable", async () => {
  const first = await start();
  const asked = structured(await first.c.call("erase_interaction_content", CRITERIA));
  h.sim.setStandingFault("delete-content", { latencyMs: 300 });
  const started = structured(await first.c.call("erase_interaction_content", { ...CRITERIA, confirmationToken: asked.confirmationToken }));
  await vi.waitFor(() => expect(h.deletes().length).toBeGreaterThanOrEqual(2), { timeout: 5_000, interval: 10 });
  await first.c.close();
  await first.exited;
  const sent = h.deletes().length;
  h.sim.setStandingFault("delete-content", undefined);

  const second = await start();
  const job = structured(await second.c.call("get_erasure_job", { jobId: started.jobId })).job;
  // Every DELETE sent has its outcome journaled: nothing was in flight when the process stopped.
  expect(job).toMatchObject({ status: "interrupted", progress: { deleted: sent, remaining: 10 - sent }, resumable: { ok: true } });
  expect(h.deletes().every((d) => d.status === 204)).toBe(true);
});
