// Authentication end to end: the server with client credentials (or a static token) against the
// simulator's token endpoint and API. Asserts what the user sees, what reached the token endpoint and
// the API, and that no secret appears in any result or on stderr. In this process (the same
// createServer and API client, debug logging captured), except where what the process says at start
// is asserted: those run the built server over stdio.
import { afterEach, describe, expect, it } from "vitest";
import { SEED, SEED_ITEM_KEYS } from "../../src/simulator/seed.js";
import { DEFAULT_CLIENTS } from "../../src/simulator/server.js";
import {
  type Connected,
  countingApprover,
  type ElicitHandler,
  SECRET_TOKEN,
  SECRET_TOKEN_SCOPES,
  structured,
  textOf,
} from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const TOOL = "delete_interaction_content";
const CLIENT_ID = "e2e-client";
const CLIENT_SECRET = "e2e-client-secret-5b9f0c7a";
const WRONG_SECRET = "e2e-wrong-secret-81d2e4";
/** A pasted token the API no longer accepts (unknown to the simulator: 401). */
const STALE_TOKEN = "e2e-stale-pasted-token-3a6c";

/**
 * The clock of the simulator (its tokens' expiry) and of the in-process servers' token renewal: a
 * test moves it on (never back) instead of waiting for a token to age.
 */
let clockAheadMs = 0;
const now = () => Date.now() + clockAheadMs;

/** Pasted tokens as VCC issues them: each for one scope. */
const READ_TOKEN = "e2e-pasted-read-token-6d2a";
const DELETE_TOKEN = "e2e-pasted-delete-token-9c4e";

const h = useSimulator({
  clients: { ...DEFAULT_CLIENTS, [CLIENT_ID]: { secret: CLIENT_SECRET, scopes: SECRET_TOKEN_SCOPES } },
  staticTokens: { [READ_TOKEN]: ["interaction-content:read"], [DELETE_TOKEN]: ["interaction-content:delete"] },
  now,
});
const open: { c: Connected; secrets: string[] }[] = [];

// Before the fixture closes the servers (after-hooks run last-registered first).
afterEach(async () => {
  const sim = h.sim;
  const issued = sim.issuedTokens();
  for (const { c, secrets } of open.splice(0)) {
    // Neither the client secret nor any access token may reach a result or a log line.
    for (const secret of [...secrets, ...issued]) {
      for (const r of c.results) expect(JSON.stringify(r)).not.toContain(secret);
      expect(c.stderr()).not.toContain(secret);
    }
    await c.close();
  }
});

const approve = () => ({ action: "accept" as const, content: { confirm: true } });

/** `spawn`: the built server over stdio (where what it says at start matters). */
async function server(options: { env?: Record<string, string>; elicit?: ElicitHandler; spawn?: true } = {}) {
  const env: Record<string, string> = {
    // The fixture's static token would win over the client credentials.
    VCC_ACCESS_TOKEN: "",
    VCC_CLIENT_ID: CLIENT_ID,
    VCC_CLIENT_SECRET: CLIENT_SECRET,
    VCC_API_BASE_URL: h.sim.apiBaseUrl,
    VCC_AUTH_URL: h.sim.authUrl,
    VCC_LOG_LEVEL: "debug",
    ...options.env,
  };
  const c = options.spawn
    ? await h.connect({ env, elicit: options.elicit })
    : await h.inProcess({ env, elicit: options.elicit, timing: { now } });
  open.push({ c, secrets: [env.VCC_CLIENT_SECRET, env.VCC_ACCESS_TOKEN].filter((s): s is string => Boolean(s)) });
  return c;
}

const tokenRequests = () => h.sim.requests("POST", "token");
/** The scope each token request named (the form's `scope`, exactly as sent). */
const requestedScopes = () => tokenRequests().map((t) => new URLSearchParams(t.body ?? "").getAll("scope"));
const apiRequests = () => h.sim.journal.filter((e) => e.route !== "token");
const deletes = () => h.sim.requests("DELETE");
const hasContent = (guid: string, key: string) => h.sim.holds(guid, key);

