import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  configReference,
  credentialsOf,
  endpointWarnings,
  isLoopbackHost,
  loadConfig,
  missingCredentials,
  secretValues,
  usesApprovalPage,
} from "../../src/config.js";
import { allowedHostnames } from "../../src/transports/http.js";

describe("configuration", () => {
  it("has sensible defaults", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      api: { region: "emea", baseUrl: "https://emea.api.newvoicemedia.com/interaction-content", timeoutMs: 15_000 },
      confirmation: { mode: "auto", ttlSeconds: 300 },
    });
    expect(missingCredentials(c)).toMatch(/VCC_CLIENT_ID and VCC_CLIENT_SECRET/);
    expect(missingCredentials(c)).toMatch(/VCC_ACCESS_TOKEN/);
    // The credentials need every scope the server asks tokens for: listing and searching read.
    expect(missingCredentials(c)).toMatch(/with the scopes interaction-content:delete and interaction-content:read\)/);
    expect(missingCredentials(loadConfig({ VCC_READ_ONLY: "true" }))).toMatch(/with the scope interaction-content:read\)/);
  });
  it("picks the region's base URL, and an explicit base wins", () => {
    expect(loadConfig({ VCC_REGION: "NAM" }).api.baseUrl).toBe("https://nam.api.newvoicemedia.com/interaction-content");
    expect(loadConfig({ VCC_REGION: "apac", VCC_API_BASE_URL: "http://127.0.0.1:4010/interaction-content/" }).api.baseUrl).toBe(
      "http://127.0.0.1:4010/interaction-content",
    );
  });
  it("treats empty variables as unset", () => {
    expect(loadConfig({ VCC_REGION: "", VCC_ACCESS_TOKEN: " " }).api).toMatchObject({ region: "emea", accessToken: undefined });
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
    expect(loadConfig({ VCC_CONFIRMATION: "Approval", VCC_APPROVAL_PORT: "8765" }).confirmation).toMatchObject({
      mode: "approval",
      approvalPort: 8765,
    });
    expect(loadConfig({}).confirmation.approvalPort).toBeUndefined();
  });
  it("passkeys are off by default; required works with the approval page only", () => {
    expect(loadConfig({}).confirmation.passkey).toBe("off");
    expect(loadConfig({ VCC_APPROVAL_PASSKEY: "Required" }).confirmation.passkey).toBe("required");
    expect(loadConfig({ VCC_APPROVAL_PASSKEY: "required", VCC_CONFIRMATION: "approval" }).confirmation.passkey).toBe("required");
    expect(() => loadConfig({ VCC_APPROVAL_PASSKEY: "yes" })).toThrow(/VCC_APPROVAL_PASSKEY must be one of: off, required/);
    for (const mode of ["token", "elicitation"])
      expect(() => loadConfig({ VCC_APPROVAL_PASSKEY: "required", VCC_CONFIRMATION: mode })).toThrow(
        /VCC_APPROVAL_PASSKEY=required needs VCC_CONFIRMATION=auto or approval/,
      );
  });

  it("mode auto uses the approval page where the person can reach it: stdio and loopback HTTP, not HTTP for other machines", () => {
    const bearer = "a-bearer-of-sufficient-length-123";
    expect(usesApprovalPage(loadConfig({}))).toBe(true);
    expect(usesApprovalPage(loadConfig({ VCC_TRANSPORT: "http" }))).toBe(true);
    expect(usesApprovalPage(loadConfig({ VCC_TRANSPORT: "http", VCC_HTTP_HOST: "::1" }))).toBe(true);
    expect(usesApprovalPage(loadConfig({ VCC_TRANSPORT: "http", VCC_HTTP_HOST: "0.0.0.0", VCC_HTTP_BEARER: bearer }))).toBe(false);
    expect(usesApprovalPage(loadConfig({ VCC_CONFIRMATION: "token" }))).toBe(false);
    expect(usesApprovalPage(loadConfig({ VCC_CONFIRMATION: "elicitation" }))).toBe(false);
    // Chosen explicitly, the page is used wherever the server runs.
    const remote = { VCC_TRANSPORT: "http", VCC_HTTP_HOST: "0.0.0.0", VCC_HTTP_BEARER: bearer };
    expect(usesApprovalPage(loadConfig({ ...remote, VCC_CONFIRMATION: "approval" }))).toBe(true);
    expect(usesApprovalPage(loadConfig({ ...remote, VCC_APPROVAL_PASSKEY: "required" }))).toBe(true);
  });

  it("picks the region's token endpoint, and VCC_AUTH_URL wins", () => {
    expect(loadConfig({}).api.authUrl).toBe("https://emea.cc.vonage.com/Auth/connect/token");
    expect(loadConfig({ VCC_REGION: "nam" }).api.authUrl).toBe("https://nam.cc.vonage.com/Auth/connect/token");
    expect(loadConfig({ VCC_REGION: "apac" }).api.authUrl).toBe("https://apac.cc.vonage.com/Auth/connect/token");
    expect(loadConfig({ VCC_REGION: "nam", VCC_AUTH_URL: "https://nam.newvoicemedia.com/Auth/connect/token" }).api.authUrl).toBe(
      "https://nam.newvoicemedia.com/Auth/connect/token",
    );
    expect(() => loadConfig({ VCC_AUTH_URL: "nam.cc.vonage.com" })).toThrow(/VCC_AUTH_URL/);
  });
  it("obtains tokens for the scopes of the enabled tools unless VCC_SCOPES says otherwise", () => {
    expect(loadConfig({}).api.scopes).toEqual(["interaction-content:delete", "interaction-content:read"]);
    expect(loadConfig({ VCC_READ_ONLY: "true" }).api.scopes).toEqual(["interaction-content:read"]);
    expect(loadConfig({ VCC_SCOPES: "interaction-content:delete" }).api.scopes).toEqual(["interaction-content:delete"]);
    expect(
      loadConfig({ VCC_SCOPES: " interaction-content:read,interaction-content:delete  interaction-content:read " }).api.scopes,
    ).toEqual(["interaction-content:read", "interaction-content:delete"]);
    // Only the API's two scopes: each is requested on its own token.
    for (const bad of ['bad"scope', "interaction-content:write", "interaction-content:read admin"])
      expect(() => loadConfig({ VCC_SCOPES: bad }), bad).toThrow(/VCC_SCOPES must name interaction-content:read/);
  });
});

