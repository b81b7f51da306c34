// Builds the Claude Desktop bundle (`npm run bundle:mcpb`, after `npm run build`): a .mcpb file is a
// zip of a manifest.json and the server. Layout of the bundle:
//
//   manifest.json     MCPB manifest 0.3: settings (user_config) mapped to environment variables, the
//                     tools, compatibility
//   package.json      name, version and "type": "module" (the server's --version reads it)
//   LICENSE
//   server/           exactly the files the npm package runs (dist/index.js, dist/bundle.js and
//                     dist/chunks/*.js): the esbuild bundle, which needs no node_modules
//
// The manifest's tool list is read from the staged server itself (started in sandbox mode, then
// tools/list), so it cannot drift from what the server offers.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);

/** The mcpb command line (`mcpb pack`, `mcpb validate`, `mcpb unpack`), run with this Node. */
export const MCPB_CLI = join(dirname(require.resolve("@anthropic-ai/mcpb")), "cli", "cli.js");

/** The bundle's settings, as Claude Desktop shows them (secrets go to the operating system's keychain). */
export const USER_CONFIG = {
  region: {
    type: "string",
    title: "VCC region",
    description: "Where your Vonage Contact Center account is hosted: emea, nam or apac.",
    default: "emea",
    // Not required: a required setting counts as missing until the user saves it, even with a default.
    required: false,
  },
  // Not required, so that the sandbox can be tried without any: without them (and without the
  // sandbox) the server starts and every call says what to set.
  client_id: {
    type: "string",
    title: "API client ID",
    description:
      "Client ID of VCC API credentials (created in the VCC Admin Portal) with the scopes interaction-content:read and interaction-content:delete. Not needed with Sandbox.",
    default: "",
    required: false,
  },
  client_secret: {
    type: "string",
    title: "API client secret",
    description: "Client secret of those credentials. Never shown in results or logs. Not needed with Sandbox.",
    sensitive: true,
    default: "",
    required: false,
  },
  sandbox: {
    type: "boolean",
    title: "Sandbox",
    description: "Try it without credentials: a local simulator with sample data; no real host is contacted and nothing real is deleted.",
    default: false,
    required: false,
  },
  confirmation: {
    type: "string",
    title: "Confirmation mode",
    description:
      "How a person agrees to each deletion: approval (recommended: a page on this computer, because Claude Desktop cannot show MCP prompts), auto, elicitation or token.",
    default: "approval",
    required: false,
  },
  read_only: {
    type: "boolean",
    title: "Read only",
    description: "Offer only the tools that read (listing, search): nothing can be deleted.",
    default: false,
    required: false,
  },
  audit_log: {
    type: "string",
    title: "Audit log file",
    description:
      "Full path of a JSON-lines file recording every decision, deletion and search (e.g. /Users/you/vcc-audit.jsonl): the record of what was erased, when, and who agreed. Its folder must exist. Empty: no audit log.",
    default: "",
    required: false,
  },
  dry_run: {
    type: "boolean",
    title: "Dry run",
    description: "Everything runs, confirmation included, but no deletion is sent.",
    default: false,
    required: false,
  },
  allowed_content_keys: {
    type: "string",
    title: "Content that may be deleted",
    description: "Comma-separated content types and/or keys, e.g. callRecording,voicemail. Empty: every type.",
    default: "",
    required: false,
  },
};

/** Which environment variable each setting becomes. Settings never become command-line arguments. */
export const USER_CONFIG_ENV = {
  region: "VCC_REGION",
  client_id: "VCC_CLIENT_ID",
  client_secret: "VCC_CLIENT_SECRET",
  sandbox: "VCC_SANDBOX",
  confirmation: "VCC_CONFIRMATION",
  read_only: "VCC_READ_ONLY",
  audit_log: "VCC_AUDIT_LOG",
  dry_run: "VCC_DRY_RUN",
  allowed_content_keys: "VCC_ALLOWED_CONTENT_KEYS",
};

/** The files the npm package runs (paths under dist/), as `npm pack` selects them from package.json "files". */
export function shippedFiles() {
  const run = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: root,
    encoding: "utf8",
    shell: process.platform === "win32",
  });
  if (run.status !== 0) throw new Error(`npm pack --dry-run failed: ${run.stderr}`);
  return distFiles(JSON.parse(run.stdout)[0]);
}

