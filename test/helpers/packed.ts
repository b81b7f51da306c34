// The npm package as the run packed it once (test/setup/packed.ts), in the background.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { inject } from "vitest";
import { PACK_OUTCOME, type Packed, type PackOutcome } from "../setup/packed.js";

export type { Packed, PackReport } from "../setup/packed.js";

/**
 * The tarball and npm's report of it, once npm is done; throws when the run did not pack (a filter
 * that excluded the readers) or npm failed.
 */
export async function packed(timeoutMs = 60_000): Promise<Packed> {
  const dir = inject("packDir");
  if (!dir) throw new Error("the run did not pack the package: test/setup/packed.ts decides from the file filters");
  const file = join(dir, PACK_OUTCOME);
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`npm pack did not finish within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const outcome = JSON.parse(readFileSync(file, "utf8")) as PackOutcome;
  if (!outcome.ok) throw new Error(outcome.error);
  return { tarball: join(dir, outcome.report.filename), report: outcome.report };
}
