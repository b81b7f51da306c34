// Controls for administrators (issue 8): audit log, read-only, dry-run, allowlist. In this process
// (the same createServer with the same environment), except what needs one: a command-line flag and
// a start that fails.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SEED, SEED_ITEM_KEYS } from "../../src/simulator/seed.js";
import { countingApprover, type ElicitHandler, SECRET_TOKEN, structured, textOf } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator();

/** With command-line `args`: the built server in its own process. */
const server = (env: Record<string, string>, elicit?: ElicitHandler, args: string[] = []) =>
  args.length > 0 ? h.connect({ env, elicit, args }) : h.inProcess({ env, elicit });
const approve: ElicitHandler = () => ({ action: "accept", content: { confirm: true } });
const deletes = () => h.deletes();
const tempFile = (name: string) => join(mkdtempSync(join(tmpdir(), "vcc-audit-")), name);
const readAudit = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));

describe("audit log", () => {
  it("records the decision and the deletion, with the client and no secrets", async () => {
    const path = tempFile("audit.jsonl");
    const c = await server({ VCC_AUDIT_LOG: path }, approve);
    const result = await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(result).status).toBe("deleted");
    const records = readAudit(path); // written before the result came back
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({
      event: "decision",
      tool: "delete_interaction_content",
      guid: SEED.inboundCall,
      contentKey: "callRecording",
      confirmation: "elicitation",
      outcome: "confirmed",
      client: { name: "e2e-test-client", version: "1.0.0" },
      dryRun: false,
      sandbox: false,
    });
    expect(records[1]).toMatchObject({ event: "deletion", outcome: "deleted", httpStatus: 204, attempts: 1, confirmation: "elicitation" });
    expect(Date.parse(records[1].time)).not.toBeNaN();
    expect(readFileSync(path, "utf8")).not.toContain(SECRET_TOKEN);
  });

  it("records token requests, token decisions, declines, refusals and failed attempts", async () => {
    const path = tempFile("audit.jsonl");
    const c = await server({ VCC_AUDIT_LOG: path, VCC_RETRY_BASE_MS: "10", VCC_CONFIRMATION: "token" });
    const token = structured(
      await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "transcript" }),
    ).confirmationToken;
    h.sim.setStandingFault("delete-content", { status: 503 });
    await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    const records = readAudit(path);
    expect(records.map((r) => [r.event, r.outcome])).toEqual([
      ["confirmation_requested", "token_issued"],
      ["decision", "confirmed"],
      ["deletion", "error"],
      ["decision", "refused"],
    ]);
    // The first attempt and VCC_MAX_RETRIES (3) retries, recorded as one deletion attempt.
    expect(records[2]).toMatchObject({ errorCode: "upstream_error", httpStatus: 503, confirmation: "token", attempts: 4 });
    expect(deletes()).toHaveLength(4);
    expect(records[3]).toMatchObject({ errorCode: "confirmation_invalid" });
    expect(readFileSync(path, "utf8")).not.toContain(token);

    const declinePath = tempFile("decline.jsonl");
    const d = await server({ VCC_AUDIT_LOG: declinePath }, () => ({ action: "decline" }));
    await d.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(readAudit(declinePath)).toMatchObject([{ event: "decision", outcome: "declined", confirmation: "elicitation" }]);
  });

  it("appends to an existing log", async () => {
    const path = tempFile("audit.jsonl");
    writeFileSync(path, '{"earlier":true}\n');
    const c = await server({ VCC_AUDIT_LOG: path }, approve);
    await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "callRecording" });
    const records = readAudit(path);
    expect(records[0]).toEqual({ earlier: true });
    expect(records).toHaveLength(3);
  });

  it("fails closed: when the log cannot be written, nothing is deleted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vcc-audit-"));
    writeFileSync(join(dir, "not-a-directory"), "");
    const c = await server({ VCC_AUDIT_LOG: join(dir, "not-a-directory", "audit.jsonl") }, approve);
    const result = await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(result.isError).toBe(true);
    expect(structured(result)).toMatchObject({ status: "error", error: { code: "audit_failed" } });
    expect(textOf(result)).toMatch(/nothing was deleted/);
    expect(deletes()).toHaveLength(0);

    // A client that cannot prompt, in token mode (auto would offer the approval page): no token is handed out either.
    const t = await server({ VCC_AUDIT_LOG: join(dir, "not-a-directory", "audit.jsonl"), VCC_CONFIRMATION: "token" });
    const tokenResult = await t.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(tokenResult).error.code).toBe("audit_failed");
    expect(structured(tokenResult).confirmationToken).toBeUndefined();
    expect(deletes()).toHaveLength(0);
  });
});

