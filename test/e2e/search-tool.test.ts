// search_interactions in process: a real SDK Client (tools/list first, so structuredContent is
// validated against the outputSchema) over an in-memory transport, the simulator over real HTTP.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditContext, AuditRecord, AuditTrail, SearchAuditRecord } from "../../src/audit.js";
import { loadConfig } from "../../src/config.js";
import { createServer, lazyApi } from "../../src/server.js";
import { SEARCH_SAMPLE } from "../../src/simulator/server.js";
import { MemoryState } from "../../src/state/index.js";
import type { ToolContext } from "../../src/tools/context.js";
import { SEARCH_TOOL_NAME, searchInteractionsTool } from "../../src/tools/search-interactions.js";
import { type Loose, SECRET_TOKEN, sharedValidator, structured, textOf } from "../helpers/mcp.js";
import { waitFor } from "../helpers/raw-api.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator();

type Written = { record: AuditRecord | SearchAuditRecord; context: AuditContext };
function memoryAudit(): AuditTrail & { records: Written[]; fail: boolean } {
  const trail = {
    enabled: true,
    records: [] as Written[],
    fail: false,
    async write(record: AuditRecord | SearchAuditRecord, context: AuditContext) {
      if (trail.fail) throw new Error("disk full");
      trail.records.push({ record, context });
    },
  };
  return trail;
}

const config = () => loadConfig({ VCC_ACCESS_TOKEN: SECRET_TOKEN, VCC_API_BASE_URL: h.sim.apiBaseUrl, VCC_RETRY_BASE_MS: "1" });
const open: Client[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});

async function connectTo(server: McpServer): Promise<Client> {
  const client = new Client({ name: "search-test", version: "1" }, { jsonSchemaValidator: sharedValidator });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(a), client.connect(b)]);
  // Listing first: the client then validates every structuredContent against the outputSchema.
  await client.listTools();
  open.push(client);
  return client;
}

/** Sessions of one process: they share the API client and the audit trail, as HTTP sessions do. */
function processOf(audit = memoryAudit()) {
  const cfg = config();
  const api = lazyApi(cfg);
  return { audit, session: () => connectTo(createServer({ config: cfg, api, audit })) };
}

const call = async (client: Client, args: Record<string, unknown>, options: Parameters<Client["callTool"]>[2] = {}) =>
  (await client.callTool({ name: SEARCH_TOOL_NAME, arguments: args }, undefined, options)) as CallToolResult;
const searches = () => h.sim.requests("GET", "list-interactions");
const YEAR = { from: "2026-01-01", to: "2026-11-30" };
/** The date `n` days from today (UTC). */
const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
const CALLER_A = { ...YEAR, party: [SEARCH_SAMPLE.callerA] };

/** The live sample interactions where either side starts with one of the numbers. */
function expectedGuids(numbers: string[]): string[] {
  return h.sim
    .interactions()
    .filter((i) => i.content.length > 0 && i.start >= "2026-01-01" && i.start < "2026-12-01")
    .filter((i) => numbers.some((n) => i.connectFrom.startsWith(n) || i.connectTo.startsWith(n)))
    .map((i) => i.guid)
    .sort();
}
const guidsOf = (s: Loose) => (s.interactions as { guid: string }[]).map((i) => i.guid);

