// A server whose stderr reader went away (the client closed the pipe) keeps working: logging drops
// its lines instead of throwing, so nothing loops at full CPU. Over stdio it keeps answering and ends
// on stdin EOF; over HTTP it keeps answering and ends on SIGTERM.
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SEED } from "../../src/simulator/seed.js";
import { type Simulator, startSimulator } from "../../src/simulator/server.js";
import { type HttpServer, INITIALIZE, rawRequest, startHttpServer } from "../helpers/http.js";
import { SECRET_TOKEN, SECRET_TOKEN_SCOPES } from "../helpers/mcp.js";
import { RawServer } from "../helpers/raw.js";

const chaos = fileURLToPath(new URL("../fixtures/chaos.mjs", import.meta.url));
/** Long enough for a loaded machine, far shorter than a server spinning forever would need. */
const PROMPTLY_MS = 8_000;

let sim: Simulator;
const spawned: { kill(signal: NodeJS.Signals): boolean }[] = [];
beforeAll(async () => {
  sim = await startSimulator({ staticTokens: { [SECRET_TOKEN]: SECRET_TOKEN_SCOPES } });
});
afterAll(() => sim.close());
// A server that hangs would otherwise outlive the test.
afterEach(() => {
  for (const child of spawned.splice(0)) child.kill("SIGKILL");
});

const env = { VCC_ACCESS_TOKEN: SECRET_TOKEN, VCC_LOG_LEVEL: "debug" };

describe("stderr closed by the client", () => {
  it("stdio: answers every request after stderr is gone, logs an uncaught exception into the void, and ends on stdin EOF", async () => {
    const server = new RawServer({ ...env, VCC_API_BASE_URL: sim.apiBaseUrl }, { nodeArgs: ["--import", chaos] });
    spawned.push(server.child);
    await server.initialize();
    await server.until(() => /ready on stdio/.test(server.stderr), "the ready line");
    server.child.stderr.destroy();

    // Debug logging writes a line for this call, and the preloaded chaos throws an exception nobody catches.
    server.child.kill("SIGUSR2");
    server.send({ id: 1, method: "tools/list" });
    expect((await server.waitForResponse(1, PROMPTLY_MS)).result.tools.length).toBeGreaterThan(1);
    server.send({ id: 2, method: "tools/call", params: { name: "list_interaction_content", arguments: { guid: SEED.inboundCall } } });
    const listed = await server.waitForResponse(2, PROMPTLY_MS);
    expect(listed.result.isError).not.toBe(true);
    server.send({ id: 3, method: "ping" });
    expect((await server.waitForResponse(3, PROMPTLY_MS)).result).toEqual({});

    server.child.stdin.end();
    await server.until(() => server.child.exitCode !== null, "the exit after stdin EOF", PROMPTLY_MS);
    expect(server.child.exitCode).toBe(0);
  });

  it("HTTP: keeps serving sessions after stderr is gone, and SIGTERM ends it with exit code 0", async () => {
    const server: HttpServer = await startHttpServer({
      env: { ...env, VCC_API_BASE_URL: sim.apiBaseUrl },
      args: ["--http", "--port", "0"],
    });
    spawned.push(server.child);
    server.child.stderr?.destroy();

    // Each new session writes a log line: the first one after stderr is gone fails with EPIPE.
    for (let i = 0; i < 3; i++) {
      const started = await rawRequest(server.url, { body: INITIALIZE });
      expect(started.status).toBe(200);
      expect(started.headers["mcp-session-id"]).toBeTruthy();
    }
    const exit = await Promise.race([
      server.stop("SIGTERM"),
      new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), PROMPTLY_MS).unref()),
    ]);
    expect(exit).toEqual({ code: 0, signal: null });
  });
});
