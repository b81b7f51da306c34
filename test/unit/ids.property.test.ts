// Property-based tests of the one place that validates ids and builds paths, against an oracle
// written from the API documentation.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { contentKeySchema, contentPath, guidSchema, interactionPath, isValidContentKey, isValidGuid } from "../../src/vcc/ids.js";
import {
  contentKeyLike,
  encodeByHand,
  guidLike,
  isContentKeyByDocs,
  isGuidByDocs,
  validContentKey,
  validGuid,
} from "../helpers/arbitraries.js";

/** Cases per property. */
const RUNS = 5_000;

/**
 * Inside the properties: a plain check that names what differed, instead of vitest's expect (whose
 * bookkeeping per assertion was half of this file's 2 s of CPU over 15 000 cases). fast-check
 * reports the counterexample with the message.
 */
function same(what: string, actual: unknown, expected: unknown): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected))
    throw new Error(`${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

describe("ids: properties", () => {
  it("validation agrees with the documented rules, for the schemas and the checks alike", () => {
    fc.assert(
      fc.property(guidLike, contentKeyLike, (guid, key) => {
        same("isValidGuid", isValidGuid(guid), isGuidByDocs(guid));
        same("guidSchema", guidSchema.safeParse(guid).success, isGuidByDocs(guid));
        same("isValidContentKey", isValidContentKey(key), isContentKeyByDocs(key));
        same("contentKeySchema", contentKeySchema.safeParse(key).success, isContentKeyByDocs(key));
      }),
      { numRuns: RUNS },
    );
  });

  it("a path is built only from a valid pair, and then it is exactly the encoded one", () => {
    let valid = 0;
    fc.assert(
      fc.property(guidLike, contentKeyLike, (guid, key) => {
        const build = () => contentPath(guid as string, key as string);
        if (!isGuidByDocs(guid) || !isContentKeyByDocs(key)) {
          let refusal = "no error";
          try {
            build();
          } catch (error) {
            refusal = String(error);
          }
          same("refused", /refusing to build a path/.test(refusal), true);
          return;
        }
        valid++;
        same("path", build(), `/interactions/${encodeByHand(guid)}/content/${encodeByHand(key)}`);
      }),
      { numRuns: RUNS },
    );
    // Both sides of the rule were exercised in earnest.
    expect(valid).toBeGreaterThan(RUNS / 5);
    expect(valid).toBeLessThan(RUNS - RUNS / 5);
  });

  it("a valid path survives URL parsing unchanged, with exactly its four segments, which decode to the pair", () => {
    fc.assert(
      fc.property(validGuid, validContentKey, (guid, key) => {
        const path = `/interaction-content${contentPath(guid, key)}`;
        const url = new URL(path, "https://emea.api.newvoicemedia.com");
        same("pathname", url.pathname, path);
        const segments = url.pathname.split("/").slice(2);
        same("segments", segments.map(decodeURIComponent), ["interactions", guid, "content", key]);
        same("interactionPath", interactionPath(guid), `/interactions/${guid}`);
      }),
      { numRuns: RUNS },
    );
  });
});
