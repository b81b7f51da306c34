// The contract a real client relies on (issue 15, item 1): every result of every tool, errors
// included, matches the outputSchema the tool publishes in tools/list. Connected as a real client
// (tools listed first, so the SDK client validates too), in process for speed, and each
// structuredContent checked again with a plain Ajv validator — the JSON Schema way, not zod's.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import { Ajv, type ValidateFunction } from "ajv";
import { describe, expect, it } from "vitest";
import { ERROR_CODE_LIST } from "../../src/core/errors.js";
import { SEARCH_SAMPLE, SEED } from "../../src/simulator/seed.js";
import { decideOnPage } from "../helpers/approval-page.js";
import { type Connected, type ElicitHandler, structured, textOf } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator();

const LIST = "list_interaction_content";
const DELETE = "delete_interaction_content";
const BULK = "bulk_delete_interaction_content";
const SEARCH = "search_interactions";
const TOOLS = [LIST, SEARCH, DELETE, BULK];

const accept: ElicitHandler = () => ({ action: "accept", content: { confirm: true } });
const decline: ElicitHandler = () => ({ action: "decline" });
const ONE = { guid: SEED.inboundCall, contentKey: "callRecording" };
const TWO = [ONE, { guid: SEED.voicemails, contentKey: "voicemail-123" }];

/** Validators compiled from what tools/list publishes (draft 2020-12, as zod writes it). */
async function validatorsOf(c: Connected): Promise<Map<string, ValidateFunction>> {
  const { tools } = await c.client.listTools();
  const ajv = new Ajv({ strict: false, allErrors: true });
  return new Map(tools.map((t: Tool) => [t.name, ajv.compile(t.outputSchema ?? {})]));
}

async function check(c: Connected, tool: string, result: CallToolResult, expected: { status?: string; code?: string }) {
  const validate = (await validatorsOf(c)).get(tool);
  expect(validate, `${tool} is listed with an outputSchema`).toBeDefined();
  expect(result.structuredContent, `${tool}: ${textOf(result)}`).toBeDefined();
  const valid = validate?.(result.structuredContent);
  expect(valid, `${tool} ${JSON.stringify(validate?.errors)} for ${JSON.stringify(result.structuredContent)}`).toBe(true);
  const s = structured(result);
  if (expected.status !== undefined) expect(s.status, textOf(result)).toBe(expected.status);
  if (expected.code !== undefined) expect(s.error?.code, textOf(result)).toBe(expected.code);
  expect(Boolean(result.isError), textOf(result)).toBe(expected.code !== undefined || expected.status === "error");
  return s;
}

const auditDirectory = () => mkdtempSync(join(tmpdir(), "vcc-contract-"));

describe("every tool publishes the error codes as an enum", () => {
  it("error.code lists exactly ERROR_CODE_LIST in every output schema", async () => {
    const c = await h.inProcess();
    const { tools } = await c.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...TOOLS].sort());
    for (const tool of tools) {
      const error = ((tool.outputSchema?.properties ?? {}) as Record<string, { properties?: { code?: { enum?: string[] } } }>).error;
      expect(error?.properties?.code?.enum, tool.name).toEqual(ERROR_CODE_LIST);
    }
  });
});

