// The fault matrix: every fault the simulator can inject, against one approved deletion, with what
// the user is told (status, error.code, outcomeUnknown, verifiedByAbsence), how many DELETEs reached
// the API, how many attempts the audit log recorded, and that nothing but the target changed.
// In process (the HTTP client against the simulator over real HTTP is what is tested, not the
// process): waits between attempts last a hundredth of the planned time, and a request the client
// gave up on is awaited with the simulator's idle() instead of a sleep.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { SimInteraction } from "../../src/simulator/seed.js";
import { SEED, SEED_ITEM_KEYS } from "../../src/simulator/seed.js";
import type { Fault } from "../../src/simulator/server.js";
import { type Connected, type ElicitHandler, structured, textOf } from "../helpers/mcp.js";
import { HUNDREDFOLD, useSimulator } from "../helpers/simulator.js";

const TOOL = "delete_interaction_content";
const TARGET = { guid: SEED.inboundCall, contentKey: "callRecording" };
/** Per-attempt timeout in this suite: long enough for a healthy local request on a slow machine. */
const TIMEOUT_MS = 1000;
/** The shorter per-attempt timeout of the rows that wait for it to pass. */
const SHORT_TIMEOUT_MS = 400;
/** A latency that makes SHORT_TIMEOUT_MS pass: the client gives up, then the simulator acts. */
const LATE_MS = SHORT_TIMEOUT_MS + 100;
/** An error body long enough to be cut or sent in pieces. */
const LONG_BODY = JSON.stringify({ message: `Service unavailable: ${"x".repeat(400)}` });
const approve: ElicitHandler = () => ({ action: "accept", content: { confirm: true } });

const h = useSimulator();

interface Server {
  c: Connected;
  audit: string;
}

/** A server in this process; `realWaits`: waits between attempts last as long as planned. */
async function server(env: Record<string, string> = {}, realWaits = false): Promise<Server> {
  const audit = join(mkdtempSync(join(tmpdir(), "vcc-matrix-")), "audit.jsonl");
  const c = await h.inProcess({
    env: {
      VCC_TIMEOUT_MS: String(TIMEOUT_MS),
      VCC_RETRY_BASE_MS: "5",
      VCC_AUDIT_LOG: audit,
      ...env,
    },
    elicit: approve,
    ...(realWaits ? {} : { timing: HUNDREDFOLD }),
  });
  return { c, audit };
}

/** The last deletion record of the audit log. */
function lastDeletion(audit: string): Record<string, unknown> | undefined {
  return readFileSync(audit, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((r) => r.event === "deletion")
    .at(-1);
}

const snapshot = (): SimInteraction[] => structuredClone([...h.sim.interactions()]);
/** toEqual, with its deep comparison (~700 interactions: tens of ms) only where the JSON texts differ. */
function expectSameData(actual: SimInteraction[], expected: SimInteraction[]): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) expect(actual).toEqual(expected);
}
/** The data as it should be: `before`, less the target when it was deleted. */
function expectedAfter(before: SimInteraction[], gone: boolean): SimInteraction[] {
  if (!gone) return before;
  return before.map((i) => (i.guid === TARGET.guid ? { ...i, content: i.content.filter((c) => c.contentKey !== TARGET.contentKey) } : i));
}

interface Expectation {
  status: "deleted" | "error";
  code?: string;
  outcomeUnknown?: true;
  verifiedByAbsence?: true;
  httpStatus?: number;
  retryAfterSeconds?: number;
  /** DELETE requests that reached the simulator. */
  deletes: number;
  /** HTTP attempts the audit log recorded (differs from `deletes` when nothing could connect). */
  attempts?: number;
  /** Whether the target is gone afterwards. */
  gone: boolean;
}

interface Row {
  name: string;
  /** Queued on DELETE, one per attempt, oldest first (a function when made at run time). */
  faults?: Fault[] | (() => Fault[]);
  /** Applied to every DELETE. */
  standing?: Fault;
  /** Queued on the lookup (GET /interactions/{guid}). */
  lookupFaults?: Fault[];
  lookupStanding?: Fault;
  expect: Expectation;
  /** The rows that time out: the server's per-attempt timeout is SHORT_TIMEOUT_MS. */
  shortTimeout?: true;
  /** Waits between attempts last as long as planned (where the deadline is tested). */
  realWaits?: true;
}

