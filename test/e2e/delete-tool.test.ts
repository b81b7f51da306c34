// The delete tool end to end: the built server over stdio, driven by the SDK Client, against the
// simulator over real HTTP. Every test asserts what the user sees and what reached the API.
import type { ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { SEED, SEED_ITEM_KEYS } from "../../src/simulator/seed.js";
import type { Simulator } from "../../src/simulator/server.js";
import { countingApprover, type ElicitHandler, structured, textOf } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const TOOL = "delete_interaction_content";
const h = useSimulator();

// Tool logic: in process (fast); the spawned server is covered by the process, http and bundle tests.
const server = (options: { env?: Record<string, string>; elicit?: ElicitHandler } = {}) => h.inProcess(options);
/** Bare tokens are used only when chosen (auto mode uses the approval page where the client cannot prompt). */
const TOKEN_MODE = { VCC_CONFIRMATION: "token" };

const deletes = () => h.deletes();
const hasContent = (guid: string, key: string) => h.sim.holds(guid, key);

describe("tools/list", () => {
  it("lists the tool with destructive annotations, strict input schema and an output schema", async () => {
    const c = await server();
    const { tools } = await c.client.listTools();
    const tool = tools.find((t) => t.name === TOOL);
    expect(tool).toBeDefined();
    expect(tool?.annotations).toMatchObject({ destructiveHint: true, idempotentHint: true, readOnlyHint: false, openWorldHint: true });
    expect(tool?.annotations?.title ?? tool?.title).toBeTruthy();
    expect(tool?.inputSchema.required).toEqual(["guid", "contentKey"]);
    expect(tool?.inputSchema.additionalProperties).toBe(false);
    expect(tool?.outputSchema?.properties).toHaveProperty("status");
    expect(tool?.description).toMatch(/cannot be undone/i);
  });
});

describe("confirmation by elicitation", () => {
  it("deletes after the person accepts, with one DELETE carrying the right path and headers", async () => {
    const prompts: string[] = [];
    const c = await server({
      elicit: ({ message }) => {
        prompts.push(message);
        expect(deletes()).toHaveLength(0); // nothing sent before the answer
        return { action: "accept", content: { confirm: true } };
      },
    });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(result.isError).toBeFalsy();
    expect(structured(result)).toMatchObject({ status: "deleted", httpStatus: 204, guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(textOf(result)).toMatch(/Deleted/);
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toContain(SEED.inboundCall);
    expect(prompts[0]).toContain("callRecording");
    expect(prompts[0]).toMatch(/cannot be undone/i);
    const sent = deletes();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.path).toBe(`/interaction-content/interactions/${SEED.inboundCall}/content/callRecording`);
    expect(sent[0]?.headers.accept).toBe("application/vnd.newvoicemedia.v3+json");
    expect(sent[0]?.auth).toBe("valid");
    expect(hasContent(SEED.inboundCall, "callRecording")).toBe(false);
  });

  const answers: [string, ElicitResult][] = [
    ["decline", { action: "decline" }],
    ["cancel", { action: "cancel" }],
    ["accept without confirm", { action: "accept", content: { confirm: false } }],
    // Answers the form does not allow (the SDK refuses them): answers still, and not a yes.
    ["accept with the box left out", { action: "accept", content: {} }],
    ["accept with another value", { action: "accept", content: { confirm: "yes" } }],
  ];
  for (const [label, answer] of answers) {
    it(`${label}: status cancelled, no token, nothing sent`, async () => {
      const c = await server({ elicit: () => answer });
      const result = await c.call(TOOL, { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail });
      expect(result.isError).toBeFalsy();
      expect(structured(result).status).toBe("cancelled");
      expect(structured(result).confirmationToken).toBeUndefined();
      expect(textOf(result)).toMatch(/do not try again unless the user asks/i);
      expect(deletes()).toHaveLength(0);
      expect(hasContent(SEED.voicemails, SEED_ITEM_KEYS.voicemail)).toBe(true);
    });
  }

  it("falls back to a token when the elicitation request fails", async () => {
    const c = await server({
      elicit: () => {
        throw new Error("client could not show the form");
      },
    });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript" });
    expect(structured(result).status).toBe("confirmation_required");
    expect(structured(result).confirmationToken).toBeTruthy();
    expect(deletes()).toHaveLength(0);
  });

  it("mode token never elicits, even when the client could", async () => {
    const approver = countingApprover();
    const c = await server({ env: { VCC_CONFIRMATION: "token" }, elicit: approver.handler });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript" });
    expect(structured(result).status).toBe("confirmation_required");
    expect(approver.asked).toBe(0);
    expect(deletes()).toHaveLength(0);
  });

  it("mode elicitation refuses clients that cannot elicit", async () => {
    const c = await server({ env: { VCC_CONFIRMATION: "elicitation" } });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript" });
    expect(result.isError).toBe(true);
    expect(structured(result)).toMatchObject({ status: "error", error: { code: "elicitation_unsupported" } });
    expect(structured(result).confirmationToken).toBeUndefined();
    expect(deletes()).toHaveLength(0);
  });
});

describe("confirmation by token", () => {
  it("asks first, then deletes exactly once with the token; a second use is refused", async () => {
    const c = await server({ env: TOKEN_MODE });
    const first = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript" });
    expect(first.isError).toBeFalsy();
    const s = structured(first);
    expect(s.status).toBe("confirmation_required");
    expect(s.confirmationToken).toMatch(/^vcc-confirm-[A-Za-z0-9_-]{32,}$/);
    expect(Date.parse(s.expiresAt)).toBeGreaterThan(Date.now());
    expect(textOf(first)).toMatch(/ask the user/i);
    expect(deletes()).toHaveLength(0);

    const second = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: s.confirmationToken });
    expect(structured(second)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(deletes()).toHaveLength(1);

    const replay = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: s.confirmationToken });
    expect(replay.isError).toBe(true);
    expect(structured(replay).error.code).toBe("confirmation_invalid");
    expect(structured(replay).error.message).toMatch(/already been used/);
    // This call deleted nothing, but the deletion happened: the message does not say "nothing was deleted".
    expect(structured(replay).error.message).toContain("This call deleted nothing; the call that used it did what the token approved");
    expect(deletes()).toHaveLength(1);
  });

  it("a token is spent by its first use even when the API answers an error", async () => {
    const c = await server({ env: { VCC_MAX_RETRIES: "0", ...TOKEN_MODE } });
    const token = structured(await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript" })).confirmationToken;
    h.sim.injectFaults("delete-content", { status: 500, body: '{"message":"boom"}' });
    const failed = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(failed).error.code).toBe("upstream_error");
    const again = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(again).error.code).toBe("confirmation_invalid");
    expect(deletes()).toHaveLength(1);
  });

  it("refuses a token issued for another item, and a made-up token; nothing is sent", async () => {
    const c = await server({ env: TOKEN_MODE });
    const token = structured(await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript" })).confirmationToken;
    const other = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording", confirmationToken: token });
    expect(structured(other).error.code).toBe("confirmation_invalid");
    expect(structured(other).error.message).toMatch(/issued for something else/);
    const otherGuid = await c.call(TOOL, { guid: SEED.screenRecording, contentKey: "transcript", confirmationToken: token });
    expect(structured(otherGuid).error.code).toBe("confirmation_invalid");
    const madeUp = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: "vcc-confirm-made-up" });
    expect(structured(madeUp).error.code).toBe("confirmation_invalid");
    expect(deletes()).toHaveLength(0);
    // The right call still works: a mismatch does not burn the token.
    const right = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(right).status).toBe("deleted");
  });

  it("refuses an expired token", async () => {
    // A lifetime shorter than a user may configure (the harness sets it past the environment's checks).
    const c = await h.inProcess({ durations: { confirmationTtlSeconds: 0.2 } });
    const token = structured(await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript" })).confirmationToken;
    await new Promise((r) => setTimeout(r, 300));
    const late = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(late).error.code).toBe("confirmation_invalid");
    expect(structured(late).error.message).toMatch(/expired/);
    expect(deletes()).toHaveLength(0);
  });

  it("a token from one server process is unknown to another", async () => {
    const a = await server({ env: TOKEN_MODE });
    const b = await server({ env: TOKEN_MODE });
    const token = structured(await a.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript" })).confirmationToken;
    const result = await b.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(result).error.code).toBe("confirmation_invalid");
    expect(deletes()).toHaveLength(0);
  });
});

