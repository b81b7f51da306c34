// The MCP project's own conformance suite (@modelcontextprotocol/conformance, pinned) against the
// built server over Streamable HTTP, on the scenarios that apply to a server with its own tools.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { type HttpServer, startHttpServer } from "../helpers/http.js";
import { type Finished, runNode } from "../helpers/mcp.js";

const SCENARIOS = ["server-initialize", "ping", "tools-list", "server-sse-multiple-streams", "dns-rebinding-protection"];

function conformanceCli(): string {
  const pkgPath = createRequire(import.meta.url).resolve("@modelcontextprotocol/conformance/package.json");
  const pkg = JSON.parse(readFileSync(pkgPath, "utf8")) as { bin: Record<string, string> };
  return join(dirname(pkgPath), pkg.bin.conformance ?? "dist/index.js");
}

function runScenario(url: string, scenario: string): Promise<Finished> {
  // In a temporary directory (runNode's default), so that nothing the suite might write lands in the repository.
  return runNode([conformanceCli(), "server", "--url", url, "--scenario", scenario], { env: { NO_COLOR: "1" } });
}

let server: HttpServer;
beforeAll(async () => {
  // No credentials and a dead API address: the scenarios never call the tool, and if one did, nothing could leave.
  server = await startHttpServer({ env: { VCC_API_BASE_URL: "http://127.0.0.1:9/interaction-content" } });
});
afterAll(async () => {
  await server.stop();
});

// The scenarios run at once (each is a process of its own with its own sessions, against the one
// server): most of each run is the CLI's start, which waits on nothing the others do.
describe.concurrent("MCP conformance suite 0.1.13 over Streamable HTTP", () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario} passes with no failures or warnings`, async ({ expect }) => {
      const { code, stdout, stderr } = await runScenario(server.url, scenario);
      const output = stdout + stderr;
      expect(output).toMatch(/Passed: (\d+)\/\1, 0 failed, 0 warnings/);
      expect(code, output).toBe(0);
    });
  }
});