describe("search_interactions", () => {
  it("is listed read-only, idempotent and open world, with error codes as an enum", async () => {
    const client = await processOf().session();
    const tool = (await client.listTools()).tools.find((t) => t.name === SEARCH_TOOL_NAME);
    expect(tool?.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true });
    const error = ((tool?.outputSchema?.properties ?? {}) as Loose).error;
    expect(error.properties.code.enum).toContain("invalid_input");
    expect(tool?.description).toMatch(/01632960101/);
    expect(tool?.description).toMatch(/To erase what was found \(an erasure request\), call erase_interaction_content/);
  });

  it("finds a repeat caller on both sides, with totals, windows and a readable summary", async () => {
    const { audit, session } = processOf();
    const client = await session();
    const result = await call(client, { ...CALLER_A, maxResults: 500 });
    expect(result.isError).toBeFalsy();
    const s = structured(result);
    expect(s.complete).toBe(true);
    expect(s.cursor).toBeUndefined();
    expect(guidsOf(s).sort()).toEqual(expectedGuids([SEARCH_SAMPLE.callerA]));
    const items = (s.interactions as Loose[]).flatMap((i) => i.content as Loose[]);
    expect(s.totals.interactions).toBe(s.interactions.length);
    expect(s.totals.items).toBe(items.length);
    expect(s.totals.bytes).toBe(items.reduce((n, i) => n + i.contentLength, 0));
    expect(s.totals.byType.callRecording).toBe(s.interactions.length);
    expect(s.windows).toMatchObject({ total: 48, done: 48 });
    expect(s.windows.searched).toHaveLength(48);
    expect(s.requests).toBe(96);
    expect(s.interactions[0]).toMatchObject({ handlingAgentIds: [expect.any(String)], direction: expect.any(String) });
    const text = textOf(result);
    expect(text).toMatch(new RegExp(`^Found ${s.interactions.length} interactions with ${items.length} content items`));
    expect(text).toMatch(/Searched 48 of 48 7-day windows/);
    // What comes next: the whole erasure as one approved job, or a few chosen items.
    expect(text).toMatch(/call erase_interaction_content with the same criteria and contentTypes/);
    expect(text).toMatch(/bulk_delete_interaction_content/);
    // One audit record: criteria, counts, time.
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]?.record).toMatchObject({
      event: "search",
      tool: SEARCH_TOOL_NAME,
      outcome: "complete",
      continued: false,
      criteria: { from: "2026-01-01T00:00:00.000Z", to: "2026-12-01T00:00:00.000Z", party: [SEARCH_SAMPLE.callerA] },
      interactions: s.interactions.length,
      items: items.length,
      requests: 96,
      windowsDone: 48,
      windowsTotal: 48,
      durationMs: expect.any(Number),
    });
  });

  it("a number typed with spaces and brackets is searched as stored, finds the same, and the person is told", async () => {
    const { session } = processOf();
    const client = await session();
    const stored = structured(await call(client, { ...CALLER_A, maxResults: 500 }));
    const typed = await call(client, { ...YEAR, party: ["+44 (0)1632 960101"], maxResults: 500 });
    expect(structured(typed).complete).toBe(true);
    expect(guidsOf(structured(typed)).sort()).toEqual(guidsOf(stored).sort());
    expect(guidsOf(stored).length).toBeGreaterThan(0);
    expect(structured(typed).criteria.party).toEqual([SEARCH_SAMPLE.callerA]);
    expect(textOf(typed)).toContain("'+44 (0)1632 960101' was searched as +441632960101");
  });

  it("reports progress as windows done of total", async () => {
    const client = await processOf().session();
    const seen: Progress[] = [];
    await call(client, { ...CALLER_A, from: "2026-06-01", to: "2026-07-15" }, { onprogress: (p) => seen.push(p) });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)).toMatchObject({ progress: 7, total: 7 });
    const values = seen.map((p) => p.progress);
    expect(values).toEqual([...values].sort((a, b) => a - b));
  });

  it("contentTypes and direction filter", async () => {
    const client = await processOf().session();
    const s = structured(await call(client, { ...CALLER_A, contentTypes: ["voicemail"], direction: "inbound" }));
    expect(s.interactions.length).toBeGreaterThan(0);
    for (const i of s.interactions as Loose[]) {
      expect(i.direction).toBe("inbound");
      expect(i.content.every((c: Loose) => c.type === "voicemail")).toBe(true);
    }
    expect(Object.keys(s.totals.byType)).toEqual(["voicemail"]);
  });

  it("what contentTypes leaves out is counted; a type name that matches nothing is not blamed on the number's format", async () => {
    const client = await processOf().session();
    const some = await call(client, { ...CALLER_A, contentTypes: ["voicemail"] });
    const listed = structured(some);
    expect(listed.complete).toBe(true);
    expect(Object.keys(listed.otherTypes ?? {}).length).toBeGreaterThan(0);
    expect(textOf(some)).toMatch(/Not listed: \d+ item\(s\) of type \w+/);
    // One format of the number given: the reminder that it may be stored in others too.
    expect(textOf(some)).toContain("may also be stored in another format");

    const wrong = await call(client, { ...CALLER_A, contentTypes: ["recording"] });
    const none = structured(wrong);
    expect(none.totals.interactions).toBe(0);
    expect(none.otherTypes).toMatchObject({ callRecording: expect.any(Number) });
    expect(textOf(wrong)).toContain("check the type names in contentTypes");
    expect(textOf(wrong)).toContain("none holds content of the types asked for");
    expect(textOf(wrong)).not.toContain("another format");

    // Followed with a cursor: a call's counts are its own, so a call that finds nothing more says so,
    // not that the person's interactions hold nothing of the types asked for.
    let page = structured(await call(client, { ...CALLER_A, contentTypes: ["voicemail"], maxResults: 2 }));
    expect(page.totals.interactions).toBeGreaterThan(0);
    let last = "";
    while (page.cursor) {
      const next = await call(client, { ...CALLER_A, contentTypes: ["voicemail"], maxResults: 2, cursor: page.cursor });
      last = textOf(next);
      expect(last).not.toContain("none holds content of the types asked for");
      expect(last).not.toContain("check the type names");
      page = structured(next);
    }
    expect(page.complete).toBe(true);
    if (page.totals.interactions === 0) expect(last).toContain("this last call found nothing more");

    // Both formats given: no reminder.
    const both = await call(client, { ...YEAR, party: [SEARCH_SAMPLE.callerA, SEARCH_SAMPLE.callerANational] });
    expect(textOf(both)).not.toContain("another format");
  });

  it("records the API sent that could not be read: listed nowhere, and the search is not complete", async () => {
    const client = await processOf().session();
    const criteria = { from: "2026-05-01", to: "2026-05-03", party: [SEARCH_SAMPLE.callerA] };
    h.sim.injectFaults("list-interactions", {
      status: 200,
      body: JSON.stringify({ items: [{ guid: 42 }], meta: { nextContinuationToken: null } }),
    });
    const result = await call(client, criteria);
    const s = structured(result);
    expect(s).toMatchObject({ complete: false, unreadable: 1 });
    expect(s.cursor).toBeUndefined();
    expect(textOf(result)).toMatch(/Not complete: the whole period was searched, but 1 record\(s\) the API sent could not be read/);
    expect(textOf(result)).not.toMatch(/The search is complete/);
  });

  it("a token the API echoes in a page of results reaches neither the result nor the audit; a record whose names it changed is unreadable, not left out", async () => {
    const audit = memoryAudit();
    const client = await processOf(audit).session();
    const criteria = { from: "2026-05-01", to: "2026-05-03", party: [SEARCH_SAMPLE.callerA] };
    // The token hidden behind JSON escapes of its '-' (\u002d) in a content type, and as written in an address.
    const escaped = SECRET_TOKEN.replace(/-/g, "\\u002d");
    const record = (guid: string, connectTo: string, contentType: string) =>
      `{"guid":"${guid}","start":"2026-05-02T10:00:00Z","connectFrom":"${SEARCH_SAMPLE.callerA}","connectTo":"${connectTo}","content":[{"contentKey":"callRecording","type":"callRecording","contentType":"${contentType}"}]}`;
    const body = `{"items":[${record("0b4c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f99", "+441632960900", `audio/wav; ${escaped}`)},${record("0b4c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f98", `agent Bearer ${SECRET_TOKEN}`, "audio/wav")}],"meta":{"nextContinuationToken":null}}`;
    expect(body).not.toContain(`wav; ${SECRET_TOKEN}`);
    h.sim.injectFaults("list-interactions", { status: 200, body, contentType: "application/json" });
    const result = await call(client, criteria);
    const s = structured(result);
    // The first is listed with its content type redacted; the second, whose address the redaction changed, is unreadable.
    expect(s.totals).toMatchObject({ interactions: 1, items: 1 });
    expect(s).toMatchObject({ complete: false, unreadable: 1 });
    expect(JSON.stringify(result)).toContain("[REDACTED]");
    expect(JSON.stringify(result)).not.toContain(SECRET_TOKEN);
    expect(JSON.stringify(audit.records)).not.toContain(SECRET_TOKEN);
  });

  it("an error before anything was found: the text gives the cursor to try again from", async () => {
    const client = await processOf().session();
    const refused = { status: 503, body: JSON.stringify({ message: "Service Unavailable" }) };
    h.sim.injectFaults("list-interactions", refused, refused, refused, refused, refused);
    const result = await call(client, { from: "2026-05-01", to: "2026-05-03", party: [SEARCH_SAMPLE.callerA] });
    const s = structured(result);
    expect(s.error).toBeDefined();
    expect(s.cursor).toEqual(expect.any(String));
    expect(textOf(result)).toContain(`cursor "${s.cursor}"`);
  });

  it("maxResults and cursor: continues where it stopped; refused with other criteria or in another session", async () => {
    const { audit, session } = processOf();
    const client = await session();
    const first = structured(await call(client, { ...CALLER_A, maxResults: 5 }));
    expect(first.interactions).toHaveLength(5);
    expect(first.complete).toBe(false);
    expect(first.stoppedBecause).toBe("max_results");
    expect(first.cursor).toMatch(/^sc_/);
    const all = [...guidsOf(first)];
    let cursor: string | undefined = first.cursor;
    let calls = 1;
    while (cursor && calls < 30) {
      const next = structured(await call(client, { ...CALLER_A, maxResults: 5, cursor }));
      all.push(...guidsOf(next));
      cursor = next.cursor;
      calls++;
    }
    expect(all.sort()).toEqual(expectedGuids([SEARCH_SAMPLE.callerA]));
    expect(new Set(all).size).toBe(all.length);
    expect(audit.records.filter((r) => (r.record as SearchAuditRecord).continued)).toHaveLength(calls - 1);

    // The same cursor again gives the same continuation (idempotent) ...
    const again = await call(client, { ...CALLER_A, maxResults: 5, cursor: first.cursor });
    expect(structured(again).interactions).toHaveLength(5);
    // ... but not with other criteria, and not in another session.
    const before = searches().length;
    const other = await call(client, { ...CALLER_A, party: [SEARCH_SAMPLE.callerANational], maxResults: 5, cursor: first.cursor });
    expect(other.isError).toBe(true);
    expect(structured(other).error).toMatchObject({ code: "invalid_input", message: expect.stringMatching(/other criteria/) });
    const elsewhere = await call(await session(), { ...CALLER_A, maxResults: 5, cursor: first.cursor });
    expect(structured(elsewhere).error).toMatchObject({ code: "invalid_input", message: expect.stringMatching(/another MCP session/) });
    const unknown = await call(client, { ...CALLER_A, cursor: "sc_not-issued-by-this-server" });
    expect(structured(unknown).error).toMatchObject({ code: "invalid_input", message: expect.stringMatching(/unknown/) });
    expect(searches().length).toBe(before);
  });

  it("a cursor expires", async () => {
    let now = Date.parse("2026-12-02T10:00:00Z");
    const tool = searchInteractionsTool({ now: () => now });
    // The cursor's expiry is the shared state's: it has the same clock.
    const client = await customServer(tool, new MemoryState({ now: () => now }));
    const first = structured(await call(client, { ...CALLER_A, maxResults: 1 }));
    now += 31 * 60_000;
    const late = await call(client, { ...CALLER_A, maxResults: 1, cursor: first.cursor });
    expect(structured(late).error).toMatchObject({ code: "invalid_input", message: expect.stringMatching(/expired/) });
  });

  it("time budget: returns what it found with a cursor; the next call completes the search", async () => {
    let clock = Date.parse("2026-12-02T10:00:00Z");
    // Each reading of the clock moves it 5 s: the one-minute budget lasts a few requests.
    const client = await customServer(searchInteractionsTool({ now: () => (clock += 5_000) }));
    const first = structured(await call(client, { ...CALLER_A, maxResults: 500 }));
    expect(first).toMatchObject({ complete: false, stoppedBecause: "time_budget", cursor: expect.any(String) });
    expect(first.windows.done).toBeLessThan(first.windows.total);
    const all = [...guidsOf(first)];
    let cursor: string | undefined = first.cursor;
    for (let i = 0; cursor && i < 50; i++) {
      const next = structured(await call(client, { ...CALLER_A, maxResults: 500, cursor }));
      all.push(...guidsOf(next));
      cursor = next.cursor;
    }
    expect(all.sort()).toEqual(expectedGuids([SEARCH_SAMPLE.callerA]));
  });

  it("bad input gets a clear error and sends nothing", async () => {
    const { audit, session } = processOf();
    const client = await session();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...YEAR }, /at least one of party/],
      [{ from: day(-30), to: day(3), party: ["+44"] }, /future/],
      [{ from: "2024-01-01", to: "2026-06-01", party: ["+44"] }, /two years/],
      [{ from: "2026-06-01", to: "2026-05-01", party: ["+44"] }, /after from/],
      [{ from: "01/06/2026", to: "2026-07-01", party: ["+44"] }, /not an ISO 8601/],
      [{ ...YEAR, party: ["+44"], connectTo: "+44" }, /not both/],
    ];
    for (const [args, message] of cases) {
      const result = await call(client, args);
      expect(result.isError, JSON.stringify(args)).toBe(true);
      expect(structured(result).error).toMatchObject({ code: "invalid_input", message: expect.stringMatching(message) });
      expect(textOf(result)).toMatch(/^Error \(invalid_input\)/);
    }
    // Refused by the schema before the handler: 6 addresses, 51 characters, maxResults 501.
    for (const args of [
      { ...YEAR, party: ["1", "2", "3", "4", "5", "6"] },
      { ...YEAR, party: ["x".repeat(51)] },
      { ...CALLER_A, maxResults: 501 },
    ]) {
      const result = await call(client, args).catch(
        (error: Error) => ({ isError: true, content: [{ type: "text", text: error.message }] }) as CallToolResult,
      );
      expect(result.isError).toBe(true);
    }
    // One number given as a string, not a list: told to send a list, not that it is too long.
    const single = await call(client, { ...YEAR, party: "+441632960101" });
    expect(single.isError).toBe(true);
    expect(textOf(single)).toMatch(/party must be a list \(a JSON array\), even of one address/);
    expect(textOf(single)).not.toMatch(/characters/);
    expect(searches()).toHaveLength(0);
    expect(audit.records.map((r) => r.record.outcome)).toEqual(cases.map(() => "refused"));
  });

  it("429 during the search: waits as the API asks and completes", async () => {
    const client = await processOf().session();
    h.sim.injectFaults("list-interactions", { status: 429, retryAfter: "0" }, { status: 429, retryAfter: "0" });
    const s = structured(await call(client, { ...CALLER_A, from: "2026-06-01", to: "2026-07-01" }));
    expect(s.complete).toBe(true);
    expect(s.requests).toBe(5 * 2 + 2);
    expect(searches().filter((e) => e.status === 429)).toHaveLength(2);
  });

  it("an API failure: an error result that still matches the schema, with what was found and a cursor", async () => {
    const client = await processOf().session();
    h.sim.setStandingFault("list-interactions", { status: 403, body: '{"message":"Forbidden"}' });
    const result = await call(client, CALLER_A);
    expect(result.isError).toBe(true);
    expect(structured(result)).toMatchObject({
      complete: false,
      stoppedBecause: "error",
      error: { code: "forbidden" },
      cursor: expect.any(String),
    });
  });

  it("cancelled: stops searching", async () => {
    const { audit, session } = processOf();
    const client = await session();
    h.sim.setStandingFault("list-interactions", { latencyMs: 20 });
    const controller = new AbortController();
    const call1 = call(client, CALLER_A, { signal: controller.signal, onprogress: () => controller.abort() });
    await expect(call1).rejects.toThrow();
    await waitFor(() => audit.records.length === 1);
    expect(audit.records[0]?.record).toMatchObject({ outcome: "cancelled", errorCode: "cancelled" });
    const sent = searches().length;
    expect(sent).toBeLessThan(96);
    // Once the record is written the search has ended: one more request of this test proves the order.
    expect((await call(client, { ...CALLER_A, from: "2026-06-01", to: "2026-06-07" })).isError).toBeFalsy();
    expect(searches().length).toBe(sent + 2);
  });

  it("the audit log cannot be written: the results are withheld", async () => {
    const audit = memoryAudit();
    audit.fail = true;
    const client = await processOf(audit).session();
    const result = await call(client, { ...CALLER_A, from: "2026-06-01", to: "2026-07-01" });
    expect(result.isError).toBe(true);
    expect(structured(result)).toMatchObject({ interactions: [], error: { code: "audit_failed" } });
  });
});

/** A server with only this search tool, registered as server.ts registers it. */
async function customServer(tool: ReturnType<typeof searchInteractionsTool>, state = new MemoryState()): Promise<Client> {
  const cfg = config();
  const server = new McpServer({ name: "search-only", version: "1" });
  const context = {
    config: cfg,
    api: lazyApi(cfg),
    state,
    audit: memoryAudit(),
    auditContext: () => ({ dryRun: false, sandbox: false }),
    // The search never asks for confirmation, nor starts jobs.
    confirmer: undefined as never,
    jobs: undefined as never,
  } satisfies ToolContext;
  const { title, description, inputSchema, outputSchema, annotations } = tool;
  server.registerTool(tool.name, { title, description, inputSchema, outputSchema, annotations }, (input, extra) =>
    tool.handler(input, context, extra),
  );
  return connectTo(server);
}
