// The server over Streamable HTTP on a free port, driven by the SDK's HTTP client over real HTTP and
// pointed at the simulator: confirmations belong to their session, sessions end and release their
// state, the bearer and DNS-rebinding checks hold (the HTTP transport started in this process), and
// the built server (--http) prints its URL, exits with the right codes, and on SIGTERM lets a call in
// progress finish.
import { Agent, request } from "node:http";
import { createServer as createNetServer } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SEED, SEED_ITEM_KEYS } from "../../src/simulator/seed.js";
import { type Simulator, startSimulator } from "../../src/simulator/server.js";
import { decideOnPage } from "../helpers/approval-page.js";
import {
  connectHttp,
  type HttpConnected,
  type HttpEndpoint,
  type HttpServer,
  INITIALIZE,
  type InProcessHttp,
  rawRequest,
  sendEndlessBody,
  startHttpServer,
  startInProcessHttp,
  waitUntil,
} from "../helpers/http.js";
import { type ElicitHandler, runNode, SECRET_TOKEN, SECRET_TOKEN_SCOPES, SERVER_ENTRY, structured, textOf } from "../helpers/mcp.js";

const TOOL = "delete_interaction_content";
const BEARER = "http-bearer-for-tests-0b5f7e2a9c41d3";
const approve: ElicitHandler = () => ({ action: "accept", content: { confirm: true } });

let sim: Simulator;
/** Spawned and in-process servers alike: stopped after the file, their logs checked after each test. */
const servers: (HttpEndpoint & { stop(): Promise<unknown> })[] = [];
const clients: HttpConnected[] = [];

beforeAll(async () => {
  sim = await startSimulator({ staticTokens: { [SECRET_TOKEN]: SECRET_TOKEN_SCOPES } });
});
afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  await sim.close();
});
beforeEach(() => sim.reset());
afterEach(async () => {
  for (const c of clients.splice(0)) {
    for (const r of c.results) expect(JSON.stringify(r)).not.toContain(SECRET_TOKEN);
    await c.close().catch(() => undefined);
  }
  for (const s of servers) {
    expect(s.stderr()).not.toContain(SECRET_TOKEN);
    expect(s.stderr()).not.toContain(BEARER);
  }
});

const simEnv = () => ({ VCC_ACCESS_TOKEN: SECRET_TOKEN, VCC_API_BASE_URL: sim.apiBaseUrl });

/** The built server, spawned: for what needs the process (its start-up line, signals, exit). */
async function spawnServer(env: Record<string, string> = {}): Promise<HttpServer> {
  const server = await startHttpServer({ env: { ...simEnv(), ...env } });
  servers.push(server);
  return server;
}

/** The same HTTP transport in this process, over real HTTP on a free port. */
async function start(env: Record<string, string> = {}, sessionIdleSeconds?: number): Promise<InProcessHttp> {
  const server = await startInProcessHttp({
    env: { ...simEnv(), ...env },
    ...(sessionIdleSeconds !== undefined ? { sessionIdleSeconds } : {}),
  });
  servers.push(server);
  return server;
}

async function session(server: HttpEndpoint, options: Parameters<typeof connectHttp>[1] = {}): Promise<HttpConnected> {
  const c = await connectHttp(server, options);
  clients.push(c);
  return c;
}