const ITEMS: [string, string][] = [
  [SEED.inboundCall, "callRecording"],
  [SEED.inboundCall, "transcript"],
  [SEED.inboundCall, "categorizationResult"],
  [SEED.voicemails, SEED_ITEM_KEYS.voicemail],
  [SEED.chat, "chatTranscript"],
];

describe("client credentials", () => {
  it("one token per scope serves many calls: each requested alone, as the documented form", async () => {
    const c = await server({ elicit: approve, spawn: true });
    for (const [guid, contentKey] of ITEMS) {
      const result = await c.call(TOOL, { guid, contentKey });
      expect(structured(result), contentKey).toMatchObject({ status: "deleted", httpStatus: 204 });
    }
    // The delete token first (checked before anyone is asked), then the read token for the preview.
    expect(requestedScopes()).toEqual([["interaction-content:delete"], ["interaction-content:read"]]);
    for (const t of tokenRequests()) {
      expect(t.headers["content-type"]).toBe("application/x-www-form-urlencoded");
      expect(t.status).toBe(200);
    }
    expect(deletes().map((d) => [d.status, d.auth])).toEqual(ITEMS.map(() => [204, "valid"]));
    expect(c.stderr()).toMatch(/auth: client credentials/);
  });

  it("parallel first calls share one token request per scope", async () => {
    const c = await server({ elicit: approve });
    const results = await Promise.all(ITEMS.map(([guid, contentKey]) => c.call(TOOL, { guid, contentKey })));
    for (const r of results) expect(structured(r).status).toBe("deleted");
    expect(requestedScopes().sort()).toEqual([["interaction-content:delete"], ["interaction-content:read"]]);
    expect(deletes()).toHaveLength(ITEMS.length);
  });

  it("renews the token before it expires", async () => {
    // Renewed 10 % of the lifetime before expiry: 1.8 s after issue (the first call must finish within it).
    h.sim.setTokenExpiresIn(2);
    const c = await server({ elicit: approve });
    expect(structured(await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" })).status).toBe("deleted");
    expect(tokenRequests()).toHaveLength(2);
    // 1.9 s later for the server and the simulator alike: due for renewal, not yet expired.
    clockAheadMs += 1900;
    expect(structured(await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript" })).status).toBe("deleted");
    // Each scope's token renewed on its own.
    expect(requestedScopes()).toEqual([
      ["interaction-content:delete"],
      ["interaction-content:read"],
      ["interaction-content:delete"],
      ["interaction-content:read"],
    ]);
    // Renewed ahead of time: the API never saw the expired token (a lookup and a DELETE per call).
    expect(apiRequests().map((e) => e.auth)).toEqual(["valid", "valid", "valid", "valid"]);
  });

  it("a 401 from the API renews the token and retries the request once", async () => {
    const c = await server({ env: { VCC_CONFIRMATION: "token" } });
    const first = structured(await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" })).confirmationToken;
    expect(structured(await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording", confirmationToken: first })).status).toBe(
      "deleted",
    );
    const token = structured(await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript" })).confirmationToken;
    h.sim.expireTokens(); // the API now refuses the cached token
    // The call with a token goes straight to the DELETE (no lookup), so the 401 is the DELETE's.
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(result)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(deletes().map((d) => d.status)).toEqual([204, 401, 204]);
    // Only the delete token was renewed.
    expect(requestedScopes()).toEqual([["interaction-content:delete"], ["interaction-content:read"], ["interaction-content:delete"]]);
    expect(hasContent(SEED.inboundCall, "transcript")).toBe(false);
  });

  it("a second 401 gives unauthorized, is not retried again, and spends the confirmation token", async () => {
    const c = await server({ env: { VCC_CONFIRMATION: "token" } });
    const token = structured(await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript" })).confirmationToken;
    h.sim.injectFaults("delete-content", { status: 401 }, { status: 401 });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(result.isError).toBe(true);
    expect(structured(result).error.code).toBe("unauthorized");
    expect(structured(result).error.message).toMatch(/even after the server obtained a fresh one/);
    expect(deletes()).toHaveLength(2);
    expect(tokenRequests()).toHaveLength(3);
    const again = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(again).error.code).toBe("confirmation_invalid");
    expect(deletes()).toHaveLength(2);
    expect(hasContent(SEED.inboundCall, "transcript")).toBe(true);
  });

  it("bad credentials: auth_failed naming invalid_client, before anyone is asked, and nothing reaches the API", async () => {
    const approver = countingApprover();
    const c = await server({ env: { VCC_CLIENT_SECRET: WRONG_SECRET }, elicit: approver.handler });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(result.isError).toBe(true);
    expect(structured(result)).toMatchObject({ status: "error", error: { code: "auth_failed" } });
    expect(structured(result).httpStatus).toBeUndefined();
    expect(structured(result).error.message).toMatch(/invalid_client/);
    expect(structured(result).error.message).toMatch(/VCC_CLIENT_ID and VCC_CLIENT_SECRET/);
    expect(textOf(result)).toMatch(/auth_failed/);
    expect(approver.asked).toBe(0);
    expect(tokenRequests().map((t) => t.status)).toEqual([401]);
    expect(apiRequests()).toHaveLength(0);
    expect(hasContent(SEED.inboundCall, "callRecording")).toBe(true);
  });

  it("credentials without the delete scope: auth_failed naming invalid_scope and the scope, before anyone is asked", async () => {
    const approver = countingApprover();
    const readOnly = await server({
      env: { VCC_CLIENT_ID: "readonly-client", VCC_CLIENT_SECRET: "readonly-secret" },
      elicit: approver.handler,
    });
    const refused = await readOnly.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(refused).error.code).toBe("auth_failed");
    expect(structured(refused).error.message).toMatch(/invalid_scope/);
    expect(structured(refused).error.message).toMatch(/scope interaction-content:delete/);
    expect(approver.asked).toBe(0);
    expect(requestedScopes()).toEqual([["interaction-content:delete"]]);
    expect(apiRequests()).toHaveLength(0);
    // Listing needs only the read token, which these credentials get.
    const listed = await readOnly.call("list_interaction_content", { guid: SEED.inboundCall });
    expect(structured(listed).content).toEqual(expect.any(Array));
    expect(requestedScopes().at(-1)).toEqual(["interaction-content:read"]);
  });

  it("credentials without the read scope: deletes without a preview; VCC_SCOPES=delete stops asking for a read token", async () => {
    const deleteOnly = await server({
      env: { VCC_CLIENT_ID: "delete-only-client", VCC_CLIENT_SECRET: "delete-only-secret" },
      elicit: approve,
    });
    const result = await deleteOnly.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(result).status).toBe("deleted");
    expect(structured(result).preview).toBeUndefined();
    expect(requestedScopes()).toEqual([["interaction-content:delete"], ["interaction-content:read"]]);
    expect(tokenRequests().map((t) => t.status)).toEqual([200, 400]);

    h.sim.reset();
    const configured = await server({
      env: { VCC_CLIENT_ID: "delete-only-client", VCC_CLIENT_SECRET: "delete-only-secret", VCC_SCOPES: "interaction-content:delete" },
      elicit: approve,
    });
    expect(structured(await configured.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" })).status).toBe("deleted");
    expect(requestedScopes()).toEqual([["interaction-content:delete"]]);
    expect(h.sim.requests("GET")).toHaveLength(0);
    const listed = await configured.call("list_interaction_content", { guid: SEED.inboundCall });
    expect(structured(listed).error).toMatchObject({
      code: "forbidden",
      message: expect.stringMatching(/VCC_SCOPES.*interaction-content:read|interaction-content:read.*VCC_SCOPES/),
    });
    expect(tokenRequests()).toHaveLength(1);
  });

  it("a pasted token holds one scope: with VCC_SCOPES naming it, the other scope's tools refuse without sending; without, a 403 says why", async () => {
    const pasted = (token: string, extra: Record<string, string> = {}, elicit: ElicitHandler = approve) =>
      server({ env: { VCC_ACCESS_TOKEN: token, VCC_CLIENT_ID: "", VCC_CLIENT_SECRET: "", ...extra }, elicit });
    const deleting = await pasted(DELETE_TOKEN, { VCC_SCOPES: "interaction-content:delete" });
    const deleted = await deleting.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(deleted)).toMatchObject({ status: "deleted" });
    expect(structured(deleted).preview).toBeUndefined();
    expect(structured(await deleting.call("list_interaction_content", { guid: SEED.inboundCall })).error).toMatchObject({
      code: "forbidden",
      message: expect.stringMatching(/VCC_SCOPES/),
    });
    expect(h.sim.requests("GET")).toHaveLength(0);

    h.sim.reset();
    const approver = countingApprover();
    const reading = await pasted(READ_TOKEN, { VCC_SCOPES: "interaction-content:read" }, approver.handler);
    expect(structured(await reading.call("list_interaction_content", { guid: SEED.inboundCall })).content).toEqual(expect.any(Array));
    const refused = await reading.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(refused).error).toMatchObject({ code: "forbidden" });
    expect(approver.asked).toBe(0);
    expect(deletes()).toHaveLength(0);

    // Without VCC_SCOPES the token is used for both: the API's 403 names the pasted token's one scope.
    h.sim.reset();
    const unsaid = await pasted(READ_TOKEN);
    const forbidden = await unsaid.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(forbidden).error).toMatchObject({
      code: "forbidden",
      httpStatus: 403,
      message: expect.stringMatching(/pasted VCC_ACCESS_TOKEN does not hold the scope interaction-content:delete.*VCC_SCOPES/),
    });
    expect(hasContent(SEED.inboundCall, "callRecording")).toBe(true);
  });

  it("a definite 401 on the lookup (after one renewal) ends the call with unauthorized before anyone is asked", async () => {
    const approver = countingApprover();
    const c = await server({ elicit: approver.handler });
    h.sim.injectFaults("get-interaction", { status: 401 }, { status: 401 });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(result.isError).toBe(true);
    expect(structured(result)).toMatchObject({ status: "error", error: { code: "unauthorized" } });
    expect(approver.asked).toBe(0);
    expect(h.sim.requests("GET").map((r) => r.status)).toEqual([401, 401]);
    expect(deletes()).toHaveLength(0);
    expect(hasContent(SEED.inboundCall, "callRecording")).toBe(true);

    // The bulk tool too: nobody is asked, nothing is deleted.
    h.sim.injectFaults("get-interaction", { status: 401 }, { status: 401 });
    const bulk = await c.call("bulk_delete_interaction_content", {
      items: [
        { guid: SEED.inboundCall, contentKey: "transcript" },
        { guid: SEED.chat, contentKey: "chatTranscript" },
      ],
    });
    expect(structured(bulk)).toMatchObject({ status: "error", error: { code: "unauthorized" } });
    expect(approver.asked).toBe(0);
    expect(deletes()).toHaveLength(0);
  });

  it("a token endpoint failure at the moment of deletion deletes nothing and leaves the confirmation token usable", async () => {
    const c = await server({ env: { VCC_CONFIRMATION: "token" } });
    const token = structured(await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript" })).confirmationToken;
    expect(token).toBeTruthy();
    h.sim.expireTokens();
    h.sim.injectFaults("token", { status: 401, body: '{"error":"invalid_client"}' });
    const failed = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(failed)).toMatchObject({ status: "error", error: { code: "auth_failed" } });
    expect(structured(failed).error.message).toMatch(/invalid_client/);
    expect(structured(failed).error.message).toMatch(/Nothing was deleted/);
    expect(hasContent(SEED.inboundCall, "transcript")).toBe(true);

    const retried = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(retried)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(deletes().map((d) => d.status)).toEqual([401, 204]);
    const replay = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: token });
    expect(structured(replay).error.code).toBe("confirmation_invalid");
  });

  it("an unreachable token endpoint: auth_failed saying what to check, nothing sent", async () => {
    const c = await server({ env: { VCC_AUTH_URL: "http://127.0.0.1:9/Auth/connect/token" }, elicit: approve });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(result).error.code).toBe("auth_failed");
    expect(structured(result).error.message).toMatch(/ECONNREFUSED/);
    expect(structured(result).error.message).toMatch(/VCC_AUTH_URL/);
    expect(h.sim.journal).toHaveLength(0);
  });

  it("a token endpoint that does not answer in time: auth_failed, nothing sent", async () => {
    const c = await server({ env: { VCC_TIMEOUT_MS: "300" }, elicit: approve });
    h.sim.injectFaults("token", { latencyMs: 1500 });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(result).error.code).toBe("auth_failed");
    expect(structured(result).error.message).toMatch(/did not answer within 300 ms/);
    expect(apiRequests()).toHaveLength(0);
  });

  it("only one half of the client credentials: not_configured naming the missing variable", async () => {
    const c = await h.inProcess({
      env: { VCC_ACCESS_TOKEN: "", VCC_CLIENT_ID: CLIENT_ID, VCC_API_BASE_URL: h.sim.apiBaseUrl, VCC_AUTH_URL: h.sim.authUrl },
    });
    open.push({ c, secrets: [] });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(result).error.code).toBe("not_configured");
    expect(structured(result).error.message).toMatch(/VCC_CLIENT_SECRET is not/);
    expect(h.sim.journal).toHaveLength(0);
  });
});