describe(`${LIST}: every result matches its schema`, () => {
  it("success, and not_found", async () => {
    const c = await h.inProcess();
    await check(c, LIST, await c.call(LIST, { guid: SEED.inboundCall }), {});
    await check(c, LIST, await c.call(LIST, { guid: SEED.empty }), { code: "not_found" });
  });

  it("errors from the API, each with its code", async () => {
    const c = await h.inProcess({ env: { VCC_MAX_RETRIES: "0", VCC_TIMEOUT_MS: "200" } });
    const cases: [Parameters<typeof h.sim.injectFaults>[1], string][] = [
      [{ status: 400 }, "bad_request"],
      [{ status: 401 }, "unauthorized"],
      [{ status: 403 }, "forbidden"],
      [{ status: 429, retryAfter: "1" }, "rate_limited"],
      [{ status: 500 }, "upstream_error"],
      [{ status: 409 }, "unexpected_status"],
      [{ status: 200, body: "<html>not an interaction</html>" }, "upstream_error"],
      [{ latencyMs: 1000 }, "timeout"],
      [{ drop: "before" }, "network_error"],
    ];
    for (const [fault, code] of cases) {
      h.sim.injectFaults("get-interaction", fault);
      await check(c, LIST, await c.call(LIST, { guid: SEED.inboundCall }), { code });
    }
  });

  it("not_configured and auth_failed", async () => {
    const none = await h.inProcess({ env: { VCC_ACCESS_TOKEN: "" } });
    await check(none, LIST, await none.call(LIST, { guid: SEED.inboundCall }), { code: "not_configured" });
    const wrong = await h.inProcess({
      env: { VCC_ACCESS_TOKEN: "", VCC_CLIENT_ID: "sandbox-client", VCC_CLIENT_SECRET: "wrong-secret", VCC_AUTH_URL: h.sim.authUrl },
    });
    await check(wrong, LIST, await wrong.call(LIST, { guid: SEED.inboundCall }), { code: "auth_failed" });
  });
});

describe(`${SEARCH}: every result matches its schema`, () => {
  const criteria = { from: "2026-05-01", to: "2026-11-30", party: [SEARCH_SAMPLE.callerA] };

  it("found with a cursor, continued, nothing found, refused cursor and bad input", async () => {
    const c = await h.inProcess();
    const first = await check(c, SEARCH, await c.call(SEARCH, { ...criteria, maxResults: 2 }), {});
    expect(first.cursor).toEqual(expect.any(String));
    await check(c, SEARCH, await c.call(SEARCH, { ...criteria, maxResults: 2, cursor: first.cursor }), {});
    await check(c, SEARCH, await c.call(SEARCH, { ...criteria, party: ["+99999"] }), {});
    await check(c, SEARCH, await c.call(SEARCH, { ...criteria, party: ["+99999"], cursor: first.cursor }), { code: "invalid_input" });
    await check(c, SEARCH, await c.call(SEARCH, { ...criteria, from: "2020-01-01" }), { code: "invalid_input" });
  });

  it("errors from the API, not_configured and auth_failed", async () => {
    const c = await h.inProcess({ env: { VCC_MAX_RETRIES: "0", VCC_TIMEOUT_MS: "200" } });
    for (const [fault, code] of [
      [{ status: 403 }, "forbidden"],
      [{ status: 500 }, "upstream_error"],
      [{ status: 429, retryAfter: "1" }, "rate_limited"],
    ] as const) {
      h.sim.injectFaults("list-interactions", fault);
      await check(c, SEARCH, await c.call(SEARCH, criteria), { code });
    }
    const none = await h.inProcess({ env: { VCC_ACCESS_TOKEN: "" } });
    await check(none, SEARCH, await none.call(SEARCH, criteria), { code: "not_configured" });
    const wrong = await h.inProcess({
      env: { VCC_ACCESS_TOKEN: "", VCC_CLIENT_ID: "sandbox-client", VCC_CLIENT_SECRET: "wrong-secret", VCC_AUTH_URL: h.sim.authUrl },
    });
    await check(wrong, SEARCH, await wrong.call(SEARCH, criteria), { code: "auth_failed" });
  });
});

