// The token cache (renewal, single flight, invalidation) with a fake endpoint and a fake clock,
// and the reading of token endpoint answers.
import { describe, expect, it } from "vitest";
import { redact } from "../../src/log.js";
import { type ObtainToken, parseTokenResponse, RenewingTokenSource, renewAfterMs } from "../../src/vcc/auth.js";
import { errorForStatus, errorForTokenEndpoint } from "../../src/vcc/errors.js";

const AUTH_URL = "https://emea.cc.vonage.com/Auth/connect/token";

/** A fake token endpoint: counts requests; each answers when `answer` is called (or at once when `auto`). */
function fakeEndpoint(options: { expiresInSeconds?: number; auto?: boolean } = {}) {
  const waiting: (() => void)[] = [];
  const state = {
    requests: 0,
    fail: false,
    obtain: (() => {
      state.requests++;
      const n = state.requests;
      const result = state.fail
        ? { ok: false as const, error: { code: "auth_failed" as const, message: "refused" } }
        : { ok: true as const, token: { value: `token-${n}`, expiresInSeconds: options.expiresInSeconds ?? 7200 } };
      if (options.auto !== false) return Promise.resolve(result);
      return new Promise((resolve) => waiting.push(() => resolve(result)));
    }) as ObtainToken,
    /** Let the oldest waiting request answer. */
    answer: () => waiting.shift()?.(),
  };
  return state;
}

function clock(start = 1_000_000) {
  const c = { now: start, fn: () => c.now };
  return c;
}

const tokenOf = async (p: ReturnType<RenewingTokenSource["token"]>) => {
  const r = await p;
  return r.ok ? r.value : `error:${r.error.code}`;
};

describe("renewal time", () => {
  it("renews 60 s before expiry, or 10 % of the lifetime for short tokens", () => {
    expect(renewAfterMs(7_200_000)).toBe(7_140_000);
    expect(renewAfterMs(3_000)).toBe(2_700);
    expect(renewAfterMs(600_000)).toBe(540_000);
    expect(renewAfterMs(0)).toBe(0);
  });
});

describe("RenewingTokenSource", () => {
  it("asks once for many calls while the token is fresh", async () => {
    const endpoint = fakeEndpoint();
    const c = clock();
    const source = new RenewingTokenSource(endpoint.obtain, c.fn);
    for (let i = 0; i < 10; i++) {
      expect(await tokenOf(source.token())).toBe("token-1");
      c.now += 60_000;
    }
    expect(endpoint.requests).toBe(1);
  });

  it("renews shortly before expiry, not earlier", async () => {
    const endpoint = fakeEndpoint({ expiresInSeconds: 7200 });
    const c = clock();
    const source = new RenewingTokenSource(endpoint.obtain, c.fn);
    expect(await tokenOf(source.token())).toBe("token-1");
    c.now += 7_140_000 - 1;
    expect(await tokenOf(source.token())).toBe("token-1");
    c.now += 1;
    expect(await tokenOf(source.token())).toBe("token-2");
    expect(endpoint.requests).toBe(2);
  });

  it("concurrent callers share one request", async () => {
    const endpoint = fakeEndpoint({ auto: false });
    const source = new RenewingTokenSource(endpoint.obtain, clock().fn);
    const calls = Array.from({ length: 5 }, () => tokenOf(source.token()));
    expect(endpoint.requests).toBe(1);
    endpoint.answer();
    expect(await Promise.all(calls)).toEqual(Array(5).fill("token-1"));
    expect(await tokenOf(source.token())).toBe("token-1");
    expect(endpoint.requests).toBe(1);
  });

  it("does not cache failures: the next call asks again", async () => {
    const endpoint = fakeEndpoint();
    endpoint.fail = true;
    const source = new RenewingTokenSource(endpoint.obtain, clock().fn);
    expect(await tokenOf(source.token())).toBe("error:auth_failed");
    endpoint.fail = false;
    expect(await tokenOf(source.token())).toBe("token-2");
  });

  it("invalidate forgets the refused token only, and allows one retry", async () => {
    const endpoint = fakeEndpoint();
    const source = new RenewingTokenSource(endpoint.obtain, clock().fn);
    expect(await tokenOf(source.token())).toBe("token-1");
    expect(source.invalidate("token-1")).toBe(true);
    expect(await tokenOf(source.token())).toBe("token-2");
    // A late 401 for the old token must not throw away the new one.
    source.invalidate("token-1");
    expect(await tokenOf(source.token())).toBe("token-2");
    expect(endpoint.requests).toBe(2);
  });

  it("a caller that gives up gets cancelled; the others still get the token from the same request", async () => {
    const endpoint = fakeEndpoint({ auto: false });
    const source = new RenewingTokenSource(endpoint.obtain, clock().fn);
    const controller = new AbortController();
    const impatient = tokenOf(source.token(controller.signal));
    const patient = tokenOf(source.token());
    controller.abort();
    expect(await impatient).toBe("error:cancelled");
    endpoint.answer();
    expect(await patient).toBe("token-1");
    expect(endpoint.requests).toBe(1);
    const aborted = AbortSignal.abort();
    expect(await tokenOf(source.token(aborted))).toBe("error:cancelled");
  });
});

