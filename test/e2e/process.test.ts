// Process hygiene, read at the byte level: stdout carries only JSON-RPC, configuration errors are
// one stderr line, and the process ends cleanly on EOF and signals. Every test is a process of its
// own that waits mostly on its start: they run at once (vitest's maxConcurrency, 5, at a time).
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configReference } from "../../src/config.js";
import { SEED } from "../../src/simulator/seed.js";
import { type Simulator, startSimulator } from "../../src/simulator/server.js";
import { childEnv, SECRET_TOKEN, SECRET_TOKEN_SCOPES, SERVER_ENTRY } from "../helpers/mcp.js";

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ staticTokens: { [SECRET_TOKEN]: SECRET_TOKEN_SCOPES } });
});
afterAll(() => sim.close());

interface Run {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Spawns the server, writes `lines` to stdin, and returns once it exits (or after `endAfterMs`, with the given ending). */
function run(options: {
  env?: Record<string, string>;
  lines?: string[];
  ending?: "eof" | "SIGTERM" | "SIGINT";
  waitForOutputLines?: number;
  cwd?: string;
  args?: string[];
}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER_ENTRY, ...(options.args ?? [])], {
      env: childEnv(options.env),
      cwd: options.cwd ?? tmpdir(),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let ended = false;
    const finish = () => {
      if (ended) return;
      ended = true;
      if (options.ending === "eof" || !options.ending) child.stdin.end();
      else child.kill(options.ending);
    };
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (options.waitForOutputLines !== undefined && stdout.split("\n").filter(Boolean).length >= options.waitForOutputLines) finish();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ stdout, stderr, code, signal }));
    for (const line of options.lines ?? []) child.stdin.write(`${line}\n`);
    if (options.waitForOutputLines === undefined || options.waitForOutputLines === 0) setTimeout(finish, 300);
  });
}

const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});
const initialized = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" });
const call = (id: number, args: Record<string, unknown>) =>
  JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "delete_interaction_content", arguments: args } });

describe.concurrent("stdout is the protocol", () => {
  it("every stdout line is a JSON-RPC message; logs go to stderr; the token appears nowhere", async () => {
    const result = await run({
      env: { VCC_ACCESS_TOKEN: SECRET_TOKEN, VCC_API_BASE_URL: sim.apiBaseUrl, VCC_LOG_LEVEL: "debug" },
      lines: [
        initialize,
        initialized,
        call(2, { guid: SEED.inboundCall, contentKey: "transcript" }),
        call(3, { guid: "bad", contentKey: ".." }),
      ],
      waitForOutputLines: 3,
    });
    const lines = result.stdout.split("\n").filter(Boolean);
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(JSON.parse(line).jsonrpc).toBe("2.0");
    expect(result.stdout).not.toContain(SECRET_TOKEN);
    expect(result.stderr).not.toContain(SECRET_TOKEN);
    expect(result.stderr).toMatch(/ready on stdio/);
    expect(result.code).toBe(0);
  });
});

describe.concurrent("clean exits", () => {
  for (const ending of ["eof", "SIGTERM", "SIGINT"] as const) {
    it(`${ending} ends the process with exit code 0`, async () => {
      const result = await run({ env: { VCC_API_BASE_URL: sim.apiBaseUrl }, lines: [initialize], waitForOutputLines: 1, ending });
      expect(result.code).toBe(0);
      expect(result.stdout.split("\n").filter(Boolean)).toHaveLength(1);
    });
  }
});

// Which settings are refused, and with which words, is decided in process (test/unit/cli.test.ts);
// here, once, that the process acts on a refusal: exit 1, one stderr line, nothing on stdout.
describe("configuration errors", () => {
  it("VCC_REGION=mars → exit 1 with one stderr line naming it, nothing on stdout", async () => {
    const result = await run({ env: { VCC_ACCESS_TOKEN: SECRET_TOKEN, VCC_REGION: "mars" }, lines: [initialize] });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    const lines = result.stderr.split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/VCC_REGION.*emea, nam, apac/);
    expect(result.stderr).not.toContain(SECRET_TOKEN);
  });

  it("an audit log that cannot be written → exit 1 at start (not after a person approved), one stderr line, nothing on stdout", async () => {
    const path = join(tmpdir(), `vcc-no-such-dir-${process.pid}`, "audit.jsonl");
    const result = await run({ env: { VCC_ACCESS_TOKEN: SECRET_TOKEN, VCC_AUDIT_LOG: path }, lines: [initialize] });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    const lines = result.stderr.split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`configuration error: the audit log VCC_AUDIT_LOG=${path} cannot be written (ENOENT)`);
  });
});

describe.concurrent("the start-up line", () => {
  const readyLine = (stderr: string) => stderr.split("\n").find((line) => line.includes("ready on stdio")) ?? "";
  it("names incomplete credentials as such; the sandbox does not warn about a token nobody set", async () => {
    const half = await run({ env: { VCC_CLIENT_SECRET: "half-a-pair-of-credentials" }, lines: [initialize], waitForOutputLines: 1 });
    expect(readyLine(half.stderr)).toContain("auth: incomplete: VCC_CLIENT_SECRET is set but VCC_CLIENT_ID is not");
    expect(half.stderr).not.toContain("half-a-pair-of-credentials");
    const sandbox = await run({
      args: ["--sandbox"],
      env: { VCC_CLIENT_ID: "an-id", VCC_CLIENT_SECRET: "a-secret" },
      lines: [initialize],
      waitForOutputLines: 1,
    });
    expect(readyLine(sandbox.stderr)).toContain("SANDBOX");
    expect(sandbox.stderr).not.toMatch(/VCC_ACCESS_TOKEN is set/);
  });
});

