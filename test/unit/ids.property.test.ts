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

describe("ids: properties", () => {
  it("validation agrees with the documented rules, for the schemas and the checks alike", () => {
    fc.assert(
      fc.property(guidLike, contentKeyLike, (guid, key) => {
        expect(isValidGuid(guid)).toBe(isGuidByDocs(guid));
        expect(guidSchema.safeParse(guid).success).toBe(isGuidByDocs(guid));
        expect(isValidContentKey(key)).toBe(isContentKeyByDocs(key));
        expect(contentKeySchema.safeParse(key).success).toBe(isContentKeyByDocs(key));
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
          expect(build).toThrow(/refusing to build a path/);
          return;
        }
        valid++;
        expect(build()).toBe(`/interactions/${encodeByHand(guid)}/content/${encodeByHand(key)}`);
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
        expect(url.pathname).toBe(path);
        const segments = url.pathname.split("/").slice(2);
        expect(segments).toHaveLength(4);
        expect(segments.map(decodeURIComponent)).toEqual(["interactions", guid, "content", key]);
        expect(interactionPath(guid)).toBe(`/interactions/${guid}`);
      }),
      { numRuns: RUNS },
    );
  });
});
