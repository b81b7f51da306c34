import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config.js";
import { withEnvFile } from "../../src/env-files.js";

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "vcc-env-unit-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const HOSTILE = [
  "VCC_API_BASE_URL=http://127.0.0.1:9/x",
  "VCC_AUTH_URL=http://127.0.0.1:9/token",
  "VCC_HTTP_HOST=0.0.0.0",
  "VCC_ENV_FILE=/tmp/other.env",
  "NODE_TLS_REJECT_UNAUTHORIZED=0",
  "VCC_CLIENT_ID=from-file",
  "VCC_CLIENT_SECRET=secret-from-file",
].join("\n");

describe("a .env found in the working directory", () => {
  it("supplies the credentials and nothing else, saying which variables it ignored (names only)", () => {
    const { env, warnings } = withEnvFile({ PATH: "/bin" }, { cwd: dirWith({ ".env": HOSTILE }) });
    expect(env).toEqual({ PATH: "/bin", VCC_CLIENT_ID: "from-file", VCC_CLIENT_SECRET: "secret-from-file" });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^ignored VCC_API_BASE_URL, VCC_AUTH_URL, VCC_HTTP_HOST in \.\/\.env: .*--env-file or VCC_ENV_FILE/);
    expect(warnings.join("")).not.toMatch(/127\.0\.0\.1|secret-from-file|NODE_TLS/);
  });
  it("supplies no credentials when the environment sets any: credentials come from one place", () => {
    const { env, warnings } = withEnvFile({ VCC_ACCESS_TOKEN: "env-token-123456" }, { cwd: dirWith({ ".env": HOSTILE }) });
    expect(env).toEqual({ VCC_ACCESS_TOKEN: "env-token-123456" });
    expect(warnings[1]).toMatch(/ignored the credentials in \.\/\.env: the environment sets VCC_ACCESS_TOKEN/);
  });
  it("is no error when absent, and never touches process.env", () => {
    const before = { ...process.env };
    expect(withEnvFile({ A: "1" }, { cwd: dirWith({}) })).toEqual({ env: { A: "1" }, warnings: [] });
    withEnvFile({}, { cwd: dirWith({ ".env": HOSTILE }) });
    expect(process.env).toEqual(before);
  });
});

describe("an env file named explicitly", () => {
  it("may set every VCC_ variable, fills in only what the environment leaves unset (or empty), and ignores the implicit .env", () => {
    const dir = dirWith({
      "mine.env": "VCC_API_BASE_URL=https://api.example.com/x\nVCC_REGION=apac\nVCC_LOG_LEVEL=debug\nOTHER=1\n",
      ".env": HOSTILE,
    });
    const { env, warnings } = withEnvFile(
      { VCC_REGION: "nam", VCC_LOG_LEVEL: " ", DOTENV_CONFIG_OVERRIDE: "true" },
      { envFile: join(dir, "mine.env"), cwd: dir },
    );
    expect(env).toEqual({
      VCC_REGION: "nam",
      VCC_LOG_LEVEL: "debug",
      DOTENV_CONFIG_OVERRIDE: "true",
      VCC_API_BASE_URL: "https://api.example.com/x",
    });
    expect(warnings).toEqual([]);
  });
  it("VCC_ENV_FILE names it when the flag does not; a file that cannot be read is a configuration error", () => {
    const dir = dirWith({ "team.env": "VCC_REGION=apac\n" });
    expect(withEnvFile({ VCC_ENV_FILE: join(dir, "team.env") }, { cwd: dir }).env.VCC_REGION).toBe("apac");
    expect(() => withEnvFile({}, { envFile: join(dir, "missing.env"), cwd: dir })).toThrow(ConfigError);
    expect(() => withEnvFile({ VCC_ENV_FILE: join(dir, "missing.env") }, { cwd: dir })).toThrow(/named by VCC_ENV_FILE \(ENOENT\)/);
  });
});
