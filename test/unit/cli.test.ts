// What a start decides from its flags and configuration (src/cli.ts), in process: every refusal is
// one stderr line with its exit code and nothing on stdout, and names no secret. That the process
// acts on the decision (streams, exit codes) is checked by spawning the built server, once per kind,
// in test/e2e/process.test.ts and test/e2e/http.test.ts.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decideStartup, type Startup } from "../../src/cli.js";
import { configReference } from "../../src/config.js";
import { SECRET_TOKEN } from "../helpers/mcp.js";

/** An empty working directory: no implicit .env is found there. */
const emptyDir = mkdtempSync(join(tmpdir(), "vcc-cli-"));
const decide = (args: string[], env: Record<string, string> = {}, cwd = emptyDir): Startup =>
  decideStartup(args, { HOME: "/tmp", ...env }, cwd, () => "9.9.9");

function refusal(startup: Startup): { code: number; line: string; stderr: string } {
  if (startup.kind !== "exit") throw new Error(`expected a refusal, got a start (${startup.kind})`);
  expect(startup.stdout ?? "").toBe("");
  const lines = (startup.stderr ?? "").split("\n").filter(Boolean);
  expect(lines).toHaveLength(1);
  return { code: startup.code, line: lines[0] ?? "", stderr: startup.stderr ?? "" };
}

describe("configuration errors: exit 1, one stderr line naming the setting", () => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ["VCC_REGION=mars", [], { VCC_REGION: "mars" }, /configuration error: .*VCC_REGION.*emea, nam, apac/],
    ["VCC_API_BASE_URL not a URL", [], { VCC_API_BASE_URL: "not a url" }, /VCC_API_BASE_URL/],
    ["VCC_TIMEOUT_MS=soon", [], { VCC_TIMEOUT_MS: "soon" }, /VCC_TIMEOUT_MS.*whole number/],
    ["VCC_CONFIRMATION=maybe", [], { VCC_CONFIRMATION: "maybe" }, /VCC_CONFIRMATION.*auto, elicitation, token/],
    ["VCC_CONFIRMATION_TTL_SECONDS=-5", [], { VCC_CONFIRMATION_TTL_SECONDS: "-5" }, /VCC_CONFIRMATION_TTL_SECONDS/],
    ["a non-loopback --host without a bearer", ["--http", "--host", "0.0.0.0"], {}, /VCC_HTTP_BEARER.*VCC_HTTP_HOST.*0\.0\.0\.0/],
    ["VCC_HTTP_HOST beyond loopback without a bearer", [], { VCC_TRANSPORT: "http", VCC_HTTP_HOST: "192.0.2.10" }, /VCC_HTTP_BEARER/],
    ["a port out of range", ["--http", "--port", "70000"], {}, /VCC_HTTP_PORT \(--port\).*0 to 65535/],
    ["a bad host", ["--http", "--host", "not a host"], {}, /VCC_HTTP_HOST \(--host\)/],
    ["a short bearer", ["--http"], { VCC_HTTP_BEARER: "short-secret" }, /VCC_HTTP_BEARER must be at least 16 characters/],
    ["an unknown transport", [], { VCC_TRANSPORT: "websocket" }, /VCC_TRANSPORT.*stdio, http/],
    ["a zero idle timeout", ["--http"], { VCC_HTTP_SESSION_IDLE_SECONDS: "0" }, /VCC_HTTP_SESSION_IDLE_SECONDS/],
  ];
  for (const [label, args, env, pattern] of cases) {
    it(label, () => {
      const { code, line, stderr } = refusal(decide(args, { VCC_ACCESS_TOKEN: SECRET_TOKEN, ...env }));
      expect(code).toBe(1);
      expect(line).toMatch(/^vcc-interaction-content-mcp: configuration error: /);
      expect(line).toMatch(pattern);
      expect(stderr).not.toContain(SECRET_TOKEN);
      expect(stderr).not.toContain("short-secret");
    });
  }
});

describe("usage errors: exit 2, one stderr line that points to --help", () => {
  const cases: [string, string[], RegExp][] = [
    ["an unknown flag", ["--htp"], /unknown option --htp \(try --help\)/],
    ["an unknown command", ["frobnicate"], /unknown command 'frobnicate' \(try --help\)/],
    ["a flag without its value", ["--port"], /--port.*\(try --help\)/],
    ["--port without --http", ["--port", "4000"], /--port and --host apply to the HTTP transport: add --http/],
    ["--host without --http", ["--host", "127.0.0.1"], /--port and --host apply to the HTTP transport/],
  ];
  for (const [label, args, pattern] of cases) {
    it(label, () => {
      const { code, line } = refusal(decide(args, { VCC_ACCESS_TOKEN: SECRET_TOKEN }));
      expect(code).toBe(2);
      expect(line).toMatch(pattern);
    });
  }
});

