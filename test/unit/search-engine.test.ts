// The search engine against the simulator over real HTTP, through the one API client.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { registerSecret } from "../../src/log.js";
import { normaliseCriteria, type SearchCriteria, type SearchInput } from "../../src/search/criteria.js";
import { runSearch, type SearchEnv, type SearchOutcome, sidesOf } from "../../src/search/engine.js";
import { WINDOW_MS } from "../../src/search/windows.js";
import { SEARCH_SAMPLE, type SimInteraction, type Simulator, startSimulator } from "../../src/simulator/server.js";
import { staticTokens } from "../../src/vcc/auth.js";
import { VccClient } from "../../src/vcc/client.js";
import { parseSearchPage } from "../../src/vcc/search.js";

const NOW = Date.parse("2026-12-02T12:00:00Z");
let sim: Simulator;
let client: VccClient;
beforeAll(async () => {
  sim = await startSimulator();
  client = new VccClient({
    apiBaseUrl: sim.apiBaseUrl,
    timeoutMs: 5_000,
    tokens: staticTokens("sandbox-token"),
    retry: { maxRetries: 2, deadlineMs: 10_000, baseDelayMs: 1 },
  });
});
afterAll(async () => {
  await client.close();
  await sim.close();
});
beforeEach(() => sim.reset());

const criteria = (input: Partial<SearchInput>): SearchCriteria => {
  const r = normaliseCriteria({ from: "2026-05-01", to: "2026-08-01", ...input } as SearchInput, NOW);
  if (!r.ok) throw new Error(r.error.message);
  return r.criteria;
};
const env = (extra: Partial<SearchEnv> = {}): SearchEnv => ({ request: (q, o) => client.searchInteractions(q, o), ...extra });
const searches = () => sim.requests("GET", "list-interactions");

/** A simulator of the API as VCC documents its rate limit (3 requests in any window, 429s without Retry-After), and a client of it. */
async function withDocumentedApi(windowMs: number, run: (documented: Simulator, own: VccClient) => Promise<void>): Promise<void> {
  const documented = await startSimulator({ retryAfterHeader: false, rateLimit: { limit: 3, windowMs } });
  const own = new VccClient({
    apiBaseUrl: documented.apiBaseUrl,
    timeoutMs: 5_000,
    tokens: staticTokens("sandbox-token"),
    retry: { maxRetries: 2, deadlineMs: 10_000, baseDelayMs: 1 },
  });
  try {
    await run(documented, own);
  } finally {
    await own.close();
    await documented.close();
  }
}
const queryOf = (path: string) => new URL(path, "http://x").searchParams;

/** What the search must find: the live interactions in [from, to) where either side starts with an address. */
function expected(c: SearchCriteria, match: (i: SimInteraction) => boolean): string[] {
  return sim
    .interactions()
    .filter((i) => i.content.length > 0 && Date.parse(i.start) >= c.from && Date.parse(i.start) < c.to && match(i))
    .map((i) => i.guid)
    .sort();
}
const guids = (o: SearchOutcome) => o.interactions.map((i) => i.guid).sort();

