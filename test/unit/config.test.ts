import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { ConfigError, credentialsOf, endpointWarnings, isLoopbackHost, loadConfig, missingCredentials } from "../../src/config.js";
import { allowedHostnames } from "../../src/transports/http.js";

describe("configuration", () => {
  it("has sensible defaults", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      region: "emea",
      apiBaseUrl: "https://emea.api.newvoicemedia.com/interaction-content",
      confirmation: "auto",
      confirmationTtlSeconds: 300,
      timeoutMs: 15_000,
    });
    expect(missingCredentials(c)).toMatch(/VCC_CLIENT_ID and VCC_CLIENT_SECRET/);
    expect(missingCredentials(c)).toMatch(/VCC_ACCESS_TOKEN/);
  });
  it("picks the region's base URL, and an explicit base wins", () => {
    expect(loadConfig({ VCC_REGION: "NAM" }).apiBaseUrl).toBe("https://nam.api.newvoicemedia.com/interaction-content");
    expect(loadConfig({ VCC_REGION: "apac", VCC_API_BASE_URL: "http://127.0.0.1:4010/interaction-content/" }).apiBaseUrl).toBe(
      "http://127.0.0.1:4010/interaction-content",
    );
  });
  it("treats empty variables as unset", () => {
    expect(loadConfig({ VCC_REGION: "", VCC_ACCESS_TOKEN: " " })).toMatchObject({ region: "emea", accessToken: undefined });
  });
  it("names the variable and the accepted values on bad input", () => {
    expect(() => loadConfig({ VCC_REGION: "mars" })).toThrow(ConfigError);
    expect(() => loadConfig({ VCC_REGION: "mars" })).toThrow(/VCC_REGION.*emea, nam, apac/);
    expect(() => loadConfig({ VCC_TIMEOUT_MS: "1.5" })).toThrow(/VCC_TIMEOUT_MS/);
    expect(() => loadConfig({ VCC_API_BASE_URL: "ftp://x" })).toThrow(/VCC_API_BASE_URL/);
    expect(() => loadConfig({ VCC_API_BASE_URL: "https://user:pass@emea.api.newvoicemedia.com/interaction-content" })).toThrow(
      /user name, password/,
    );
    expect(() => loadConfig({ VCC_CONFIRMATION: "never" })).toThrow(/VCC_CONFIRMATION.*approval/);
    expect(() => loadConfig({ VCC_APPROVAL_PORT: "0" })).toThrow(/VCC_APPROVAL_PORT.*1 to 65535/);
    expect(() => loadConfig({ VCC_APPROVAL_PORT: "70000" })).toThrow(/VCC_APPROVAL_PORT/);
  });
  it("accepts the approval mode and a fixed approval page port", () => {
    expect(loadConfig({ VCC_CONFIRMATION: "Approval", VCC_APPROVAL_PORT: "8765" })).toMatchObject({
      confirmation: "approval",
      approvalPort: 8765,
    });
    expect(loadConfig({}).approvalPort).toBeUndefined();
  });
  it("picks the region's token endpoint, and VCC_AUTH_URL wins", () => {
    expect(loadConfig({}).authUrl).toBe("https://emea.cc.vonage.com/Auth/connect/token");
    expect(loadConfig({ VCC_REGION: "nam" }).authUrl).toBe("https://nam.cc.vonage.com/Auth/connect/token");
    expect(loadConfig({ VCC_REGION: "apac" }).authUrl).toBe("https://apac.cc.vonage.com/Auth/connect/token");
    expect(loadConfig({ VCC_REGION: "nam", VCC_AUTH_URL: "https://nam.newvoicemedia.com/Auth/connect/token" }).authUrl).toBe(
      "https://nam.newvoicemedia.com/Auth/connect/token",
    );
    expect(() => loadConfig({ VCC_AUTH_URL: "nam.cc.vonage.com" })).toThrow(/VCC_AUTH_URL/);
  });
  it("obtains tokens for the scopes of the enabled tools unless VCC_SCOPES says otherwise", () => {
    expect(loadConfig({}).scopes).toEqual(["interaction-content:delete", "interaction-content:read"]);
    expect(loadConfig({ VCC_READ_ONLY: "true" }).scopes).toEqual(["interaction-content:read"]);
    expect(loadConfig({ VCC_SCOPES: "interaction-content:delete" }).scopes).toEqual(["interaction-content:delete"]);
    expect(loadConfig({ VCC_SCOPES: " interaction-content:read,interaction-content:delete  interaction-content:read " }).scopes).toEqual([
      "interaction-content:read",
      "interaction-content:delete",
    ]);
    // Only the API's two scopes: each is requested on its own token.
    for (const bad of ['bad"scope', "interaction-content:write", "interaction-content:read admin"])
      expect(() => loadConfig({ VCC_SCOPES: bad }), bad).toThrow(/VCC_SCOPES must name interaction-content:read/);
  });
});

