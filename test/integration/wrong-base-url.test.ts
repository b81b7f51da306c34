// A wrong VCC_API_BASE_URL (or region) answers 404 to everything. For one interaction that would read
// as "no such interaction, or already deleted" — the worst misreading for someone erasing a person's
// data. A 404 about an interaction is believed only where the API's search answers at the same base.
import { expect, it } from "vitest";
import { SEED } from "../../src/simulator/seed.js";
import { structured, textOf } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator();
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