describe("party on both sides", () => {
  it("finds every interaction the number started or received, once, one query per side per window", async () => {
    const c = criteria({ party: [SEARCH_SAMPLE.callerA] });
    const out = await runSearch(c, 500, undefined, env());
    expect(out.stop).toBe("complete");
    expect(out.next).toBeUndefined();
    const want = expected(c, (i) => i.connectFrom.startsWith(SEARCH_SAMPLE.callerA) || i.connectTo.startsWith(SEARCH_SAMPLE.callerA));
    expect(want.length).toBeGreaterThan(8);
    expect(guids(out)).toEqual(want);
    // Both directions are among them; the national format is a different stored address.
    expect(new Set(out.interactions.map((i) => i.direction))).toEqual(new Set(["inbound", "outbound"]));
    expect(out.interactions.some((i) => i.connectFrom === SEARCH_SAMPLE.callerANational)).toBe(false);
    const windows = out.windows.length;
    expect(windows).toBe(14); // 92 days
    expect(out.requests).toBe(windows * 2);
    const sides = searches().map((e) => [...queryOf(e.path).keys()].filter((k) => k.startsWith("connect")).join());
    expect(sides.filter((s) => s === "connectFrom")).toHaveLength(windows);
    expect(sides.filter((s) => s === "connectTo")).toHaveLength(windows);
    for (const e of searches()) {
      const q = queryOf(e.path);
      expect(q.get("limit")).toBe("1000");
      expect(Date.parse(q.get("end") ?? "") - Date.parse(q.get("start") ?? "")).toBeLessThanOrEqual(WINDOW_MS);
      // The + of the number reached the API as a plus, not a space.
      expect(q.get("connectFrom") ?? q.get("connectTo")).toBe(SEARCH_SAMPLE.callerA);
    }
  });

  it("several formats of one number: the union, each interaction once", async () => {
    const c = criteria({ party: [SEARCH_SAMPLE.callerA, SEARCH_SAMPLE.callerANational] });
    const out = await runSearch(c, 500, undefined, env());
    const numbers: string[] = [SEARCH_SAMPLE.callerA, SEARCH_SAMPLE.callerANational];
    const want = expected(c, (i) => numbers.some((n) => i.connectFrom.startsWith(n) || i.connectTo.startsWith(n)));
    expect(guids(out)).toEqual(want);
    expect(out.requests).toBe(out.windows.length * 4);
  });

  it("an interaction between two of the addresses (on both sides) is returned once", async () => {
    const c = criteria({ from: "2026-05-01", to: "2026-05-15", party: [SEARCH_SAMPLE.callerA, SEARCH_SAMPLE.centre] });
    const out = await runSearch(c, 500, undefined, env());
    const own = new Set<string>([SEARCH_SAMPLE.callerA, SEARCH_SAMPLE.centre]);
    expect(guids(out)).toEqual(expected(c, (i) => own.has(i.connectFrom) || own.has(i.connectTo)));
    expect(out.interactions.some((i) => own.has(i.connectFrom ?? "") && own.has(i.connectTo ?? ""))).toBe(true);
    expect(new Set(guids(out)).size).toBe(out.interactions.length);
  });

  it("keeps only the person's own addresses: a longer one the API's starts-with match also finds is another person's", async () => {
    const record = (guid: string, connectFrom: string | null, connectTo: string | null) => ({
      guid,
      start: "2026-05-02T10:00:00.000Z",
      direction: "inbound",
      connectFrom,
      connectTo,
      content: [{ contentKey: "callRecording", type: "callRecording", contentType: "audio/wav", contentLength: null }],
    });
    const page = {
      items: [
        record("a0000000-0000-4000-8000-000000000001", SEARCH_SAMPLE.callerA, SEARCH_SAMPLE.centre),
        // Another subscriber whose number starts with caller A's.
        record("a0000000-0000-4000-8000-000000000002", `${SEARCH_SAMPLE.callerA}2`, SEARCH_SAMPLE.centre),
        // No address on either side: whose it is cannot be told.
        record("a0000000-0000-4000-8000-000000000003", null, null),
      ],
      meta: { nextContinuationToken: null },
    };
    const c = criteria({ from: "2026-05-01", to: "2026-05-03", party: [SEARCH_SAMPLE.callerA] });
    const out = await runSearch(c, 500, undefined, {
      request: async () => ({ ok: true, attempts: 1, response: { status: 200, body: JSON.stringify(page), headers: {} } }),
    } as unknown as SearchEnv);
    expect(guids(out)).toEqual(["a0000000-0000-4000-8000-000000000001"]);
    // A size the API sent as null is read as unknown, not a reason to leave the record out.
    expect(out.interactions[0]?.content).toEqual([{ contentKey: "callRecording", type: "callRecording", contentType: "audio/wav" }]);
    expect(out.unreadable).toBe(1);
  });
});

