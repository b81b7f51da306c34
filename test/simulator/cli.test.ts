// The simulator's command line, as a user runs it: the built dist/simulator/cli.js in its own process.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { SEED } from "../../src/simulator/seed.js";
import { childEnv } from "../helpers/mcp.js";
import { send } from "../helpers/raw-api.js";

const CLI = fileURLToPath(new URL("../../dist/simulator/cli.js", import.meta.url));

interface Running {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
}

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

function run(args: string[]): { child: ChildProcess; stdout: () => string; stderr: () => string } {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const child = spawn(process.execPath, [CLI, ...args], { env: childEnv(), stdio: ["ignore", "pipe", "pipe"] });
  started.push(child);
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString("utf8");
  });
  return { child, stdout: () => out, stderr: () => err };
}

async function start(args: string[] = []): Promise<Running> {
  const proc = run(["--port", "0", ...args]);
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const match = proc.stdout().match(/http:\/\/127\.0\.0\.1:\d+/);
      if (match) resolve(match[0]);
    };
    proc.child.stdout?.on("data", check);
    proc.child.once("exit", (code) => reject(new Error(`simulator exited (${code}) before printing its URL: ${proc.stderr()}`)));
  });
  return { ...proc, url };
}

async function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
  const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
  return { code, signal };
}

describe("npm run simulator", () => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`prints its URL, answers requests, and exits 0 on ${signal}`, async () => {
      const sim = await start();
      expect(sim.stdout()).toContain(`listening on ${sim.url}`);
      expect(sim.stdout()).toContain(`${sim.url}/interaction-content`);
      const res = await send(`${sim.url}/interaction-content`, `/interactions/${SEED.inboundCall}/content/callRecording`, {
        method: "DELETE",
      });
      expect(res.status).toBe(204);
      const again = await send(`${sim.url}/interaction-content`, `/interactions/${SEED.inboundCall}/content/callRecording`, {
        method: "DELETE",
      });
      expect(again.status).toBe(404);
      sim.child.kill(signal);
      expect(await exitOf(sim.child)).toEqual({ code: 0, signal: null });
      // Each request was logged to stderr, without the token.
      expect(sim.stderr()).toMatch(/DELETE \/interaction-content\/interactions\/\S+\/content\/callRecording \[delete-content\] → 204/);
      expect(sim.stderr()).toMatch(/→ 404/);
      expect(sim.stderr()).not.toContain("sandbox-token");
    });
  }

  it("--fail-next and --fault-route inject faults from the command line", async () => {
    const sim = await start(["--fail-next", "429,500:html,drop-after", "--fault-route", "delete-content", "--retry-after", "3", "--quiet"]);
    const base = `${sim.url}/interaction-content`;
    expect((await send(base, `/interactions/${SEED.inboundCall}`)).status).toBe(200);
    const path = `/interactions/${SEED.inboundCall}/content/transcript`;
    const first = await send(base, path, { method: "DELETE" });
    expect([first.status, first.headers["retry-after"]]).toEqual([429, "3"]);
    const second = await send(base, path, { method: "DELETE" });
    expect([second.status, second.headers["content-type"]]).toEqual([500, "text/html; charset=utf-8"]);
    await expect(send(base, path, { method: "DELETE" })).rejects.toThrow();
    expect((await send(base, path, { method: "DELETE" })).status).toBe(404);
    expect(sim.stderr()).toBe("");
    sim.child.kill("SIGTERM");
    expect((await exitOf(sim.child)).code).toBe(0);
  });

  it("--rate-limit answers 429 with Retry-After beyond n requests a second", async () => {
    const sim = await start(["--rate-limit", "1", "--quiet"]);
    // Sequential requests until one is limited: only a machine taking over a second per request
    // could avoid it, so the loop is bounded generously rather than timed.
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof send>> | undefined;
    while (!limited && statuses.length < 50) {
      const res = await send(`${sim.url}/interaction-content`, "/interactions?start=2026-11-21T00:00:00Z&end=2026-11-28T00:00:00Z");
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(statuses[0]).toBe(200);
    expect(limited?.headers["retry-after"]).toBe("1");
    expect(limited?.json().message).toMatch(/Too many requests/);
    sim.child.kill("SIGINT");
    expect((await exitOf(sim.child)).code).toBe(0);
  });

  it("bad options: a clear message and exit code 2, nothing listening", async () => {
    for (const args of [
      ["--port", "abc"],
      ["--port", "70000"],
      ["--fail-next", "teapot"],
      ["--fault-route", "everything"],
      ["--no-such-flag"],
      ["--rate-limit", "0"],
    ]) {
      const proc = run(args);
      expect((await exitOf(proc.child)).code, args.join(" ")).toBe(2);
      expect(proc.stderr()).toMatch(/^simulator: /);
      expect(proc.stderr()).toContain("Usage: npm run simulator");
      expect(proc.stdout()).toBe("");
    }
  });

  it("--help prints the usage and exits 0", async () => {
    const proc = run(["--help"]);
    expect((await exitOf(proc.child)).code).toBe(0);
    expect(proc.stdout()).toContain("--fail-next");
  });
});
