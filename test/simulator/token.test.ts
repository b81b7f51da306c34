// The simulated token endpoint (OAuth 2.0 client credentials) and token expiry, over real HTTP.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_CLIENTS, SEED, type Simulator, startSimulator } from "../../src/simulator/server.js";
import { requestToken, SANDBOX_CREDENTIALS, send } from "../helpers/raw-api.js";

let sim: Simulator;
let clock = Date.parse("2026-11-28T12:00:00Z");
beforeAll(async () => {
  sim = await startSimulator({ now: () => clock });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const token = (fields: Record<string, string>, headers: Record<string, string> = {}) => requestToken(sim.url, fields, headers);
const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}` });
const creds = SANDBOX_CREDENTIALS;
const getWith = (accessToken: string) => send(sim.apiBaseUrl, `/interactions/${SEED.inboundCall}`, { token: accessToken });

describe("issuing tokens", () => {
  it("form-encoded client credentials → 200 with access_token, expires_in 7200, token_type Bearer; the token works", async () => {
    const res = await token({ ...creds, scope: "interaction-content:read" });
    expect(res.status).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ expires_in: 7200, token_type: "Bearer", scope: "interaction-content:read" });
    expect(body.access_token).toEqual(expect.any(String));
    expect(res.headers["cache-control"]).toBe("no-store");
    expect((await getWith(body.access_token)).status).toBe(200);
  });

  it("HTTP Basic client authentication works too", async () => {
    const res = await token({ grant_type: "client_credentials" }, basic("sandbox-client", "sandbox-secret"));
    expect(res.status).toBe(200);
    expect((await getWith(res.json().access_token)).status).toBe(200);
  });

  it("a token carries only the one scope asked for (or the client's first when none is asked for)", async () => {
    const read = (await token({ ...creds, scope: "interaction-content:read" })).json();
    expect(read.scope).toBe("interaction-content:read");
    const del = await send(sim.apiBaseUrl, `/interactions/${SEED.inboundCall}/content/transcript`, {
      method: "DELETE",
      token: read.access_token,
    });
    expect(del.status).toBe(403);
    const readonly = (
      await token({ grant_type: "client_credentials", client_id: "readonly-client", client_secret: "readonly-secret" })
    ).json();
    expect(readonly.scope).toBe("interaction-content:read");
    const deleteToken = (await token({ ...creds, scope: "interaction-content:delete" })).json();
    expect(deleteToken.scope).toBe("interaction-content:delete");
    expect((await getWith(deleteToken.access_token)).status).toBe(403);
    const unnamed = (await token(creds)).json();
    expect(unnamed.scope).toBe("interaction-content:read");
  });

  it("a request naming two scopes → 400 invalid_scope, even when the client has both (one scope per token)", async () => {
    for (const scope of ["interaction-content:read interaction-content:delete", "interaction-content:delete interaction-content:read"]) {
      const res = await token({ ...creds, scope });
      expect([res.status, res.json()]).toEqual([400, { error: "invalid_scope" }]);
    }
    expect(sim.issuedTokens()).toEqual([]);
  });

  it("bad client id or secret → 401 invalid_client (form or Basic)", async () => {
    for (const res of [
      await token({ ...creds, client_secret: "wrong" }),
      await token({ ...creds, client_id: "nobody" }),
      await token({ grant_type: "client_credentials" }),
      await token({ grant_type: "client_credentials" }, basic("sandbox-client", "wrong")),
    ]) {
      expect(res.status).toBe(401);
      expect(res.json()).toEqual({ error: "invalid_client" });
    }
    expect((await token({ grant_type: "client_credentials" }, basic("sandbox-client", "wrong"))).headers["www-authenticate"]).toMatch(
      /^Basic/,
    );
  });

  it("an unknown scope, or one the client may not have → 400 invalid_scope", async () => {
    for (const res of [
      await token({ ...creds, scope: "interaction-content:write" }),
      await token({ ...creds, scope: "interaction-content:read admin" }),
      await token({
        grant_type: "client_credentials",
        client_id: "readonly-client",
        client_secret: "readonly-secret",
        scope: "interaction-content:delete",
      }),
    ]) {
      expect(res.status).toBe(400);
      expect(res.json()).toEqual({ error: "invalid_scope" });
    }
  });

  it("another grant type → 400 unsupported_grant_type; none → 400 invalid_request", async () => {
    const password = await token({ ...creds, grant_type: "password" });
    expect(password.status).toBe(400);
    expect(password.json()).toEqual({ error: "unsupported_grant_type" });
    const { grant_type: _, ...noGrant } = creds;
    const none = await token(noGrant);
    expect(none.status).toBe(400);
    expect(none.json()).toEqual({ error: "invalid_request" });
  });

  it("a body that is not form-encoded → 400 invalid_request; GET → 405", async () => {
    const json = await send(sim.url, "/Auth/connect/token", {
      method: "POST",
      accept: null,
      token: null,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(creds),
    });
    expect(json.status).toBe(400);
    expect(json.json()).toEqual({ error: "invalid_request" });
    const get = await send(sim.url, "/Auth/connect/token", { accept: null, token: null });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe("POST");
  });

  it("the journal keeps the client secret out of the recorded body", async () => {
    await token(creds);
    await token({ grant_type: "client_credentials" }, basic("sandbox-client", "sandbox-secret"));
    const text = JSON.stringify(sim.journal);
    expect(text).not.toContain("sandbox-secret");
    expect(text).not.toContain(Buffer.from("sandbox-client:sandbox-secret").toString("base64"));
    expect(sim.journal[0]?.body).toBe("grant_type=client_credentials&client_id=sandbox-client&client_secret=[REDACTED]");
    expect(sim.journal[1]?.headers.authorization).toBe("Basic [REDACTED]");
  });
});

describe("expiry", () => {
  it("a token is valid until expires_in has passed, then 401 with error_description saying it expired", async () => {
    const issued = (await token(creds)).json();
    clock += 7199_000;
    expect((await getWith(issued.access_token)).status).toBe(200);
    clock += 1_000;
    const expired = await getWith(issued.access_token);
    expect(expired.status).toBe(401);
    expect(expired.headers["www-authenticate"]).toMatch(/expired/);
    expect(sim.journal.at(-1)?.auth).toBe("expired");
  });

  it("expires_in is configurable: option, setTokenExpiresIn, and back to the option on reset()", async () => {
    const short = await startSimulator({ tokenExpiresIn: 60, now: () => clock });
    try {
      const res = await requestToken(short.url, creds);
      expect(res.json().expires_in).toBe(60);
      clock += 60_000;
      expect((await send(short.apiBaseUrl, "/interactions", { token: res.json().access_token })).status).toBe(401);
    } finally {
      await short.close();
    }
    sim.setTokenExpiresIn(5);
    expect((await token(creds)).json().expires_in).toBe(5);
    sim.reset();
    expect((await token(creds)).json().expires_in).toBe(7200);
  });

  it("expireTokens() expires every issued token at once; static tokens never expire", async () => {
    const issued = (await token(creds)).json();
    sim.expireTokens();
    expect((await getWith(issued.access_token)).status).toBe(401);
    expect((await getWith("sandbox-token")).status).toBe(200);
    const fresh = (await token(creds)).json();
    expect((await getWith(fresh.access_token)).status).toBe(200);
  });

  it("issued tokens survive reset(), as they would at VCC; issuedTokens() lists those since the last reset", async () => {
    const issued = (await token(creds)).json();
    expect(sim.issuedTokens()).toEqual([issued.access_token]);
    sim.reset();
    expect(sim.issuedTokens()).toEqual([]);
    expect((await getWith(issued.access_token)).status).toBe(200);
    const next = (await token(creds)).json();
    expect(sim.issuedTokens()).toEqual([next.access_token]);
  });
});

it("the default clients are the documented ones", () => {
  expect(DEFAULT_CLIENTS["sandbox-client"]).toEqual({
    secret: "sandbox-secret",
    scopes: ["interaction-content:read", "interaction-content:delete"],
  });
});
