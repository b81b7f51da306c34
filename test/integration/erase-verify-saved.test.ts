// verify: true, in process against the simulator: the verification's result is saved with the job
// (verification.json) before get_erasure_job says it is done, so that whoever reads "done" (this
// process, another one, the next start) finds the file there. The write is held back to see it.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, it, vi } from "vitest";
import { DiskJobRecords } from "../../src/jobs/disk-store.js";
import { useJobDataDir } from "../helpers/jobs.js";
import { structured } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator({ extraInteractions: 6 });
const data = useJobDataDir();
/** The generated interactions: one caller, 2026-11-20 10:00, a recording and a transcript each. */
const CRITERIA = { connectFrom: "+441632960101", from: "2026-11-20T09:00:00Z", to: "2026-11-20T11:00:00Z", contentTypes: ["all"] };
const WAIT = { timeout: 20_000, interval: 20 };

afterEach(() => {
  vi.restoreAllMocks();
});

it("the verification reads done only once verification.json is written", async () => {
  // The result's write waits until the test lets it go; every other note is written at once.
  let letWrite: () => void = () => {};
  const writeAllowed = new Promise<void>((resolve) => {
    letWrite = resolve;
  });
  let writing = false;
  const original = DiskJobRecords.prototype.putNote;
  vi.spyOn(DiskJobRecords.prototype, "putNote").mockImplementation(async function (this: DiskJobRecords, jobId, name, value) {
    if (name === "verification.json") {
      writing = true;
      await writeAllowed;
    }
    return original.call(this, jobId, name, value);
  });

  const c = await h.inProcess({ env: { VCC_DATA_DIR: data.dir(), VCC_RETRY_BASE_MS: "1", VCC_CONFIRMATION: "token" } });
  const asked = structured(await c.call("erase_interaction_content", { ...CRITERIA, verify: true }));
  const started = structured(
    await c.call("erase_interaction_content", { ...CRITERIA, verify: true, confirmationToken: asked.confirmationToken }),
  );
  const jobId: string = started.jobId;
  const file = join(data.dir(), "jobs", jobId, "verification.json");
  await vi.waitFor(() => expect(writing).toBe(true), WAIT);

  // The search is done, its result not yet on disk: not "done" yet (the job's own end may still be
  // under way: the search starts at its finish, before its receipt is stored).
  await vi.waitFor(async () => {
    const meanwhile = structured(await c.call("get_erasure_job", { jobId })).job;
    expect(meanwhile).toMatchObject({ status: "completed", verification: { status: "pending" } });
  }, WAIT);
  expect(existsSync(file)).toBe(false);

  letWrite();
  await vi.waitFor(async () => {
    const job = structured(await c.call("get_erasure_job", { jobId })).job;
    expect(job.verification).toMatchObject({ status: "done", stillMatching: [] });
  }, WAIT);
  expect(existsSync(file)).toBe(true);
});
