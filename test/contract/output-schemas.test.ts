// The contract a real client relies on (issue 15, item 1): every result of every tool, errors
// included, matches the outputSchema the tool publishes in tools/list. Connected as a real client
// (tools listed first, so the SDK client validates too), in process for speed, and each
// structuredContent checked again with a plain Ajv validator — the JSON Schema way, not zod's.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import { Ajv, type ValidateFunction } from "ajv";
import { afterEach, describe, expect, it } from "vitest";
import { ERROR_CODE_LIST } from "../../src/core/errors.js";
import { closeJobServices } from "../../src/jobs/service.js";
import { SEARCH_SAMPLE, SEED } from "../../src/simulator/seed.js";
import { decideOnPage } from "../helpers/approval-page.js";
import { type Connected, type ElicitHandler, structured, textOf } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator();

const LIST = "list_interaction_content";
const DELETE = "delete_interaction_content";
const BULK = "bulk_delete_interaction_content";
const SEARCH = "search_interactions";
const ERASE = "erase_interaction_content";
const GET_JOB = "get_erasure_job";
const CANCEL_JOB = "cancel_erasure_job";
const RESUME_JOB = "resume_erasure_job";
const TOOLS = [LIST, SEARCH, DELETE, BULK, ERASE, GET_JOB, CANCEL_JOB, RESUME_JOB];

const accept: ElicitHandler = () => ({ action: "accept", content: { confirm: true } });
const decline: ElicitHandler = () => ({ action: "decline" });
const ONE = { guid: SEED.inboundCall, contentKey: "callRecording" };
const TWO = [ONE, { guid: SEED.voicemails, contentKey: "voicemail-123" }];

const ajv = new Ajv({ strict: false, allErrors: true });
/** Compiled once per distinct schema text: compiling every schema for every check was most of this file's CPU. */
const compiled = new Map<string, ValidateFunction>();
function compile(schema: object): ValidateFunction {
  const text = JSON.stringify(schema);
  let validate = compiled.get(text);
  if (!validate) {
    validate = ajv.compile(JSON.parse(text) as object);
    compiled.set(text, validate);
  }
  return validate;
}

