// The API client (src/vcc) in process against the simulator over real HTTP: one token per scope,
// DELETEs that a gateway error may have carried out, and no secret in what the API says back.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SEED, type Simulator, startSimulator } from "../../src/simulator/server.js";
import { clientCredentialsTokens, staticTokens } from "../../src/vcc/auth.js";
import { VccClient } from "../../src/vcc/client.js";
import { parseInteraction } from "../../src/vcc/interaction.js";
import { DELETE_SCOPE, READ_SCOPE, type Scope } from "../../src/vcc/scopes.js";

const FAST = { maxRetries: 3, deadlineMs: 10_000, baseDelayMs: 1 };
const SUBJECT = "content 'callRecording' of interaction x";

let sim: Simulator;
const clients: VccClient[] = [];
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

function client(options: { scopes?: Scope[]; clientId?: string; secret?: string; maxRetries?: number } = {}): VccClient {
  const c = new VccClient({
    apiBaseUrl: sim.apiBaseUrl,
    timeoutMs: 2_000,
    retry: { ...FAST, maxRetries: options.maxRetries ?? FAST.maxRetries },
    tokens: clientCredentialsTokens({
      authUrl: sim.authUrl,
      clientId: options.clientId ?? "sandbox-client",
      clientSecret: options.secret ?? "sandbox-secret",
      scopes: options.scopes ?? [DELETE_SCOPE, READ_SCOPE],
      timeoutMs: 2_000,
    }),
  });
  clients.push(c);
  return c;
}

const requestedScopes = () => sim.requests("POST", "token").map((t) => new URLSearchParams(t.body ?? "").getAll("scope"));
const deleteRecording = (c: VccClient) => c.deleteContent(SEED.inboundCall, "callRecording", { subject: SUBJECT });
const getInteraction = (c: VccClient) => c.getInteraction(SEED.inboundCall, { subject: `interaction ${SEED.inboundCall}` });

describe("one token per scope", () => {
  it("GETs use the read token and DELETEs the delete token; each token request names one scope", async () => {
    const c = client();
    expect((await getInteraction(c)).ok).toBe(true);
    expect(await deleteRecording(c)).toMatchObject({ ok: true, response: { status: 204 } });
    expect((await getInteraction(c)).ok).toBe(true);
    expect(requestedScopes()).toEqual([[READ_SCOPE], [DELETE_SCOPE]]);
    // The simulator grants a token its one scope: a token used for the wrong method would be 403.
    expect(sim.journal.filter((e) => e.route !== "token").map((e) => e.status)).toEqual([200, 204, 200]);
  });

  it("authenticate(scope) obtains only that scope's token, reused by the requests that follow", async () => {
    const c = client();
    expect(await c.authenticate(DELETE_SCOPE)).toEqual({ ok: true });
    expect(requestedScopes()).toEqual([[DELETE_SCOPE]]);
    expect((await deleteRecording(c)).ok).toBe(true);
    expect(requestedScopes()).toEqual([[DELETE_SCOPE]]);
  });

  it("a 401 renews only the token it refused", async () => {
    const c = client();
    await getInteraction(c);
    await c.authenticate(DELETE_SCOPE);
    sim.injectFaults("delete-content", { status: 401 });
    expect((await deleteRecording(c)).ok).toBe(true);
    expect(requestedScopes()).toEqual([[READ_SCOPE], [DELETE_SCOPE], [DELETE_SCOPE]]);
  });

  it("credentials without the delete scope: auth_failed naming invalid_scope and the scope, nothing sent", async () => {
    const c = client({ clientId: "readonly-client", secret: "readonly-secret" });
    const auth = await c.authenticate(DELETE_SCOPE);
    expect(auth).toMatchObject({ ok: false, error: { code: "auth_failed" } });
    expect(auth.ok ? "" : auth.error.message).toMatch(
      /invalid_scope.*interaction-content:delete|interaction-content:delete.*invalid_scope/,
    );
    expect(await deleteRecording(c)).toMatchObject({ ok: false, noToken: true, attempts: 0 });
    expect(sim.requests("DELETE")).toHaveLength(0);
    expect((await getInteraction(c)).ok).toBe(true);
  });

  it("a scope left out of the configuration: forbidden naming it and VCC_SCOPES, without a token request", async () => {
    const c = client({ scopes: [DELETE_SCOPE] });
    const read = await getInteraction(c);
    expect(read).toMatchObject({ ok: false, noToken: true, error: { code: "forbidden" } });
    expect(read.ok ? "" : read.error.message).toMatch(/interaction-content:read.*VCC_SCOPES/);
    expect(sim.journal).toHaveLength(0);
    expect((await deleteRecording(c)).ok).toBe(true);
    expect(requestedScopes()).toEqual([[DELETE_SCOPE]]);
  });

  it("a static token is one token for everything", async () => {
    const c = new VccClient({ apiBaseUrl: sim.apiBaseUrl, timeoutMs: 2_000, retry: FAST, tokens: staticTokens("sandbox-token") });
    clients.push(c);
    expect((await getInteraction(c)).ok).toBe(true);
    expect((await deleteRecording(c)).ok).toBe(true);
    expect(sim.requests("POST", "token")).toHaveLength(0);
  });
});