/** An HTTP date 1-2 s ahead (the format has whole seconds). */
const retryAfterDate = () => new Date(Date.now() + 2000).toUTCString();

async function run(row: Row, env: Record<string, string> = {}): Promise<void> {
  const s = await server(row.shortTimeout ? { ...env, VCC_TIMEOUT_MS: String(SHORT_TIMEOUT_MS) } : env, row.realWaits);
  const sim = h.sim;
  const before = snapshot();
  if (row.faults) sim.injectFaults("delete-content", ...(typeof row.faults === "function" ? row.faults() : row.faults));
  if (row.standing) sim.setStandingFault("delete-content", row.standing);
  if (row.lookupFaults) sim.injectFaults("get-interaction", ...row.lookupFaults);
  if (row.lookupStanding) sim.setStandingFault("get-interaction", row.lookupStanding);
  const result = await s.c.call(TOOL, TARGET);
  // A request the client gave up on may still act (a held one acts now): wait until the simulator has finished with it.
  sim.release();
  await sim.idle();
  sim.setStandingFault("delete-content", undefined);
  sim.setStandingFault("get-interaction", undefined);

  const out = structured(result);
  const e = row.expect;
  expect(out.status, textOf(result)).toBe(e.status);
  expect(result.isError ?? false).toBe(e.status === "error");
  expect(out.error?.code).toBe(e.code);
  expect(out.error?.outcomeUnknown).toBe(e.outcomeUnknown);
  expect(out.verifiedByAbsence).toBe(e.verifiedByAbsence);
  if (e.httpStatus !== undefined) expect(out.httpStatus).toBe(e.httpStatus);
  if (e.retryAfterSeconds !== undefined) expect(out.error?.retryAfterSeconds).toBe(e.retryAfterSeconds);
  // What the text says matches the structured outcome.
  if (e.outcomeUnknown) {
    expect(textOf(result)).toMatch(/may or may not|outcome is unknown/i);
    expect(textOf(result)).not.toMatch(/not deleted|nothing was deleted|not carried out/i);
  }
  if (e.verifiedByAbsence) expect(textOf(result)).toMatch(/confirmed by the content's absence/);
  if (e.status === "deleted" && !e.verifiedByAbsence) expect(textOf(result)).toMatch(/^Deleted/);

  expect(sim.requests("DELETE")).toHaveLength(e.deletes);
  expect(lastDeletion(s.audit)).toMatchObject({
    outcome: e.status === "deleted" ? "deleted" : "error",
    attempts: e.attempts ?? e.deletes,
    ...(e.verifiedByAbsence ? { verifiedByAbsence: true } : {}),
    ...(e.outcomeUnknown ? { outcomeUnknown: true } : {}),
  });
  // The target is gone exactly when expected, and nothing else changed.
  expectSameData(snapshot(), expectedAfter(before, e.gone));
  expect(sim.requests().every((r) => r.route !== "delete-interaction" && r.route !== "delete-batch")).toBe(true);
}

/** Every fault kind the simulator offers, on DELETE, with VCC_MAX_RETRIES=3 (4 attempts at most). */
const ROWS: Row[] = [
  // Answers that are retried, then succeed.
  { name: "429 with Retry-After: 0", faults: [{ status: 429, retryAfter: "0" }], expect: { status: "deleted", deletes: 2, gone: true } },
  {
    name: "429 with Retry-After: 1 (seconds)",
    faults: [{ status: 429, retryAfter: "1" }],
    expect: { status: "deleted", deletes: 2, gone: true },
  },
  {
    name: "429 with Retry-After as an HTTP date",
    faults: () => [{ status: 429, retryAfter: retryAfterDate() }],
    expect: { status: "deleted", deletes: 2, gone: true },
  },
  { name: "429 without Retry-After (backoff)", faults: [{ status: 429 }], expect: { status: "deleted", deletes: 2, gone: true } },
  {
    name: "500 with a JSON message",
    faults: [{ status: 500, body: '{"message":"Unexpected error, contact support"}' }],
    expect: { status: "deleted", deletes: 2, gone: true },
  },
  {
    name: "502 with an HTML page",
    faults: [{ status: 502, body: "<html>Bad Gateway</html>", contentType: "text/html" }],
    expect: { status: "deleted", deletes: 2, gone: true },
  },
  { name: "503 with Retry-After: 0", faults: [{ status: 503, retryAfter: "0" }], expect: { status: "deleted", deletes: 2, gone: true } },
  { name: "504 with an empty body", faults: [{ status: 504 }], expect: { status: "deleted", deletes: 2, gone: true } },
  {
    name: "three 503s, then success on the last allowed attempt",
    faults: [{ status: 503 }, { status: 503 }, { status: 503 }],
    expect: { status: "deleted", deletes: 4, gone: true },
  },
  // Answers that are final at once.
  {
    name: "400 is never retried",
    faults: [{ status: 400, body: '{"message":"GUID must be 36 characters in length"}' }],
    expect: { status: "error", code: "bad_request", httpStatus: 400, deletes: 1, gone: false },
  },
  {
    name: "401 with a static token is never retried",
    faults: [{ status: 401 }],
    expect: { status: "error", code: "unauthorized", httpStatus: 401, deletes: 1, gone: false },
  },
  {
    name: "403 is never retried",
    faults: [{ status: 403 }],
    expect: { status: "error", code: "forbidden", httpStatus: 403, deletes: 1, gone: false },
  },
  {
    name: "404 on the first attempt stays not_found",
    faults: [{ status: 404, body: '{"message":"Content not found"}' }],
    expect: { status: "error", code: "not_found", httpStatus: 404, deletes: 1, gone: false },
  },
  {
    name: "an unexpected status (409) is not retried and its outcome is unknown",
    faults: [{ status: 409 }],
    expect: { status: "error", code: "unexpected_status", outcomeUnknown: true, httpStatus: 409, deletes: 1, gone: false },
  },
  // Retries exhausted.
  {
    name: "503 on every attempt: upstream_error after 4 attempts",
    standing: { status: 503 },
    expect: { status: "error", code: "upstream_error", httpStatus: 503, deletes: 4, gone: false },
  },
  {
    name: "429 on every attempt: rate_limited after 4 attempts",
    standing: { status: 429, retryAfter: "0" },
    expect: { status: "error", code: "rate_limited", httpStatus: 429, retryAfterSeconds: 0, deletes: 4, gone: false },
  },
  {
    name: "Retry-After beyond the 30 s cap: not waited for, reported",
    faults: [{ status: 429, retryAfter: "120" }],
    expect: { status: "error", code: "rate_limited", retryAfterSeconds: 120, deletes: 1, gone: false },
  },
  // A gateway or server error that may come after the deletion was carried out (500, 502, 504).
  {
    name: "502 after the deletion took effect: the retry's 404 confirms it",
    faults: [{ status: 502, afterAction: true, body: '{"message":"Bad gateway"}' }],
    expect: { status: "deleted", verifiedByAbsence: true, httpStatus: 404, deletes: 2, gone: true },
  },
  {
    name: "504 after the deletion took effect, on every attempt: outcome unknown (it was in fact deleted)",
    standing: { status: 504, afterAction: true },
    expect: { status: "error", code: "upstream_error", outcomeUnknown: true, httpStatus: 504, deletes: 4, gone: true },
  },
  {
    name: "500 on every attempt: outcome unknown, never 'not deleted'",
    standing: { status: 500, body: '{"message":"Unexpected error"}' },
    expect: { status: "error", code: "upstream_error", outcomeUnknown: true, httpStatus: 500, deletes: 4, gone: false },
  },
  {
    name: "502, then 503 until retries run out: outcomeUnknown is kept",
    faults: [{ status: 502 }, { status: 503 }, { status: 503 }, { status: 503 }],
    expect: { status: "error", code: "upstream_error", outcomeUnknown: true, httpStatus: 503, deletes: 4, gone: false },
  },
  // The connection fails.
  {
    name: "connection dropped before the deletion took effect: retried, deleted",
    faults: [{ drop: "before" }],
    expect: { status: "deleted", httpStatus: 204, deletes: 2, gone: true },
  },
  {
    name: "connection dropped after the deletion took effect: the retry's 404 confirms it",
    faults: [{ drop: "after" }],
    expect: { status: "deleted", verifiedByAbsence: true, httpStatus: 404, deletes: 2, gone: true },
  },
  {
    name: "dropped before, on every attempt: outcome unknown, not deleted",
    standing: { drop: "before" },
    expect: { status: "error", code: "network_error", outcomeUnknown: true, deletes: 4, gone: false },
  },
  {
    name: "dropped after, on every attempt: outcome unknown (it was in fact deleted)",
    standing: { drop: "after" },
    expect: { status: "error", code: "network_error", outcomeUnknown: true, deletes: 4, gone: true },
  },
  {
    name: "dropped after, then 503 until retries run out: outcomeUnknown is kept",
    faults: [{ drop: "after" }, { status: 503 }, { status: 503 }, { status: 503 }],
    expect: { status: "error", code: "upstream_error", outcomeUnknown: true, httpStatus: 503, deletes: 4, gone: true },
  },
  {
    name: "no answer in time, then success: deleted by the retry",
    // Held (not a latency): the first request acts only after the retry, however slow the retry is.
    faults: [{ hold: true }],
    expect: { status: "deleted", httpStatus: 204, deletes: 2, gone: true },
    shortTimeout: true,
  },
  {
    name: "no answer in time, then 404: deleted, confirmed by absence",
    faults: [{ latencyMs: LATE_MS }, { status: 404 }],
    expect: { status: "deleted", verifiedByAbsence: true, httpStatus: 404, deletes: 2, gone: true },
    shortTimeout: true,
  },
  {
    name: "no answer in time on every attempt: timeout, outcome unknown",
    standing: { latencyMs: LATE_MS },
    expect: { status: "error", code: "timeout", outcomeUnknown: true, deletes: 4, gone: true },
    shortTimeout: true,
  },
  {
    name: "a slow but timely answer",
    faults: [{ latencyMs: 200 }],
    expect: { status: "deleted", httpStatus: 204, deletes: 1, gone: true },
  },
  {
    name: "a success cut off inside its status line: outcome unknown, the retry's 404 confirms it",
    faults: [{ truncate: true }],
    expect: { status: "deleted", verifiedByAbsence: true, httpStatus: 404, deletes: 2, gone: true },
  },
  {
    name: "a 503 whose body is cut off: the status decides, retried",
    faults: [{ status: 503, body: LONG_BODY, truncate: true }],
    expect: { status: "deleted", httpStatus: 204, deletes: 2, gone: true },
  },
  {
    name: "a 503 whose body comes slower than the timeout: the status decides, retried",
    faults: [{ status: 503, body: LONG_BODY, slowBodyMs: SHORT_TIMEOUT_MS }],
    expect: { status: "deleted", httpStatus: 204, deletes: 2, gone: true },
    shortTimeout: true,
  },
  // The lookup before the prompt (GET) is retried within its own short limit.
  {
    name: "lookup: one 503 is retried; the deletion goes ahead",
    lookupFaults: [{ status: 503 }],
    expect: { status: "deleted", httpStatus: 204, deletes: 1, gone: true },
  },
  {
    name: "lookup: 503 on every attempt: asked without a preview, deleted",
    lookupStanding: { status: 503 },
    expect: { status: "deleted", httpStatus: 204, deletes: 1, gone: true },
  },
  {
    name: "lookup: a truncated answer is retried",
    lookupFaults: [{ truncate: true }],
    expect: { status: "deleted", httpStatus: 204, deletes: 1, gone: true },
  },
  {
    name: "lookup: an answer slower than the timeout is retried",
    lookupFaults: [{ slowBodyMs: SHORT_TIMEOUT_MS }],
    expect: { status: "deleted", httpStatus: 204, deletes: 1, gone: true },
    shortTimeout: true,
  },
];

describe("fault matrix: one deletion, VCC_MAX_RETRIES=3", () => {
  for (const row of ROWS) it(row.name, () => run(row));

  it("the lookup's retries give the person a preview after a transient 503", async () => {
    const s = await server();
    const sim = h.sim;
    sim.injectFaults("get-interaction", { status: 503 });
    const result = await s.c.call(TOOL, TARGET);
    expect(structured(result).preview).toMatchObject({ type: "callRecording" });
    expect(sim.requests("GET", "get-interaction")).toHaveLength(2);
  });

  it("a retried deletion touches only its own item", async () => {
    const s = await server();
    const sim = h.sim;
    const before = snapshot();
    sim.injectFaults("delete-content", { drop: "after" });
    const result = await s.c.call(TOOL, { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail });
    expect(structured(result)).toMatchObject({ status: "deleted", verifiedByAbsence: true });
    const after = snapshot();
    expect(after.find((i) => i.guid === SEED.voicemails)?.content.map((c) => c.contentKey)).toEqual([SEED_ITEM_KEYS.legacyVoicemail]);
    expectSameData(
      after.filter((i) => i.guid !== SEED.voicemails),
      before.filter((i) => i.guid !== SEED.voicemails),
    );
    expect(new Set(sim.requests("DELETE").map((r) => r.path)).size).toBe(1);
  });
});

describe("fault matrix: retries disabled (VCC_MAX_RETRIES=0)", () => {
  const rows: Row[] = [
    {
      name: "503: one attempt, upstream_error",
      faults: [{ status: 503 }],
      expect: { status: "error", code: "upstream_error", deletes: 1, gone: false },
    },
    {
      name: "429: one attempt, rate_limited with Retry-After",
      faults: [{ status: 429, retryAfter: "3" }],
      expect: { status: "error", code: "rate_limited", retryAfterSeconds: 3, deletes: 1, gone: false },
    },
    {
      name: "502 after the deletion took effect: one attempt, outcome unknown",
      faults: [{ status: 502, afterAction: true }],
      expect: { status: "error", code: "upstream_error", outcomeUnknown: true, httpStatus: 502, deletes: 1, gone: true },
    },
    {
      name: "504 before anything happened: one attempt, still outcome unknown (the client cannot tell)",
      faults: [{ status: 504 }],
      expect: { status: "error", code: "upstream_error", outcomeUnknown: true, httpStatus: 504, deletes: 1, gone: false },
    },
    {
      name: "dropped after the deletion: outcome unknown",
      faults: [{ drop: "after" }],
      expect: { status: "error", code: "network_error", outcomeUnknown: true, deletes: 1, gone: true },
    },
    {
      name: "no answer in time: timeout, outcome unknown",
      faults: [{ latencyMs: LATE_MS }],
      expect: { status: "error", code: "timeout", outcomeUnknown: true, deletes: 1, gone: true },
      shortTimeout: true,
    },
  ];
  for (const row of rows) it(row.name, () => run(row, { VCC_MAX_RETRIES: "0" }));
});

describe("fault matrix: the deadline (VCC_DEADLINE_MS=2500)", () => {
  it("stops waiting for Retry-After once the next attempt could not finish before the deadline", async () => {
    await run(
      {
        name: "deadline",
        standing: { status: 429, retryAfter: "1" },
        realWaits: true,
        // 429 at 0 s; waits 1 s; 429 at ~1 s; a third attempt would need 1 s + up to 1 s, past 2.5 s.
        expect: { status: "error", code: "rate_limited", retryAfterSeconds: 1, deletes: 2, gone: false },
      },
      { VCC_DEADLINE_MS: "2500" },
    );
  });
});

describe("fault matrix: nothing listening", () => {
  it("refused connections are retried, and nothing was sent or deleted", async () => {
    const s = await server({ VCC_API_BASE_URL: "http://127.0.0.1:9/interaction-content" });
    const result = await s.c.call(TOOL, TARGET);
    expect(structured(result)).toMatchObject({ status: "error", error: { code: "network_error" } });
    expect(structured(result).error.outcomeUnknown).toBeUndefined();
    expect(textOf(result)).toMatch(/Nothing was sent/);
    expect(lastDeletion(s.audit)).toMatchObject({ outcome: "error", errorCode: "network_error", attempts: 4 });
    expect(h.sim.journal).toHaveLength(0);
  });
});