/** Validators of what tools/list publishes now (draft 2020-12, as zod writes it). */
async function validatorsOf(c: Connected): Promise<Map<string, ValidateFunction>> {
  const { tools } = await c.client.listTools();
  return new Map(tools.map((t: Tool) => [t.name, compile(t.outputSchema ?? {})]));
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

describe("every output schema says what each value is", () => {
  /** Paths of subschemas with no keyword at all: they accept anything and check nothing. */
  function emptySchemas(schema: unknown, path: string): string[] {
    if (typeof schema !== "object" || schema === null) return [];
    const node = schema as Record<string, unknown>;
    const keywords = Object.keys(node).filter((k) => k !== "description" && k !== "title" && k !== "$schema");
    if (keywords.length === 0) return [path];
    const found: string[] = [];
    for (const [key, value] of Object.entries(node)) {
      if (key === "properties" && typeof value === "object" && value !== null)
        for (const [name, sub] of Object.entries(value)) found.push(...emptySchemas(sub, `${path}.properties.${name}`));
      else if (key === "items" || key === "additionalProperties" || key === "not") found.push(...emptySchemas(value, `${path}.${key}`));
      else if ((key === "anyOf" || key === "oneOf" || key === "allOf") && Array.isArray(value))
        for (const [i, sub] of value.entries()) found.push(...emptySchemas(sub, `${path}.${key}[${i}]`));
    }
    return found;
  }

  it("no subschema of any tool's output accepts any value unchecked (clients and the Inspector's --strict flag them)", async () => {
    const c = await h.inProcess();
    const { tools } = await c.client.listTools();
    for (const tool of tools) expect(emptySchemas(tool.outputSchema, "outputSchema"), tool.name).toEqual([]);
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
    // Refused (certainly not deleted): error. Answered 500 (may have been deleted): not "error".
    h.sim.injectFaults("delete-content", { status: 403 }, { status: 403 });
    await check(yes, BULK, await yes.call(BULK, { items: TWO }), { status: "error" });
    h.sim.reset();
    h.sim.injectFaults("delete-content", { status: 500 }, { status: 500 });
    await check(yes, BULK, await yes.call(BULK, { items: TWO }), { status: "partial" });
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

describe(`${ERASE} and the job tools: every result matches its schema`, () => {
  afterEach(() => closeJobServices());
  /** The seed's week for caller A: a handful of items. */
  const criteria = { party: [SEARCH_SAMPLE.callerA], from: "2026-11-23", to: "2026-11-23", contentTypes: ["all"] };
  const dataDir = () => mkdtempSync(join(tmpdir(), "vcc-contract-jobs-"));
  /** Types the number the prompt asks for. */
  const typeCount: ElicitHandler = ({ message }) => ({
    action: "accept",
    content: { count: /type the number of items: (\d+)/.exec(message)?.[1] ?? "" },
  });
  const until = async (c: Connected, jobId: string, status: string) => {
    for (let i = 0; i < 500; i++) {
      const s = structured(await c.call(GET_JOB, { jobId }));
      if (s.job?.status === status) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`job ${jobId} never became ${status}`);
  };

  it("planned and declined, token issued and redeemed, job followed to its end with receipt, list, cancel refused", async () => {
    const env = { VCC_DATA_DIR: dataDir() };
    const no = await h.inProcess({ env, elicit: decline });
    await check(no, ERASE, await no.call(ERASE, criteria), { status: "cancelled" });
    const c = await h.inProcess({ env: { ...env, VCC_CONFIRMATION: "token" } });
    const asked = await check(c, ERASE, await c.call(ERASE, criteria), { status: "confirmation_required" });
    const started = await check(c, ERASE, await c.call(ERASE, { ...criteria, confirmationToken: asked.confirmationToken }), {
      status: "running",
    });
    await check(c, ERASE, await c.call(ERASE, { ...criteria, confirmationToken: asked.confirmationToken }), {
      code: "confirmation_invalid",
    });
    await until(c, started.jobId, "completed");
    const done = await check(c, GET_JOB, await c.call(GET_JOB, { jobId: started.jobId }), {});
    expect(done.job.receipt.sha256).toMatch(/^[0-9a-f]{64}$/);
    await check(c, GET_JOB, await c.call(GET_JOB, {}), {});
    await check(c, CANCEL_JOB, await c.call(CANCEL_JOB, { jobId: started.jobId }), { code: "invalid_input" });
    await check(c, RESUME_JOB, await c.call(RESUME_JOB, { jobId: started.jobId }), { code: "invalid_input" });
    await check(c, GET_JOB, await c.call(GET_JOB, { jobId: "00000000-0000-4000-8000-000000000000" }), { code: "not_found" });
  });

  it("a paused job (with failures), resumed; a running job cancelled; dry run", async () => {
    const env = { VCC_DATA_DIR: dataDir(), VCC_MAX_RETRIES: "0" };
    const c = await h.inProcess({ env, elicit: typeCount });
    h.sim.injectFaults("delete-content", { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
    const wide = { ...criteria, from: "2026-11-01", to: "2026-11-30" };
    const started = await check(c, ERASE, await c.call(ERASE, wide), { status: "running" });
    expect(started.plan.items).toBeGreaterThan(5);
    await until(c, started.jobId, "paused");
    const paused = await check(c, GET_JOB, await c.call(GET_JOB, { jobId: started.jobId }), {});
    expect(paused.job.failures.total).toBe(5);
    h.sim.setStandingFault("delete-content", { latencyMs: 200 });
    await check(c, RESUME_JOB, await c.call(RESUME_JOB, { jobId: started.jobId }), {});
    await check(c, CANCEL_JOB, await c.call(CANCEL_JOB, { jobId: started.jobId }), {});
    await until(c, started.jobId, "cancelled");
    h.sim.reset();
    const dry = await h.inProcess({ env: { ...env, VCC_DRY_RUN: "true" }, elicit: typeCount });
    await check(dry, ERASE, await dry.call(ERASE, criteria), { status: "running" });
  });

  it("refusals: invalid criteria, nothing found, not_allowed, not_configured, audit_failed, approval pending", async () => {
    const env = { VCC_DATA_DIR: dataDir() };
    const c = await h.inProcess({ env });
    await check(c, ERASE, await c.call(ERASE, { ...criteria, contentTypes: undefined }), { code: "invalid_input" });
    await check(c, ERASE, await c.call(ERASE, { ...criteria, party: ["+99999"] }), { code: "not_found" });
    const allow = await h.inProcess({ env: { ...env, VCC_ALLOWED_CONTENT_KEYS: "screenRecording" } });
    await check(allow, ERASE, await allow.call(ERASE, criteria), { code: "not_allowed" });
    const none = await h.inProcess({ env: { ...env, VCC_ACCESS_TOKEN: "" } });
    await check(none, ERASE, await none.call(ERASE, criteria), { code: "not_configured" });
    const unaudited = await h.inProcess({ env: { ...env, VCC_AUDIT_LOG: auditDirectory() } });
    await check(unaudited, ERASE, await unaudited.call(ERASE, criteria), { code: "audit_failed" });
    const page = await h.inProcess({ env: { ...env, VCC_CONFIRMATION: "approval" } });
    const link = await check(page, ERASE, await page.call(ERASE, criteria), { status: "confirmation_required" });
    await check(page, ERASE, await page.call(ERASE, { ...criteria, confirmationToken: link.confirmationToken }), {
      code: "approval_pending",
    });
    expect(h.deletes()).toHaveLength(0);
  });
});

describe("invalid input", () => {
  it("is refused by the SDK before the handler: isError, the reason as text, no structuredContent, nothing sent", async () => {
    const c = await h.inProcess();
    for (const [tool, args] of [
      [LIST, { guid: "nope" }],
      [DELETE, { ...ONE, contentKey: ".." }],
      [BULK, { items: [] }],
      [ERASE, { items: [] }],
      [GET_JOB, { page: 0 }],
      [CANCEL_JOB, {}],
      [RESUME_JOB, { jobId: "" }],
    ] as const) {
      const result = await c.call(tool, args);
      expect(result.isError).toBe(true);
      expect(result.structuredContent).toBeUndefined();
      expect(textOf(result)).toMatch(new RegExp(`^MCP error -32602: Input validation error: Invalid arguments for tool ${tool}: `));
    }
    expect(h.sim.journal).toHaveLength(0);
  });
});
