// npm run docs: rewrites the tables in the Markdown that are derived from the code, so that they
// cannot drift from it. `node scripts/docs.mjs --check` (part of `npm run lint`) changes nothing and
// fails, naming each table, when one is out of date. Both also fail on a link in README.md or docs/*.md
// to a file or heading of this repository that does not exist.
//
// A generated table sits between two markers; everything between them is replaced:
//
//   <!-- generated:tools -->   the tools (src/tools/registry.ts TOOLS): name, title, first sentence
//                              of the description, annotations
//   <!-- generated:errors -->  the error codes (src/core/errors.ts ERROR_CODES) and their meaning
//   <!-- generated:regions --> the regions' endpoints (src/config.ts REGIONS)
//   <!-- generated:config -->  every environment variable (src/config.ts configReference(): the
//                              schema's descriptions, defaults, flags and secrets)
//   <!-- /generated:NAME -->
//
// The values are read from the TypeScript sources, not from dist/: the check then works on a fresh
// clone before anything is built (CI runs `npm run lint` before `npm test` builds), and never compares
// against a stale build. esbuild (already used by `npm run build`) bundles a one-line entry that
// re-exports them, in memory; the result is imported from a file under node_modules/.cache so that
// its imports of zod and the MCP SDK resolve as usual.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { summary } from "./mcpb.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);

/** What the generators read, re-exported from the sources. */
const ENTRY = [
  'export { TOOLS } from "./src/tools/registry.ts";',
  'export { ERROR_CODES } from "./src/core/errors.ts";',
  'export { configReference, REGIONS } from "./src/config.ts";',
].join("\n");

/** Imports ENTRY's exports from the TypeScript sources (no build, no tsx). */
export async function loadSources() {
  const out = await build({
    stdin: { contents: ENTRY, resolveDir: root, loader: "ts", sourcefile: "docs-entry.ts" },
    absWorkingDir: root,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    write: false,
    logLevel: "silent",
  });
  const dir = join(root, "node_modules", ".cache", "vcc-docs");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `sources-${process.pid}.mjs`);
  writeFileSync(file, out.outputFiles[0].text);
  try {
    return await import(pathToFileURL(file).href);
  } finally {
    rmSync(file, { force: true });
  }
}

/** A table cell: one line, pipes escaped. */
function cell(text) {
  return String(text).replace(/\s+/g, " ").trim().replace(/\|/g, "\\|");
}

/** Plain text written for people (a description) as Markdown: variable names as code, `<` and `>` kept visible. */
function words(text) {
  return String(text)
    .replace(/[<>&]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;" })[c])
    .replace(/\bVCC_[A-Z0-9_]+(=[\w.:-]+)?/g, (name) => `\`${name}\``);
}

/** A Markdown table, not yet laid out: `format` pads its columns. */
function table(header, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map((row) => line(row.map(cell)))].join("\n");
}

/** Between two tables in the one document Biome formats; a comment Biome leaves as it is. */
const BREAK = "<!-- docs.mjs: next table -->";
/** Tables already laid out, by their unformatted Markdown: the unit tests render the same table more than once. */
const formatted = new Map();

/**
 * `tables` laid out by Biome exactly as `npm run lint` expects (padded columns). All of them in one
 * Biome process: starting it costs more than formatting, and a table's layout depends on it alone.
 */
function format(tables) {
  const todo = [...new Set(tables.filter((markdown) => !formatted.has(markdown)))];
  if (todo.length > 0) {
    const biome = require.resolve("@biomejs/biome/bin/biome");
    const run = spawnSync(process.execPath, [biome, "format", "--stdin-file-path=generated.md"], {
      cwd: root,
      input: todo.join(`\n\n${BREAK}\n\n`),
      encoding: "utf8",
    });
    if (run.status !== 0) throw new Error(`biome format failed: ${run.stderr}`);
    const parts = run.stdout.split(`\n${BREAK}\n`);
    if (parts.length !== todo.length) throw new Error(`biome format returned ${parts.length} tables for ${todo.length}`);
    for (const [i, markdown] of todo.entries()) formatted.set(markdown, parts[i].trim());
  }
  return tables.map((markdown) => formatted.get(markdown));
}

/** The first sentence of a tool's description (of its first paragraph: the rest guides the model). */
export function firstSentence(description) {
  const paragraph = summary(description);
  const end = paragraph.search(/[.!?](\s+(?=[A-Z])|$)/);
  return end < 0 ? paragraph : paragraph.slice(0, end + 1);
}

/** The annotations in words; absent hints read as the MCP specification's defaults. */
function hints(tool) {
  const a = tool.annotations ?? {};
  const words = [];
  if (a.readOnlyHint) words.push("read-only");
  else words.push(a.destructiveHint === false ? "not destructive" : "destructive");
  if (a.idempotentHint) words.push("idempotent");
  words.push(a.openWorldHint === false ? "closed world" : "open world");
  let text = words.join(", ");
  if (tool.destructive || tool.changesState) text += "; not offered when read-only";
  return text;
}