describe("retries and the deadline", () => {
  it("default to 3 retries, a 60 s deadline and a 500 ms backoff base", () => {
    expect(loadConfig({})).toMatchObject({ maxRetries: 3, deadlineMs: 60_000, retryBaseMs: 500 });
    expect(loadConfig({ VCC_MAX_RETRIES: "0", VCC_DEADLINE_MS: "5000", VCC_RETRY_BASE_MS: "1" })).toMatchObject({
      maxRetries: 0,
      deadlineMs: 5000,
      retryBaseMs: 1,
    });
  });
  it("refuse values out of range, naming the variable", () => {
    expect(() => loadConfig({ VCC_MAX_RETRIES: "11" })).toThrow(/VCC_MAX_RETRIES must be a whole number from 0 to 10/);
    expect(() => loadConfig({ VCC_MAX_RETRIES: "-1" })).toThrow(/VCC_MAX_RETRIES/);
    expect(() => loadConfig({ VCC_DEADLINE_MS: "50" })).toThrow(/VCC_DEADLINE_MS/);
    expect(() => loadConfig({ VCC_RETRY_BASE_MS: "0" })).toThrow(/VCC_RETRY_BASE_MS/);
  });
});

describe("shutdown grace", () => {
  it("is the transport's default unless VCC_SHUTDOWN_GRACE_SECONDS (1-600) is set", () => {
    expect(loadConfig({}).shutdownGraceSeconds).toBeUndefined();
    expect(loadConfig({ VCC_SHUTDOWN_GRACE_SECONDS: "1" }).shutdownGraceSeconds).toBe(1);
    expect(() => loadConfig({ VCC_SHUTDOWN_GRACE_SECONDS: "0" })).toThrow(
      /VCC_SHUTDOWN_GRACE_SECONDS must be a whole number from 1 to 600/,
    );
    expect(() => loadConfig({ VCC_SHUTDOWN_GRACE_SECONDS: "0.5" })).toThrow(/VCC_SHUTDOWN_GRACE_SECONDS/);
  });
});

describe("credentials", () => {
  it("client credentials need both halves; the message names the missing one", () => {
    expect(credentialsOf(loadConfig({ VCC_CLIENT_ID: "id", VCC_CLIENT_SECRET: "secret" }))).toEqual({
      kind: "client_credentials",
      clientId: "id",
      clientSecret: "secret",
    });
    expect(missingCredentials(loadConfig({ VCC_CLIENT_ID: "id" }))).toMatch(/^VCC_CLIENT_ID is set but VCC_CLIENT_SECRET is not/);
    expect(missingCredentials(loadConfig({ VCC_CLIENT_SECRET: "secret" }))).toMatch(/^VCC_CLIENT_SECRET is set but VCC_CLIENT_ID is not/);
    expect(missingCredentials(loadConfig({ VCC_CLIENT_SECRET: "secret-value-xyz" }))).not.toContain("secret-value-xyz");
  });
  it("a static token wins over client credentials", () => {
    expect(credentialsOf(loadConfig({ VCC_ACCESS_TOKEN: "tok", VCC_CLIENT_ID: "id", VCC_CLIENT_SECRET: "s" }))).toEqual({
      kind: "static",
      accessToken: "tok",
    });
  });
});

