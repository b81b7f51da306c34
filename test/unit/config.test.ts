import { describe, expect, it } from "vitest";
import { ConfigError, credentialsOf, loadConfig, missingCredentials } from "../../src/config.js";

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
    expect(() => loadConfig({ VCC_CONFIRMATION: "never" })).toThrow(/VCC_CONFIRMATION/);
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
  it("requests the scopes of the enabled tools unless VCC_SCOPES says otherwise", () => {
    expect(loadConfig({}).scopes).toEqual(["interaction-content:delete", "interaction-content:read"]);
    expect(loadConfig({ VCC_SCOPES: "interaction-content:delete" }).scopes).toEqual(["interaction-content:delete"]);
    expect(loadConfig({ VCC_SCOPES: " a  b,c, a " }).scopes).toEqual(["a", "b", "c"]);
    expect(() => loadConfig({ VCC_SCOPES: 'bad"scope' })).toThrow(/VCC_SCOPES/);
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