describe("a DELETE answered 500, 502 or 504 may have been carried out", () => {
  it("502 after the deletion took effect, then the retry's 404: deleted, verified by absence", async () => {
    sim.injectFaults("delete-content", { status: 502, afterAction: true });
    const outcome = await deleteRecording(client());
    expect(outcome).toMatchObject({ ok: true, verifiedByAbsence: true, attempts: 2, response: { status: 404 } });
    expect(sim.holds(SEED.inboundCall, "callRecording")).toBe(false);
  });

  it("504 after the deletion, retries disabled: outcome unknown, not 'not deleted'", async () => {
    sim.injectFaults("delete-content", { status: 504, afterAction: true });
    const outcome = await deleteRecording(client({ maxRetries: 0 }));
    expect(outcome).toMatchObject({ ok: false, error: { code: "upstream_error", httpStatus: 504, outcomeUnknown: true } });
    expect(outcome.ok ? "" : outcome.error.message).not.toMatch(/not deleted/);
    expect(sim.holds(SEED.inboundCall, "callRecording")).toBe(false);
  });

  it("500 then 429 until retries run out: the final answer says the outcome is unknown", async () => {
    sim.injectFaults(
      "delete-content",
      { status: 500 },
      { status: 429, retryAfter: "0" },
      { status: 429, retryAfter: "0" },
      { status: 429, retryAfter: "0" },
    );
    const outcome = await deleteRecording(client());
    expect(outcome).toMatchObject({ ok: false, attempts: 4, error: { code: "rate_limited", outcomeUnknown: true } });
    expect(outcome.ok ? "" : outcome.error.message).toMatch(/Outcome unknown/);
  });

  it("503 then 404: not found (503 refuses before doing anything, so the 404 proves nothing)", async () => {
    sim.injectFaults("delete-content", { status: 503, retryAfter: "0" }, { status: 404 });
    const outcome = await deleteRecording(client());
    expect(outcome).toMatchObject({ ok: false, error: { code: "not_found" } });
    expect(outcome.ok ? undefined : outcome.error.outcomeUnknown).toBeUndefined();
  });

  it("a GET answered 502 is retried like before and has no unknown outcome", async () => {
    sim.injectFaults("get-interaction", { status: 502 }, { status: 502 }, { status: 502 }, { status: 502 });
    const outcome = await getInteraction(client());
    expect(outcome).toMatchObject({ ok: false, attempts: 4, error: { code: "upstream_error" } });
    expect(outcome.ok ? undefined : outcome.error.outcomeUnknown).toBeUndefined();
  });
});

