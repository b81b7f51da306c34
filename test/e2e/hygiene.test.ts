// The server never dies mid-conversation: malformed and oversized input, unknown methods, handler
// exceptions, stray rejections; and a shutdown (SIGTERM, SIGINT, stdin closed) lets a deletion in
// flight finish and be reported. Read at the byte level, against the built server.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { NO_AUDIT } from "../../src/audit.js";
import { loadConfig } from "../../src/config.js";
import { setLogSink } from "../../src/log.js";
import { createServer } from "../../src/server.js";
import { SEED } from "../../src/simulator/seed.js";
import { type Simulator, startSimulator } from "../../src/simulator/server.js";
import { SECRET_TOKEN, SECRET_TOKEN_SCOPES } from "../helpers/mcp.js";
import { RawServer } from "../helpers/raw.js";

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ staticTokens: { [SECRET_TOKEN]: SECRET_TOKEN_SCOPES } });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const env = () => ({ VCC_ACCESS_TOKEN: SECRET_TOKEN, VCC_API_BASE_URL: sim.apiBaseUrl });
const has = (guid: string, key: string) => sim.holds(guid, key);

/** Every stdout line is a JSON-RPC 2.0 message (RawServer already parsed each one). */
function expectOnlyJsonRpc(server: RawServer): void {
  const lines = server.stdout.split("\n").filter(Boolean);
  expect(lines.length).toBe(server.messages.length);
  for (const m of server.messages) expect(m.jsonrpc).toBe("2.0");
}

describe("what a library prints while serving", () => {
  it("console.log and console.error of a dependency go to stderr, redacted, never to stdout", async () => {
    // A stand-in for a dependency that prints (as the HTTP adapter does with a request that failed):
    // on SIGUSR2, after the server is serving, it prints the token with console.log and console.error.
    const library = `process.on("SIGUSR2", () => { console.log("stray line with", process.env.VCC_ACCESS_TOKEN); console.dir({ dumped: process.env.VCC_ACCESS_TOKEN }); console.error(new Error("library failure, Authorization: Bearer " + process.env.VCC_ACCESS_TOKEN)); });`;
    const server = new RawServer(
      { ...env(), VCC_LOG_LEVEL: "debug" },
      { nodeArgs: ["--import", `data:text/javascript,${encodeURIComponent(library)}`] },
    );
    await server.initialize();
    server.child.kill("SIGUSR2");
    await server.until(() => /library failure/.test(server.stderr), "the library's error on stderr");
    server.send({ id: 7, method: "ping" });
    expect((await server.waitForResponse(7)).result).toEqual({});
    expect(server.stderr).toMatch(/\[vcc-mcp\] debug: stray line with \[REDACTED\]/);
    expect(server.stderr).toMatch(/\[vcc-mcp\] error: Error: library failure, Authorization: Bearer \[REDACTED\]/);
    expect(server.stderr).not.toContain(SECRET_TOKEN);
    expect(server.stderr).toMatch(/\[vcc-mcp\] debug: \{ dumped: '\[REDACTED\]' \}/);
    expect(server.stdout).not.toContain("stray");
    expect(server.stdout).not.toContain("dumped");
    expectOnlyJsonRpc(server);
    server.child.stdin.end();
    expect((await server.exited).code).toBe(0);
  });
});