describe("HTTP transport configuration", () => {
  it("defaults to stdio, and to 127.0.0.1:3333 with a 30-minute idle timeout for HTTP", () => {
    const c = loadConfig({});
    expect(c.transport).toBe("stdio");
    expect(c.http).toEqual({
      host: "127.0.0.1",
      port: 3333,
      bearer: undefined,
      sessionIdleSeconds: 1800,
      maxSessions: 1000,
      sessionsPerMinute: 60,
      allowedHosts: [],
    });
  });
  it("accepts port 0, IPv6 with or without brackets, host names, and a list of extra hosts", () => {
    const c = loadConfig({
      VCC_TRANSPORT: "HTTP",
      VCC_HTTP_PORT: "0",
      VCC_HTTP_HOST: "[::1]",
      VCC_HTTP_ALLOWED_HOSTS: "mcp.example.internal, 10.0.0.7,,[fd00::1]",
    });
    expect(c.transport).toBe("http");
    expect(c.http).toMatchObject({ host: "::1", port: 0, allowedHosts: ["mcp.example.internal", "10.0.0.7", "fd00::1"] });
    expect(loadConfig({ VCC_HTTP_HOST: "LocalHost" }).http.host).toBe("localhost");
  });
  it("requires a bearer beyond loopback, only for the HTTP transport", () => {
    expect(() => loadConfig({ VCC_TRANSPORT: "http", VCC_HTTP_HOST: "0.0.0.0" })).toThrow(/VCC_HTTP_BEARER.*VCC_HTTP_HOST/);
    expect(() => loadConfig({ VCC_TRANSPORT: "http", VCC_HTTP_HOST: "buildbox.example.internal" })).toThrow(/VCC_HTTP_BEARER/);
    expect(loadConfig({ VCC_HTTP_HOST: "0.0.0.0" }).transport).toBe("stdio");
    const bearer = "a".repeat(32);
    expect(loadConfig({ VCC_TRANSPORT: "http", VCC_HTTP_HOST: "0.0.0.0", VCC_HTTP_BEARER: bearer }).http.bearer).toBe(bearer);
    for (const host of ["127.0.0.1", "127.8.9.10", "::1", "localhost"]) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ["0.0.0.0", "::", "10.0.0.1", "localhost.example.com", "128.0.0.1"]) expect(isLoopbackHost(host), host).toBe(false);
  });
  it("rejects bad values without echoing a bearer", () => {
    expect(() => loadConfig({ VCC_HTTP_PORT: "65536" })).toThrow(/VCC_HTTP_PORT \(--port\)/);
    expect(() => loadConfig({ VCC_HTTP_PORT: "-1" })).toThrow(/VCC_HTTP_PORT/);
    expect(() => loadConfig({ VCC_HTTP_HOST: "http://x" })).toThrow(/VCC_HTTP_HOST/);
    expect(() => loadConfig({ VCC_HTTP_ALLOWED_HOSTS: "ok.example, bad host" })).toThrow(/VCC_HTTP_ALLOWED_HOSTS.*'bad host'/);
    expect(() => loadConfig({ VCC_HTTP_ALLOWED_HOSTS: "mcp.example:443" })).toThrow(/without ports/);
    expect(() => loadConfig({ VCC_HTTP_SESSION_IDLE_SECONDS: "0" })).toThrow(/VCC_HTTP_SESSION_IDLE_SECONDS/);
    for (const weak of ["too-short-123", "has spaces in it but is long", "ünïcödé-ünïcödé-ünïcödé"]) {
      expect(() => loadConfig({ VCC_HTTP_BEARER: weak })).toThrow(/VCC_HTTP_BEARER must be at least 16 characters/);
      try {
        loadConfig({ VCC_HTTP_BEARER: weak });
      } catch (error) {
        expect(String(error)).not.toContain(weak);
      }
    }
  });
});

