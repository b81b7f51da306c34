// The file filters the global setups read from vitest's command line (test/setup/run-filters.ts):
// an option's value is not a filter, so `--config x.ts` or `-t name` neither skips the packing nor the
// stale-dist check by looking like a file.
import { describe, expect, it } from "vitest";
import { fileFilters } from "../setup/run-filters.js";

describe("fileFilters", () => {
  it("takes the paths, not the values of options", () => {
    expect(fileFilters(["run"])).toEqual([]);
    expect(fileFilters(["run", "test/unit/ids.test.ts", "./test/e2e/http"])).toEqual(["test/unit/ids.test.ts", "test/e2e/http"]);
    expect(fileFilters(["run", "--config", "vitest.config.ts", "--reporter", "json", "--outputFile", "r.json"])).toEqual([]);
    expect(fileFilters(["run", "-t", "token", "--exclude", "test/unit/x.test.ts", "test/e2e"])).toEqual(["test/e2e"]);
    expect(fileFilters(["run", "--reporter=json", "--maxWorkers", "2", "package"])).toEqual(["package"]);
    // A flag without a value does not take the next argument.
    expect(fileFilters(["run", "--isolate", "test/unit", "--silent"])).toEqual(["test/unit"]);
  });
});