describe("read-only", () => {
  for (const [label, env, args] of [
    ["VCC_READ_ONLY=true", { VCC_READ_ONLY: "true" }, []],
    ["--read-only", {}, ["--read-only"]],
  ] as const) {
    it(`${label}: the delete tool is not offered; listing and searching still work`, async () => {
      const c = await server(env, approve, [...args]);
      const names = (await c.client.listTools()).tools.map((t) => t.name);
      // The erasure job status stays readable; erasing, cancelling and resuming jobs are not offered.
      expect(names.sort()).toEqual(["get_erasure_job", "list_interaction_content", "search_interactions"]);
      const list = await c.call("list_interaction_content", { guid: SEED.inboundCall });
      expect(list.isError).toBeFalsy();
      const attempt = await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "callRecording" });
      expect(attempt.isError).toBe(true);
      expect(deletes()).toHaveLength(0);
      // The server's instructions name only tools it offers, and say that it deletes nothing.
      const instructions = c.client.getInstructions() ?? "";
      expect(toolNamesIn(instructions).filter((name) => !names.includes(name))).toEqual([]);
      expect(instructions).toMatch(/read-only: it deletes nothing/);
    });
  }

  it("without it, the instructions name the tools of an erasure request, all of them offered", async () => {
    const c = await server({}, approve);
    const names = (await c.client.listTools()).tools.map((t) => t.name);
    const named = toolNamesIn(c.client.getInstructions() ?? "");
    expect(named).toEqual(expect.arrayContaining(["search_interactions", "erase_interaction_content", "get_erasure_job"]));
    expect(named.filter((name) => !names.includes(name))).toEqual([]);
  });
});

/** The tool names (snake_case words) a text mentions. */
const toolNamesIn = (text: string) => [...new Set(text.match(/\b[a-z]+(?:_[a-z]+)+\b/g) ?? [])];

describe("dry run", () => {
  it("asks, then reports what would have been deleted without sending a DELETE", async () => {
    const path = tempFile("audit.jsonl");
    const approver = countingApprover();
    const c = await server({ VCC_DRY_RUN: "true", VCC_AUDIT_LOG: path }, approver.handler);
    const result = await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(result.isError).toBeFalsy();
    expect(structured(result)).toMatchObject({
      status: "dry_run",
      guid: SEED.inboundCall,
      contentKey: "callRecording",
      preview: { type: "callRecording" },
    });
    expect(textOf(result)).toMatch(/Nothing was sent/);
    expect(approver.asked).toBe(1);
    expect(deletes()).toHaveLength(0);
    expect(h.sim.holds(SEED.inboundCall, "callRecording")).toBe(true);
    expect(readAudit(path).map((r) => [r.event, r.outcome, r.dryRun])).toEqual([
      ["decision", "confirmed", true],
      ["deletion", "dry_run", true],
    ]);
  });

  it("spends the confirmation token like a real deletion", async () => {
    const c = await server({ VCC_DRY_RUN: "true", VCC_CONFIRMATION: "token" });
    const token = structured(
      await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "transcript" }),
    ).confirmationToken;
    expect(
      structured(await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token }))
        .status,
    ).toBe("dry_run");
    expect(
      structured(await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token }))
        .error.code,
    ).toBe("confirmation_invalid");
    expect(deletes()).toHaveLength(0);
  });
});

describe("allowlist", () => {
  const env = { VCC_ALLOWED_CONTENT_KEYS: "callRecording, Voicemail" };

  it("refuses other kinds before any confirmation", async () => {
    const approver = countingApprover();
    const c = await server(env, approver.handler);
    const result = await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "transcript" });
    expect(structured(result)).toMatchObject({ status: "error", error: { code: "not_allowed" } });
    expect(structured(result).error.message).toMatch(/callrecording, voicemail/);
    expect(structured(result).confirmationToken).toBeUndefined();
    expect(approver.asked).toBe(0);
    const screen = await c.call("delete_interaction_content", { guid: SEED.screenRecording, contentKey: SEED_ITEM_KEYS.screenRecording });
    expect(structured(screen).error.code).toBe("not_allowed");
    expect(deletes()).toHaveLength(0);
  });

  it("allows named keys and item ids whose listed type is allowed", async () => {
    const c = await server(env, approve);
    expect(structured(await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "callrecording" })).status).toBe(
      "deleted",
    );
    expect(
      structured(await c.call("delete_interaction_content", { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail })).status,
    ).toBe("deleted");
    expect(structured(await c.call("delete_interaction_content", { guid: SEED.voicemails, contentKey: "voicemail-123" })).status).toBe(
      "deleted",
    );
    expect(deletes()).toHaveLength(3);
  });

  it("refuses an item id whose type cannot be established; a named key still works", async () => {
    const c = await server(env, approve);
    h.sim.injectFaults("get-interaction", { status: 403 });
    const result = await c.call("delete_interaction_content", { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail });
    expect(structured(result).error.code).toBe("not_allowed");
    expect(structured(result).error.message).toMatch(/could not be established/);
    h.sim.injectFaults("get-interaction", { status: 403 });
    expect(structured(await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "callRecording" })).status).toBe(
      "deleted",
    );
    expect(deletes()).toHaveLength(1);
  });

  it("a malformed list stops the server at start", async () => {
    await expect(h.connect({ env: { VCC_ALLOWED_CONTENT_KEYS: "call recording" } })).rejects.toThrow();
  });
});
