// The searches of one server process keep to the pace the API accepted them at (VccClient.searchPace):
// a search, a cursor's call or a plan that follows one the rate limit held up waits for that pace
// instead of meeting the limit again (VCC documents 429 without Retry-After, and shares the limit
// across the account's APIs).
import { expect, it } from "vitest";
import { useJobDataDir } from "../helpers/jobs.js";
import { structured } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator({ extraInteractions: 20, retryAfterHeader: false });
const data = useJobDataDir();
/** Eight weeks: eight windows, one request each. */
const PERIOD = { connectFrom: "+441632960101", from: "2026-09-26T11:00:00Z", to: "2026-11-20T11:00:00Z" };
const WINDOW = 1_000;

const refused = () => h.sim.requests("GET", "list-interactions").filter((e) => e.status === 429).length;

it("a search after one the rate limit held up keeps to the pace learned there, and so does a plan: neither is refused again", async () => {
  const c = await h.inProcess({
    env: { VCC_DATA_DIR: data.dir(), VCC_CONFIRMATION: "token", VCC_RATE_LIMIT_WINDOW_MS: String(WINDOW), VCC_RETRY_BASE_MS: "1" },
  });
  h.sim.setRateLimit({ limit: 3, windowMs: WINDOW });
  const first = structured(await c.call("search_interactions", PERIOD));
  expect(first.complete).toBe(true);
  // Three accepted, then a 429 and its retry's: the second in a row teaches the pace (3 in any second).
  const learned = refused();
  expect(learned).toBeGreaterThanOrEqual(2);

  const second = structured(await c.call("search_interactions", PERIOD));
  expect(second.complete).toBe(true);
  expect(second.interactions).toEqual(first.interactions);
  const planned = structured(await c.call("erase_interaction_content", { ...PERIOD, contentTypes: ["all"] }));
  expect(planned.status).toBe("confirmation_required");
  expect(h.sim.requests("GET", "list-interactions").filter((e) => e.status === 200).length).toBe(24);
  expect(refused()).toBe(learned);
}, 30_000);
