// vitest globalSetup: the end-to-end tests spawn dist/ (the bundle that ships), so a dist/ older than
// the sources would test yesterday's code without anyone noticing. `npm test` builds first; a bare
// `npx vitest run` after editing src/ stops here with what to do instead.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fileFilters } from "./run-filters.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** What the build reads: the sources, and the bundler script with its settings. */
const INPUTS = ["src", "scripts/bundle.mjs", "package.json", "tsconfig.json"];
/** What the tests run: the bin and the bundle it imports. */
const OUTPUTS = ["dist/index.js", "dist/bundle.js"];

function newest(path: string): { path: string; mtimeMs: number } {
  const stat = statSync(path);
  if (!stat.isDirectory()) return { path, mtimeMs: stat.mtimeMs };
  let best = { path, mtimeMs: 0 };
  for (const entry of readdirSync(path)) {
    const found = newest(join(path, entry));
    if (found.mtimeMs > best.mtimeMs) best = found;
  }
  return best;
}

/** Why dist/ cannot be tested, or undefined when it is as new as every input of the build. */
export function staleDist(root = ROOT): string | undefined {
  const missing = OUTPUTS.find((o) => !existsSync(join(root, o)));
  if (missing) return `${missing} is missing`;
  const built = Math.min(...OUTPUTS.map((o) => statSync(join(root, o)).mtimeMs));
  const input = INPUTS.map((i) => newest(join(root, i))).reduce((a, b) => (b.mtimeMs > a.mtimeMs ? b : a));
  if (input.mtimeMs > built) return `${input.path.slice(root.length)} changed after dist/ was built`;
  return undefined;
}

/** Files that never start dist/: a run limited to them (e.g. `npx vitest run test/unit/x.test.ts`) needs no build. */
const WITHOUT_DIST = /^(\.\/)?test\/((unit|integration|contract)\/|simulator\/(?!cli))/;

export default function setup(): void {
  const filters = fileFilters(process.argv.slice(2));
  if (filters.length > 0 && filters.every((f) => WITHOUT_DIST.test(f))) return;
  const why = staleDist();
  if (!why) return;
  const message = `dist/ is stale (${why}): the end-to-end tests would run old code. Run \`npm test\` (it builds first), or \`npm run build\` before \`npx vitest run\`.`;
  // Also written on its own: with the module cache on (vitest.config.ts), vite's source-map lookup
  // fails on an error thrown here and vitest prints only "code.charCodeAt is not a function".
  process.stderr.write(`\n${message}\n\n`);
  throw new Error(message);
}