// One answer each, retries off: retries and their outcomes are covered by fault-matrix.test.ts.
describe("API answers become precise results", () => {
  const approve = () => ({ action: "accept" as const, content: { confirm: true } });
  const noRetries = { VCC_MAX_RETRIES: "0" };
  const cases: { fault: Parameters<Simulator["injectFaults"]>[1]; code: string; status: number; extra?: Record<string, unknown> }[] = [
    {
      fault: { status: 400, body: '{"message":"GUID must be 36 characters in length"}' },
      code: "bad_request",
      status: 400,
      extra: { upstreamMessage: "GUID must be 36 characters in length" },
    },
    { fault: { status: 401 }, code: "unauthorized", status: 401 },
    { fault: { status: 403 }, code: "forbidden", status: 403 },
    {
      fault: { status: 429, retryAfter: "7", body: '{"message":"Too many requests"}' },
      code: "rate_limited",
      status: 429,
      extra: { retryAfterSeconds: 7 },
    },
    {
      fault: { status: 500, body: '{"message":"Unexpected error, contact support"}' },
      code: "upstream_error",
      status: 500,
      // It may have been carried out behind the gateway.
      extra: { outcomeUnknown: true },
    },
    {
      fault: { status: 503, body: "<html><body>Service Unavailable</body></html>", contentType: "text/html" },
      code: "upstream_error",
      status: 503,
    },
  ];
  for (const { fault, code, status, extra } of cases) {
    it(`${status} → ${code}`, async () => {
      const c = await server({ env: noRetries, elicit: approve });
      h.sim.injectFaults("delete-content", fault);
      const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
      expect(result.isError).toBe(true);
      expect(structured(result)).toMatchObject({ status: "error", httpStatus: status, error: { code, httpStatus: status, ...extra } });
      expect(structured(result).error.message.length).toBeGreaterThan(20);
      if (status === 503) expect(structured(result).error.upstreamMessage).toBeUndefined();
      if (status === 503 || status === 429) expect(structured(result).error.outcomeUnknown).toBeUndefined();
      expect(deletes()).toHaveLength(1);
    });
  }

  it("404 → not_found when the content is already gone", async () => {
    const c = await server({ env: noRetries, elicit: approve });
    h.sim.injectFaults("get-interaction", { status: 503 }); // no preview: the DELETE itself answers
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "sentimentSummary" });
    expect(structured(result)).toMatchObject({ status: "deleted" });
    h.sim.injectFaults("get-interaction", { status: 503 });
    const again = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "sentimentSummary" });
    expect(structured(again)).toMatchObject({ status: "error", httpStatus: 404, error: { code: "not_found", httpStatus: 404 } });
    expect(structured(again).error.message).toMatch(/already gone|wrong/);
    expect(deletes()).toHaveLength(2);
  });

  it("caps the API's message at 500 characters", async () => {
    const c = await server({ env: noRetries, elicit: approve });
    h.sim.injectFaults("delete-content", { status: 400, body: JSON.stringify({ message: "x".repeat(2000) }) });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(result).error.upstreamMessage.length).toBeLessThanOrEqual(500);
  });

  it("a dead port → network_error saying nothing was deleted", async () => {
    const c = await server({ env: { ...noRetries, VCC_API_BASE_URL: "http://127.0.0.1:9/interaction-content" }, elicit: approve });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(result)).toMatchObject({ status: "error", error: { code: "network_error" } });
    expect(structured(result).error.message).toMatch(/Nothing was sent/);
  });

  it("no answer in time → timeout, and the outcome is reported as unknown", async () => {
    const c = await server({ env: { ...noRetries, VCC_TIMEOUT_MS: "300" }, elicit: approve });
    h.sim.injectFaults("delete-content", { latencyMs: 1500 });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(result)).toMatchObject({ status: "error", error: { code: "timeout", outcomeUnknown: true } });
    expect(structured(result).error.message).toMatch(/may or may not/);
  });

  it("a connection dropped after the deletion took effect → outcome unknown, never 'not deleted'", async () => {
    const c = await server({ env: noRetries, elicit: approve });
    h.sim.injectFaults("delete-content", { drop: "after" });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(result)).toMatchObject({ status: "error", error: { code: "network_error", outcomeUnknown: true } });
    expect(hasContent(SEED.inboundCall, "callRecording")).toBe(false);
  });
});

