// The MCP project's own conformance suite (@modelcontextprotocol/conformance, pinned) against the
// built server over Streamable HTTP, on the scenarios that apply to a server with its own tools.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpServer, startHttpServer } from "../helpers/http.js";
import { type Finished, runNode } from "../helpers/mcp.js";

const SCENARIOS = ["server-initialize", "ping", "tools-list", "server-sse-multiple-streams", "dns-rebinding-protection"];

function conformanceCli(): string {
  const pkgPath = createRequire(import.meta.url).resolve("@modelcontextprotocol/conformance/package.json");
  const pkg = JSON.parse(readFileSync(pkgPath, "utf8")) as { bin: Record<string, string> };
  return join(dirname(pkgPath), pkg.bin.conformance ?? "dist/index.js");
}

let server: HttpServer;
let outputDir: string;
let run: Finished;
beforeAll(async () => {
  // No credentials and a dead API address: the scenarios never call the tool, and if one did, nothing could leave.
  server = await startHttpServer({ env: { VCC_API_BASE_URL: "http://127.0.0.1:9/interaction-content" } });
  // One run of the suite's active scenarios, in one process (each scenario as a process of its own
  // cost about 1.3 s of CPU, most of it the CLI's start). It writes each scenario's checks to a
  // directory of its own; the scenarios that need tools, prompts or resources this server does not
  // have fail there, and are not read.
  outputDir = mkdtempSync(join(tmpdir(), "vcc-conformance-"));
  run = await runNode([conformanceCli(), "server", "--url", server.url, "--output-dir", outputDir], { env: { NO_COLOR: "1" } });
});
afterAll(async () => {
  await server.stop();
  rmSync(outputDir, { recursive: true, force: true });
});

interface Check {
  id: string;
  status: string;
}

/** The checks the suite recorded for `scenario` (its directory is `server-<scenario>-<time>`). */
function checksOf(scenario: string): Check[] {
  const dirs = readdirSync(outputDir).filter((d) => d.startsWith(`server-${scenario}-`));
  if (dirs.length !== 1) throw new Error(`no result of ${scenario} in the suite's output:\n${run.stdout}${run.stderr}`);
  return JSON.parse(readFileSync(join(outputDir, dirs[0] as string, "checks.json"), "utf8")) as Check[];
}

describe("MCP conformance suite 0.1.13 over Streamable HTTP", () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario} passes with no failures or warnings`, () => {
      const checks = checksOf(scenario);
      expect(checks.length).toBeGreaterThan(0);
      expect(
        checks.filter((c) => c.status !== "SUCCESS"),
        JSON.stringify(checks, null, 2),
      ).toEqual([]);
      // The summary line the CLI prints for it agrees.
      expect(run.stdout + run.stderr).toMatch(new RegExp(`✓ ${scenario}: ${checks.length} passed, 0 failed`));
    });
  }
});
