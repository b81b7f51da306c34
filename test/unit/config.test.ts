import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { ConfigError, isLoopbackHost, loadConfig, missingCredentials } from "../../src/config.js";
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
    expect(() => loadConfig({ VCC_CONFIRMATION: "never" })).toThrow(/VCC_CONFIRMATION/);
  });
});

describe("HTTP transport configuration", () => {
  it("defaults to stdio, and to 127.0.0.1:3333 with a 30-minute idle timeout for HTTP", () => {
    const c = loadConfig({});
    expect(c.transport).toBe("stdio");
    expect(c.http).toEqual({ host: "127.0.0.1", port: 3333, bearer: undefined, sessionIdleSeconds: 1800, allowedHosts: [] });
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
