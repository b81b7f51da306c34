// The npm package (issue 19): packed with `npm pack` (once per run, test/setup/packed.ts), installed
// from the tarball alone into an empty directory outside the repository with an empty npm cache and
// no network (`--offline`), and started through npx in sandbox mode, as `npx -y
// vcc-interaction-content-mcp` would start it.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Connected, childEnv, connect, connectCommand, SECRET_TOKEN } from "../helpers/mcp.js";
import { type PackReport, packed } from "../helpers/packed.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string; version: string; bin: Record<string, string> };
const BIN = "vcc-interaction-content-mcp";
/** What a package that runs may hold: the manifest, the readme, the licence, and the esbuild bundle. */
const SHIPPED = /^(package\.json|README\.md|LICENSE|dist\/index\.js|dist\/bundle\.js|dist\/chunks\/[\w-]+\.js)$/;

let dir: string;
let app: string;
let tarball: string;
let report: PackReport;
let npmEnv: Record<string, string>;
const open: Connected[] = [];

function npm(command: "npm" | "npx", args: string[], cwd: string) {
  return spawnSync(command, args, { cwd, env: npmEnv, encoding: "utf8", shell: process.platform === "win32" });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "vcc-package-"));
  // An empty cache and no user configuration: whatever the package needs must be in the tarball.
  npmEnv = childEnv({
    npm_config_cache: join(dir, "npm-cache"),
    npm_config_userconfig: join(dir, "npmrc"),
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
  });
  // Packed once for the run (`npm pack --ignore-scripts`: `npm test` built dist/), shared with mcpb.test.ts.
  ({ tarball, report } = await packed());
  app = join(dir, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }));
  const installed = npm("npm", ["install", "--offline", tarball], app);
  expect(installed.status, installed.stderr).toBe(0);
}, 60_000);
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the npm package", () => {
  it("holds only what runs: no tests, no sources, no source maps", () => {
    const paths = report.files.map((f) => f.path);
    expect(paths.filter((path) => !SHIPPED.test(path))).toEqual([]);
    expect(paths).toContain(pkg.bin[BIN]);
    expect(paths.filter((path) => path.startsWith("dist/chunks/")).length).toBeGreaterThan(0);
  });

  it("holds no secret: no .env or key files, and none of the tests' credentials", () => {
    const installedRoot = join(app, "node_modules", pkg.name);
    for (const path of report.files.map((f) => f.path)) {
      expect(path).not.toMatch(/(^|\/)\.(env|npmrc)|\.(pem|key|p12)$/);
      const text = readFileSync(join(installedRoot, path), "utf8");
      expect(text, path).not.toContain(SECRET_TOKEN);
      expect(text, path).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
    }
  });

  it("is under 500 kB packed", () => {
    expect(report.size).toBeLessThan(500_000);
  });

  it("installs from the tarball alone, offline: it has no runtime dependencies", () => {
    expect(readdirSync(join(app, "node_modules")).filter((name) => !name.startsWith("."))).toEqual([pkg.name]);
    expect(readdirSync(join(app, "node_modules", ".bin"))).toContain(BIN);
  });

  it("starts through npx in sandbox mode: answers initialize and tools/list like the repository's build", async () => {
    const installed = await connectCommand("npx", ["--offline", BIN, "--sandbox"], { env: npmEnv, cwd: app });
    open.push(installed);
    expect(installed.client.getServerVersion()?.version).toBe(pkg.version);
    const { tools } = await installed.client.listTools();

    const built = await connect({ args: ["--sandbox"], cwd: tmpdir() });
    open.push(built);
    const expected = (await built.client.listTools()).tools.map((t) => t.name);
    expect(expected.length).toBeGreaterThan(0);
    expect(tools.map((t) => t.name)).toEqual(expected);
  });

  it("runs straight from the tarball with npx --yes, as `npx -y <package>` does", () => {
    const empty = join(dir, "empty");
    mkdirSync(empty);
    const run = npm("npx", ["--yes", "--offline", "--package", tarball, BIN, "--version"], empty);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });
});