/** Each generated region: its source (named in the output) and its Markdown. */
export const GENERATORS = {
  tools: {
    source: "src/tools/registry.ts",
    render: ({ TOOLS }) =>
      table(
        ["tool", "title", "what it does", "hints"],
        TOOLS.map((tool) => [`\`${tool.name}\``, words(tool.title), words(firstSentence(tool.description)), hints(tool)]),
      ),
  },
  errors: {
    source: "src/core/errors.ts",
    render: ({ ERROR_CODES }) =>
      table(
        ["`error.code`", "meaning"],
        Object.entries(ERROR_CODES).map(([code, meaning]) => [`\`${code}\``, words(meaning)]),
      ),
  },
  config: {
    source: "src/config.ts",
    render: ({ configReference }) =>
      table(
        ["variable", "group", "default", "meaning"],
        configReference().map((v) => [
          `\`${v.name}\`${v.flag ? ` (\`${v.flag}\`)` : ""}${v.secret ? " · secret" : ""}`,
          v.group,
          v.default !== undefined ? `\`${v.default}\`` : words(v.defaultNote ?? "—"),
          words(v.description),
        ]),
      ),
  },
  regions: {
    source: "src/config.ts",
    render: ({ REGIONS }) =>
      table(
        ["`VCC_REGION`", "API base (`VCC_API_BASE_URL`)", "token endpoint (`VCC_AUTH_URL`)"],
        Object.entries(REGIONS).map(([region, urls]) => [`\`${region}\``, `\`${urls.apiBaseUrl}\``, `\`${urls.authUrl}\``]),
      ),
  },
};

const REGION = /<!-- generated:([\w-]+) -->\n[\s\S]*?<!-- \/generated:\1 -->/g;

/** The Markdown files that may hold generated regions: README.md and docs/*.md. */
export function markdownFiles() {
  const docs = readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => join(root, "docs", name));
  return [join(root, "README.md"), ...docs];
}

/** `text` with every generated region rewritten from `sources`; `found` collects the region names. */
export function regenerate(text, sources, found = new Set()) {
  return regenerateAll([text], sources, found)[0];
}

/** Each of `texts` with every generated region rewritten from `sources`, with one Biome process for all tables. */
export function regenerateAll(texts, sources, found = new Set()) {
  const tables = [];
  for (const text of texts)
    for (const [, name] of text.matchAll(REGION)) {
      const generator = GENERATORS[name];
      if (!generator) throw new Error(`unknown generated region "${name}" (known: ${Object.keys(GENERATORS).join(", ")})`);
      found.add(name);
      tables.push(generator.render(sources));
    }
  const laidOut = format(tables);
  let next = 0;
  return texts.map((text) =>
    text.replace(REGION, (_whole, name) => {
      const note = `<!-- Generated by \`npm run docs\` from ${GENERATORS[name].source}: edit the source, not this table. -->`;
      return `<!-- generated:${name} -->\n${note}\n\n${laidOut[next++]}\n\n<!-- /generated:${name} -->`;
    }),
  );
}

/** Markdown without fenced code blocks and inline code, where link syntax means nothing. */
function prose(text) {
  return text.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "");
}

/** The anchors GitHub gives the headings of `text` (lower case, punctuation dropped, spaces to dashes). */
export function anchors(text) {
  const seen = new Map();
  const result = new Set();
  for (const [, heading] of text.replace(/^```[\s\S]*?^```/gm, "").matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const slug = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

/** Links from `file` to files of this repository (and their headings) that do not exist. */
export function brokenLinks(file) {
  const broken = [];
  for (const [, target] of prose(readFileSync(file, "utf8")).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    if (/^[a-z][a-z+.-]*:/i.test(target)) continue; // https:, mailto:, …
    const [path, anchor] = target.split("#");
    const linked = path ? resolve(dirname(file), decodeURIComponent(path)) : file;
    if (!existsSync(linked)) broken.push(target);
    else if (anchor && linked.endsWith(".md") && !anchors(readFileSync(linked, "utf8")).has(anchor)) broken.push(target);
  }
  return broken;
}

async function main() {
  const check = process.argv.includes("--check");
  const sources = await loadSources();
  const found = new Set();
  const stale = [];
  const files = markdownFiles();
  const texts = files.map((file) => readFileSync(file, "utf8"));
  const nexts = regenerateAll(texts, sources, found);
  for (const [i, file] of files.entries()) {
    const [text, next] = [texts[i], nexts[i]];
    if (next === text) continue;
    stale.push(relative(root, file));
    if (!check) writeFileSync(file, next);
  }
  const missing = Object.keys(GENERATORS).filter((name) => !found.has(name));
  if (missing.length > 0) {
    console.error(`docs: no <!-- generated:${missing.join(" -->, <!-- generated:")} --> region in README.md or docs/*.md`);
    process.exit(1);
  }
  const broken = markdownFiles().flatMap((file) => brokenLinks(file).map((target) => `${relative(root, file)}: ${target}`));
  if (broken.length > 0) {
    console.error(`docs: links to nothing in this repository:\n  ${broken.join("\n  ")}`);
    process.exit(1);
  }
  if (check && stale.length > 0) {
    console.error(`docs: generated tables out of date in ${stale.join(", ")}: run npm run docs`);
    process.exit(1);
  }
  if (!check) console.log(stale.length > 0 ? `docs: updated ${stale.join(", ")}` : "docs: up to date");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