/** The server's files (paths under dist/) in a report of `npm pack --json`, e.g. of the tests' one pack. */
export function distFiles(report) {
  const files = report.files.map((f) => f.path).filter((path) => path.startsWith("dist/"));
  if (!files.includes("dist/index.js")) throw new Error("dist/index.js is missing: run npm run build first");
  return files;
}

/** A tool's description for people: its first paragraph (the rest is guidance for the model). */
export function summary(description = "") {
  return description.split(/\n\s*\n/)[0].trim();
}

/** Starts `entry` in sandbox mode (no credentials, no network) and returns its tools, names and summaries. */
export async function readTools(entry) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [entry, "--sandbox"],
    // Every tool, whatever this machine's environment or a .env file says.
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? dirname(entry), VCC_READ_ONLY: "false" },
    cwd: dirname(entry),
    stderr: "pipe",
  });
  const client = new Client({ name: "mcpb-manifest", version: "1.0.0" });
  await client.connect(transport);
  try {
    const { tools } = await client.listTools();
    return tools.map((tool) => ({ name: tool.name, description: summary(tool.description) }));
  } finally {
    await client.close();
  }
}

/** The manifest (MCPB 0.3) for package.json `pkg` and the server's `tools`. */
export function manifestFor(pkg, tools) {
  const repository = pkg.repository.url.replace(/^git\+/, "").replace(/\.git$/, "");
  return {
    manifest_version: "0.3",
    name: pkg.name,
    display_name: "VCC Interaction Content",
    version: pkg.version,
    description: "Delete Vonage Contact Center recordings, transcripts and voicemails, only after a person confirms.",
    long_description: [
      "Lists the content files a Vonage Contact Center interaction still holds and deletes them for erasure requests.",
      "Deletion is permanent, so nothing is deleted until a person agreed: in the default confirmation mode, on a",
      "page this server opens on your computer. Turn on Read only to make deletion impossible.",
    ].join(" "),
    author: { name: pkg.author },
    repository: { type: "git", url: repository },
    homepage: repository,
    documentation: `${repository}/blob/main/docs/install.md`,
    support: pkg.bugs.url,
    license: pkg.license,
    keywords: pkg.keywords,
    server: {
      type: "node",
      entry_point: "server/index.js",
      mcp_config: {
        command: "node",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: an MCPB placeholder, replaced by the host with the bundle's directory.
        args: ["${__dirname}/server/index.js"],
        env: Object.fromEntries(Object.entries(USER_CONFIG_ENV).map(([key, variable]) => [variable, `\${user_config.${key}}`])),
      },
    },
    tools,
    tools_generated: false,
    compatibility: { platforms: ["darwin", "win32", "linux"], runtimes: { node: pkg.engines.node } },
    user_config: USER_CONFIG,
  };
}

/** Writes the bundle's directory `dir`: the server `files` (shippedFiles()), package.json, LICENSE and manifest.json. */
export async function stage(dir, files = shippedFiles()) {
  const pkg = require(join(root, "package.json"));
  rmSync(dir, { recursive: true, force: true });
  for (const file of files) {
    const target = join(dir, "server", relative("dist", file));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(root, file), target);
  }
  const slim = { name: pkg.name, version: pkg.version, description: pkg.description, license: pkg.license, type: "module" };
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(slim, null, 2)}\n`);
  copyFileSync(join(root, "LICENSE"), join(dir, "LICENSE"));
  const manifest = manifestFor(pkg, await readTools(join(dir, "server", "index.js")));
  writeFileSync(join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Runs the mcpb command line with `args`; throws with its output if it fails. */
export function mcpb(args) {
  const run = spawnSync(process.execPath, [MCPB_CLI, ...args], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`mcpb ${args[0]} failed:\n${run.stdout}${run.stderr}`);
  return run.stdout;
}

/**
 * Stages the bundle with the server `files` (shippedFiles()) in `outDir`/mcpb and packs it (mcpb pack
 * validates the manifest) to `outDir`/<name>-<version>.mcpb.
 */
export async function buildMcpb(outDir, files = shippedFiles()) {
  const stageDir = join(outDir, "mcpb");
  const manifest = await stage(stageDir, files);
  const file = join(outDir, `${manifest.name}-${manifest.version}.mcpb`);
  mcpb(["pack", stageDir, file]);
  return { file, stageDir, manifest };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { file, manifest } = await buildMcpb(join(root, "build"));
  const kB = Math.round(statSync(file).size / 1024);
  console.log(`${relative(process.cwd(), file)}: ${kB} kB, tools: ${manifest.tools.map((t) => t.name).join(", ")}`);
}