describe("static access token", () => {
  it("a 401 explains the two-hour lifetime and recommends client credentials; no retry, no token request, nobody asked", async () => {
    const approver = countingApprover();
    const c = await server({ env: { VCC_ACCESS_TOKEN: STALE_TOKEN, VCC_CLIENT_ID: "", VCC_CLIENT_SECRET: "" }, elicit: approver.handler });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(result)).toMatchObject({ status: "error", httpStatus: 401, error: { code: "unauthorized" } });
    expect(structured(result).error.message).toMatch(/two hours/);
    expect(structured(result).error.message).toMatch(/VCC_CLIENT_ID and VCC_CLIENT_SECRET/);
    // The lookup's 401 ends the call: nobody is asked to approve what cannot be carried out.
    expect(approver.asked).toBe(0);
    expect(h.sim.requests("GET").map((r) => r.status)).toEqual([401]);
    expect(deletes()).toHaveLength(0);
    expect(tokenRequests()).toHaveLength(0);
  });

  it("wins over client credentials, with one warning on stderr", async () => {
    const c = await server({ env: { VCC_ACCESS_TOKEN: SECRET_TOKEN }, elicit: approve, spawn: true });
    const result = await c.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording" });
    expect(structured(result).status).toBe("deleted");
    expect(tokenRequests()).toHaveLength(0);
    // One static token for everything: the lookup and the deletion.
    expect(apiRequests().map((r) => [r.method, r.auth])).toEqual([
      ["GET", "valid"],
      ["DELETE", "valid"],
    ]);
    const warnings = c.stderr().match(/warn: VCC_ACCESS_TOKEN is set, so VCC_CLIENT_ID \/ VCC_CLIENT_SECRET are ignored/g);
    expect(warnings).toHaveLength(1);
  });
});
