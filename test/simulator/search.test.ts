// GET /interactions as the search section of ../shared/api/interaction-content-api.md describes it.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { READ_SCOPE, SEARCH_SAMPLE, SEED, type Simulator, startSimulator } from "../../src/simulator/server.js";
import { send } from "../helpers/raw-api.js";

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({
    staticTokens: { "sandbox-token": [READ_SCOPE, "interaction-content:delete"], "delete-only": ["interaction-content:delete"] },
  });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

type Page = {
  items: { guid: string; start: string; connectFrom: string; connectTo: string; direction: string }[];
  meta: { nextContinuationToken: string | null };
};
const search = async (params: Record<string, string>, token?: string) =>
  send(sim.apiBaseUrl, `/interactions?${new URLSearchParams(params).toString()}`, token ? { token } : {});
const page = async (params: Record<string, string>) => {
  const res = await search(params);
  expect(res.status, res.text).toBe(200);
  return res.json() as Page;
};
/** Every page of one query. */
const all = async (params: Record<string, string>) => {
  const items: Page["items"] = [];
  let token: string | null = null;
  do {
    const p: Page = await page(token ? { ...params, continuationToken: token } : params);
    items.push(...p.items);
    token = p.meta.nextContinuationToken;
  } while (token);
  return items;
};
const WEEK = { start: "2026-06-01T00:00:00Z", end: "2026-06-08T00:00:00Z" };

describe("GET /interactions: the range", () => {
  it("start and end are required", async () => {
    for (const params of [{ start: WEEK.start }, { end: WEEK.end }, {}] as Record<string, string>[]) {
      const res = await search(params);
      expect(res.status).toBe(400);
      expect(res.json().message).toMatch(/(start|end) parameter is required/);
    }
  });

  it("exactly 7 days is allowed; a millisecond more → 400 with a message", async () => {
    expect((await search(WEEK)).status).toBe(200);
    const res = await search({ start: WEEK.start, end: "2026-06-08T00:00:00.001Z" });
    expect(res.status).toBe(400);
    expect(res.json().message).toMatch(/must not exceed 7 days/);
  });

  it("a month (the docs' own example) → 400; end before start → 400; not a date → 400", async () => {
    expect((await search({ start: "2026-06-01T00:00:00Z", end: "2026-07-01T00:00:00Z" })).status).toBe(400);
    expect((await search({ start: WEEK.end, end: WEEK.start })).status).toBe(400);
    expect((await search({ start: "yesterday", end: WEEK.end })).status).toBe(400);
  });

  it("returns only interactions in the range, in start order; end inclusive by default", async () => {
    const items = await all({ ...WEEK, limit: "1000" });
    expect(items.length).toBeGreaterThan(10);
    const starts = items.map((i) => Date.parse(i.start));
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    for (const t of starts) expect(t >= Date.parse(WEEK.start) && t <= Date.parse(WEEK.end)).toBe(true);
    const one = items[3] as Page["items"][number];
    const exact = await page({ start: one.start, end: one.start });
    expect(exact.items.map((i) => i.guid)).toEqual([one.guid]);
  });

  it("with searchEndInclusive false, an interaction exactly at end is not returned", async () => {
    const exclusive = await startSimulator({ searchEndInclusive: false });
    try {
      const first = (await page({ ...WEEK, limit: "1" })).items[0] as Page["items"][number];
      const res = await send(
        exclusive.apiBaseUrl,
        `/interactions?${new URLSearchParams({ start: "2026-05-31T00:00:00Z", end: first.start })}`,
      );
      expect(res.json().items.map((i: { guid: string }) => i.guid)).not.toContain(first.guid);
    } finally {
      await exclusive.close();
    }
  });
});

describe("GET /interactions: filters", () => {
  it("connectFrom and connectTo match how the stored address starts, exactly as stored", async () => {
    const range = { start: "2026-05-01T00:00:00Z", end: "2026-05-08T00:00:00Z" };
    expect((await all({ ...range, connectFrom: "+4420794" })).every((i) => i.connectFrom.startsWith("+4420794"))).toBe(true);
    let found = 0;
    for (let week = 0; week < 29; week++) {
      const start = new Date(Date.parse(SEARCH_SAMPLE.from) + week * 7 * 86_400_000);
      const end = new Date(start.getTime() + 7 * 86_400_000);
      const w = { start: start.toISOString(), end: end.toISOString() };
      const from = await all({ ...w, connectFrom: SEARCH_SAMPLE.callerA });
      const to = await all({ ...w, connectTo: SEARCH_SAMPLE.callerA });
      for (const i of from) expect(i.connectFrom).toBe(SEARCH_SAMPLE.callerA);
      for (const i of to) expect(i.connectTo).toBe(SEARCH_SAMPLE.callerA);
      found += from.length + to.length;
      // The national format is a different stored address: no match for the international one.
      for (const i of await all({ ...w, connectFrom: SEARCH_SAMPLE.callerANational }))
        expect(i.connectFrom).toBe(SEARCH_SAMPLE.callerANational);
    }
    expect(found).toBeGreaterThan(20);
  });

  it("address of 51 characters → 400; handlingAgentId and direction filter", async () => {
    expect((await search({ ...WEEK, connectFrom: "x".repeat(51) })).status).toBe(400);
    const agent = await all({ ...WEEK, handlingAgentId: SEARCH_SAMPLE.agent });
    expect(agent.length).toBeGreaterThan(0);
    expect(agent.length).toBeLessThan((await all(WEEK)).length);
    const outbound = await all({ ...WEEK, direction: "outbound" });
    expect(outbound.length).toBeGreaterThan(0);
    for (const i of outbound) expect(i.direction).toBe("outbound");
    expect((await search({ ...WEEK, direction: "sideways" })).status).toBe(400);
  });

  it("only interactions that still hold content", async () => {
    const listed = new Set((await all({ start: "2026-11-21T00:00:00Z", end: "2026-11-28T00:00:00Z" })).map((i) => i.guid));
    expect(listed.has(SEED.inboundCall)).toBe(true);
    expect(listed.has(SEED.empty)).toBe(false);
    const emptied = sim.interactions().filter((i) => i.content.length === 0 && i.start < SEARCH_SAMPLE.to);
    expect(emptied.length).toBeGreaterThan(0);
  });
});

describe("GET /interactions: paging and scope", () => {
  it("limit 1-1000 (above → 400); pages follow the opaque token to null without repeats", async () => {
    expect((await search({ ...WEEK, limit: "1001" })).status).toBe(400);
    expect((await search({ ...WEEK, limit: "0" })).status).toBe(400);
    const whole = (await page({ ...WEEK, limit: "1000" })).items.map((i) => i.guid);
    expect((await page({ ...WEEK, limit: "1000" })).meta.nextContinuationToken).toBeNull();
    const paged = (await all({ ...WEEK, limit: "4" })).map((i) => i.guid);
    expect(paged).toEqual(whole);
  });

  it("a token belongs to its query: used with another range → 400", async () => {
    const first = await page({ ...WEEK, limit: "2" });
    const token = first.meta.nextContinuationToken ?? "";
    const res = await search({ start: "2026-06-02T00:00:00Z", end: WEEK.end, limit: "2", continuationToken: token });
    expect(res.status).toBe(400);
  });

  it("needs the read scope", async () => {
    expect((await search(WEEK, "delete-only")).status).toBe(403);
  });
});
