// An erasure job against the API's rate limit: it meets the limit once, then keeps to the pace the API
// accepted (the pacer shared with the search), instead of running into a 429 every second.
import { expect, it, vi } from "vitest";
import { deletesByPath, useJobDataDir } from "../helpers/jobs.js";
import { structured } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator({ extraInteractions: 20 });
const CRITERIA = { connectFrom: "+441632960101", from: "2026-11-20T09:00:00Z", to: "2026-11-20T11:00:00Z", contentTypes: ["all"] };
const LIMIT = 10;

const data = useJobDataDir();

it("40 DELETEs at 10 requests/s: at most two 429s (the first second), every item deleted once", async () => {
  const c = await h.inProcess({ env: { VCC_DATA_DIR: data.dir(), VCC_CONFIRMATION: "token" } });
  const asked = structured(await c.call("erase_interaction_content", CRITERIA));
  expect(asked.plan.items).toBe(40);
  h.sim.setRateLimit(LIMIT);
  const started = structured(await c.call("erase_interaction_content", { ...CRITERIA, confirmationToken: asked.confirmationToken }));
  await vi.waitFor(async () => expect(structured(await c.call("get_erasure_job", { jobId: started.jobId })).job.status).toBe("completed"), {
    timeout: 15_000,
    interval: 100,
  });
  const deletes = h.deletes();
  expect(deletes.filter((d) => d.status === 429).length).toBeLessThanOrEqual(2);
  expect([...deletesByPath(h.sim).values()].map((entries) => entries.filter((e) => e.status === 204).length)).toEqual(Array(40).fill(1));
}, 20_000);