describe("beforeAttempt: a fencing check before each DELETE attempt is sent", () => {
  const refusal = { code: "busy", message: "lease lost" } as const;

  it("refused before the first attempt: nothing is sent, and the refusal is the answer", async () => {
    const limits: number[] = [];
    const outcome = await client().deleteContent(SEED.inboundCall, "callRecording", {
      subject: SUBJECT,
      beforeAttempt: async (timeoutMs) => {
        limits.push(timeoutMs);
        return refusal;
      },
    });
    expect(outcome).toEqual({ ok: false, attempts: 0, error: refusal });
    expect(limits).toEqual([2_000]);
    expect(sim.journal.filter((e) => e.route === "delete-content")).toEqual([]);
    expect(sim.holds(SEED.inboundCall, "callRecording")).toBe(true);
  });

  it("refused before a retry after a 502: the retry is not sent and the outcome stays unknown", async () => {
    sim.injectFaults("delete-content", { status: 502, afterAction: true });
    let checks = 0;
    const outcome = await client().deleteContent(SEED.inboundCall, "callRecording", {
      subject: SUBJECT,
      beforeAttempt: async () => (++checks === 1 ? undefined : refusal),
    });
    expect(checks).toBe(2);
    expect(outcome).toMatchObject({ ok: false, attempts: 1, error: { code: "busy", outcomeUnknown: true } });
    expect(sim.journal.filter((e) => e.route === "delete-content")).toHaveLength(1);
  });
});

describe("a retry leaves only in time and while it is wanted", () => {
  const deletes = () => sim.journal.filter((e) => e.route === "delete-content");

  it("a 401 near the deadline whose new token comes late: the retry is not sent past the deadline", async () => {
    const c = client();
    await c.authenticate(DELETE_SCOPE);
    sim.injectFaults("delete-content", { status: 401 });
    sim.injectFaults("token", { latencyMs: 1_500 });
    const outcome = await c.deleteContent(SEED.inboundCall, "callRecording", { subject: SUBJECT, deadlineMs: 1_000 });
    expect(outcome).toMatchObject({ ok: false, attempts: 1, error: { code: "unauthorized" } });
    expect(deletes()).toHaveLength(1);
    expect(sim.holds(SEED.inboundCall, "callRecording")).toBe(true);
  });

  it("shutdown begun while an attempt answered 401 was in flight: the 401's retry is not sent", async () => {
    const c = client();
    await c.authenticate(DELETE_SCOPE);
    sim.injectFaults("delete-content", { status: 401, latencyMs: 300 });
    const stop = new AbortController();
    const outcome = c.deleteContent(SEED.inboundCall, "callRecording", { subject: SUBJECT, stopRetrying: stop.signal });
    await eventually(() => deletes().length === 1 || sim.pendingFaults() === 0);
    stop.abort();
    expect(await outcome).toMatchObject({ ok: false, attempts: 1 });
    expect(deletes()).toHaveLength(1);
  });

  it("cancelled while the lock was being checked: nothing was sent, and the answer does not say it may have been deleted", async () => {
    const cancel = new AbortController();
    const outcome = await client().deleteContent(SEED.inboundCall, "callRecording", {
      subject: SUBJECT,
      signal: cancel.signal,
      beforeAttempt: async () => {
        cancel.abort();
        return undefined;
      },
    });
    expect(outcome).toMatchObject({ ok: false, attempts: 0, error: { code: "cancelled" } });
    expect(outcome.ok ? undefined : outcome.error.outcomeUnknown).toBeUndefined();
    expect(deletes()).toEqual([]);
  });
});

describe("shutdown: a deletion still waiting for its turn sends nothing", () => {
  const deletes = () => sim.journal.filter((e) => e.route === "delete-content");

  it("cut off (the grace period's end) while queued behind one in flight: the one in flight may have been deleted, the queued one was not sent", async () => {
    const c = client();
    await c.authenticate(DELETE_SCOPE);
    sim.injectFaults("delete-content", { hold: true });
    const cutOff = new AbortController();
    const first = c.deleteContent(SEED.inboundCall, "callRecording", { subject: "first", cutOff: cutOff.signal });
    await eventually(() => deletes().length === 1);
    const queued = c.deleteContent(SEED.inboundCall, "transcript", { subject: "queued", cutOff: cutOff.signal });
    cutOff.abort();
    expect(await first).toMatchObject({ ok: false, attempts: 1, error: { code: "cancelled", outcomeUnknown: true } });
    const second = await queued;
    expect(second).toMatchObject({
      ok: false,
      attempts: 0,
      error: { code: "cancelled", message: expect.stringMatching(/before it was sent/) },
    });
    expect(second.ok ? undefined : second.error.outcomeUnknown).toBeUndefined();
    sim.release();
    expect(deletes()).toHaveLength(1);
    expect(sim.holds(SEED.inboundCall, "transcript")).toBe(true);
  });

  it("shutdown begun while a deletion waited for its turn: its first attempt is not sent", async () => {
    const c = client();
    await c.authenticate(DELETE_SCOPE);
    sim.injectFaults("delete-content", { hold: true });
    const stop = new AbortController();
    const first = c.deleteContent(SEED.inboundCall, "callRecording", { subject: "first", stopRetrying: stop.signal });
    await eventually(() => deletes().length === 1);
    const queued = c.deleteContent(SEED.inboundCall, "transcript", { subject: "queued", stopRetrying: stop.signal });
    stop.abort();
    sim.release();
    // The one in flight finishes; the queued one is not sent.
    expect(await first).toMatchObject({ ok: true });
    expect(await queued).toMatchObject({ ok: false, attempts: 0, error: { code: "cancelled" } });
    expect(deletes()).toHaveLength(1);
    expect(sim.holds(SEED.inboundCall, "transcript")).toBe(true);
  });
});

