// The Claude Desktop bundle (issue 19): built as `npm run bundle:mcpb` builds it, validated by the mcpb
// CLI, unpacked by the mcpb library, and started the way Claude Desktop starts it: the manifest's own
// mcp_config with the user's settings substituted by the mcpb library's getMcpConfigForManifest (the
// code Claude Desktop uses), in sandbox mode.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { getMcpConfigForManifest, type McpbManifestAny, type McpbUserConfigValues, unpackExtension } from "@anthropic-ai/mcpb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildMcpb, distFiles, type Manifest, mcpb, summary, USER_CONFIG_ENV } from "../../scripts/mcpb.mjs";
import { SEED } from "../../src/simulator/seed.js";
import { type Connected, childEnv, connectCommand, structured } from "../helpers/mcp.js";
import { packed } from "../helpers/packed.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string; version: string; engines: { node: string } };
const SECRET = "mcpb-test-client-secret-4b7e91";

let out: string;
let unpacked: string;
let manifest: Manifest;
/** The server's files as npm packs them (the run's one `npm pack`, test/setup/packed.ts; `npm run bundle:mcpb` asks `npm pack --dry-run`). */
let server: string[];
const open: Connected[] = [];

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), "vcc-mcpb-"));
  server = distFiles((await packed()).report);
  const built = await buildMcpb(out, server);
  unpacked = join(out, "unpacked");
  // The mcpb library's unpack (what `mcpb unpack` runs), in this process: a CLI process less.
  expect(await unpackExtension({ mcpbPath: built.file, outputDir: unpacked, silent: true })).toBe(true);
  manifest = JSON.parse(readFileSync(join(unpacked, "manifest.json"), "utf8")) as Manifest;
}, 60_000);
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Every file under `dir`, relative, with forward slashes. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join("/"))
    .sort();
}

/** The command Claude Desktop runs for these settings (undefined while a required one is missing). */
function mcpConfig(userConfig: McpbUserConfigValues) {
  return getMcpConfigForManifest({
    manifest: manifest as unknown as McpbManifestAny,
    extensionPath: unpacked,
    systemDirs: {},
    userConfig,
    pathSeparator: sep,
  });
}

/** Starts the unpacked bundle as Claude Desktop would, with these settings, in sandbox mode (unless `asSet`: as the settings say). */
async function startFromBundle(userConfig: McpbUserConfigValues, asSet = false): Promise<Connected> {
  const config = await mcpConfig(userConfig);
  if (!config) throw new Error("the manifest's mcp_config was not usable with these settings");
  // Claude Desktop runs "node" with the Node it ships; the test runs it with its own.
  const command = config.command === "node" ? process.execPath : config.command;
  const env = asSet ? (config.env ?? {}) : { ...config.env, VCC_SANDBOX: "true" };
  const c = await connectCommand(command, config.args ?? [], { env: childEnv(env), cwd: tmpdir() });
  open.push(c);
  return c;
}

const credentials = { client_id: "mcpb-test-client", client_secret: SECRET };