describe(`${DELETE}: every result matches its schema`, () => {
  it("prompt accepted, prompt declined", async () => {
    const yes = await h.inProcess({ elicit: accept });
    await check(yes, DELETE, await yes.call(DELETE, ONE), { status: "deleted" });
    const no = await h.inProcess({ elicit: decline });
    await check(no, DELETE, await no.call(DELETE, { ...ONE, contentKey: "transcript" }), { status: "cancelled" });
  });

  it("token issued, token redeemed, token refused", async () => {
    const c = await h.inProcess({ env: { VCC_CONFIRMATION: "token" } });
    const asked = await check(c, DELETE, await c.call(DELETE, ONE), { status: "confirmation_required" });
    await check(c, DELETE, await c.call(DELETE, { ...ONE, confirmationToken: asked.confirmationToken }), { status: "deleted" });
    await check(c, DELETE, await c.call(DELETE, { ...ONE, confirmationToken: asked.confirmationToken }), { code: "confirmation_invalid" });
  });

  it("approval page: link issued, approval pending, approved and redeemed, cancelled on the page", async () => {
    const c = await h.inProcess({ env: { VCC_CONFIRMATION: "approval" } });
    const asked = await check(c, DELETE, await c.call(DELETE, ONE), { status: "confirmation_required" });
    expect(asked.approvalUrl).toMatch(/^http:\/\/127\.0\.0\.1:/);
    const again = { ...ONE, confirmationToken: asked.confirmationToken };
    await check(c, DELETE, await c.call(DELETE, again), { code: "approval_pending" });
    await decideOnPage(asked.approvalUrl, "approve");
    await check(c, DELETE, await c.call(DELETE, again), { status: "deleted" });

    const other = { ...ONE, contentKey: "transcript" };
    const second = await check(c, DELETE, await c.call(DELETE, other), { status: "confirmation_required" });
    await decideOnPage(second.approvalUrl, "reject");
    await check(c, DELETE, await c.call(DELETE, { ...other, confirmationToken: second.confirmationToken }), { status: "cancelled" });
  });

  it("refusals before anyone is asked: not_found, not_allowed, elicitation_unsupported, not_configured, passkey_required", async () => {
    const c = await h.inProcess({ env: { VCC_ALLOWED_CONTENT_KEYS: "voicemail" } });
    await check(c, DELETE, await c.call(DELETE, { ...ONE, contentKey: "voicemail-999" }), { code: "not_found" });
    await check(c, DELETE, await c.call(DELETE, ONE), { code: "not_allowed" });
    const strict = await h.inProcess({ env: { VCC_CONFIRMATION: "elicitation" } });
    await check(strict, DELETE, await strict.call(DELETE, ONE), { code: "elicitation_unsupported" });
    const none = await h.inProcess({ env: { VCC_ACCESS_TOKEN: "" } });
    await check(none, DELETE, await none.call(DELETE, ONE), { code: "not_configured" });
    const noPasskey = await h.inProcess({
      env: { VCC_APPROVAL_PASSKEY: "required", VCC_DATA_DIR: mkdtempSync(join(tmpdir(), "vcc-contract-passkeys-")) },
    });
    await check(noPasskey, DELETE, await noPasskey.call(DELETE, ONE), { code: "passkey_required" });
  });

  it("after approval: dry run, audit_failed, API errors, deleted verified by absence", async () => {
    const dry = await h.inProcess({ env: { VCC_DRY_RUN: "true" }, elicit: accept });
    await check(dry, DELETE, await dry.call(DELETE, ONE), { status: "dry_run" });
    // A directory is not a writable log file: the decision cannot be recorded, so nothing is sent.
    const unaudited = await h.inProcess({ env: { VCC_AUDIT_LOG: auditDirectory() }, elicit: accept });
    await check(unaudited, DELETE, await unaudited.call(DELETE, ONE), { code: "audit_failed" });
    const tokenUnaudited = await h.inProcess({ env: { VCC_AUDIT_LOG: auditDirectory(), VCC_CONFIRMATION: "token" } });
    await check(tokenUnaudited, DELETE, await tokenUnaudited.call(DELETE, ONE), { code: "audit_failed" });
    expect(h.deletes()).toHaveLength(0);

    const c = await h.inProcess({ env: { VCC_MAX_RETRIES: "0" }, elicit: accept });
    h.sim.injectFaults("delete-content", { status: 500 });
    await check(c, DELETE, await c.call(DELETE, ONE), { code: "upstream_error" });
    h.sim.injectFaults("delete-content", { status: 403 });
    await check(c, DELETE, await c.call(DELETE, ONE), { code: "forbidden" });
    const retrying = await h.inProcess({ env: { VCC_RETRY_BASE_MS: "1" }, elicit: accept });
    h.sim.injectFaults("delete-content", { drop: "after" });
    const verified = await check(retrying, DELETE, await retrying.call(DELETE, ONE), { status: "deleted" });
    expect(verified.verifiedByAbsence).toBe(true);
  });
});