describe("what is asked for before any protocol starts goes to stdout", () => {
  it("--help: the usage and every variable of the configuration schema, nothing on stderr", () => {
    const help = decide(["--help"]);
    if (help.kind !== "exit") throw new Error("--help started something");
    expect(help.code).toBe(0);
    expect(help.stderr).toBeUndefined();
    expect(help.stdout).toMatch(/^vcc-interaction-content-mcp: .*\n\nUsage: /s);
    expect(help.stdout).toMatch(/--env-file <path>/);
    for (const v of configReference()) expect(help.stdout, v.name).toContain(`    ${v.name} `);
    // It fits a terminal of 100 columns: the variable list is wrapped to that width.
    for (const line of (help.stdout ?? "").split("\n")) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  it("--version, even with a configuration that would be refused", () => {
    expect(decide(["--version"], { VCC_REGION: "mars" })).toEqual({ kind: "exit", code: 0, stdout: "9.9.9\n" });
  });
});

describe("what starts", () => {
  it("flags win over the environment", () => {
    const startup = decide(["--http", "--port", "0", "--read-only", "--sandbox"], { VCC_TRANSPORT: "stdio", VCC_HTTP_PORT: "4000" });
    if (startup.kind !== "serve") throw new Error(`expected a start, got ${startup.kind}`);
    expect(startup.config.transport).toBe("http");
    expect(startup.config.controls.readOnly).toBe(true);
    expect(startup.config.sandbox).toBe(true);
  });

  it("the passkey command gets its own arguments and the configuration", () => {
    const startup = decide(["passkey", "remove", "abc"], { VCC_ACCESS_TOKEN: SECRET_TOKEN });
    if (startup.kind !== "passkey") throw new Error(`expected the passkey command, got ${startup.kind}`);
    expect(startup.args).toEqual(["remove", "abc"]);
  });

  it("a VCC_ variable that is no setting (a typo, also in an env file) is warned about with the nearest name, its value never shown", () => {
    const dir = mkdtempSync(join(tmpdir(), "vcc-cli-env-"));
    writeFileSync(join(dir, "vcc.env"), "VCC_REGOIN=nam\n");
    const startup = decide(["--env-file", join(dir, "vcc.env")], { VCC_CLIENT_SECERT: SECRET_TOKEN, VCC_FOO: "1", OTHER: "x" });
    if (startup.kind !== "serve") throw new Error(`expected a start, got ${startup.kind}`);
    const said = startup.envFileWarnings.join("\n");
    expect(said).toContain("VCC_REGOIN is not a setting of this server, so it is ignored. Did you mean VCC_REGION?");
    expect(said).toContain("VCC_CLIENT_SECERT is not a setting of this server, so it is ignored. Did you mean VCC_CLIENT_SECRET?");
    expect(said).toContain("VCC_FOO is not a setting of this server, so it is ignored. See configuration.md");
    expect(said).not.toContain(SECRET_TOKEN);
    expect(said).not.toContain("OTHER");
    expect(
      decide([], { VCC_REGION: "nam" }).kind === "serve" &&
        (decide([], { VCC_REGION: "nam" }) as { envFileWarnings: string[] }).envFileWarnings,
    ).toEqual([]);
  });

  it("an implicit .env in the working directory is read from the directory given, for credentials only", () => {
    const dir = mkdtempSync(join(tmpdir(), "vcc-cli-env-"));
    writeFileSync(join(dir, ".env"), `VCC_ACCESS_TOKEN=${SECRET_TOKEN}\nVCC_API_BASE_URL=http://attacker.example/\n`);
    const startup = decide([], {}, dir);
    if (startup.kind !== "serve") throw new Error(`expected a start, got ${startup.kind}`);
    expect(startup.config.api.accessToken).toBe(SECRET_TOKEN);
    expect(startup.config.api.baseUrl).not.toContain("attacker");
    expect(startup.envFileWarnings.join("\n")).toMatch(/VCC_API_BASE_URL/);
  });
});
