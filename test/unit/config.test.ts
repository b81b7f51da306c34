import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, missingCredentials } from "../../src/config.js";

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