describe(`${BULK}: every result matches its schema`, () => {
  it("prompt accepted (all, and partly), prompt declined, dry run", async () => {
    const yes = await h.inProcess({ env: { VCC_MAX_RETRIES: "0" }, elicit: accept });
    h.sim.injectFaults("delete-content", {}, { status: 500 });
    await check(yes, BULK, await yes.call(BULK, { items: TWO }), { status: "partial" });
    h.sim.reset();
    await check(yes, BULK, await yes.call(BULK, { items: TWO }), { status: "deleted" });
    h.sim.reset();
    h.sim.injectFaults("delete-content", { status: 500 }, { status: 500 });
    await check(yes, BULK, await yes.call(BULK, { items: TWO }), { status: "error" });
    h.sim.reset();
    const no = await h.inProcess({ elicit: decline });
    await check(no, BULK, await no.call(BULK, { items: TWO }), { status: "cancelled" });
    const dry = await h.inProcess({ env: { VCC_DRY_RUN: "true" }, elicit: accept });
    await check(dry, BULK, await dry.call(BULK, { items: TWO }), { status: "dry_run" });
  });

  it("token issued, token redeemed, token refused; approval pending", async () => {
    const c = await h.inProcess({ env: { VCC_CONFIRMATION: "token" } });
    const asked = await check(c, BULK, await c.call(BULK, { items: TWO }), { status: "confirmation_required" });
    await check(c, BULK, await c.call(BULK, { items: TWO, confirmationToken: asked.confirmationToken }), { status: "deleted" });
    await check(c, BULK, await c.call(BULK, { items: TWO, confirmationToken: asked.confirmationToken }), { code: "confirmation_invalid" });
    h.sim.reset();
    const page = await h.inProcess({ env: { VCC_CONFIRMATION: "approval" } });
    const link = await check(page, BULK, await page.call(BULK, { items: TWO }), { status: "confirmation_required" });
    await check(page, BULK, await page.call(BULK, { items: TWO, confirmationToken: link.confirmationToken }), { code: "approval_pending" });
  });

  it("refusals: nothing left, not_allowed, not_configured, audit_failed", async () => {
    const c = await h.inProcess({ env: { VCC_ALLOWED_CONTENT_KEYS: "voicemail" } });
    await check(c, BULK, await c.call(BULK, { items: [{ guid: SEED.empty, contentKey: "callRecording" }] }), { code: "not_found" });
    await check(c, BULK, await c.call(BULK, { items: TWO }), { code: "not_allowed" });
    const none = await h.inProcess({ env: { VCC_ACCESS_TOKEN: "" } });
    await check(none, BULK, await none.call(BULK, { items: TWO }), { code: "not_configured" });
    const unaudited = await h.inProcess({ env: { VCC_AUDIT_LOG: auditDirectory() } });
    await check(unaudited, BULK, await unaudited.call(BULK, { items: TWO }), { code: "audit_failed" });
  });
});

describe("invalid input", () => {
  it("is refused by the SDK before the handler: isError, the reason as text, no structuredContent, nothing sent", async () => {
    const c = await h.inProcess();
    for (const [tool, args] of [
      [LIST, { guid: "nope" }],
      [DELETE, { ...ONE, contentKey: ".." }],
      [BULK, { items: [] }],
    ] as const) {
      const result = await c.call(tool, args);
      expect(result.isError).toBe(true);
      expect(result.structuredContent).toBeUndefined();
      expect(textOf(result)).toMatch(new RegExp(`^MCP error -32602: Input validation error: Invalid arguments for tool ${tool}: `));
    }
    expect(h.sim.journal).toHaveLength(0);
  });
});