describe("bad input never ends the session", () => {
  it("malformed lines, unknown methods, invalid messages, huge and deeply nested arguments", async () => {
    const server = new RawServer(env());
    await server.initialize();
    const junk: (string | Buffer)[] = [
      "{",
      "garbage",
      "[]",
      "null",
      "42",
      '"text"',
      '{"jsonrpc":"2.0"}',
      '{"jsonrpc":"1.0","id":90,"method":"ping"}',
      '{"jsonrpc":"2.0","id":{"nested":1},"method":"ping"}',
      '{"jsonrpc":"2.0","id":91,"method":"tools/call","params":"not an object"}',
      Buffer.from([0xff, 0xfe, 0x00, 0x01]),
      // Over the SDK reader's 10 MB buffer, which would close the connection: cut short instead.
      `{"jsonrpc":"2.0","id":92,"method":"tools/call","params":{"name":"delete_interaction_content","arguments":{"guid":"${"a".repeat(11_000_000)}","contentKey":"x"}}}`,
    ];
    for (const line of junk) server.sendLine(line);
    server.send({ id: 1, method: "no/such/method" });
    // 1 MB string argument, under the line limit: validated and refused like any bad value.
    server.callTool(2, "delete_interaction_content", { guid: "a".repeat(1_000_000), contentKey: "callRecording" });
    // 100 000 levels of nesting.
    server.sendLine(
      `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"delete_interaction_content","arguments":{"guid":${"[".repeat(100_000)}${"]".repeat(100_000)},"contentKey":"x"}}}`,
    );
    server.callTool(4, "bulk_delete_interaction_content", { items: Array.from({ length: 50_000 }, () => ({ guid: 1 })) });
    server.callTool(5, "no_such_tool", {});
    server.send({ id: 6, method: "ping" });

    expect((await server.waitForResponse(1)).error.code).toBe(-32601);
    for (const id of [2, 3, 4, 5]) {
      const response = await server.waitForResponse(id);
      expect(response.result?.isError ?? response.error !== undefined, `request ${id}`).toBe(true);
    }
    expect((await server.waitForResponse(6)).result).toEqual({});
    // The session still works: a real call goes through.
    server.send({ id: 7, method: "tools/list" });
    expect((await server.waitForResponse(7)).result.tools.length).toBeGreaterThan(1);

    expect(sim.journal).toHaveLength(0);
    expect(server.stderr).toMatch(/protocol error \(ignored\)/);
    expect(server.stderr).toMatch(/ignored an incoming message of \d+ bytes/);
    server.child.stdin.end();
    expect((await server.exited).code).toBe(0);
    expectOnlyJsonRpc(server);
  });

  it("an exception nobody catches and a rejection nobody handles are logged, and the session goes on", async () => {
    const chaos = fileURLToPath(new URL("../fixtures/chaos.mjs", import.meta.url));
    const server = new RawServer(env(), { nodeArgs: ["--import", chaos] });
    await server.initialize();
    server.child.kill("SIGUSR2");
    await server.until(() => /uncaught exception \(continuing\)/.test(server.stderr), "the exception to be logged");
    expect(server.stderr).toMatch(/unhandled rejection \(continuing\)/);
    server.send({ id: 1, method: "tools/list" });
    expect((await server.waitForResponse(1)).result.tools.length).toBeGreaterThan(1);
    server.child.stdin.end();
    expect((await server.exited).code).toBe(0);
    expectOnlyJsonRpc(server);
  });

  it("a tool handler that throws gets a stable error code and a logged stack, not a dead session", async () => {
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    const server = createServer({
      config: loadConfig({ VCC_ACCESS_TOKEN: SECRET_TOKEN }),
      api: async () => {
        throw new Error("a bug in the API factory");
      },
      audit: NO_AUDIT,
    });
    const client = new Client({ name: "in-process", version: "1" });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await Promise.all([server.connect(a), client.connect(b)]);
    const result = (await client.callTool({
      name: "delete_interaction_content",
      arguments: { guid: SEED.inboundCall, contentKey: "callRecording" },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(result.content[0]).toMatchObject({ type: "text", text: expect.stringMatching(/^Error \(internal_error\):.*may or may not/) });
    expect(lines.join("")).toMatch(/tool delete_interaction_content failed unexpectedly.*a bug in the API factory/);
    expect(await client.ping()).toEqual({});
    await client.close();
    setLogSink((line) => process.stderr.write(line));
  });
});

describe("shutting down during a deletion", () => {
  /**
   * Starts a server in token mode, gets a confirmation token, and sends the approved call (id 2),
   * whose DELETE the API holds in flight until sim.release().
   */
  async function deletionInFlight(extraEnv: Record<string, string> = {}): Promise<RawServer> {
    const server = new RawServer({ ...env(), VCC_CONFIRMATION: "token", ...extraEnv });
    await server.initialize();
    server.callTool(1, "delete_interaction_content", { guid: SEED.inboundCall, contentKey: "transcript" });
    const token = (await server.waitForResponse(1)).result.structuredContent.confirmationToken;
    sim.injectFaults("delete-content", { hold: true });
    server.callTool(2, "delete_interaction_content", { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    await server.until(() => sim.requests("DELETE").length === 1, "the DELETE to reach the API");
    return server;
  }

  for (const ending of ["SIGTERM", "SIGINT", "stdin closed"] as const) {
    it(`${ending}: the deletion in flight finishes, is reported, and the process exits 0`, async () => {
      const server = await deletionInFlight();
      if (ending === "stdin closed") server.child.stdin.end();
      else server.child.kill(ending);
      // The process waits for the deletion (within the default grace of 5 s): it finishes now.
      await server.until(() => /waiting up to 5 s for 1 deletion/.test(server.stderr), "the shutdown to wait for the deletion");
      sim.release();
      const { code } = await server.exited;
      expect(code).toBe(0);
      expect(server.stderr).toMatch(/waiting up to 5 s for 1 deletion/);
      // On a signal the client is still there and gets the result.
      if (ending !== "stdin closed")
        expect(server.response(2)?.result.structuredContent).toMatchObject({ status: "deleted", httpStatus: 204 });
      expect(has(SEED.inboundCall, "transcript")).toBe(false);
      expect(sim.requests("DELETE")).toHaveLength(1);
      // It finished: nothing is said to be of unknown outcome, and the used token is not "discarded".
      expect(server.stderr).not.toMatch(/outcome is unknown|still in flight|token\(s\) discarded/);
      expectOnlyJsonRpc(server);
    });
  }

  it("a deletion slower than the grace period is cut off, audited and answered as of unknown outcome; exits 0", async () => {
    // Held until the test ends: the grace period passes first.
    const dir = mkdtempSync(join(tmpdir(), "vcc-shutdown-"));
    const auditLog = join(dir, "audit.jsonl");
    try {
      const server = await deletionInFlight({ VCC_SHUTDOWN_GRACE_SECONDS: "1", VCC_AUDIT_LOG: auditLog });
      server.child.kill("SIGTERM");
      const { code } = await server.exited;
      expect(code).toBe(0);
      expect(server.stderr).toMatch(/waiting up to 1 s for 1 deletion/);
      expect(server.stderr).toMatch(/1 deletion\(s\) still in flight after 1 s: cut off, their outcome is unknown/);
      expect(server.stderr).not.toMatch(/not yet recorded/);
      // The client (still there on a signal) is told, and the audit log holds the attempt.
      expect(server.response(2)?.result.structuredContent.error).toMatchObject({ code: "cancelled", outcomeUnknown: true });
      const records = readFileSync(auditLog, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line));
      expect(records.at(-1)).toMatchObject({
        event: "deletion",
        outcome: "error",
        errorCode: "cancelled",
        outcomeUnknown: true,
        attempts: 1,
      });
      expectOnlyJsonRpc(server);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a bulk deletion stops after the item in flight; the rest is reported not attempted", async () => {
    const server = new RawServer({ ...env(), VCC_CONFIRMATION: "token" });
    await server.initialize();
    const items = [
      { guid: SEED.inboundCall, contentKey: "callRecording" },
      { guid: SEED.inboundCall, contentKey: "transcript" },
      { guid: SEED.chat, contentKey: "chatTranscript" },
    ];
    server.callTool(1, "bulk_delete_interaction_content", { items });
    const token = (await server.waitForResponse(1)).result.structuredContent.confirmationToken;
    sim.injectFaults("delete-content", { hold: true });
    server.callTool(2, "bulk_delete_interaction_content", { items, confirmationToken: token });
    await server.until(() => sim.requests("DELETE").length === 1, "the first DELETE");
    server.child.kill("SIGTERM");
    await server.until(() => /waiting up to \d+ s for 1 deletion/.test(server.stderr), "the shutdown to wait for the deletion");
    sim.release();
    expect((await server.exited).code).toBe(0);
    const result = server.response(2)?.result.structuredContent;
    expect(result.results.map((r: { status: string }) => r.status)).toEqual(["deleted", "not_attempted", "not_attempted"]);
    expect(result.status).toBe("partial");
    expect(sim.requests("DELETE")).toHaveLength(1);
    expect(has(SEED.inboundCall, "transcript")).toBe(true);
  });
});
