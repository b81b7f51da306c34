// The shipped bin is an esbuild bundle (issue 9): it must run on its own, without node_modules, and
// must not load what only a tool call needs (the HTTP client, undici) before `initialize` is
// answered. How fast it starts is measured by `npm run bench`, never asserted here.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Metafile } from "esbuild";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { bundle } from "../../scripts/bundle.mjs";
import { SEED } from "../../src/simulator/seed.js";
import { type Simulator, startSimulator } from "../../src/simulator/server.js";
import { type Connected, childEnv, connect, SECRET_TOKEN, SECRET_TOKEN_SCOPES, SERVER_ENTRY, structured, textOf } from "../helpers/mcp.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const recorder = fileURLToPath(new URL("../helpers/record-loads.mjs", import.meta.url));

let dir: string;
let entry: string;
let metafile: Metafile;
let sim: Simulator;
const open: Connected[] = [];

beforeAll(async () => {
  // A fresh build with the project's own options, in a directory with no node_modules anywhere above it.
  dir = mkdtempSync(join(tmpdir(), "vcc-bundle-"));
  metafile = await bundle({ outdir: join(dir, "dist"), logLevel: "silent" });
  copyFileSync(join(root, "package.json"), join(dir, "package.json"));
  entry = join(dir, "dist/index.js");
  sim = await startSimulator({ staticTokens: { [SECRET_TOKEN]: SECRET_TOKEN_SCOPES } });
});
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
  sim.reset();
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

const env = () => ({ VCC_ACCESS_TOKEN: SECRET_TOKEN, VCC_API_BASE_URL: sim.apiBaseUrl, VCC_CONFIRMATION: "token" });

/** Names of the bundle's files that contain any input matching `test`. */
function filesContaining(test: (input: string) => boolean): string[] {
  return Object.entries(metafile.outputs)
    .filter(([, output]) => Object.keys(output.inputs).some(test))
    .map(([path]) => basename(path));
}

describe("the shipped bundle", () => {
  it("is what the package's bin and the tests run", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { bin: Record<string, string> };
    expect(SERVER_ENTRY).toBe(join(root, pkg.bin["vcc-interaction-content-mcp"] ?? ""));
    expect(pkg.bin["vcc-interaction-content-mcp"]).toBe("dist/index.js");
    expect(Object.keys(metafile.outputs).map((p) => basename(p))).toContain("bundle.js");
  });

  it("runs without node_modules: lists its tools, validates input, deletes after confirmation", async () => {
    expect(existsSync(join(dir, "node_modules"))).toBe(false);
    const c = await connect({ entry, cwd: dir, env: env() });
    open.push(c);
    const { tools } = await c.client.listTools();
    const del = tools.find((t) => t.name === "delete_interaction_content");
    expect(del?.inputSchema.properties?.guid).toMatchObject({ type: "string", minLength: 36, maxLength: 36 });
    expect(tools.map((t) => t.name)).toContain("list_interaction_content");

    const bad = await c.call("delete_interaction_content", { guid: "not-a-guid", contentKey: "callRecording" });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toMatch(/36-character/);

    const item = { guid: SEED.inboundCall, contentKey: "transcript" };
    const asked = await c.call("delete_interaction_content", item);
    expect(structured(asked).status).toBe("confirmation_required");
    const done = await c.call("delete_interaction_content", { ...item, confirmationToken: structured(asked).confirmationToken });
    expect(structured(done)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(sim.requests("DELETE", "delete-content").map((e) => e.path)).toEqual([
      `/interaction-content/interactions/${SEED.inboundCall}/content/transcript`,
    ]);
  });

  it("--version reads the package.json next to it, and prints it on stdout", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    const run = spawnSync(process.execPath, [entry, "--version"], { env: childEnv(), encoding: "utf8" });
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
    expect(run.stderr).toBe("");
  });

  it("loads the HTTP client (undici) only on the first tool call, not before initialize", async () => {
    const lazy = filesContaining((input) => input.startsWith("node_modules/undici/") || input === "src/vcc/client.ts");
    expect(lazy.length).toBeGreaterThan(0);
    const log = join(dir, "loads.txt");
    const loaded = () =>
      existsSync(log)
        ? readFileSync(log, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((url) => basename(fileURLToPath(url)))
        : [];

    const c = await connect({ entry, cwd: dir, env: { ...env(), NODE_OPTIONS: `--import=${recorder}`, RECORD_LOADS_TO: log } });
    open.push(c);
    await c.client.listTools();
    const atStart = loaded();
    expect(atStart).toContain("bundle.js"); // the recorder works
    expect(atStart.filter((file) => lazy.includes(file))).toEqual([]);

    const listed = await c.call("list_interaction_content", { guid: SEED.inboundCall });
    expect(listed.isError).toBeFalsy();
    expect(loaded().filter((file) => lazy.includes(file)).length).toBeGreaterThan(0);
  });
});