describe.concurrent("command line", () => {
  it("--help prints the usage on stdout (no protocol has started); an unknown option is an error on stderr", async () => {
    const help = await run({ args: ["--help"] });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^vcc-interaction-content-mcp: .*\n\nUsage: /s);
    expect(help.stdout).toMatch(/--env-file <path>/);
    // The variable list comes from the configuration schema: every variable is there.
    for (const v of configReference()) expect(help.stdout, v.name).toContain(`    ${v.name} `);
    expect(help.stderr).toBe("");
    const wrong = await run({ args: ["--frobnicate"] });
    expect(wrong.code).toBe(2);
    expect(wrong.stdout).toBe("");
    expect(wrong.stderr).toMatch(/unknown option --frobnicate \(try --help\)/);
  });
});

describe.concurrent("env files", () => {
  const listCall = JSON.stringify({
    jsonrpc: "2.0",
    id: 2,
    method: "tools/call",
    params: { name: "list_interaction_content", arguments: { guid: SEED.inboundCall } },
  });
  const dirWith = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), "vcc-env-"));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };
  const readyLine = (stderr: string) => stderr.split("\n").find((line) => line.includes("ready on stdio")) ?? "";

  it("a hostile .env in the working directory cannot choose where requests and credentials go", async () => {
    const attacker = await startSimulator();
    try {
      const dir = dirWith({
        ".env": [
          `VCC_API_BASE_URL=${attacker.apiBaseUrl}`,
          `VCC_AUTH_URL=${attacker.apiBaseUrl.replace(/\/interaction-content$/, "")}/Auth/connect/token`,
          "VCC_REGION=nam",
          "VCC_SANDBOX=true",
          "VCC_CONFIRMATION=token",
          "VCC_ACCESS_TOKEN=attackers-own-token-0123456789",
          "NODE_TLS_REJECT_UNAUTHORIZED=0",
          "",
        ].join("\n"),
      });
      const result = await run({
        cwd: dir,
        env: { VCC_CLIENT_ID: "user-client", VCC_CLIENT_SECRET: "user-client-secret-5f2a", DOTENV_CONFIG_OVERRIDE: "true" },
        lines: [initialize],
        waitForOutputLines: 1,
      });
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(/ignored VCC_API_BASE_URL, VCC_AUTH_URL, VCC_REGION, VCC_SANDBOX, VCC_CONFIRMATION in \.\/\.env/);
      expect(result.stderr).toMatch(/ignored the credentials in \.\/\.env: the environment sets VCC_CLIENT_ID, VCC_CLIENT_SECRET/);
      expect(result.stderr).not.toContain("NODE_TLS_REJECT_UNAUTHORIZED");
      const ready = readyLine(result.stderr);
      expect(ready).toMatch(/API https:\/\/emea\.api\.newvoicemedia\.com\/interaction-content, confirmation auto/);
      expect(ready).toMatch(/client credentials via .*emea\.cc\.vonage\.com/);
      expect(ready).not.toMatch(/SANDBOX|127\.0\.0\.1/);
      expect(attacker.journal).toHaveLength(0);
    } finally {
      await attacker.close();
    }
  });

  it("a .env in the working directory still supplies credentials", async () => {
    const dir = dirWith({ ".env": `VCC_ACCESS_TOKEN=${SECRET_TOKEN}\n` });
    const result = await run({
      cwd: dir,
      env: { VCC_API_BASE_URL: sim.apiBaseUrl },
      lines: [initialize, initialized, listCall],
      waitForOutputLines: 2,
    });
    const answer = JSON.parse(result.stdout.split("\n").filter(Boolean)[1] ?? "{}");
    expect(answer.result.isError).not.toBe(true);
    expect(answer.result.structuredContent.guid).toBe(SEED.inboundCall);
    expect(result.stderr).not.toMatch(/ignored/);
  });

  for (const how of ["--env-file", "VCC_ENV_FILE"] as const) {
    it(`a file named with ${how} may set everything; the environment still wins, whatever DOTENV_CONFIG_OVERRIDE says`, async () => {
      const dir = dirWith({ "vcc.env": `VCC_API_BASE_URL=${sim.apiBaseUrl}\nVCC_ACCESS_TOKEN=${SECRET_TOKEN}\nVCC_CONFIRMATION=mars\n` });
      const file = join(dir, "vcc.env");
      const result = await run({
        cwd: tmpdir(),
        args: how === "--env-file" ? ["--env-file", file] : [],
        env: { VCC_CONFIRMATION: "token", DOTENV_CONFIG_OVERRIDE: "true", ...(how === "VCC_ENV_FILE" ? { VCC_ENV_FILE: file } : {}) },
        lines: [initialize, initialized, listCall],
        waitForOutputLines: 2,
      });
      const answer = JSON.parse(result.stdout.split("\n").filter(Boolean)[1] ?? "{}");
      expect(answer.result.structuredContent.guid).toBe(SEED.inboundCall);
      expect(readyLine(result.stderr)).toMatch(/confirmation token/);
    });
  }

  it("a named env file that cannot be read stops the start with one line", async () => {
    // With --env-file, Node 20 itself already refuses a missing file (exit 9), even after the script's name.
    const result = await run({ env: { VCC_ENV_FILE: join(tmpdir(), "no-such-dir-vcc", "x.env") }, lines: [initialize] });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr.split("\n").filter(Boolean)).toEqual([
      expect.stringMatching(/configuration error: cannot read the env file '.*x\.env' named by VCC_ENV_FILE \(ENOENT\)/),
    ]);
  });
});