describe("the Claude Desktop bundle (.mcpb)", () => {
  it("passes mcpb validate", () => {
    expect(mcpb(["validate", join(unpacked, "manifest.json")])).toMatch(/validation passes/i);
  });

  it("holds the server as the single esbuild bundle the npm package runs: no node_modules, no source maps", () => {
    const files = server.map((file) => `server/${file.slice("dist/".length)}`);
    expect(filesUnder(unpacked)).toEqual(["LICENSE", "manifest.json", "package.json", ...files].sort());
    expect(manifest.server).toMatchObject({ type: "node", entry_point: "server/index.js" });
  });

  it("is manifest version 0.3 for this package's name and version, and needs Node as package.json says", () => {
    expect(manifest).toMatchObject({ manifest_version: "0.3", name: pkg.name, version: pkg.version });
    expect(manifest.compatibility.runtimes.node).toBe(pkg.engines.node);
  });

  it("passes every setting as an environment variable, never as an argument; only the client secret is sensitive", () => {
    const { args, env } = manifest.server.mcp_config;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the MCPB placeholder for the bundle's directory.
    expect(args).toEqual(["${__dirname}/server/index.js"]);
    expect(Object.keys(manifest.user_config).sort()).toEqual([
      "allowed_content_keys",
      "audit_log",
      "client_id",
      "client_secret",
      "confirmation",
      "dry_run",
      "read_only",
      "region",
      "sandbox",
    ]);
    for (const key of Object.keys(manifest.user_config)) expect(env[USER_CONFIG_ENV[key] ?? "unmapped"]).toBe(`\${user_config.${key}}`);
    expect(Object.keys(env).sort()).toEqual(Object.values(USER_CONFIG_ENV).sort());
    const sensitive = Object.entries(manifest.user_config).filter(([, option]) => option.sensitive);
    expect(sensitive.map(([key]) => key)).toEqual(["client_secret"]);
  });

  it("needs no setting to start (the sandbox without credentials): every one has a default, so no placeholder reaches the server", async () => {
    const bare = await mcpConfig({});
    expect(bare?.env).toMatchObject({ VCC_CLIENT_ID: "", VCC_CLIENT_SECRET: "", VCC_SANDBOX: "false" });
    expect(JSON.stringify(bare)).not.toContain("${");
    const config = await mcpConfig(credentials);
    expect(config?.env).toMatchObject({
      VCC_SANDBOX: "false",
      VCC_REGION: "emea",
      VCC_CONFIRMATION: "approval",
      VCC_READ_ONLY: "false",
      VCC_DRY_RUN: "false",
      // Empty: not set (no audit log, every type allowed).
      VCC_AUDIT_LOG: "",
      VCC_ALLOWED_CONTENT_KEYS: "",
      VCC_CLIENT_SECRET: SECRET,
    });
    expect(JSON.stringify(config)).not.toContain("${");
    expect(config?.args).toEqual([join(unpacked, "server/index.js")]);
  });

  it("the Sandbox setting alone, no credentials: the sample data, as the sandbox serves it", async () => {
    const c = await startFromBundle({ sandbox: true }, true);
    const listed = structured(await c.call("list_interaction_content", { guid: SEED.inboundCall }));
    expect(listed.content.length).toBeGreaterThan(0);
    expect(c.stderr()).toMatch(/SANDBOX MODE/);
  });

  it("starts from the unpacked bundle with its own mcp_config and offers exactly the tools the manifest lists", async () => {
    const c = await startFromBundle({ ...credentials, region: "nam" });
    expect(c.client.getServerVersion()?.version).toBe(pkg.version);
    const { tools } = await c.client.listTools();
    expect(tools.map((t) => ({ name: t.name, description: summary(t.description) }))).toEqual(manifest.tools);
    expect(c.stderr()).not.toContain(SECRET);
  });

  it("the settings reach the server: the default confirmation mode (approval) hands out an approval page", async () => {
    const item = { guid: SEED.inboundCall, contentKey: "callRecording" };
    const byDefault = await startFromBundle(credentials);
    const asked = structured(await byDefault.call("delete_interaction_content", item));
    expect(asked).toMatchObject({ status: "confirmation_required" });
    expect(asked.approvalUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/approve\//);

    const token = await startFromBundle({ ...credentials, confirmation: "token" });
    const tokenOnly = structured(await token.call("delete_interaction_content", item));
    expect(tokenOnly).toMatchObject({ status: "confirmation_required" });
    expect(tokenOnly.approvalUrl).toBeUndefined();
  });

  it("the administrator's limits are settings too: the audit log records the deletion, dry run sends none, the allowlist refuses other types", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vcc-mcpb-audit-"));
    try {
      const audit = join(dir, "audit.jsonl");
      const c = await startFromBundle({
        ...credentials,
        confirmation: "token",
        audit_log: audit,
        dry_run: true,
        allowed_content_keys: "callRecording",
      });
      const item = { guid: SEED.inboundCall, contentKey: "callRecording" };
      const token = structured(await c.call("delete_interaction_content", item)).confirmationToken;
      expect(structured(await c.call("delete_interaction_content", { ...item, confirmationToken: token })).status).toBe("dry_run");
      const refused = structured(await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "transcript" }));
      expect(refused.error?.code).toBe("not_allowed");
      const lines = readFileSync(audit, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines.find((l) => l.event === "deletion")).toMatchObject({ outcome: "dry_run", contentKey: "callRecording" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("Read only in the settings takes the delete tools away", async () => {
    const c = await startFromBundle({ ...credentials, read_only: true });
    const { tools } = await c.client.listTools();
    expect(tools.length).toBeGreaterThan(0);
    expect(tools.length).toBeLessThan(manifest.tools.length);
    for (const tool of tools) expect(tool.annotations?.readOnlyHint).toBe(true);
  });
});
