// Fault injection, the rate limit, the journal and reset(), over real HTTP.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type JournalEntry, parseFaultList, SEED, type Simulator, startSimulator } from "../../src/simulator/server.js";
import { requestToken, SANDBOX_CREDENTIALS, send, waitFor } from "../helpers/raw-api.js";

let sim: Simulator;
let clock = Date.parse("2026-11-28T12:00:00Z");
beforeAll(async () => {
  sim = await startSimulator({ now: () => clock });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const api = (path: string, options: Parameters<typeof send>[2] = {}) => send(sim.apiBaseUrl, path, options);
const recordingPath = `/interactions/${SEED.inboundCall}/content/callRecording`;
const deleteRecording = () => api(recordingPath, { method: "DELETE" });
const hasRecording = () => sim.holds(SEED.inboundCall, "callRecording");
/** The error a request ended with, or "answered <status>". */
const outcome = (p: Promise<{ status: number; text: string }>) =>
  p.then(
    (res) => `answered ${res.status}`,
    (error: Error & { code?: string }) => `failed: ${error.code ?? error.name}`,
  );

describe("queued faults", () => {
  it("a sequence of statuses answers the next requests, in order, without performing the action; then normal service", async () => {
    sim.injectFaults(
      "delete-content",
      { status: 429, retryAfter: "7", body: '{"message":"Too many requests"}' },
      { status: 500, body: '{"message":"Unexpected error, contact support"}' },
      { status: 503, retryAfter: "Wed, 21 Oct 2026 07:28:00 GMT" },
    );
    expect(sim.pendingFaults()).toBe(3);
    const first = await deleteRecording();
    expect([first.status, first.headers["retry-after"], first.json()]).toEqual([429, "7", { message: "Too many requests" }]);
    expect(first.headers["content-type"]).toMatch(/^application\/json/);
    const second = await deleteRecording();
    expect([second.status, second.json().message]).toEqual([500, "Unexpected error, contact support"]);
    const third = await deleteRecording();
    expect([third.status, third.headers["retry-after"], third.text]).toEqual([503, "Wed, 21 Oct 2026 07:28:00 GMT", ""]);
    expect(hasRecording()).toBe(true);
    expect(sim.pendingFaults()).toBe(0);
    expect((await deleteRecording()).status).toBe(204);
    expect(sim.requests("DELETE", "delete-content").map((e) => e.status)).toEqual([429, 500, 503, 204]);
    expect(sim.journal[0]?.fault).toMatchObject({ status: 429 });
    expect(sim.journal[3]?.fault).toBeUndefined();
  });

  it("faults queued for one route leave the others alone; '*' applies to whatever comes next", async () => {
    sim.injectFaults("delete-content", { status: 500 });
    expect((await api(`/interactions/${SEED.inboundCall}`)).status).toBe(200);
    expect((await deleteRecording()).status).toBe(500);
    sim.injectFaults("*", { status: 502 });
    expect((await api(`/interactions/${SEED.inboundCall}`)).status).toBe(502);
    expect((await api(`/interactions/${SEED.inboundCall}`)).status).toBe(200);
  });

  it("non-JSON bodies: HTML error pages and plain text, with a matching or explicit Content-Type", async () => {
    sim.injectFaults(
      "*",
      { status: 502, body: "<html><body><h1>502 Bad Gateway</h1></body></html>" },
      { status: 500, body: "upstream connect error" },
      { status: 503, body: "<html>Service Unavailable</html>", contentType: "text/html" },
      { status: 500, body: "{not json", contentType: "application/json" },
    );
    const html = await deleteRecording();
    expect([html.status, html.headers["content-type"], html.text]).toEqual([
      502,
      "text/html; charset=utf-8",
      "<html><body><h1>502 Bad Gateway</h1></body></html>",
    ]);
    const text = await deleteRecording();
    expect([text.headers["content-type"], text.text]).toEqual(["text/plain; charset=utf-8", "upstream connect error"]);
    expect((await deleteRecording()).headers["content-type"]).toBe("text/html");
    const lying = await deleteRecording();
    expect([lying.headers["content-type"], lying.text]).toEqual(["application/json", "{not json"]);
    expect(hasRecording()).toBe(true);
  });

  it("added latency delays the answer (and the action still happens)", async () => {
    sim.injectFaults("delete-content", { latencyMs: 300 });
    const started = performance.now();
    expect((await deleteRecording()).status).toBe(204);
    // A lower bound only: a slow machine can only make it longer.
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(hasRecording()).toBe(false);
  });

  it("a connection dropped before the action: no answer, nothing deleted", async () => {
    sim.injectFaults("delete-content", { drop: "before" });
    expect(await outcome(deleteRecording())).toMatch(/^failed/);
    expect(hasRecording()).toBe(true);
    expect(sim.journal[0]?.status).toBeUndefined();
    expect((await deleteRecording()).status).toBe(204);
  });

  it("a connection dropped after the action: no answer, but the content is gone (journal says 204)", async () => {
    sim.injectFaults("delete-content", { drop: "after" });
    expect(await outcome(deleteRecording())).toMatch(/^failed/);
    expect(hasRecording()).toBe(false);
    expect(sim.journal[0]?.status).toBe(204);
    expect((await deleteRecording()).status).toBe(404);
  });

  it("a gateway error after the action (afterAction): the content is gone, yet the client is told 502 or 504", async () => {
    sim.injectFaults(
      "delete-content",
      { status: 502, afterAction: true, body: '{"message":"Bad gateway"}' },
      { status: 504, afterAction: true },
    );
    const first = await deleteRecording();
    expect([first.status, first.json()]).toEqual([502, { message: "Bad gateway" }]);
    expect(hasRecording()).toBe(false);
    expect(sim.journal[0]).toMatchObject({ status: 502, actionStatus: 204 });
    // The next one meets the same fault after an action that found nothing: 404 behind the gateway.
    expect((await deleteRecording()).status).toBe(504);
    expect(sim.journal[1]).toMatchObject({ status: 504, actionStatus: 404 });
    expect((await deleteRecording()).status).toBe(404);
    expect(sim.journal[2]?.actionStatus).toBeUndefined();
  });

  it("a plain status fault (without afterAction) still does not perform the action", async () => {
    sim.injectFaults("delete-content", { status: 502 });
    expect((await deleteRecording()).status).toBe(502);
    expect(hasRecording()).toBe(true);
    expect(sim.journal[0]?.actionStatus).toBeUndefined();
  });

  it("a truncated body: the client sees the headers, part of the body, then a closed connection", async () => {
    const full = (await api(`/interactions/${SEED.inboundCall}`)).text;
    sim.injectFaults("get-interaction", { truncate: true });
    const failed = await send(sim.apiBaseUrl, `/interactions/${SEED.inboundCall}`).then(
      () => false,
      () => true,
    );
    expect(failed).toBe(true);
    // Read it raw to see what arrived before the cut.
    sim.injectFaults("get-interaction", { truncate: true });
    const received = await rawGet(`/interaction-content/interactions/${SEED.inboundCall}`);
    const [head, body = ""] = received.split("\r\n\r\n");
    expect(head).toMatch(/^HTTP\/1.1 200/);
    expect(head).toContain(`content-length: ${Buffer.byteLength(full)}`);
    expect(body.length).toBeGreaterThan(0);
    expect(body.length).toBeLessThan(Buffer.byteLength(full));
    expect(full.startsWith(body)).toBe(true);
  });

  it("a truncated 204 after a deletion that took effect: the answer is cut in its status line", async () => {
    sim.injectFaults("delete-content", { truncate: true });
    expect(await outcome(deleteRecording())).toMatch(/^failed/);
    expect(hasRecording()).toBe(false);
  });

  it("a truncated fault answer: the fault's status and part of its body, nothing deleted", async () => {
    sim.injectFaults("delete-content", { status: 500, body: JSON.stringify({ message: "x".repeat(200) }), truncate: true });
    const raw = await rawGet(`/interaction-content${recordingPath}`, "DELETE");
    expect(raw).toMatch(/^HTTP\/1.1 500/);
    expect(hasRecording()).toBe(true);
  });

  it("a slow body arrives whole, in pieces", async () => {
    const normal = await api(`/interactions/${SEED.inboundCall}`);
    sim.injectFaults("get-interaction", { slowBodyMs: 20 });
    const started = performance.now();
    const slow = await api(`/interactions/${SEED.inboundCall}`);
    expect(slow.text).toBe(normal.text);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15 * 20 - 10);
  });

  it("faults apply to the token endpoint too", async () => {
    sim.injectFaults("token", { status: 503, body: "<html>down</html>" });
    expect((await requestToken(sim.url, SANDBOX_CREDENTIALS)).status).toBe(503);
  });
});

describe("standing faults", () => {
  it("apply to every matching request until cleared", async () => {
    sim.setStandingFault("get-interaction", { status: 500, body: '{"message":"down"}' });
    for (let i = 0; i < 3; i++) expect((await api(`/interactions/${SEED.inboundCall}`)).status).toBe(500);
    expect((await deleteRecording()).status).toBe(204);
    sim.setStandingFault("get-interaction", undefined);
    expect((await api(`/interactions/${SEED.inboundCall}`)).status).toBe(200);
  });

  it("a queued fault goes before a standing one", async () => {
    sim.setStandingFault("*", { status: 503 });
    sim.injectFaults("get-interaction", { status: 429 });
    expect((await api(`/interactions/${SEED.inboundCall}`)).status).toBe(429);
    expect((await api(`/interactions/${SEED.inboundCall}`)).status).toBe(503);
  });
});

describe("faults set by options", () => {
  it("the faults option queues and stands faults from the start, and reset() puts them back", async () => {
    const own = await startSimulator({
      faults: [
        { route: "delete-content", status: 429, retryAfter: "2" },
        { route: "delete-content", drop: "after" },
        { route: "get-content", status: 500, standing: true },
      ],
    });
    try {
      const del = () => send(own.apiBaseUrl, recordingPath, { method: "DELETE" });
      const first = await del();
      expect([first.status, first.headers["retry-after"]]).toEqual([429, "2"]);
      expect(await outcome(del())).toMatch(/^failed/);
      expect((await del()).status).toBe(404);
      for (let i = 0; i < 2; i++)
        expect((await send(own.apiBaseUrl, `/interactions/${SEED.chat}/content/chatTranscript`)).status).toBe(500);
      own.reset();
      expect((await del()).status).toBe(429);
    } finally {
      await own.close();
    }
  });

  it("latencyMs delays every request", async () => {
    const own = await startSimulator({ latencyMs: 200 });
    try {
      const started = performance.now();
      expect((await send(own.apiBaseUrl, `/interactions/${SEED.inboundCall}`)).status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    } finally {
      await own.close();
    }
  });

  it("parseFaultList (the CLI's --fail-next) turns a list into faults", () => {
    expect(parseFaultList("429,500,503:html,502:text,504:empty,drop-before,drop-after,truncate,slow", "5")).toEqual([
      { status: 429, retryAfter: "5", body: '{"message":"Simulated 429 (fault injection)"}' },
      { status: 500, body: '{"message":"Simulated 500 (fault injection)"}' },
      { status: 503, retryAfter: "5", body: expect.stringMatching(/^<!DOCTYPE html>/) },
      { status: 502, body: "Error 502 (simulated)" },
      { status: 504 },
      { drop: "before" },
      { drop: "after" },
      { truncate: true },
      { slowBodyMs: 250 },
    ]);
    expect(parseFaultList(" 429 ")[0]?.retryAfter).toBe("1");
    expect(parseFaultList("429,503", null).map((f) => f.retryAfter)).toEqual([undefined, undefined]);
    expect(parseFaultList("after-502,after-504:empty")).toEqual([
      { status: 502, afterAction: true, body: '{"message":"Simulated 502 (fault injection)"}' },
      { status: 504, afterAction: true },
    ]);
    for (const bad of ["", "42", "600", "429:xml", "drop", "500,", "after-", "before-502"])
      expect(() => parseFaultList(bad), bad).toThrow(/is not a fault/);
  });
});

describe("rate limit", () => {
  it("beyond n requests in a second → 429 with Retry-After; the next second lets requests through again", async () => {
    sim.setRateLimit(2);
    expect((await api(`/interactions/${SEED.inboundCall}`)).status).toBe(200);
    expect((await api(`/interactions/${SEED.chat}`)).status).toBe(200);
    const limited = await deleteRecording();
    expect(limited.status).toBe(429);
    expect(limited.headers["retry-after"]).toBe("1");
    expect(hasRecording()).toBe(true);
    clock += 999;
    expect((await api("/interactions")).status).toBe(429);
    clock += 1;
    expect((await deleteRecording()).status).toBe(204);
  });

  it("counts every API request (also rejected ones) but not the token endpoint", async () => {
    sim.setRateLimit(1);
    expect((await api(`/interactions/${SEED.inboundCall}`, { token: null })).status).toBe(401);
    expect((await api(`/interactions/${SEED.inboundCall}`)).status).toBe(429);
    expect((await requestToken(sim.url, SANDBOX_CREDENTIALS)).status).toBe(200);
  });

  it("a limit over a longer window, and 429s without Retry-After (the API as documented)", async () => {
    const own = await startSimulator({ rateLimit: { limit: 2, windowMs: 60_000 }, retryAfterHeader: false, now: () => clock });
    try {
      const get = () => send(own.apiBaseUrl, `/interactions/${SEED.inboundCall}`);
      expect((await get()).status).toBe(200);
      clock += 30_000;
      expect((await get()).status).toBe(200);
      const limited = await get();
      expect(limited.status).toBe(429);
      expect(limited.headers["retry-after"]).toBeUndefined();
      clock += 30_000;
      // The first left the minute: one more goes.
      expect((await get()).status).toBe(200);
      expect((await get()).status).toBe(429);
    } finally {
      await own.close();
    }
  });

  it("the rateLimit option, setRateLimit(undefined) and reset()", async () => {
    const own = await startSimulator({ rateLimit: 1, now: () => clock });
    try {
      const get = () => send(own.apiBaseUrl, `/interactions/${SEED.inboundCall}`);
      expect((await get()).status).toBe(200);
      expect((await get()).status).toBe(429);
      own.setRateLimit(undefined);
      expect((await get()).status).toBe(200);
      own.reset();
      expect((await get()).status).toBe(200);
      expect((await get()).status).toBe(429);
    } finally {
      await own.close();
    }
  });
});

describe("journal", () => {
  it("records method, raw path, route, headers with the token redacted, time, status and body", async () => {
    await api(`/interactions/${SEED.inboundCall}`, { headers: { "x-request-id": "abc" } });
    await api(recordingPath, { method: "DELETE", token: "e2e-secret-token-value" });
    await api("/interactions/delete-batch", { method: "POST", body: JSON.stringify({ guids: [SEED.chat] }) });
    expect(sim.journal).toHaveLength(3);
    const [get, del, batch] = sim.journal as [JournalEntry, JournalEntry, JournalEntry];
    expect(get).toMatchObject({
      method: "GET",
      path: `/interaction-content/interactions/${SEED.inboundCall}`,
      route: "get-interaction",
      status: 200,
      auth: "valid",
    });
    expect(get.headers).toMatchObject({
      accept: "application/vnd.newvoicemedia.v3+json",
      authorization: "Bearer [REDACTED]",
      "x-request-id": "abc",
    });
    expect(new Date(get.time).toISOString()).toBe(get.time);
    expect(del).toMatchObject({ method: "DELETE", route: "delete-content", status: 401, auth: "invalid" });
    expect(batch).toMatchObject({ method: "POST", route: "delete-batch", status: 200, body: JSON.stringify({ guids: [SEED.chat] }) });
    expect(JSON.stringify(sim.journal)).not.toMatch(/sandbox-token|e2e-secret-token-value/);
    expect(sim.requests("DELETE")).toEqual([del]);
    expect(sim.requests(undefined, "delete-batch")).toEqual([batch]);
  });

  it("redacts an Authorization header of any shape", async () => {
    await api("/interactions", { token: null, headers: { authorization: "sandbox-token" } });
    await api("/interactions", { token: null, headers: { authorization: "Bearer   sandbox-token" } });
    expect(sim.journal.map((e) => e.headers.authorization)).toEqual(["[REDACTED]", "Bearer [REDACTED]"]);
  });

  it("onRequest reports each finished request", async () => {
    const seen: JournalEntry[] = [];
    const own = await startSimulator({ onRequest: (entry) => seen.push(entry) });
    try {
      await send(own.apiBaseUrl, recordingPath, { method: "DELETE" });
      await waitFor(() => seen.length === 1);
      expect(seen[0]).toMatchObject({ method: "DELETE", route: "delete-content", status: 204 });
    } finally {
      await own.close();
    }
  });
});

describe("idle()", () => {
  it("resolves at once when nothing is going on", async () => {
    await sim.idle();
    expect(sim.journal).toHaveLength(0);
  });

  it("waits for a request whose client gave up: its deletion still takes effect first", async () => {
    sim.injectFaults("delete-content", { latencyMs: 300 });
    const gaveUp = await outcome(api(recordingPath, { method: "DELETE", signal: AbortSignal.timeout(50) }));
    expect(gaveUp).toMatch(/^failed/);
    expect(hasRecording()).toBe(true);
    await sim.idle();
    expect(hasRecording()).toBe(false);
    expect(sim.journal[0]).toMatchObject({ status: 204 });
  });

  it("waits for every request in flight", async () => {
    sim.injectFaults("get-interaction", { latencyMs: 50 }, { latencyMs: 250 });
    const both = Promise.all([api(`/interactions/${SEED.chat}`), api(`/interactions/${SEED.chat}`)]);
    await waitFor(() => sim.journal.length === 2);
    await sim.idle();
    expect(sim.journal.map((e) => e.status)).toEqual([200, 200]);
    await both;
  });
});

describe("reset()", () => {
  it("brings back the seed data and clears the journal and every fault", async () => {
    await deleteRecording();
    await api(`/interactions/${SEED.chat}`, { method: "DELETE" });
    sim.injectFaults("*", { status: 500 }, { status: 500 });
    sim.setStandingFault("get-content", { status: 503 });
    sim.setRateLimit(1);
    sim.reset();
    expect(sim.journal).toHaveLength(0);
    expect(sim.pendingFaults()).toBe(0);
    expect(hasRecording()).toBe(true);
    expect(sim.interactions().find((i) => i.guid === SEED.chat)?.content).toHaveLength(2);
    for (let i = 0; i < 3; i++) expect((await api(`/interactions/${SEED.chat}/content/chatTranscript`)).status).toBe(200);
  });

  it("the seed is deterministic, and reset() brings back all of it after every kind of deletion", async () => {
    const before = JSON.stringify(sim.interactions());
    await deleteRecording();
    await api(`/interactions/${SEED.chat}`, { method: "DELETE" });
    const batch = JSON.stringify({ guids: [SEED.voicemails] });
    await api("/interactions/delete-batch", { method: "POST", body: batch, headers: { "content-type": "application/json" } });
    expect(JSON.stringify(sim.interactions())).not.toBe(before);
    sim.reset();
    expect(JSON.stringify(sim.interactions())).toBe(before);
    const other = await startSimulator();
    try {
      expect(JSON.stringify(other.interactions())).toBe(before);
    } finally {
      await other.close();
    }
  });
});

/** The raw bytes a request got back before the connection closed (node:net, no HTTP parser in the way). */
async function rawGet(path: string, method = "GET"): Promise<string> {
  const { connect } = await import("node:net");
  return new Promise((resolve, reject) => {
    const socket = connect(sim.port, "127.0.0.1", () => {
      socket.write(
        `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/vnd.newvoicemedia.v3+json\r\nAuthorization: Bearer sandbox-token\r\n\r\n`,
      );
    });
    let data = "";
    socket.on("data", (chunk) => {
      data += chunk.toString("utf8");
    });
    socket.on("close", () => resolve(data));
    socket.on("error", reject);
  });
}