describe("allowed Host/Origin names", () => {
  const http = (env: Record<string, string>) => loadConfig({ VCC_TRANSPORT: "http", VCC_HTTP_BEARER: "b".repeat(32), ...env });
  it("on loopback: the loopback names only, plus any configured extras", () => {
    expect([...allowedHostnames(http({}))].sort()).toEqual(["127.0.0.1", "[::1]", "localhost"]);
    expect(allowedHostnames(http({ VCC_HTTP_HOST: "::1", VCC_HTTP_ALLOWED_HOSTS: "dev.example" })).has("dev.example")).toBe(true);
  });
  it("on one address: that address and this machine's name, not loopback", () => {
    const names = allowedHostnames(http({ VCC_HTTP_HOST: "192.0.2.10" }));
    expect(names.has("192.0.2.10")).toBe(true);
    expect(names.has(hostname().toLowerCase())).toBe(true);
    expect(names.has("127.0.0.1")).toBe(false);
  });
  it("on all interfaces: loopback and every local address (IPv6 in brackets)", () => {
    const names = allowedHostnames(http({ VCC_HTTP_HOST: "0.0.0.0" }));
    expect(names.has("localhost")).toBe(true);
    expect(names.has("[::1]") || names.has("127.0.0.1")).toBe(true);
    expect(names.has("evil.example.com")).toBe(false);
  });
});

describe("endpoints (where the client secret and tokens are sent)", () => {
  it("refuses plain http except on loopback", () => {
    for (const variable of ["VCC_API_BASE_URL", "VCC_AUTH_URL"]) {
      expect(() => loadConfig({ [variable]: "http://vcc.example.com/x" })).toThrow(new RegExp(`${variable} must use https`));
      expect(() => loadConfig({ [variable]: "http://10.0.0.5/x" })).toThrow(/plain http is accepted for loopback only/);
      for (const local of ["http://127.0.0.1:4010/x", "http://localhost:4010/x", "http://[::1]:4010/x"])
        expect(() => loadConfig({ [variable]: local })).not.toThrow();
    }
    expect(loadConfig({ VCC_AUTH_URL: "https://auth.example.com/token" }).authUrl).toBe("https://auth.example.com/token");
  });
  it("warns about an endpoint outside the VCC regions' hosts, and only then", () => {
    expect(endpointWarnings(loadConfig({}))).toEqual([]);
    expect(endpointWarnings(loadConfig({ VCC_REGION: "apac" }))).toEqual([]);
    expect(endpointWarnings(loadConfig({ VCC_AUTH_URL: "https://emea.newvoicemedia.com/Auth/connect/token" }))).toEqual([]);
    const warnings = endpointWarnings(
      loadConfig({ VCC_API_BASE_URL: "https://api.example.com/ic", VCC_AUTH_URL: "https://newvoicemedia.com.example.org/token" }),
    );
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/VCC_API_BASE_URL points to api\.example\.com, outside the VCC regions' hosts.*access tokens/);
    expect(warnings[1]).toMatch(/VCC_AUTH_URL points to newvoicemedia\.com\.example\.org.*client secret/);
    expect(endpointWarnings(loadConfig({ VCC_API_BASE_URL: "http://127.0.0.1:1/x", VCC_SANDBOX: "true" }))).toEqual([]);
  });
});

describe("HTTP session limits", () => {
  it("can be set", () => {
    expect(loadConfig({ VCC_HTTP_MAX_SESSIONS: "2", VCC_HTTP_SESSIONS_PER_MINUTE: "5" }).http).toMatchObject({
      maxSessions: 2,
      sessionsPerMinute: 5,
    });
    expect(() => loadConfig({ VCC_HTTP_MAX_SESSIONS: "0" })).toThrow(/VCC_HTTP_MAX_SESSIONS/);
  });
});
