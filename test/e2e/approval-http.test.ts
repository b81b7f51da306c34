// Mode approval over Streamable HTTP: one server serves many MCP sessions and one approval page
// server, but each session keeps its own approvals, and they end with the session. The HTTP transport
// runs in this process (real HTTP on free ports); nothing here needs a process of its own.
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { SEED } from "../../src/simulator/seed.js";
import { type Simulator, startSimulator } from "../../src/simulator/server.js";
import { decideOnPage, pageRequest } from "../helpers/approval-page.js";
import { connectHttp, type HttpConnected, type InProcessHttp, sendEndlessBody, startInProcessHttp, waitUntil } from "../helpers/http.js";
import { SECRET_TOKEN, SECRET_TOKEN_SCOPES, structured } from "../helpers/mcp.js";

const TOOL = "delete_interaction_content";
let sim: Simulator;
let server: InProcessHttp;
const clients: HttpConnected[] = [];

beforeAll(async () => {
  sim = await startSimulator({ staticTokens: { [SECRET_TOKEN]: SECRET_TOKEN_SCOPES } });
  server = await startInProcessHttp({
    env: { VCC_ACCESS_TOKEN: SECRET_TOKEN, VCC_API_BASE_URL: sim.apiBaseUrl, VCC_CONFIRMATION: "approval" },
  });
});
afterAll(async () => {
  await server?.stop();
  await sim?.close();
});
beforeEach(() => sim.reset());
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => {});
});

async function session(): Promise<HttpConnected> {
  const c = await connectHttp(server);
  clients.push(c);
  return c;
}

it("sessions share one page server, keep their own approvals, and take their pages with them when they end", async () => {
  const a = await session();
  const b = await session();
  const fromA = structured(await a.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript" }));
  const fromB = structured(await b.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" }));
  expect(new URL(fromA.approvalUrl).port).toBe(new URL(fromB.approvalUrl).port);
  expect(fromA.approvalUrl).not.toBe(fromB.approvalUrl);

  await decideOnPage(fromA.approvalUrl, "approve");
  // A's approval is no use in B, even for the same item; B's own page is untouched.
  const stolen = await b.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: fromA.confirmationToken });
  expect(structured(stolen).error.code).toBe("confirmation_invalid");
  const own = await b.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording", confirmationToken: fromB.confirmationToken });
  expect(structured(own).error.code).toBe("approval_pending");
  expect(sim.requests("DELETE")).toHaveLength(0);

  const done = await a.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: fromA.confirmationToken });
  expect(structured(done).status).toBe("deleted");
  expect(sim.requests("DELETE")).toHaveLength(1);

  // B's session ends: its page goes with it; A's page still answers.
  await b.transport.terminateSession();
  await waitUntil(() => /session closed: 1 confirmation token\(s\) discarded/.test(server.stderr()), "B's token to be discarded");
  expect((await pageRequest(fromB.approvalUrl)).status).toBe(404);
  expect((await pageRequest(fromA.approvalUrl)).status).toBe(200);

  for (const secret of [SECRET_TOKEN, fromA.confirmationToken, new URL(fromA.approvalUrl).pathname]) {
    expect(server.stderr()).not.toContain(secret);
  }
});

it("a refused form post's body is read only up to a form's size: an endless one is cut off", async () => {
  const a = await session();
  const { approvalUrl } = structured(await a.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript" }));
  const unknownPage = new URL("/approve/no-such-page", approvalUrl).href;
  const endless = await sendEndlessBody(unknownPage, 64 * 2 ** 20);
  expect(endless.answer).toMatch(/^HTTP\/1\.1 404/);
  expect(endless.closedByServer).toBe(true);
  expect(endless.sent).toBeLessThan(64 * 2 ** 20);
  expect(sim.requests("DELETE")).toHaveLength(0);
});
