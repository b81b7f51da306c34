// The simulator against ../shared/api/interaction-content-api.md, over real HTTP.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SEED, SEED_ITEM_KEYS, type Simulator, startSimulator } from "../../src/simulator/server.js";
import { send, V3, waitFor } from "../helpers/raw-api.js";

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({
    staticTokens: {
      "sandbox-token": ["interaction-content:read", "interaction-content:delete"],
      "read-only": ["interaction-content:read"],
      "delete-only": ["interaction-content:delete"],
    },
  });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const api = (path: string, options: Parameters<typeof send>[2] = {}) => send(sim.apiBaseUrl, path, options);
const content = (guid: string, key: string) => `/interactions/${guid}/content/${key}`;
const keysOf = (guid: string) =>
  sim
    .interactions()
    .find((i) => i.guid === guid)
    ?.content.map((c) => c.contentKey) ?? [];
const INVALID_VERSION =
  "Invalid api-version! Valid values: 'application/vnd.newvoicemedia.v2+json', 'application/vnd.newvoicemedia.v3+json'";

describe("Accept header version", () => {
  it("missing → 400 with the documented message", async () => {
    const res = await api(`/interactions/${SEED.inboundCall}`, { accept: null });
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({ message: INVALID_VERSION });
  });

  it("unsupported version or a generic type → 400 Invalid api-version!, and nothing is deleted", async () => {
    for (const accept of ["application/vnd.newvoicemedia.v1+json", "application/vnd.newvoicemedia.v4+json", "application/json", "*/*"]) {
      const res = await api(content(SEED.inboundCall, "callRecording"), { method: "DELETE", accept });
      expect(res.status, accept).toBe(400);
      expect(res.json().message).toMatch(/^Invalid api-version!/);
    }
    expect(keysOf(SEED.inboundCall)).toContain("callRecording");
  });

  it("v2 and v3 are both accepted, also among other types and in another case", async () => {
    for (const accept of [V3, "application/vnd.newvoicemedia.v2+json", `application/json, ${V3};q=0.9`, V3.toUpperCase()]) {
      expect((await api(`/interactions/${SEED.inboundCall}`, { accept })).status, accept).toBe(200);
    }
  });

  it("is checked before the bearer token", async () => {
    const res = await api(`/interactions/${SEED.inboundCall}`, { accept: null, token: null });
    expect(res.status).toBe(400);
  });
});

describe("bearer token and scopes", () => {
  it("missing or unknown token → 401 with an empty body and a Bearer challenge", async () => {
    const missing = await api(`/interactions/${SEED.inboundCall}`, { token: null });
    expect(missing.status).toBe(401);
    expect(missing.text).toBe("");
    expect(missing.headers["www-authenticate"]).toMatch(/^Bearer/);
    const unknown = await api(`/interactions/${SEED.inboundCall}`, { token: "not-a-token" });
    expect(unknown.status).toBe(401);
    expect(unknown.headers["www-authenticate"]).toMatch(/error="invalid_token"/);
    const notBearer = await api(`/interactions/${SEED.inboundCall}`, {
      token: null,
      headers: { authorization: "Basic c2FuZGJveC10b2tlbjo=" },
    });
    expect(notBearer.status).toBe(401);
  });

  it("401 comes before the GUID rules and before 404 (an unauthenticated caller learns nothing)", async () => {
    expect((await api("/interactions/not-a-guid", { token: null })).status).toBe(401);
    expect((await api(content(SEED.empty, "callRecording"), { method: "DELETE", token: "nope" })).status).toBe(401);
  });

  it("403 when the token lacks the read scope for GETs, or the delete scope for deletions", async () => {
    const cases: [string, string, Parameters<typeof send>[2]][] = [
      ["GET", "/interactions", { token: "delete-only" }],
      ["GET", `/interactions/${SEED.inboundCall}`, { token: "delete-only" }],
      ["GET", content(SEED.inboundCall, "transcript"), { token: "delete-only" }],
      ["DELETE", content(SEED.inboundCall, "transcript"), { token: "read-only" }],
      ["DELETE", `/interactions/${SEED.inboundCall}`, { token: "read-only" }],
      ["POST", "/interactions/delete-batch", { token: "read-only", body: JSON.stringify({ guids: [SEED.inboundCall] }) }],
    ];
    for (const [method, path, options] of cases) {
      const res = await api(path, { ...options, method });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.headers["www-authenticate"]).toMatch(/insufficient_scope/);
    }
    expect(keysOf(SEED.inboundCall)).toContain("transcript");
  });

  it("the read scope is enough for GETs and the delete scope for deletions", async () => {
    expect((await api(`/interactions/${SEED.inboundCall}`, { token: "read-only" })).status).toBe(200);
    expect((await api(content(SEED.inboundCall, "transcript"), { method: "DELETE", token: "delete-only" })).status).toBe(204);
  });
});