describe("a continuation token the API no longer takes", () => {
  const record = (n: number) => ({
    guid: `b0000000-0000-4000-8000-00000000000${n}`,
    start: "2026-05-02T10:00:00.000Z",
    connectFrom: SEARCH_SAMPLE.callerA,
    connectTo: SEARCH_SAMPLE.centre,
    content: [{ contentKey: "callRecording", type: "callRecording" }],
  });
  const answer = (items: unknown[], next: string | null) => ({
    ok: true,
    attempts: 1,
    response: { status: 200, body: JSON.stringify({ items, meta: { nextContinuationToken: next } }), headers: {} },
  });
  const refused = { ok: false, attempts: 1, error: { code: "bad_request", httpStatus: 400, message: "Invalid continuation token" } };
  const c = () => criteria({ from: "2026-05-01", to: "2026-05-03", connectFrom: SEARCH_SAMPLE.callerA });

  it("starts the window again from its first page: everything found, nothing twice", async () => {
    const tokens: (string | undefined)[] = [];
    let firstPages = 0;
    const out = await runSearch(c(), 500, undefined, {
      request: async (query: { continuationToken?: string }) => {
        tokens.push(query.continuationToken);
        if (query.continuationToken) return refused;
        return ++firstPages === 1 ? answer([record(1)], "expired-token") : answer([record(1), record(2)], null);
      },
    } as unknown as SearchEnv);
    expect(tokens).toEqual([undefined, "expired-token", undefined]);
    expect(out.stop).toBe("complete");
    expect(guids(out)).toEqual([record(1).guid, record(2).guid]);
  });

  it("refused again after starting over: stops, and says to search again without the cursor", async () => {
    const out = await runSearch(c(), 500, undefined, {
      request: async (query: { continuationToken?: string }) => (query.continuationToken ? refused : answer([record(1)], "expired-token")),
    } as unknown as SearchEnv);
    expect(out.stop).toBe("error");
    expect(out.error?.message).toMatch(
      /continuation token \(400\), also after this window was started again.*search again without the cursor/,
    );
    expect(guids(out)).toEqual([record(1).guid]);
  });
});

describe("queries", () => {
  it("party with an agent and a direction: both sides carry them", () => {
    expect(sidesOf(criteria({ party: ["+44", "0044"], handlingAgentId: "67833", direction: "inbound" }))).toEqual([
      { connectFrom: "+44", handlingAgentId: "67833", direction: "inbound" },
      { connectTo: "+44", handlingAgentId: "67833", direction: "inbound" },
      { connectFrom: "0044", handlingAgentId: "67833", direction: "inbound" },
      { connectTo: "0044", handlingAgentId: "67833", direction: "inbound" },
    ]);
    expect(sidesOf(criteria({ connectFrom: "+44", connectTo: "+1" }))).toEqual([{ connectFrom: "+44", connectTo: "+1" }]);
    expect(sidesOf(criteria({ handlingAgentId: "67833" }))).toEqual([{ handlingAgentId: "67833" }]);
  });
});

describe("windows at the edges", () => {
  // A caller A interaction that lies exactly on the boundary between the first and second window.
  const boundaryCase = () => {
    const target = sim
      .interactions()
      .find((i) => i.connectFrom === SEARCH_SAMPLE.callerA && i.content.length > 0 && i.start > "2026-06-01");
    if (!target) throw new Error("no sample interaction");
    const from = new Date(Date.parse(target.start) - WINDOW_MS).toISOString();
    const to = new Date(Date.parse(target.start) + 3 * 86_400_000).toISOString();
    return { target, c: criteria({ from, to, connectFrom: SEARCH_SAMPLE.callerA }) };
  };

  it("end inclusive (the simulator's default): the boundary interaction comes from both windows, is returned once", async () => {
    const { target, c } = boundaryCase();
    const out = await runSearch(c, 500, undefined, env());
    expect(out.windows).toHaveLength(2);
    const pages = searches().map((e) => e.path);
    expect(pages).toHaveLength(2);
    expect(out.interactions.filter((i) => i.guid === target.guid)).toHaveLength(1);
    expect(guids(out)).toEqual(expected(c, (i) => i.connectFrom.startsWith(SEARCH_SAMPLE.callerA)));
  });

  it("end exclusive: no gap, the boundary interaction is still found", async () => {
    const exclusive = await startSimulator({ searchEndInclusive: false });
    const other = new VccClient({ apiBaseUrl: exclusive.apiBaseUrl, timeoutMs: 5_000, tokens: staticTokens("sandbox-token") });
    try {
      const { target, c } = boundaryCase();
      const out = await runSearch(c, 500, undefined, { request: (q, o) => other.searchInteractions(q, o) });
      expect(out.interactions.filter((i) => i.guid === target.guid)).toHaveLength(1);
    } finally {
      await other.close();
      await exclusive.close();
    }
  });

  it("an interaction exactly at `to` is not returned even when the API includes it", async () => {
    const { target } = boundaryCase();
    const c = criteria({
      from: new Date(Date.parse(target.start) - 86_400_000).toISOString(),
      to: target.start,
      connectFrom: SEARCH_SAMPLE.callerA,
    });
    const out = await runSearch(c, 500, undefined, env());
    expect(guids(out)).not.toContain(target.guid);
  });
});

