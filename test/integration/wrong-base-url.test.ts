// A wrong VCC_API_BASE_URL (or region) answers 404 to everything. For one interaction that would read
// as "no such interaction, or already deleted" — the worst misreading for someone erasing a person's
// data. A 404 about an interaction is believed only where the API's search answers at the same base.
import { expect, it, vi } from "vitest";
import { closeJobServices } from "../../src/jobs/service.js";
import { SEED } from "../../src/simulator/seed.js";
import { tempDataDir } from "../helpers/jobs.js";
import { type ElicitHandler, structured, textOf } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator({ extraInteractions: 6 });
/** The generated interactions: a recording and a transcript each (2026-11-20 10:00). */
const JOB = { connectFrom: "+441632960101", from: "2026-11-20T09:00:00Z", to: "2026-11-20T11:00:00Z", contentTypes: ["all"] };
const GONE = "00000000-0000-4000-8000-00000000dead";

it("a base URL that is not the API's: list, delete and bulk say so instead of 'already deleted'", async () => {
  const c = await h.inProcess({ env: { VCC_API_BASE_URL: `${h.sim.apiBaseUrl}/wrong`, VCC_CONFIRMATION: "token" } });
  const listed = await c.call("list_interaction_content", { guid: SEED.inboundCall });
  expect(structured(listed).error).toMatchObject({ code: "not_configured" });
  expect(textOf(listed)).toContain("Check VCC_REGION or VCC_API_BASE_URL");
  expect(textOf(listed)).not.toMatch(/already been deleted/);
  const one = await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "callRecording" });
  expect(structured(one).error).toMatchObject({ code: "not_configured" });
  const many = await c.call("bulk_delete_interaction_content", {
    items: [
      { guid: SEED.inboundCall, contentKey: "callRecording" },
      { guid: SEED.voicemails, contentKey: "callRecording" },
    ],
  });
  expect(textOf(many)).toContain("Check VCC_REGION or VCC_API_BASE_URL");
  expect(textOf(many)).not.toMatch(/None of the items exists/);
  expect(h.deletes()).toHaveLength(0);
});

it("the right base URL: an unknown interaction is not found, after one check of the search (once per process)", async () => {
  const c = await h.inProcess({ env: { VCC_CONFIRMATION: "token" } });
  for (let i = 0; i < 2; i++) {
    const listed = await c.call("list_interaction_content", { guid: GONE });
    expect(structured(listed).error).toMatchObject({ code: "not_found" });
  }
  expect(h.sim.requests("GET", "list-interactions")).toHaveLength(1);
});

it("a check that got no answer (timed out) is not kept: the next 404 checks again, and the wrong address is found", async () => {
  const c = await h.inProcess({ env: { VCC_API_BASE_URL: `${h.sim.apiBaseUrl}/wrong`, VCC_MAX_RETRIES: "0" } });
  // The interaction's 404 answers at once; the check after it gets no answer within its 2 s.
  h.sim.injectFaults("*", {}, { latencyMs: 3_000 });
  const first = structured(await c.call("list_interaction_content", { guid: SEED.inboundCall }));
  expect(first.error.code).toBe("not_found");
  const second = structured(await c.call("list_interaction_content", { guid: SEED.inboundCall }));
  expect(second.error).toMatchObject({ code: "not_configured" });
}, 15_000);

it("a check that cannot tell (the search refused by the rate limit) is not repeated for every 404: the 404s are believed", async () => {
  const c = await h.inProcess({ env: { VCC_CONFIRMATION: "token", VCC_MAX_RETRIES: "0" } });
  h.sim.setStandingFault("list-interactions", { status: 429 });
  const items = ["1", "2", "3"].map((n) => ({ guid: `00000000-0000-4000-8000-00000000000${n}`, contentKey: "callRecording" }));
  const result = structured(await c.call("bulk_delete_interaction_content", { items }));
  expect(result.error).toMatchObject({ code: "not_found" });
  expect(h.sim.requests("GET", "get-interaction")).toHaveLength(3);
  expect(h.sim.requests("GET", "list-interactions")).toHaveLength(1);
});

it("a job resumed by a server with a wrong base URL: not one item taken for gone; it pauses and says why", async () => {
  const data = await tempDataDir();
  try {
    const env = { VCC_DATA_DIR: data.dir, VCC_RETRY_BASE_MS: "1" };
    const count: ElicitHandler = () => ({ action: "accept", content: { count: "12" } });
    // Paused after its first deletion by five 503s in a row.
    const first = await h.inProcess({ env: { ...env, VCC_MAX_RETRIES: "0" }, elicit: count });
    h.sim.injectFaults("delete-content", {}, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 });
    const started = structured(await first.call("erase_interaction_content", JOB));
    await vi.waitFor(
      async () => expect(structured(await first.call("get_erasure_job", { jobId: started.jobId })).job.status).toBe("paused"),
      { timeout: 10_000, interval: 20 },
    );
    await closeJobServices();
    const c = await h.inProcess({ env: { ...env, VCC_API_BASE_URL: `${h.sim.apiBaseUrl}/wrong` } });
    await c.call("resume_erasure_job", { jobId: started.jobId });
    let job: Record<string, unknown> & { progress: Record<string, number> } = { progress: {} };
    await vi.waitFor(
      async () => {
        job = structured(await c.call("get_erasure_job", { jobId: started.jobId })).job;
        expect(job.status).not.toBe("running");
      },
      { timeout: 10_000, interval: 20 },
    );
    expect(job.status).toBe("paused");
    expect(job.progress.alreadyGone ?? 0).toBe(0);
    expect(job.progress.deleted).toBe(1);
    expect(textOf(await c.call("get_erasure_job", { jobId: started.jobId }))).toContain(
      "The API cannot be used with the current configuration: The API at VCC_API_BASE_URL answered 404",
    );
    // One check of the base, however many items met a 404.
    expect(h.sim.requests().filter((r) => r.method === "GET" && r.path.includes("/wrong/interactions?"))).toHaveLength(1);
  } finally {
    await closeJobServices();
    await data.cleanup();
  }
});