describe("retries and the deadline", () => {
  it("default to 3 retries, a 60 s deadline and a 500 ms backoff base", () => {
    expect(loadConfig({}).api.retry).toEqual({ maxRetries: 3, deadlineMs: 60_000, baseDelayMs: 500 });
    expect(loadConfig({ VCC_MAX_RETRIES: "0", VCC_DEADLINE_MS: "5000", VCC_RETRY_BASE_MS: "1" }).api.retry).toEqual({
      maxRetries: 0,
      deadlineMs: 5000,
      baseDelayMs: 1,
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
    expect(loadConfig({}).shutdown.graceSeconds).toBeUndefined();
    expect(loadConfig({ VCC_SHUTDOWN_GRACE_SECONDS: "1" }).shutdown.graceSeconds).toBe(1);
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
    // Neither: it says where (a Claude Desktop extension has settings, not an environment), and how to try it without.
    const none = missingCredentials(loadConfig({}));
    expect(none).toContain("in the Claude Desktop extension: its API client ID and secret settings");
    expect(none).toContain("start it with --sandbox (the Claude Desktop extension: its Sandbox setting)");
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
      auth: "none",
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
    expect(loadConfig({ VCC_AUTH_URL: "https://auth.example.com/token" }).api.authUrl).toBe("https://auth.example.com/token");
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

describe("team server configuration (VCC_HTTP_AUTH=oauth)", () => {
  const team = {
    VCC_TRANSPORT: "http",
    VCC_HTTP_HOST: "0.0.0.0",
    VCC_HTTP_AUTH: "oauth",
    VCC_OAUTH_ISSUER: "https://login.example.com/realms/ops/",
    VCC_HTTP_PUBLIC_URL: "https://vcc-mcp.example.com/",
  };
  it("needs the issuer and the public URL, and then allows binding beyond loopback without a bearer", () => {
    const c = loadConfig(team);
    expect(c.http.auth).toBe("oauth");
    expect(c.http.oauth).toMatchObject({
      issuer: "https://login.example.com/realms/ops",
      publicUrl: "https://vcc-mcp.example.com",
      readScope: "vcc.read",
      deleteScope: "vcc.delete",
      separateApprover: false,
    });
    expect(() => loadConfig({ ...team, VCC_OAUTH_ISSUER: "" })).toThrow(/VCC_OAUTH_ISSUER/);
    expect(() => loadConfig({ ...team, VCC_HTTP_PUBLIC_URL: "" })).toThrow(/VCC_HTTP_PUBLIC_URL/);
  });
  it("refuses a public URL with a path or in clear text beyond loopback, and a bearer at the same time", () => {
    expect(() => loadConfig({ ...team, VCC_HTTP_PUBLIC_URL: "https://example.com/vcc" })).toThrow(/origin without a path/);
    expect(() => loadConfig({ ...team, VCC_HTTP_PUBLIC_URL: "http://vcc-mcp.example.com" })).toThrow(/https/);
    expect(() => loadConfig({ ...team, VCC_HTTP_BEARER: "b".repeat(32) })).toThrow(/choose one/);
  });
  it("approval mode needs the OIDC client; four eyes needs approval mode and the approver claim", () => {
    expect(() => loadConfig({ ...team, VCC_CONFIRMATION: "approval" })).toThrow(/VCC_OIDC_CLIENT_ID/);
    const approval = { ...team, VCC_CONFIRMATION: "approval", VCC_OIDC_CLIENT_ID: "vcc-mcp", VCC_OIDC_CLIENT_SECRET: "s3cret" };
    expect(loadConfig(approval).http.oauth?.oidc).toEqual({ clientId: "vcc-mcp", clientSecret: "s3cret", scope: "openid profile email" });
    expect(() => loadConfig({ ...approval, VCC_APPROVAL_SEPARATE_APPROVER: "true" })).toThrow(/VCC_APPROVER_CLAIM/);
    expect(() => loadConfig({ ...approval, VCC_CONFIRMATION: "token", VCC_APPROVAL_SEPARATE_APPROVER: "true" })).toThrow(
      /needs VCC_CONFIRMATION=approval/,
    );
    const fourEyes = loadConfig({ ...approval, VCC_APPROVAL_SEPARATE_APPROVER: "true", VCC_APPROVER_CLAIM: "groups:vcc-approvers" });
    expect(fourEyes.http.oauth).toMatchObject({ separateApprover: true, approverClaim: { name: "groups", value: "vcc-approvers" } });
  });
  it("passkeys belong to the loopback page: refused on a team server; its own page is the fallback only with sign-in", () => {
    expect(() => loadConfig({ ...team, VCC_APPROVAL_PASSKEY: "required" })).toThrow(/not available with VCC_HTTP_AUTH=oauth/);
    // Bound to loopback behind a TLS proxy, the loopback page is still out of reach of remote people.
    const behindProxy = { ...team, VCC_HTTP_HOST: "127.0.0.1" };
    expect(usesApprovalPage(loadConfig(behindProxy))).toBe(false);
    expect(usesApprovalPage(loadConfig({ ...behindProxy, VCC_OIDC_CLIENT_ID: "vcc-mcp" }))).toBe(true);
  });
  it("the static bearer stays the private single-user mode", () => {
    expect(loadConfig({ VCC_TRANSPORT: "http", VCC_HTTP_BEARER: "b".repeat(32) }).http.auth).toBe("bearer");
    expect(loadConfig({ VCC_TRANSPORT: "http" }).http.auth).toBe("none");
  });
});

describe("the schema's reference (for --help, docs and registry checks)", () => {
  const reference = configReference();
  it("names each variable once, with a group, a description and a place in Config", () => {
    const names = reference.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    const config = loadConfig({});
    for (const v of reference) {
      expect(v.name, v.name).toMatch(/^VCC_[A-Z0-9_]+$/);
      expect(v.description.length, v.name).toBeGreaterThan(10);
      expect(v.path.split(".")[0], v.name).toBe(v.group);
      // The path exists in a loaded configuration (the value may be undefined when unset).
      const parent = v.path
        .split(".")
        .slice(0, -1)
        .reduce<Record<string, unknown>>((node, key) => node[key] as Record<string, unknown>, config);
      expect(Object.keys(parent), v.path).toContain(v.path.split(".").at(-1));
    }
    expect(reference.find((v) => v.name === "VCC_MAX_RETRIES")).toMatchObject({ group: "api", path: "api.retry.maxRetries", default: "3" });
  });
  it("documents the defaults loadConfig uses: setting a variable to its documented default changes nothing", () => {
    const defaults = reference.filter((v) => v.default !== undefined);
    expect(defaults.length).toBeGreaterThan(10);
    for (const v of defaults) expect(loadConfig({ [v.name]: v.default }), v.name).toEqual(loadConfig({}));
  });
  it("marks the credentials, the shared-state URL, the HTTP bearer and the team server's client secret as secret, and only those", () => {
    expect(reference.filter((v) => v.secret).map((v) => v.name)).toEqual([
      "VCC_CLIENT_SECRET",
      "VCC_ACCESS_TOKEN",
      "VCC_STATE_URL",
      "VCC_HTTP_BEARER",
      "VCC_OIDC_CLIENT_SECRET",
    ]);
    const bearer = "c".repeat(32);
    expect(secretValues(loadConfig({ VCC_CLIENT_ID: "id", VCC_CLIENT_SECRET: "s3cret", VCC_HTTP_BEARER: bearer })).sort()).toEqual(
      [bearer, "s3cret"].sort(),
    );
    expect(secretValues(loadConfig({}))).toEqual([]);
    // A URL's password is a secret on its own too (decoded, as it would appear in a message).
    expect(secretValues(loadConfig({ VCC_STATE_URL: "redis://:p%40ss-w0rd@127.0.0.1:6379" }))).toEqual([
      "redis://:p%40ss-w0rd@127.0.0.1:6379",
      "p@ss-w0rd",
    ]);
  });
});
