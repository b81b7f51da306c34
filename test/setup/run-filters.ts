// Which test files a vitest run includes, decided from its command line as vitest does (a file runs
// when its path contains one of the filters; no filter: every file). Global setups use it to skip
// work that only some files need.
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Whether the run includes one of `files` (paths from the repository's root). */
export function runIncludesAny(files: readonly string[]): boolean {
  const filters = process.argv
    .slice(2)
    .filter((a) => a !== "run" && !a.startsWith("-"))
    .map((f) => (f.startsWith(ROOT) ? relative(ROOT, f) : f).replace(/^\.\//, ""));
  return filters.length === 0 || files.some((file) => filters.some((f) => file.includes(f)));
}