describe("GUID and content key rules", () => {
  it("a GUID that is not 36 characters → 400 'GUID must be 36 characters in length'", async () => {
    for (const guid of ["111414121313", `${SEED.inboundCall}0`, "5f1c9a2e"]) {
      for (const [method, path] of [
        ["GET", `/interactions/${guid}`],
        ["DELETE", `/interactions/${guid}`],
        ["DELETE", content(guid, "callRecording")],
        ["GET", content(guid, "callRecording")],
      ] as const) {
        const res = await api(path, { method });
        expect(res.status, `${method} ${path}`).toBe(400);
        expect(res.json()).toEqual({ message: "GUID must be 36 characters in length" });
      }
    }
  });

  it("36 characters but not a UUID → 400 \"GUID '…' is not a valid UUID string\"", async () => {
    for (const guid of [
      "5f1c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f1g",
      "5f1c9a2e7b3d4e8a9c1f2a6b8d0e4f11abcd",
      "5f1c9a2e-7b3d-4e8a-9c1f2-a6b8d0e4f11",
    ]) {
      const res = await api(content(guid, "callRecording"), { method: "DELETE" });
      expect(res.status).toBe(400);
      expect(res.json()).toEqual({ message: `GUID '${guid}' is not a valid UUID string` });
    }
  });

  it("content keys: more than 36 characters or characters outside the set → 400", async () => {
    const long = await api(content(SEED.inboundCall, "a".repeat(37)), { method: "DELETE" });
    expect(long.status).toBe(400);
    expect(long.json().message).toMatch(/between 1 and 36 characters/);
    for (const key of ["call%20recording", "a~b", "a%2Fb", "caf%C3%A9", "a%3Bb"]) {
      const res = await api(content(SEED.inboundCall, key), { method: "DELETE" });
      expect(res.status, key).toBe(400);
      expect(res.json().message).toMatch(/contains invalid characters/);
    }
    expect(keysOf(SEED.inboundCall)).toHaveLength(4);
  });

  it("every allowed character passes the key rules (unknown key → 404, not 400)", async () => {
    const res = await api(content(SEED.inboundCall, "aZ09!-_.,*'()"), { method: "DELETE" });
    expect(res.status).toBe(404);
    expect((await api(content(SEED.inboundCall, "a".repeat(36)), { method: "DELETE" })).status).toBe(404);
  });

  it("GUID rules come before the key rules, and both before the existence check", async () => {
    const res = await api(content("bad", "a~b"), { method: "DELETE" });
    expect(res.json().message).toBe("GUID must be 36 characters in length");
    const unknownGuid = "11111111-2222-3333-4444-555555555555";
    expect((await api(content(unknownGuid, "a~b"), { method: "DELETE" })).status).toBe(400);
  });

  it("dot segments are resolved as proxies do: content key '..' lands on DELETE /interactions/{guid}", async () => {
    const res = await api(content(SEED.screenRecording, ".."), { method: "DELETE" });
    // That endpoint's documented answer: 200 with {}, not a content deletion's 204.
    expect(res.status).toBe(200);
    expect(res.text).toBe("{}");
    expect(keysOf(SEED.screenRecording)).toEqual([]);
    expect(sim.journal.at(-1)).toMatchObject({
      path: `/interaction-content${content(SEED.screenRecording, "..")}`,
      route: "delete-interaction",
    });
    // %2e is a dot too.
    await api(content(SEED.inboundCall, "%2e%2E"), { method: "DELETE" });
    expect(sim.journal.at(-1)?.route).toBe("delete-interaction");
    expect(keysOf(SEED.inboundCall)).toEqual([]);
    // A single "." leaves /content/: no such route.
    const single = await api(content(SEED.voicemails, "."), { method: "DELETE" });
    expect(single.status).toBe(404);
    expect(keysOf(SEED.voicemails)).toHaveLength(2);
  });
});