describe("bad input is refused before anything is sent", () => {
  const bad: Record<string, unknown>[] = [
    { guid: SEED.inboundCall, contentKey: ".." },
    { guid: SEED.inboundCall, contentKey: "." },
    { guid: SEED.inboundCall, contentKey: "a/b" },
    { guid: SEED.inboundCall, contentKey: "%2e%2e" },
    { guid: SEED.inboundCall, contentKey: "a".repeat(37) },
    { guid: SEED.inboundCall, contentKey: "" },
    { guid: SEED.inboundCall, contentKey: "call recording" },
    { guid: "111414121313", contentKey: "callRecording" },
    { guid: `${SEED.inboundCall}0`, contentKey: "callRecording" },
    { guid: "5f1c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f1g", contentKey: "callRecording" },
    { guid: "5f1c9a2e7b3d4e8a9c1f2a6b8d0e4f11abcd", contentKey: "callRecording" },
    { guid: SEED.inboundCall, contentKey: "callRecording", extra: true },
    { guid: SEED.inboundCall },
    { contentKey: "callRecording" },
    { guid: 42, contentKey: "callRecording" },
  ];
  it("every bad argument set gets a clear error and the API receives no request", async () => {
    const approver = countingApprover();
    const c = await server({ elicit: approver.handler });
    for (const args of bad) {
      const result = await c.call(TOOL, args);
      expect(result.isError, JSON.stringify(args)).toBe(true);
      expect(textOf(result).length).toBeGreaterThan(10);
    }
    expect(approver.asked).toBe(0);
    expect(h.sim.journal).toHaveLength(0);
  });

  it("accepts uppercase and non-RFC GUIDs and all allowed key characters", async () => {
    const c = await server();
    for (const [guid, contentKey] of [
      [SEED.inboundCall.toUpperCase(), "callRecording"],
      [SEED.chat, "chatTranscript"],
      [SEED.inboundCall, "a!-_.,*'()Z9"],
      [SEED.inboundCall, "..."],
    ] as const) {
      h.sim.injectFaults("get-interaction", { status: 403 }); // no preview, so the key is not checked against the listing
      const result = await c.call(TOOL, { guid, contentKey });
      expect(structured(result).status, `${guid} ${contentKey}`).toBe("confirmation_required");
    }
    expect(deletes()).toHaveLength(0);
  });

  it("encodes every path segment", async () => {
    const c = await server({ env: TOKEN_MODE });
    h.sim.injectFaults("get-interaction", { status: 403 }); // no preview
    const token = structured(await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "a!'()*" })).confirmationToken;
    await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "a!'()*", confirmationToken: token });
    expect(deletes()[0]?.path).toBe(`/interaction-content/interactions/${SEED.inboundCall}/content/a%21%27%28%29%2A`);
  });
});

describe("without credentials", () => {
  it("starts, lists the tool, and answers not_configured without asking or sending", async () => {
    const approver = countingApprover();
    // An empty variable counts as unset.
    const c = await h.connect({ env: { VCC_ACCESS_TOKEN: "" }, elicit: approver.handler });
    const { tools } = await c.client.listTools();
    expect(tools.map((t) => t.name)).toContain(TOOL);
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(result)).toMatchObject({ status: "error", error: { code: "not_configured" } });
    expect(structured(result).error.message).toMatch(/VCC_ACCESS_TOKEN/);
    expect(approver.asked).toBe(0);
    expect(h.sim.journal).toHaveLength(0);
  });
});