const deletes = () => sim.requests("DELETE");
const hasContent = (guid: string, key: string) => sim.holds(guid, key);
const port = (server: HttpEndpoint) => new URL(server.url).port;
/** A request on an existing session, as the SDK client would send it. */
const onSession = (server: HttpEndpoint, sessionId: string, body: unknown = { jsonrpc: "2.0", id: 9, method: "tools/list" }) =>
  rawRequest(server.url, { body, headers: { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-06-18" } });

describe("the process", () => {
  it("prints http://127.0.0.1:<port>/mcp on stderr and serves the tool", async () => {
    const server = await spawnServer();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const c = await session(server);
    const { tools } = await c.client.listTools();
    expect(tools.map((t) => t.name)).toContain(TOOL);
    expect(c.transport.sessionId).toBeTruthy();
  });
});

describe("one server, many sessions", () => {
  let server: InProcessHttp;
  beforeAll(async () => {
    server = await start();
  });

  it("elicitation accept: the prompt reaches this client, then exactly one DELETE", async () => {
    const prompts: string[] = [];
    const c = await session(server, {
      elicit: ({ message }) => {
        prompts.push(message);
        expect(deletes()).toHaveLength(0);
        return { action: "accept", content: { confirm: true } };
      },
    });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(result)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toContain(SEED.inboundCall);
    expect(deletes().map((d) => d.path)).toEqual([`/interaction-content/interactions/${SEED.inboundCall}/content/callRecording`]);
    expect(hasContent(SEED.inboundCall, "callRecording")).toBe(false);
  });

  it("elicitation decline: cancelled, no token, nothing sent", async () => {
    const c = await session(server, { elicit: () => ({ action: "decline" }) });
    const result = await c.call(TOOL, { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail });
    expect(structured(result).status).toBe("cancelled");
    expect(structured(result).confirmationToken).toBeUndefined();
    expect(deletes()).toHaveLength(0);
  });

  it("each session's prompt goes to its own client, and each answer counts only there", async () => {
    const seenByA: string[] = [];
    const seenByB: string[] = [];
    const a = await session(server, {
      elicit: ({ message }) => {
        seenByA.push(message);
        return { action: "accept", content: { confirm: true } };
      },
    });
    const b = await session(server, {
      elicit: ({ message }) => {
        seenByB.push(message);
        return { action: "decline" };
      },
    });
    const [ra, rb] = await Promise.all([
      a.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript" }),
      b.call(TOOL, { guid: SEED.chat, contentKey: "chatTranscript" }),
    ]);
    expect(structured(ra).status).toBe("deleted");
    expect(structured(rb).status).toBe("cancelled");
    expect(seenByA).toHaveLength(1);
    expect(seenByA[0]).toContain(SEED.inboundCall);
    expect(seenByB).toHaveLength(1);
    expect(seenByB[0]).toContain(SEED.chat);
    expect(deletes().map((d) => d.path)).toEqual([`/interaction-content/interactions/${SEED.inboundCall}/content/transcript`]);
    expect(hasContent(SEED.chat, "chatTranscript")).toBe(true);
  });

  it("a token from one session is confirmation_invalid in another, and still works in its own", async () => {
    const a = await session(server);
    const b = await session(server);
    const args = { guid: SEED.inboundCall, contentKey: "transcript" };
    const issued = structured(await a.call(TOOL, args));
    expect(issued.status).toBe("confirmation_required");
    // Bound to loopback, a client that cannot prompt gets the approval page (the safer default).
    expect(issued.approvalUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/approve\//);
    await decideOnPage(issued.approvalUrl, "approve");

    const elsewhere = await b.call(TOOL, { ...args, confirmationToken: issued.confirmationToken });
    expect(elsewhere.isError).toBe(true);
    expect(structured(elsewhere).error.code).toBe("confirmation_invalid");
    expect(structured(elsewhere).error.message).toMatch(/session/);
    expect(deletes()).toHaveLength(0);

    const own = await a.call(TOOL, { ...args, confirmationToken: issued.confirmationToken });
    expect(structured(own)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(deletes()).toHaveLength(1);
  });

  it("DELETE ends the session: its id is refused and its tokens are gone", async () => {
    const a = await session(server);
    const args = { guid: SEED.screenRecording, contentKey: SEED_ITEM_KEYS.screenRecording };
    const token = structured(await a.call(TOOL, args)).confirmationToken;
    const id = a.transport.sessionId ?? "";
    await a.transport.terminateSession();
    await waitUntil(
      () => server.stderr().includes(`session ${id.slice(0, 8)}… ended (closed by the client)`),
      "the session end in the log",
    );
    await waitUntil(() => /session closed: 1 confirmation token\(s\) discarded/.test(server.stderr()), "the token to be discarded");

    const stale = await onSession(server, id);
    expect(stale.status).toBe(404);
    expect(JSON.parse(stale.body).error.message).toMatch(/Session not found/);

    const b = await session(server);
    const late = await b.call(TOOL, { ...args, confirmationToken: token });
    expect(structured(late).error.code).toBe("confirmation_invalid");
    expect(deletes()).toHaveLength(0);
    expect(hasContent(SEED.screenRecording, SEED_ITEM_KEYS.screenRecording)).toBe(true);
  });

  it("refuses requests whose Host or Origin does not name this server (DNS rebinding), before anything else", async () => {
    const evilHost = await rawRequest(server.url, { body: INITIALIZE, headers: { host: `evil.example.com:${port(server)}` } });
    expect(evilHost.status).toBe(403);
    const evilOrigin = await rawRequest(server.url, { body: INITIALIZE, headers: { origin: "http://evil.example.com" } });
    expect(evilOrigin.status).toBe(403);
    const nullOrigin = await rawRequest(server.url, { body: INITIALIZE, headers: { origin: "null" } });
    expect(nullOrigin.status).toBe(403);
    const local = await rawRequest(server.url, {
      body: INITIALIZE,
      headers: { host: `localhost:${port(server)}`, origin: `http://localhost:${port(server)}` },
    });
    expect(local.status).toBe(200);
    expect(local.headers["mcp-session-id"]).toBeTruthy();
  });

  it("answers protocol mistakes with JSON-RPC errors", async () => {
    const noSession = await rawRequest(server.url, { body: { jsonrpc: "2.0", id: 1, method: "tools/list" } });
    expect(noSession.status).toBe(400);
    expect(JSON.parse(noSession.body)).toMatchObject({ jsonrpc: "2.0", error: { code: -32000 } });
    expect((await onSession(server, "no-such-session")).status).toBe(404);
    expect((await rawRequest(server.url.replace(/\/mcp$/, "/other"), { body: INITIALIZE })).status).toBe(404);
    expect((await rawRequest(server.url, { method: "PUT", body: INITIALIZE })).status).toBe(405);
    const notJson = await rawRequest(server.url, { body: INITIALIZE, headers: { "content-type": "text/plain" } });
    expect(notJson.status).toBe(415);
    const broken = await rawRequest(server.url, { body: undefined, headers: {} });
    expect(broken.status).toBe(400);
    expect(JSON.parse(broken.body).error.code).toBe(-32700);
    expect(sim.journal).toHaveLength(0);
  });
});

describe("with VCC_HTTP_BEARER", () => {
  let server: InProcessHttp;
  beforeAll(async () => {
    server = await start({ VCC_HTTP_BEARER: BEARER, VCC_CONFIRMATION: "token" });
  });

  it("refuses requests without it or with a wrong one (401), even with a valid session id", async () => {
    const none = await rawRequest(server.url, { body: INITIALIZE });
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect(none.body).not.toContain(BEARER);
    expect((await rawRequest(server.url, { body: INITIALIZE, headers: { authorization: `Bearer ${BEARER}x` } })).status).toBe(401);
    expect((await rawRequest(server.url, { body: INITIALIZE, headers: { authorization: BEARER } })).status).toBe(401);
    await expect(connectHttp(server, { bearer: "wrong-bearer-0000000000" })).rejects.toThrow();

    const c = await session(server, { bearer: BEARER });
    const id = c.transport.sessionId ?? "";
    const stolen = await onSession(server, id);
    expect(stolen.status).toBe(401);
    expect(deletes()).toHaveLength(0);
  });

  it("a refused request's body is read only up to the body limit: a small one keeps the connection, an endless one is cut off", async () => {
    // Small: answered 401 on a connection the client can reuse.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await postOn(agent, server.url, "x".repeat(10_000));
      const second = await postOn(agent, server.url, "{}");
      expect([first.status, second.status]).toEqual([401, 401]);
      expect(second.reusedSocket).toBe(true);
    } finally {
      agent.destroy();
    }
    // Endless (chunked, no length): the server stops reading and closes the connection after the
    // answer, long before the 64 MiB this client would send.
    const endless = await sendEndlessBody(server.url, 64 * 2 ** 20);
    expect(endless.answer).toMatch(/^HTTP\/1\.1 401/);
    expect(endless.closedByServer).toBe(true);
    expect(endless.sent).toBeLessThan(64 * 2 ** 20);
    expect(deletes()).toHaveLength(0);
  });

  it("with it, the whole token flow works and deletes exactly once", async () => {
    const c = await session(server, { bearer: BEARER });
    const args = { guid: SEED.inboundCall, contentKey: "callRecording" };
    const token = structured(await c.call(TOOL, args)).confirmationToken;
    const result = await c.call(TOOL, { ...args, confirmationToken: token });
    expect(structured(result).status).toBe("deleted");
    expect(deletes()).toHaveLength(1);
    expect(server.stderr()).toMatch(/clients must authenticate/);
  });
});

describe("idle sessions", () => {
  let server: InProcessHttp;
  beforeAll(async () => {
    // Shorter than a user may set (whole seconds): the timers run as they would, without the wait.
    server = await start({}, 0.2);
  });

  it("end after the idle timeout, releasing their tokens", async () => {
    const a = await session(server);
    const args = { guid: SEED.inboundCall, contentKey: "transcript" };
    const token = structured(await a.call(TOOL, args)).confirmationToken;
    const id = a.transport.sessionId ?? "";
    await waitUntil(() => server.stderr().includes(`session ${id.slice(0, 8)}… ended (idle for 0.2 s)`), "the idle timeout");
    expect((await onSession(server, id)).status).toBe(404);
    const b = await session(server);
    expect(structured(await b.call(TOOL, { ...args, confirmationToken: token })).error.code).toBe("confirmation_invalid");
    expect(deletes()).toHaveLength(0);
  });

  it("a session waiting for the person's answer is not idle", async () => {
    let otherId = "";
    const a = await session(server, {
      elicit: async () => {
        // Another session opened now expires while this one waits: the timer ran, and spared us.
        const other = await session(server);
        otherId = other.transport.sessionId ?? "";
        await waitUntil(() => server.stderr().includes(`session ${otherId.slice(0, 8)}… ended (idle`), "the other session's idle end");
        return { action: "accept", content: { confirm: true } };
      },
    });
    const result = await a.call(TOOL, { guid: SEED.chat, contentKey: "chatTranscript" });
    expect(structured(result).status).toBe("deleted");
    expect(otherId).toBeTruthy();
    expect(deletes()).toHaveLength(1);
  });
});

describe("session limits", () => {
  const open = (server: HttpEndpoint) => rawRequest(server.url, { body: INITIALIZE });
  const args = { guid: SEED.inboundCall, contentKey: "transcript" };

  it("beyond the cap, new sessions get 503 with Retry-After; the open sessions and their confirmations stay", async () => {
    const server = await start({ VCC_HTTP_MAX_SESSIONS: "2", VCC_HTTP_SESSIONS_PER_MINUTE: "1000", VCC_CONFIRMATION: "token" });
    const a = await session(server);
    const token = structured(await a.call(TOOL, args)).confirmationToken;
    const b = await session(server);

    const flood = await Promise.all(Array.from({ length: 50 }, () => open(server)));
    for (const refused of flood) {
      expect(refused.status).toBe(503);
      expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(refused.body).error.message).toMatch(/Too many sessions/);
    }
    expect((await b.client.listTools()).tools.length).toBeGreaterThan(1);
    expect(structured(await a.call(TOOL, { ...args, confirmationToken: token }))).toMatchObject({ status: "deleted" });
    expect(deletes()).toHaveLength(1);
  });

  it("new sessions are rate-limited per client address (429 with Retry-After); open sessions are untouched", async () => {
    const server = await start({ VCC_HTTP_SESSIONS_PER_MINUTE: "3" });
    const first = await open(server);
    expect(first.status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await open(server)).status).toBe(200);
    const limited = await open(server);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(server.stderr()).toMatch(/refused a new session from 127\.0\.0\.1: more than 3 per minute/);
    expect((await onSession(server, String(first.headers["mcp-session-id"]))).status).toBe(200);
  });

  it("an abandoned session (idle a tenth of the idle timeout, no confirmation) makes room; one holding a token does not", async () => {
    // Abandoned after 2 s idle; the idle timeout itself (20 s) ends nothing during this test, even on a slow machine.
    const server = await start({ VCC_HTTP_MAX_SESSIONS: "2", VCC_HTTP_SESSIONS_PER_MINUTE: "1000", VCC_CONFIRMATION: "token" }, 20);
    const holder = await session(server);
    const token = structured(await holder.call(TOOL, args)).confirmationToken;
    const idle = await open(server);
    expect(idle.status).toBe(200);

    // Refused until the plain session has been idle long enough (polling: no fixed wait).
    const refusals: number[] = [];
    const deadline = Date.now() + 15_000;
    let admitted = await open(server);
    while (admitted.status !== 200 && Date.now() < deadline) {
      refusals.push(admitted.status);
      await new Promise((resolve) => setTimeout(resolve, 100));
      admitted = await open(server);
    }
    expect(admitted.status).toBe(200);
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.every((status) => status === 503)).toBe(true);
    expect((await onSession(server, String(idle.headers["mcp-session-id"]))).status).toBe(404);
    expect(server.stderr()).toMatch(/ended \(replaced by a new session \(too many sessions\)\)/);
    expect(structured(await holder.call(TOOL, { ...args, confirmationToken: token }))).toMatchObject({ status: "deleted" });
  });
});

describe("graceful shutdown", () => {
  it("SIGTERM refuses new sessions, lets the call in progress finish, then exits 0", async () => {
    const server = await spawnServer();
    const c = await session(server, { elicit: approve });
    // Held in flight by the API until the steps below are done (well within the grace of 10 s).
    sim.injectFaults("delete-content", { hold: true });
    const call = c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    await waitUntil(() => deletes().length === 1, "the DELETE to reach the API");

    server.child.kill("SIGTERM");
    await waitUntil(() => server.stderr().includes("shutting down (SIGTERM)"), "the shutdown to begin");
    const late = await rawRequest(server.url, { body: INITIALIZE });
    expect(late.status).toBe(503);

    sim.release();
    const result = await call;
    expect(structured(result)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(textOf(result)).toMatch(/Deleted/);
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(deletes()).toHaveLength(1);
    expect(hasContent(SEED.inboundCall, "callRecording")).toBe(false);
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal} with an idle client connected exits 0 and closes its session`, async () => {
      const server = await spawnServer();
      await session(server);
      expect(await server.stop(signal)).toEqual({ code: 0, signal: null });
      expect(server.stderr()).toMatch(/ended \(server shutting down\); 0 open/);
    });
  }
});

// Which settings are refused, and how, is decided in process (test/unit/cli.test.ts); the process
// acting on a refusal is checked in test/e2e/process.test.ts. Here: what only a start can find. It
// uses none of the file's sessions, servers or simulator state.
describe("start-up configuration", () => {
  const run = (args: string[], env: Record<string, string> = {}) => runNode([SERVER_ENTRY, ...args], { env });
  const oneLine = (text: string) => text.split("\n").filter(Boolean);

  it("a port in use → exit 1 with one line saying what to do", async () => {
    const blocker = createNetServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const address = blocker.address();
    const taken = typeof address === "object" && address ? address.port : 0;
    try {
      const result = await run(["--http", "--port", String(taken)]);
      expect(result.code).toBe(1);
      expect(oneLine(result.stderr)).toHaveLength(1);
      expect(result.stderr).toMatch(/EADDRINUSE.*--port/);
    } finally {
      blocker.close();
    }
  });
});

// Not with the ones above: it opens a session, which the file's afterEach closes when any test ends.
describe("start-up configuration, serving", () => {
  it("VCC_TRANSPORT=http serves HTTP without the flag", async () => {
    const server = await startHttpServer({
      args: [],
      env: { VCC_TRANSPORT: "http", VCC_HTTP_PORT: "0", VCC_API_BASE_URL: sim.apiBaseUrl },
    });
    servers.push(server);
    const c = await session(server);
    expect((await c.client.listTools()).tools.map((t) => t.name)).toContain(TOOL);
  });
});

/** POSTs `body` without credentials through `agent`: the status, and whether the connection was one used before. */
function postOn(agent: Agent, url: string, body: string): Promise<{ status: number; reusedSocket: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, reusedSocket: req.reusedSocket }));
    });
    req.on("error", reject);
    req.end(body);
  });
}