describe("paging, filters and stop rules", () => {
  it("follows the continuation token to null; small pages give the same result", async () => {
    const c = criteria({ party: undefined, handlingAgentId: SEARCH_SAMPLE.agent, from: "2026-05-01", to: "2026-05-29" });
    const whole = await runSearch(c, 500, undefined, env());
    sim.reset();
    const paged = await runSearch(c, 500, undefined, env({ pageLimit: 2 }));
    expect(guids(paged)).toEqual(guids(whole));
    expect(paged.requests).toBeGreaterThan(whole.requests);
    const tokens = searches().filter((e) => queryOf(e.path).has("continuationToken"));
    expect(tokens.length).toBe(paged.requests - whole.requests);
  });

  it("contentTypes keeps only those items and drops interactions left with none; direction filters", async () => {
    const c = criteria({ party: [SEARCH_SAMPLE.callerA], contentTypes: ["voicemail"] });
    const out = await runSearch(c, 500, undefined, env());
    expect(out.interactions.length).toBeGreaterThan(0);
    for (const i of out.interactions) expect(i.content.map((x) => x.type)).toEqual(i.content.map(() => "voicemail"));
    const outbound = await runSearch(criteria({ party: [SEARCH_SAMPLE.callerA], direction: "outbound" }), 500, undefined, env());
    expect(outbound.interactions.length).toBeGreaterThan(0);
    for (const i of outbound.interactions) expect(i.direction).toBe("outbound");
    expect(searches().at(-1)?.path).toContain("direction=outbound");
  });

  it("maxResults: stops with a position; continuing returns the rest without repeats or extra requests", async () => {
    const c = criteria({ party: [SEARCH_SAMPLE.callerA] });
    const all = await runSearch(c, 500, undefined, env());
    const calls: SearchOutcome[] = [];
    let next = undefined as SearchOutcome["next"];
    do {
      const out = await runSearch(c, 4, next, env());
      expect(out.interactions.length).toBeLessThanOrEqual(4);
      calls.push(out);
      next = out.next;
    } while (next && calls.length < 50);
    expect(calls.at(-1)?.stop).toBe("complete");
    expect(calls.slice(0, -1).every((o) => o.stop === "max_results")).toBe(true);
    const union = calls.flatMap((o) => o.interactions.map((i) => i.guid));
    expect(union.sort()).toEqual(guids(all));
    expect(calls.reduce((n, o) => n + o.requests, 0)).toBe(all.requests);
  });

  it("time budget: stops when it is spent and says where to continue", async () => {
    let clock = 0;
    const c = criteria({ party: [SEARCH_SAMPLE.callerA] });
    const out = await runSearch(c, 500, undefined, env({ budgetMs: 60_000, now: () => (clock += 10_000) }));
    expect(out.stop).toBe("time_budget");
    expect(out.next).toBeDefined();
    expect(out.requests).toBeLessThan(10);
    const rest = await runSearch(c, 500, out.next, env());
    expect(rest.stop).toBe("complete");
    const all = [...out.interactions, ...rest.interactions].map((i) => i.guid).sort();
    expect(all).toEqual(
      expected(c, (i) => i.connectFrom.startsWith(SEARCH_SAMPLE.callerA) || i.connectTo.startsWith(SEARCH_SAMPLE.callerA)),
    );
  });

  it("cancellation stops the search: no further request", async () => {
    const controller = new AbortController();
    const c = criteria({ party: [SEARCH_SAMPLE.callerA] });
    const out = await runSearch(
      c,
      500,
      undefined,
      env({ signal: controller.signal, onProgress: (p) => (p.windowsDone === 2 ? controller.abort() : undefined) }),
    );
    expect(out.stop).toBe("cancelled");
    expect(out.next).toBeUndefined();
    expect(searches()).toHaveLength(4);
  });

  it("429 during a search: waits as asked (Retry-After) and goes on; the result is complete", async () => {
    const c = criteria({ party: [SEARCH_SAMPLE.callerA] });
    const waits: number[] = [];
    sim.injectFaults("list-interactions", { status: 429, retryAfter: "0" }, { status: 429, retryAfter: "0" });
    const out = await runSearch(c, 500, undefined, env({ onWait: (_, e) => waits.push(e.kind === "retry" ? e.attempt : -1) }));
    expect(out.stop).toBe("complete");
    expect(out.requests).toBe(out.windows.length * 2 + 2);
    expect(waits).toEqual([1, 2]);
    expect(searches().filter((e) => e.status === 429)).toHaveLength(2);
  });

  it("after a 429 that asks to wait, the search paces itself to the rate the API allowed: one 429, not one a second", async () => {
    sim.setRateLimit(3);
    // 4 windows × 2 sides = 8 requests at 3 a second: 3, a 429 and a 1 s wait, 3, then 2 more a second later.
    const c = criteria({ from: "2026-06-01", to: "2026-06-28T12:00:00Z", party: [SEARCH_SAMPLE.callerA] });
    const out = await runSearch(c, 500, undefined, env());
    expect(out.stop).toBe("complete");
    expect(out.windows).toHaveLength(4);
    expect(searches().filter((e) => e.status === 429)).toHaveLength(1);
    expect(out.requests).toBe(9);
  });

  it("after a 429 that says nothing (as VCC documents it: no Retry-After), waits until the window's pace allows, then keeps to it", async () => {
    await withDocumentedApi(1_000, async (documented, own) => {
      const waits: { paced?: boolean; delayMs: number }[] = [];
      const c = criteria({ from: "2026-06-01", to: "2026-06-28T12:00:00Z", party: [SEARCH_SAMPLE.callerA] });
      const out = await runSearch(c, 500, undefined, {
        request: (q, o) => own.searchInteractions(q, o),
        rateLimitWindowMs: 1_000,
        onWait: (_, e) => {
          if (e.kind === "retry") waits.push({ ...(e.paced ? { paced: true } : {}), delayMs: e.delayMs });
        },
      });
      expect(out.stop).toBe("complete");
      // 8 requests at 3 in any second: a 429, a short backoff (it might have been a deletion in
      // progress), a second 429, then the retry when the window allowed it (not at once); no other.
      expect(documented.requests("GET", "list-interactions").filter((e) => e.status === 429)).toHaveLength(2);
      expect(out.requests).toBe(10);
      expect(waits).toEqual([{ delayMs: expect.any(Number) }, { paced: true, delayMs: expect.any(Number) }]);
      expect(waits[1]?.delayMs).toBeGreaterThan(100);
    });
  });

  it("a 429 without Retry-After whose pace (a minute) outlasts the call's time: retried with the backoff, then stopped with a cursor and true words", async () => {
    await withDocumentedApi(60_000, async (_documented, own) => {
      const waits: { paced?: boolean }[] = [];
      const c = criteria({ from: "2026-06-01", to: "2026-06-28T12:00:00Z", party: [SEARCH_SAMPLE.callerA] });
      const out = await runSearch(c, 500, undefined, {
        request: (q, o) => own.searchInteractions(q, o),
        budgetMs: 10_000,
        onWait: (_, e) => {
          if (e.kind === "retry") waits.push(e.paced ? { paced: true } : {});
        },
      });
      expect(out.stop).toBe("error");
      expect(out.next).toBeDefined();
      // The pace would have waited most of a minute, past this call's time: the backoff's two retries instead.
      expect(waits).toEqual([{}, {}]);
      expect(out.error).toMatchObject({
        code: "rate_limited",
        message: expect.stringMatching(/rate limit .* held it up for longer than this call could wait/),
      });
      expect(out.error?.message).not.toMatch(/after the retries/);
    });
  });

  it("a start the API sends without an offset is UTC, whatever the host's time zone (it is neither left out nor misplaced)", async () => {
    const before = process.env.TZ;
    process.env.TZ = "America/New_York";
    try {
      // 23:30 UTC on the period's last day: in New York's time it would be 2 June 03:30 UTC, past the period.
      const page = {
        items: [
          {
            guid: "3f0c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f01",
            start: "2026-06-01T23:30:00",
            connectFrom: SEARCH_SAMPLE.callerA,
            connectTo: "+441632960900",
            direction: "inbound",
            content: [{ contentKey: "callRecording", type: "callRecording" }],
          },
        ],
        meta: { nextContinuationToken: null },
      };
      sim.injectFaults("list-interactions", { status: 200, body: JSON.stringify(page), contentType: "application/json" });
      const c = criteria({ from: "2026-06-01", to: "2026-06-01", party: [SEARCH_SAMPLE.callerA] });
      const out = await runSearch(c, 500, undefined, env());
      expect(out.stop).toBe("complete");
      expect(out.interactions.map((i) => i.guid)).toContain("3f0c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f01");
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  });

  it("an error that outlasts the retries: stops with the error and a position at the failed page", async () => {
    const c = criteria({ party: [SEARCH_SAMPLE.callerA] });
    sim.injectFaults("list-interactions", { status: 503 }, { status: 503 }, { status: 503 });
    const out = await runSearch(c, 500, undefined, env());
    expect(out.stop).toBe("error");
    expect(out.error).toMatchObject({
      code: "upstream_error",
      httpStatus: 503,
      message: expect.stringMatching(/^The search stopped at window 1 of 14: .*cursor/),
    });
    expect(out.error?.message).not.toMatch(/deleted/);
    expect(out.next).toMatchObject({ window: 0, side: 0, token: null });
    expect(out.requests).toBe(3);
    // The position repeats the failed page: continuing finds everything.
    const rest = await runSearch(c, 500, out.next, env());
    expect(rest.stop).toBe("complete");
    expect(rest.requests).toBe(rest.windows.length * 2);
  });
});

describe("reading a page", () => {
  it("a registered secret inside a name (an address, a content key) makes the record unreadable, not a changed name; elsewhere it is redacted", () => {
    registerSecret("Zq9x7KkSecret");
    const record = (over: Record<string, unknown>) => ({
      guid: "5ea7c400-0000-4000-8000-000000000009",
      connectFrom: "+441632960101",
      content: [{ contentKey: "callRecording", contentType: "audio/wav" }],
      ...over,
    });
    const page = parseSearchPage(
      JSON.stringify({
        items: [
          record({ connectFrom: "chat:Zq9x7KkSecret" }),
          record({ content: [{ contentKey: "callZq9x7KkSecret" }] }),
          record({ content: [{ contentKey: "callRecording", contentType: "audio/wav; Zq9x7KkSecret" }] }),
        ],
        meta: { nextContinuationToken: null },
      }),
    );
    expect(page?.unreadable).toBe(2);
    expect(page?.items).toEqual([
      expect.objectContaining({
        connectFrom: "+441632960101",
        content: [{ contentKey: "callRecording", contentType: "audio/wav; [REDACTED]" }],
      }),
    ]);
  });

  it("missing size, type and date stay absent; unreadable records are counted, not guessed", () => {
    const page = parseSearchPage(
      JSON.stringify({
        items: [
          { guid: "5ea7c400-0000-4000-8000-000000000001", content: [{ contentKey: "callRecording" }], handlingAgents: [{ id: 67833 }] },
          { start: "2026-01-01T00:00:00Z" },
        ],
        meta: { nextContinuationToken: null },
      }),
    );
    expect(page).toEqual({
      items: [{ guid: "5ea7c400-0000-4000-8000-000000000001", handlingAgentIds: ["67833"], content: [{ contentKey: "callRecording" }] }],
      unreadable: 1,
      next: null,
    });
    expect(parseSearchPage("<html>")).toBeUndefined();
    expect(parseSearchPage('{"meta":{}}')).toBeUndefined();
  });
});
