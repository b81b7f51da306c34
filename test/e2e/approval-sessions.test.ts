// Several MCP sessions in one process (as an HTTP transport serves them) share one approval page
// server but never each other's approvals. In-process, because a stdio process has one session;
// the page and the simulator are still real HTTP.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { NO_AUDIT } from "../../src/audit.js";
import { loadConfig } from "../../src/config.js";
import { ApprovalServer } from "../../src/confirmation/approval-server.js";
import { setLogSink } from "../../src/log.js";
import { createServer, lazyApi } from "../../src/server.js";
import { SEED } from "../../src/simulator/seed.js";
import { type Simulator, startSimulator } from "../../src/simulator/server.js";
import { decideOnPage, pageRequest } from "../helpers/approval-page.js";
import { SECRET_TOKEN, SECRET_TOKEN_SCOPES, structured } from "../helpers/mcp.js";

const TOOL = "delete_interaction_content";
let sim: Simulator;
const logLines: string[] = [];

beforeAll(async () => {
  sim = await startSimulator({ staticTokens: { [SECRET_TOKEN]: SECRET_TOKEN_SCOPES } });
  setLogSink((line) => logLines.push(line));
});
afterAll(async () => {
  await sim.close();
});

it("sessions share one page server, keep their own approvals, and take their pages with them when they end", async () => {
  const config = loadConfig({ VCC_ACCESS_TOKEN: SECRET_TOKEN, VCC_API_BASE_URL: sim.apiBaseUrl, VCC_CONFIRMATION: "approval" });
  const approvals = new ApprovalServer();
  const api = lazyApi(config);
  const session = async () => {
    const server = createServer({ config, api, approvals, audit: NO_AUDIT });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: "session-test", version: "1.0.0" });
    await server.connect(serverSide);
    await client.connect(clientSide);
    const call = async (args: Record<string, unknown>) =>
      structured((await client.callTool({ name: TOOL, arguments: args })) as CallToolResult);
    return { client, call };
  };
  const a = await session();
  const b = await session();

  const fromA = await a.call({ guid: SEED.inboundCall, contentKey: "transcript" });
  const fromB = await b.call({ guid: SEED.inboundCall, contentKey: "callRecording" });
  expect(new URL(fromA.approvalUrl).port).toBe(new URL(fromB.approvalUrl).port);
  expect(fromA.approvalUrl).not.toBe(fromB.approvalUrl);

  await decideOnPage(fromA.approvalUrl, "approve");
  // A's approval is no use in B, even for the same item.
  const stolen = await b.call({ guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: fromA.confirmationToken });
  expect(stolen.error.code).toBe("confirmation_invalid");
  // B's page is untouched by A's approval.
  expect(
    (await b.call({ guid: SEED.inboundCall, contentKey: "callRecording", confirmationToken: fromB.confirmationToken })).error.code,
  ).toBe("approval_pending");
  expect(sim.requests("DELETE")).toHaveLength(0);

  expect((await a.call({ guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: fromA.confirmationToken })).status).toBe(
    "deleted",
  );
  expect(sim.requests("DELETE")).toHaveLength(1);

  // B's session ends: its page is gone; A's page still answers.
  await b.client.close();
  expect((await pageRequest(fromB.approvalUrl)).status).toBe(404);
  expect((await pageRequest(fromA.approvalUrl)).status).toBe(200);
  await a.client.close();

  for (const secret of [SECRET_TOKEN, fromA.confirmationToken, new URL(fromA.approvalUrl).pathname]) {
    expect(logLines.join("")).not.toContain(secret);
  }
});
