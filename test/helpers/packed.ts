// The npm package as the run packed it once (test/setup/packed.ts).
import { inject } from "vitest";
import type { Packed } from "../setup/packed.js";

export type { Packed, PackReport } from "../setup/packed.js";

/** The tarball and npm's report of it; throws when the run did not pack (a filter that excluded the readers). */
export function packed(): Packed {
  const value = inject("packed");
  if (!value) throw new Error("the run did not pack the package: test/setup/packed.ts decides from the file filters");
  return value;
}
