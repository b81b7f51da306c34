// The team server (VCC_HTTP_AUTH=oauth): the built server over HTTP as an OAuth resource server of a
// real OpenID provider (oidc-provider on 127.0.0.1). The SDK client's own OAuth support discovers the
// server's metadata and gets its token from the provider; tokens the server must refuse are refused.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClientCredentialsProvider } from "@modelcontextprotocol/sdk/client/auth-extensions.js";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SEARCH_SAMPLE, SEED } from "../../src/simulator/seed.js";
import { type Simulator, startSimulator } from "../../src/simulator/server.js";
import { connectHttp, type HttpConnected, INITIALIZE, type InProcessHttp, rawRequest } from "../helpers/http.js";
import { SECRET_TOKEN, SECRET_TOKEN_SCOPES, structured } from "../helpers/mcp.js";
import {
  DELETE_SCOPE,
  MACHINE,
  type OpenIdProvider,
  READ_SCOPE,
  READER,
  SHORT_LIVED,
  SHORT_TOKEN_SECONDS,
  startTeamServer,
  type TeamSetup,
} from "../helpers/openid-provider.js";

const OTHER_RESOURCE = "https://other-service.example.test/mcp";
const DESTRUCTIVE = ["delete_interaction_content", "bulk_delete_interaction_content"];

let sim: Simulator;
let op: OpenIdProvider;
let server: InProcessHttp;
let publicUrl: string;
let resource: string;
let dir: string;
let team: TeamSetup | undefined;
const clients: HttpConnected[] = [];
const issuedTokens: string[] = [];

beforeAll(async () => {
  sim = await startSimulator({ staticTokens: { [SECRET_TOKEN]: SECRET_TOKEN_SCOPES } });
  dir = mkdtempSync(join(tmpdir(), "vcc-team-"));
  team = await startTeamServer({
    provider: { otherResources: [OTHER_RESOURCE] },
    env: {
      VCC_ACCESS_TOKEN: SECRET_TOKEN,
      VCC_API_BASE_URL: sim.apiBaseUrl,
      VCC_CONFIRMATION: "token",
      VCC_AUDIT_LOG: join(dir, "audit.jsonl"),
      VCC_LOG_LEVEL: "debug",
    },
  });
  ({ op, server, publicUrl, resource } = team);
});
afterAll(async () => {
  await team?.close();
  await sim?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => sim.reset());
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  // Neither the server's VCC token nor any client's access token is ever logged.
  for (const token of [SECRET_TOKEN, ...issuedTokens]) expect(server.stderr()).not.toContain(token);
});

async function session(authProvider: ClientCredentialsProvider): Promise<HttpConnected> {
  const c = await connectHttp(server, { authProvider });
  clients.push(c);
  const token = authProvider.tokens()?.access_token;
  if (token) issuedTokens.push(token);
  return c;
}

const machine = () => new ClientCredentialsProvider({ ...MACHINE, scope: `${READ_SCOPE} ${DELETE_SCOPE}`, expectedIssuer: op.issuer });
const reader = () => new ClientCredentialsProvider({ ...READER, scope: READ_SCOPE, expectedIssuer: op.issuer });

/** A token straight from the provider's token endpoint (client credentials) for `forResource`. */
async function tokenFor(client: { clientId: string; clientSecret: string }, forResource: string, scope: string): Promise<string> {
  const response = await fetch(`${op.issuer}/token`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ grant_type: "client_credentials", scope, resource: forResource }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
  issuedTokens.push(body.access_token);
  return body.access_token;
}

