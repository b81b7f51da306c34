// Which test files a vitest run includes, decided from its command line as vitest does (a file runs
// when its path contains one of the filters; no filter: every file). Global setups use it to skip
// work that only some files need.
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * vitest 4's options that take a value (`<value>` or `[value]` in `vitest --help`): written as
 * `--option value`, the value is the option's, not a file filter (`--config x.ts`, `-t name`).
 */
const OPTIONS_WITH_VALUES = new Set(
  (
    "-r --root -c --config -u --update -t --testNamePattern --dir --api --silent --reporter --outputFile --mode --browser " +
    "--pool --execArgv --vmMemoryLimit --maxWorkers --environment --shard --changed --sequence --inspect --inspectBrk " +
    "--testTimeout --hookTimeout --bail --retry --diff --exclude --project --slowTestThreshold --teardownTimeout " +
    "--maxConcurrency --attachmentsDir --configLoader --mergeReports --listTags --tagsFilter --experimental"
  ).split(" "),
);

/** The file filters of a vitest command line (its arguments after the program). */
export function fileFilters(args: readonly string[]): string[] {
  const filters: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    if (a.startsWith("-")) {
      if (OPTIONS_WITH_VALUES.has(a) && !(args[i + 1] ?? "-").startsWith("-")) i++;
      continue;
    }
    if (a === "run" && filters.length === 0 && i === 0) continue;
    filters.push((a.startsWith(ROOT) ? relative(ROOT, a) : a).replace(/^\.\//, ""));
  }
  return filters;
}

/** Whether the run includes one of `files` (paths from the repository's root). */
export function runIncludesAny(files: readonly string[]): boolean {
  const filters = fileFilters(process.argv.slice(2));
  return filters.length === 0 || files.some((file) => filters.some((f) => file.includes(f)));
}