/** Resolves once `check` holds (polled every 5 ms, at most 5 s). */
async function eventually(check: () => boolean): Promise<void> {
  for (const until = Date.now() + 5_000; !check(); ) {
    if (Date.now() > until) throw new Error("the condition did not hold within 5 s");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("no secret in what the API says back", () => {
  // A stand-in for the token endpoint and the API whose errors echo the request's Authorization header.
  const ISSUED = "standin-issued-access-token-9f3b27c1";
  let standin: Server;
  let base: string;
  beforeAll(async () => {
    standin = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        const auth = req.headers.authorization ?? "";
        if (req.url === "/token") {
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ access_token: ISSUED, expires_in: 3600 }));
        } else if (req.method === "DELETE") {
          res
            .writeHead(400, { "content-type": "application/json" })
            .end(JSON.stringify({ message: `Request rejected. Authorization: ${auth}; token=${auth.slice(7)}` }));
        } else if (req.url?.includes(SEED.chat)) {
          res.writeHead(500, { "content-type": "text/plain" }).end(`upstream said: ${auth.slice(7)} was refused`);
        } else {
          // A 200 whose fields echo the token: it reaches the list and the confirmation prompt.
          const guid = SEED.inboundCall;
          res
            .writeHead(200, { "content-type": "application/json" })
            .end(JSON.stringify({ guid, direction: auth, content: [{ contentKey: "callRecording", type: `recording ${auth.slice(7)}` }] }));
        }
      });
    });
    await new Promise<void>((resolve) => standin.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(standin.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => standin.close(() => resolve())));

  function standinClient(): VccClient {
    const c = new VccClient({
      apiBaseUrl: `${base}/interaction-content`,
      timeoutMs: 2_000,
      retry: { ...FAST, maxRetries: 0 },
      tokens: clientCredentialsTokens({
        authUrl: `${base}/token`,
        clientId: "id",
        clientSecret: "standin-client-secret-1e8a",
        scopes: [DELETE_SCOPE, READ_SCOPE],
        timeoutMs: 2_000,
      }),
    });
    clients.push(c);
    return c;
  }

  it("an error message that echoes the Authorization header is redacted in upstreamMessage and the message", async () => {
    const outcome = await deleteRecording(standinClient());
    expect(outcome).toMatchObject({ ok: false, error: { code: "bad_request", upstreamMessage: expect.stringMatching(/REDACTED/) } });
    expect(JSON.stringify(outcome)).not.toContain(ISSUED);
  });

  it("a plain-text error body and a 200 record that echo the token are redacted too", async () => {
    const c = standinClient();
    const plain = await c.getInteraction(SEED.chat, { subject: "x" });
    expect(plain).toMatchObject({ ok: false, error: { upstreamMessage: expect.stringMatching(/REDACTED/) } });
    expect(JSON.stringify(plain)).not.toContain(ISSUED);
    const record = await getInteraction(c);
    expect(record.ok).toBe(true);
    const interaction = record.ok ? parseInteraction(record.response.body) : undefined;
    expect(interaction?.content[0]?.contentKey).toBe("callRecording");
    expect(JSON.stringify(interaction)).toMatch(/REDACTED/);
    expect(JSON.stringify(interaction)).not.toContain(ISSUED);
  });
});