/** Polls `check` until it holds (at most 10 s). */
async function waitUntilAsync(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

const withToken = (token: string, body: unknown = INITIALIZE, headers: Record<string, string> = {}) =>
  rawRequest(server.url, { body, headers: { authorization: `Bearer ${token}`, ...headers } });

describe("Protected Resource Metadata (RFC 9728)", () => {
  it("names the resource, the issuer and the two scopes, at the path-suffixed and the bare well-known URL", async () => {
    for (const path of ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]) {
      const response = await fetch(`${publicUrl}${path}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        resource,
        authorization_servers: [op.issuer],
        scopes_supported: [READ_SCOPE, DELETE_SCOPE],
        bearer_methods_supported: ["header"],
      });
    }
  });

  it("answers 401 with the metadata URL and the scopes when no token comes", async () => {
    const response = await rawRequest(server.url, { body: INITIALIZE });
    expect(response.status).toBe(401);
    expect(response.headers["www-authenticate"]).toBe(
      `Bearer resource_metadata="${publicUrl}/.well-known/oauth-protected-resource/mcp", scope="${READ_SCOPE} ${DELETE_SCOPE}"`,
    );
  });
});

describe("a client with both scopes (the SDK's client-credentials provider)", () => {
  it("discovers the server's authorization server, gets a token, sees and uses every tool", async () => {
    const c = await session(machine());
    const { tools } = await c.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(["list_interaction_content", ...DESTRUCTIVE]));
    const listed = await c.call("list_interaction_content", { guid: SEED.inboundCall });
    expect(listed.isError).toBeFalsy();
    const asked = structured(await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "callRecording" }));
    expect(asked.status).toBe("confirmation_required");
    // The server calls VCC with its own credentials, never with the client's token.
    // (the simulator accepts only SECRET_TOKEN, so any other token would have been refused).
    expect(sim.requests().length).toBeGreaterThan(0);
    expect(sim.requests().every((r) => r.auth === "valid")).toBe(true);
  });
});

describe("refusals", () => {
  it("a caller without the delete scope does not see the deletion tools, and calling one is 403 insufficient_scope", async () => {
    const provider = reader();
    const c = await session(provider);
    const { tools } = await c.client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["list_interaction_content", "search_interactions"]));
    for (const name of DESTRUCTIVE) expect(names).not.toContain(name);
    const token = provider.tokens()?.access_token ?? "";
    const call = {
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "delete_interaction_content", arguments: { guid: SEED.inboundCall, contentKey: "callRecording" } },
    };
    const response = await withToken(token, call, {
      "mcp-session-id": c.transport.sessionId ?? "",
      "mcp-protocol-version": "2025-06-18",
    });
    expect(response.status).toBe(403);
    expect(response.headers["www-authenticate"]).toMatch(/error="insufficient_scope"/);
    expect(response.headers["www-authenticate"]).toContain(`scope="${READ_SCOPE} ${DELETE_SCOPE}"`);
    expect(response.body).toContain(DELETE_SCOPE);
    expect(sim.requests("DELETE")).toHaveLength(0);
  });

  it("the tools follow the token in hand: the same person's later token with the delete scope shows the deletion tools", async () => {
    const headers = (id: string) => ({ "mcp-session-id": id, "mcp-protocol-version": "2025-06-18" });
    const list = { jsonrpc: "2.0", id: 2, method: "tools/list" };
    const readOnly = await tokenFor(MACHINE, resource, READ_SCOPE);
    const started = await withToken(readOnly);
    expect(started.status).toBe(200);
    const id = String(started.headers["mcp-session-id"]);
    await withToken(readOnly, { jsonrpc: "2.0", method: "notifications/initialized" }, headers(id));
    const names = async (token: string) => {
      const { body } = await withToken(token, list, headers(id));
      const data = /^data: (.*)$/m.exec(body)?.[1] ?? body;
      return (JSON.parse(data) as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name);
    };
    expect(await names(readOnly)).not.toContain(DESTRUCTIVE[0]);
    const both = await tokenFor(MACHINE, resource, `${READ_SCOPE} ${DELETE_SCOPE}`);
    expect(await names(both)).toEqual(expect.arrayContaining(DESTRUCTIVE));
    expect(await names(readOnly)).not.toContain(DESTRUCTIVE[0]);
    const ended = await rawRequest(server.url, { method: "DELETE", headers: { authorization: `Bearer ${both}`, ...headers(id) } });
    expect(ended.status).toBe(200);
  });

  it("a token issued for another resource (audience) is refused", async () => {
    const token = await tokenFor(MACHINE, OTHER_RESOURCE, `${READ_SCOPE} ${DELETE_SCOPE}`);
    const response = await withToken(token);
    expect(response.status).toBe(401);
    expect(response.headers["www-authenticate"]).toMatch(/error="invalid_token"/);
    expect(response.body).toMatch(/not issued for this server/);
    // The same client's token for this server works: only the audience differed.
    expect((await withToken(await tokenFor(MACHINE, resource, READ_SCOPE))).status).toBe(200);
  });

  it("an expired token is refused", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await op.sign({ sub: "alice", aud: resource, scope: READ_SCOPE, iat: now - 600, exp: now - 60 });
    issuedTokens.push(token);
    const response = await withToken(token);
    expect(response.status).toBe(401);
    expect(response.body).toMatch(/expired/);
  });

  it("a token the provider issued expires: accepted while valid, refused after its (injected, short) lifetime", async () => {
    const token = await tokenFor(SHORT_LIVED, resource, READ_SCOPE);
    const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as { iat: number; exp: number };
    expect(claims.exp - claims.iat).toBe(SHORT_TOKEN_SECONDS);
    expect((await withToken(token)).status).toBe(200);
    // Waits for the expiry the token names (one to two seconds), not a guessed delay.
    let refused: Awaited<ReturnType<typeof withToken>> | undefined;
    // (without a session: 400 while the token is valid, so no session is started per poll)
    await waitUntilAsync(async () => {
      refused = await withToken(token, { jsonrpc: "2.0", id: 1, method: "ping" });
      expect([400, 401]).toContain(refused.status);
      return refused.status === 401;
    });
    expect(refused?.status).toBe(401);
    expect(refused?.body).toMatch(/expired/);
  });

  it("the issuer's identifier with a trailing slash in iss is the same issuer; another issuer is refused", async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: "alice", aud: resource, scope: READ_SCOPE, iat: now, exp: now + 600 };
    const slash = await op.sign({ ...claims, iss: `${op.issuer.replace(/\/+$/, "")}/` });
    issuedTokens.push(slash);
    expect((await withToken(slash)).status).toBe(200);
    const other = await op.sign({ ...claims, iss: `${op.issuer.replace(/\/+$/, "")}/other` });
    issuedTokens.push(other);
    const refused = await withToken(other);
    expect(refused.status).toBe(401);
    expect(refused.headers["www-authenticate"]).toMatch(/error="invalid_token"/);
  });

  it("a token signed by anyone but the issuer is refused", async () => {
    const forged = (await op.sign({ sub: "alice", aud: resource, scope: READ_SCOPE, exp: Math.floor(Date.now() / 1000) + 600 })).replace(
      /\.[^.]+$/,
      ".AAAA",
    );
    const response = await withToken(forged);
    expect(response.status).toBe(401);
    expect(response.body).toMatch(/signature|not a valid JWT/);
  });

  it("a token without the read scope is 403 insufficient_scope", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await op.sign({ sub: "alice", aud: resource, scope: "openid", iat: now, exp: now + 600 });
    const response = await withToken(token);
    expect(response.status).toBe(403);
    expect(response.headers["www-authenticate"]).toMatch(/error="insufficient_scope"/);
  });

  it("a session is refused to another identity's token, and still serves its own", async () => {
    const c = await session(machine());
    const sessionId = c.transport.sessionId ?? "";
    const otherToken = await tokenFor(READER, resource, READ_SCOPE);
    const response = await withToken(
      otherToken,
      { jsonrpc: "2.0", id: 3, method: "tools/list" },
      {
        "mcp-session-id": sessionId,
        "mcp-protocol-version": "2025-06-18",
      },
    );
    expect(response.status).toBe(403);
    expect(response.body).toMatch(/another identity/);
    expect((await c.client.listTools()).tools.length).toBeGreaterThan(1);
  });
});
describe("identity in records", () => {
  it("audit records of deletions and of searches name the caller", async () => {
    const c = await session(machine());
    await c.client.listTools();
    await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "callRecording" });
    await c.call("search_interactions", { from: "2026-05-01", to: "2026-07-31", party: [SEARCH_SAMPLE.callerA] });
    const lines = readFileSync(join(dir, "audit.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const requester = { subject: MACHINE.clientId, issuer: op.issuer };
    expect(lines.find((l) => l.event === "confirmation_requested")).toMatchObject({ requester });
    expect(lines.find((l) => l.event === "search")).toMatchObject({ requester });
  });
});

describe("sessions belong to people", () => {
  const setups: TeamSetup[] = [];
  afterEach(async () => {
    for (const s of setups.splice(0)) await s.close();
  });

  async function smallServer(env: Record<string, string>): Promise<TeamSetup> {
    const setup = await startTeamServer({
      env: { VCC_ACCESS_TOKEN: SECRET_TOKEN, VCC_API_BASE_URL: sim.apiBaseUrl, VCC_CONFIRMATION: "token", ...env },
    });
    setups.push(setup);
    return setup;
  }

  /** A token of `client` from `setup`'s provider, for its server. */
  async function tokenAt(setup: TeamSetup, client: { clientId: string; clientSecret: string }): Promise<string> {
    const response = await fetch(`${setup.op.issuer}/token`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ grant_type: "client_credentials", scope: READ_SCOPE, resource: setup.resource }),
    });
    const body = (await response.json()) as { access_token?: string };
    if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
    issuedTokens.push(body.access_token);
    return body.access_token;
  }

  const initialize = (setup: TeamSetup, token: string) =>
    rawRequest(setup.server.url, { body: INITIALIZE, headers: { authorization: `Bearer ${token}` } });

  it("at the cap, a newcomer never ends another person's abandoned session, only their own", async () => {
    // Abandoned after 0.4 s idle; the idle timeout itself (4 s) ends nothing during this test.
    const setup = await smallServer({
      VCC_HTTP_MAX_SESSIONS: "1",
      VCC_HTTP_SESSIONS_PER_MINUTE: "1000",
      VCC_HTTP_SESSION_IDLE_SECONDS: "4",
    });
    const [alice, bob] = [await tokenAt(setup, MACHINE), await tokenAt(setup, READER)];
    const first = await initialize(setup, alice);
    expect(first.status).toBe(200);
    // Let the session become abandoned (a timing rule: idle for a tenth of the idle timeout).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const other = await initialize(setup, bob);
    expect(other.status).toBe(503);
    expect(JSON.parse(other.body).error.message).toMatch(/Too many sessions/);
    // The same person's new session takes the place of their abandoned one.
    expect((await initialize(setup, alice)).status).toBe(200);
    expect(setup.server.stderr()).toMatch(/ended \(replaced by a new session \(too many sessions\)\)/);
  });

  it("new sessions are counted per person, not per address (behind a proxy every caller has the proxy's)", async () => {
    const setup = await smallServer({ VCC_HTTP_SESSIONS_PER_MINUTE: "2" });
    const [alice, bob] = [await tokenAt(setup, MACHINE), await tokenAt(setup, READER)];
    for (let i = 0; i < 2; i++) expect((await initialize(setup, alice)).status).toBe(200);
    const limited = await initialize(setup, alice);
    expect(limited.status).toBe(429);
    expect(JSON.parse(limited.body).error.message).toMatch(/this person/);
    expect((await initialize(setup, bob)).status).toBe(200);
  });
});