describe("deleting content", () => {
  it("204 with an empty body, and the content is really gone: GET 404, second DELETE 404, not listed", async () => {
    const res = await api(content(SEED.inboundCall, "callRecording"), { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(res.text).toBe("");
    expect(res.headers["content-length"]).toBeUndefined();
    expect(keysOf(SEED.inboundCall)).toEqual(["transcript", "categorizationResult", "sentimentSummary"]);

    expect((await api(content(SEED.inboundCall, "callRecording"))).status).toBe(404);
    const again = await api(content(SEED.inboundCall, "callRecording"), { method: "DELETE" });
    expect(again.status).toBe(404);
    expect(again.json().message).toMatch(/not found/);
    const listed = (await api(`/interactions/${SEED.inboundCall}`)).json();
    expect(listed.content.map((c: { contentKey: string }) => c.contentKey)).not.toContain("callRecording");
  });

  it("named keys match case-insensitively (the docs' own example writes callrecording)", async () => {
    expect(sim.holds(SEED.inboundCall.toUpperCase(), "CALLRECORDING")).toBe(true);
    expect((await api(content(SEED.inboundCall, "callrecording"), { method: "DELETE" })).status).toBe(204);
    expect(sim.holds(SEED.inboundCall, "callRecording")).toBe(false);
    expect(sim.holds(SEED.inboundCall, "transcript")).toBe(true);
    expect((await api(content(SEED.inboundCall, "TRANSCRIPT"), { method: "DELETE" })).status).toBe(204);
    expect(keysOf(SEED.inboundCall)).toEqual(["categorizationResult", "sentimentSummary"]);
    expect((await api(content(SEED.inboundCall, "CallRecording"), { method: "DELETE" })).status).toBe(404);
  });

  it("item keys: GUID-keyed voicemail and the legacy voicemail-123 delete only themselves", async () => {
    expect((await api(content(SEED.voicemails, SEED_ITEM_KEYS.legacyVoicemail), { method: "DELETE" })).status).toBe(204);
    expect(keysOf(SEED.voicemails)).toEqual([SEED_ITEM_KEYS.voicemail]);
    expect((await api(content(SEED.voicemails, SEED_ITEM_KEYS.voicemail.toUpperCase()), { method: "DELETE" })).status).toBe(204);
    // Its last content gone, the interaction itself is no longer found.
    const res = await api(`/interactions/${SEED.voicemails}`);
    expect(res.status).toBe(404);
    expect(res.json().message).toMatch(/not found/);
  });

  it("404 for an unknown interaction, for content the interaction does not have, and for the interaction with no content left", async () => {
    const unknown = "11111111-2222-3333-4444-555555555555";
    for (const path of [
      content(unknown, "callRecording"),
      content(SEED.chat, "callRecording"),
      content(SEED.inboundCall, SEED_ITEM_KEYS.voicemail),
      content(SEED.empty, "callRecording"),
    ]) {
      const res = await api(path, { method: "DELETE" });
      expect(res.status, path).toBe(404);
      expect(res.json().message).toMatch(/not found/);
    }
    expect((await api(`/interactions/${SEED.empty}`)).status).toBe(404);
    expect((await api(`/interactions/${unknown}`)).status).toBe(404);
  });

  it("unknown routes under the API → 404 once authenticated", async () => {
    for (const [method, path] of [
      ["GET", "/nothing-here"],
      ["PUT", `/interactions/${SEED.inboundCall}`],
      ["GET", `/interactions/${SEED.inboundCall}/content`],
      ["POST", content(SEED.inboundCall, "callRecording")],
    ] as const) {
      expect((await api(path, { method })).status, `${method} ${path}`).toBe(404);
    }
    expect(keysOf(SEED.inboundCall)).toHaveLength(4);
  });

  it("a deletion arriving while another is still being answered → 429 (send deletions one at a time)", async () => {
    sim.injectFaults("delete-content", { latencyMs: 60_000 });
    const first = new AbortController();
    const pending = api(content(SEED.inboundCall, "callRecording"), { method: "DELETE", signal: first.signal }).catch(() => undefined);
    await waitFor(() => sim.requests("DELETE").length === 1);
    const second = await api(content(SEED.inboundCall, "transcript"), { method: "DELETE" });
    expect(second.status).toBe(429);
    expect(second.headers["retry-after"]).toBe("1");
    expect(keysOf(SEED.inboundCall)).toContain("transcript");
    // Reads are not held up.
    expect((await api(`/interactions/${SEED.inboundCall}`)).status).toBe(200);
    first.abort();
    await pending;
  });

  it("reset() abandons a request still waiting: it does not act on the fresh data", async () => {
    sim.injectFaults("delete-content", { latencyMs: 60_000 });
    const pending = api(content(SEED.inboundCall, "callRecording"), { method: "DELETE" }).then(
      (res) => res.status,
      () => "connection closed",
    );
    await waitFor(() => sim.requests("DELETE").length === 1);
    sim.reset();
    expect(await pending).toBe("connection closed");
    expect(keysOf(SEED.inboundCall)).toContain("callRecording");
    // And a new deletion is not held up by it.
    expect((await api(content(SEED.inboundCall, "callRecording"), { method: "DELETE" })).status).toBe(204);
  });

  it("a held request acts and answers only once released; reset() abandons one still held", async () => {
    sim.injectFaults("delete-content", { hold: true });
    let answered: number | undefined;
    const pending = api(content(SEED.inboundCall, "callRecording"), { method: "DELETE" }).then((res) => {
      answered = res.status;
    });
    await waitFor(() => sim.requests("DELETE").length === 1);
    // A whole request after it is answered meanwhile; it is not.
    expect((await api(`/interactions/${SEED.inboundCall}`)).status).toBe(200);
    expect(answered).toBeUndefined();
    expect(keysOf(SEED.inboundCall)).toContain("callRecording");
    sim.release();
    await pending;
    expect(answered).toBe(204);
    expect(keysOf(SEED.inboundCall)).not.toContain("callRecording");

    sim.injectFaults("delete-content", { hold: true });
    const abandoned = api(content(SEED.inboundCall, "transcript"), { method: "DELETE" }).then(
      (res) => res.status,
      () => "connection closed",
    );
    await waitFor(() => sim.requests("DELETE").length === 2);
    sim.reset();
    expect(await abandoned).toBe("connection closed");
    expect(keysOf(SEED.inboundCall)).toContain("transcript");
  });
});

describe("DELETE /interactions/{guid}", () => {
  it("deletes every content item; afterwards the interaction is 404 and its content too", async () => {
    const deleted = await api(`/interactions/${SEED.chat}`, { method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(deleted.json()).toEqual({});
    expect(keysOf(SEED.chat)).toEqual([]);
    expect((await api(`/interactions/${SEED.chat}`)).status).toBe(404);
    expect((await api(content(SEED.chat, "chatTranscript"))).status).toBe(404);
    expect((await api(`/interactions/${SEED.chat}`, { method: "DELETE" })).status).toBe(404);
    expect(keysOf(SEED.inboundCall)).toHaveLength(4);
  });
});

describe("POST /interactions/delete-batch", () => {
  const batch = (body: string) =>
    api("/interactions/delete-batch", { method: "POST", body, headers: { "content-type": "application/json" } });

  it("deletes the listed interactions; unknown GUIDs are not an error; malformed ones are failures", async () => {
    const unknown = "11111111-2222-3333-4444-555555555555";
    const res = await batch(JSON.stringify({ guids: [SEED.chat, unknown, "111414121313", SEED.ivr.toUpperCase(), 7] }));
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({
      failures: [
        { guid: "111414121313", message: "GUID must be 36 characters in length", statusCode: 400 },
        { guid: 7, message: "GUID must be a string", statusCode: 400 },
      ],
    });
    expect(keysOf(SEED.chat)).toEqual([]);
    expect(keysOf(SEED.ivr)).toEqual([]);
    expect(keysOf(SEED.inboundCall)).toHaveLength(4);
    expect(sim.journal.at(-1)?.body).toContain(unknown);
  });

  it("up to 1000 GUIDs are accepted; 1001 are rejected and nothing is deleted", async () => {
    const filler = (n: number) => Array.from({ length: n }, (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`);
    expect((await batch(JSON.stringify({ guids: [...filler(999), SEED.chat] }))).status).toBe(200);
    expect(keysOf(SEED.chat)).toEqual([]);
    const tooMany = await batch(JSON.stringify({ guids: [...filler(1000), SEED.ivr] }));
    expect(tooMany.status).toBe(400);
    expect(tooMany.json().message).toMatch(/1000/);
    expect(keysOf(SEED.ivr)).toHaveLength(2);
  });

  it("a body that is not {guids:[…]} → 400", async () => {
    for (const body of ["", "null", "[]", "{}", '{"guids":"x"}', "not json"]) {
      const res = await batch(body);
      expect(res.status, body).toBe(400);
      expect(res.json().message).toMatch(/guids/);
    }
  });
});

/** The seed's own week (the search sample data ends before it). */
const SEED_WEEK = "start=2026-11-21T00:00:00Z&end=2026-11-28T00:00:00Z";

describe("GET /interactions: pagination", () => {
  it("pages through every interaction that still has content, in start order, then null", async () => {
    const seen: string[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const query: string = token ? `&continuationToken=${encodeURIComponent(token)}` : "";
      const page = (await api(`/interactions?${SEED_WEEK}${query}`)).json();
      pages++;
      // v3 pages carry only the continuation token (v2's page counts are gone).
      expect(Object.keys(page.meta)).toEqual(["nextContinuationToken"]);
      seen.push(...page.items.map((i: { guid: string }) => i.guid));
      token = page.meta.nextContinuationToken;
    } while (token && pages < 10);
    expect(pages).toBe(2);
    expect(seen).toEqual([SEED.inboundCall, SEED.voicemails, SEED.screenRecording, SEED.chat, SEED.ivr]);
    expect(seen).not.toContain(SEED.empty);
  });

  it("a deletion between pages neither skips nor repeats an interaction", async () => {
    const first = (await api(`/interactions?${SEED_WEEK}&limit=2`)).json();
    expect(first.items.map((i: { guid: string }) => i.guid)).toEqual([SEED.inboundCall, SEED.voicemails]);
    await api(`/interactions/${SEED.inboundCall}`, { method: "DELETE" });
    const second = (await api(`/interactions?${SEED_WEEK}&limit=2&continuationToken=${first.meta.nextContinuationToken}`)).json();
    expect(second.items.map((i: { guid: string }) => i.guid)).toEqual([SEED.screenRecording, SEED.chat]);
  });

  it("items carry the documented fields", async () => {
    const item = (await api(`/interactions?${SEED_WEEK}`)).json().items[1];
    expect(item).toMatchObject({
      guid: SEED.voicemails,
      start: expect.any(String),
      connectFrom: expect.any(String),
      connectTo: expect.any(String),
    });
    expect(item.direction).toBe("inbound");
    expect(item.handlingAgents).toEqual([{ id: "123" }, { id: "2077" }]);
    expect(item.content[1]).toEqual({
      contentKey: "voicemail-123",
      type: "voicemail",
      contentType: "audio/wav",
      contentLength: 198_220,
      lastModified: "2026-11-24T17:44:52.000Z",
      owningAgent: { id: "123" },
    });
  });

  it("an invalid continuation token → 400", async () => {
    expect((await api(`/interactions?${SEED_WEEK}&continuationToken=garbage`)).status).toBe(400);
  });
});

describe("GET content", () => {
  it("serves exactly contentLength bytes of the right type: WAV with a RIFF header, JSON that parses", async () => {
    const wav = await api(content(SEED.voicemails, SEED_ITEM_KEYS.legacyVoicemail));
    expect(wav.status).toBe(200);
    expect(wav.headers["content-type"]).toBe("audio/wav");
    expect(wav.bytes.length).toBe(198_220);
    expect(wav.bytes.subarray(0, 4).toString("ascii")).toBe("RIFF");
    expect(wav.bytes.subarray(8, 12).toString("ascii")).toBe("WAVE");
    const json = await api(content(SEED.inboundCall, "Transcript"));
    expect(json.headers["content-type"]).toBe("application/json");
    expect(json.bytes.length).toBe(18_233);
    expect(JSON.parse(json.text)).toMatchObject({ simulated: true, contentKey: "transcript" });
    expect(json.headers["accept-ranges"]).toBe("bytes");
  });

  it("Range: a byte range → 206 with Content-Range; suffix ranges; open ranges", async () => {
    const full = (await api(content(SEED.chat, SEED_ITEM_KEYS.chatAttachment))).bytes;
    const total = full.length;
    const first = await api(content(SEED.chat, SEED_ITEM_KEYS.chatAttachment), { headers: { range: "bytes=0-99" } });
    expect(first.status).toBe(206);
    expect(first.headers["content-range"]).toBe(`bytes 0-99/${total}`);
    expect(first.bytes.equals(full.subarray(0, 100))).toBe(true);
    const suffix = await api(content(SEED.chat, SEED_ITEM_KEYS.chatAttachment), { headers: { range: "bytes=-10" } });
    expect(suffix.status).toBe(206);
    expect(suffix.headers["content-range"]).toBe(`bytes ${total - 10}-${total - 1}/${total}`);
    expect(suffix.bytes.equals(full.subarray(total - 10))).toBe(true);
    const open = await api(content(SEED.chat, SEED_ITEM_KEYS.chatAttachment), { headers: { range: `bytes=${total - 5}-` } });
    expect(open.bytes.length).toBe(5);
    const clamped = await api(content(SEED.chat, SEED_ITEM_KEYS.chatAttachment), {
      headers: { range: `bytes=${total - 2}-${total + 100}` },
    });
    expect(clamped.headers["content-range"]).toBe(`bytes ${total - 2}-${total - 1}/${total}`);
  });

  it("an unsatisfiable range → 416 with Content-Range: bytes */length; a malformed one is ignored", async () => {
    for (const range of ["bytes=999999-", "bytes=-0", "bytes=10-5"]) {
      const res = await api(content(SEED.inboundCall, "sentimentSummary"), { headers: { range } });
      expect(res.status, range).toBe(416);
      expect(res.headers["content-range"]).toBe("bytes */1377");
    }
    const ignored = await api(content(SEED.inboundCall, "sentimentSummary"), { headers: { range: "items=0-5" } });
    expect(ignored.status).toBe(200);
    expect(ignored.bytes.length).toBe(1377);
  });
});