describe("token endpoint answers", () => {
  it("reads a token and registers it for redaction", () => {
    const r = parseTokenResponse('{"access_token":"abc-issued-token-123","expires_in":7200,"token_type":"Bearer"}', AUTH_URL);
    expect(r).toEqual({ ok: true, token: { value: "abc-issued-token-123", expiresInSeconds: 7200 } });
    expect(redact("Authorization was abc-issued-token-123")).not.toContain("abc-issued-token-123");
  });
  it("accepts expires_in as a string, and assumes an hour when it is missing", () => {
    const asString = parseTokenResponse('{"access_token":"t0000001","expires_in":"120"}', AUTH_URL);
    expect(asString.ok && asString.token.expiresInSeconds).toBe(120);
    const missing = parseTokenResponse('{"access_token":"t0000002","expires_in":null,"token_type":"bearer"}', AUTH_URL);
    expect(missing.ok && missing.token.expiresInSeconds).toBe(3600);
  });
  it("refuses answers without a usable bearer token", () => {
    for (const body of ["<html>login</html>", "{}", '{"access_token":"has space"}', '{"access_token":"t0000003","token_type":"mac"}']) {
      const r = parseTokenResponse(body, AUTH_URL);
      expect(r.ok, body).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe("auth_failed");
        expect(r.error.message).toContain("https://emea.cc.vonage.com/Auth/connect/token");
      }
    }
  });
  it("names the OAuth error and what to check", () => {
    const client = errorForTokenEndpoint({ status: 401, body: '{"error":"invalid_client"}' }, AUTH_URL, "interaction-content:read");
    expect(client.code).toBe("auth_failed");
    expect(client.message).toMatch(/invalid_client/);
    expect(client.message).toMatch(/VCC_CLIENT_ID and VCC_CLIENT_SECRET/);
    expect(client.message).toMatch(/Nothing was deleted/);
    expect(client.httpStatus).toBeUndefined();
    const scope = errorForTokenEndpoint({ status: 400, body: '{"error":"invalid_scope"}' }, AUTH_URL, "interaction-content:delete");
    expect(scope.message).toMatch(/invalid_scope/);
    expect(scope.message).toContain("the scope interaction-content:delete");
    // Without the read scope the server still deletes (without a preview) once told not to ask for it.
    const read = errorForTokenEndpoint({ status: 400, body: '{"error":"invalid_scope"}' }, AUTH_URL, "interaction-content:read");
    expect(read.message).toContain("the scope interaction-content:read");
    expect(read.message).toContain("VCC_SCOPES=interaction-content:delete");
    const other = errorForTokenEndpoint(
      { status: 400, body: '{"error":"unsupported_grant_type"}' },
      AUTH_URL,
      "interaction-content:delete",
    );
    expect(other.message).toMatch(/unsupported_grant_type/);
    expect(other.message).toMatch(/VCC_AUTH_URL/);
  });
  it("handles answers without an OAuth error, and never passes a secret on", () => {
    const down = errorForTokenEndpoint(
      { status: 503, body: "<html>down</html>", contentType: "text/html" },
      AUTH_URL,
      "interaction-content:delete",
    );
    expect(down.message).toMatch(/HTTP 503/);
    expect(down.upstreamMessage).toBeUndefined();
    const notFound = errorForTokenEndpoint(
      { status: 404, body: "" },
      "https://user:pw@example.test/wrong?x=1",
      "interaction-content:delete",
    );
    expect(notFound.message).toContain("https://example.test/wrong");
    expect(notFound.message).not.toContain("pw");
    parseTokenResponse('{"access_token":"echoed-secret-value-42"}', AUTH_URL); // registers it
    const echoed = errorForTokenEndpoint(
      { status: 400, body: '{"error":"invalid_request","error_description":"bad client_secret echoed-secret-value-42"}' },
      AUTH_URL,
      "interaction-content:delete",
    );
    expect(JSON.stringify(echoed)).not.toContain("echoed-secret-value-42");
    const hostile = errorForTokenEndpoint({ status: 400, body: '{"error":"x\\" injected"}' }, AUTH_URL, "interaction-content:delete");
    expect(hostile.message).not.toContain("injected");
  });
});

describe("401 from the API", () => {
  it("with a static token: explains the two-hour lifetime and recommends client credentials", () => {
    const e = errorForStatus({ status: 401, body: "" }, "x", "delete", "static");
    expect(e.code).toBe("unauthorized");
    expect(e.message).toMatch(/two hours/);
    expect(e.message).toMatch(/VCC_CLIENT_ID and VCC_CLIENT_SECRET/);
  });
  it("with client credentials: says a fresh token was refused too", () => {
    const e = errorForStatus({ status: 401, body: "" }, "x", "delete", "client_credentials");
    expect(e.code).toBe("unauthorized");
    expect(e.message).toMatch(/fresh one/);
    expect(e.message).not.toMatch(/VCC_ACCESS_TOKEN/);
  });
});
