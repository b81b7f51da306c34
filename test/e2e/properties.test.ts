// Property-based, end to end: generated arguments against one server (in process: what is tested is
// the validation and encoding of arguments, not the stdio framing) and the simulator.
// Invalid arguments never produce an HTTP request and never crash the server; valid ones produce
// exactly the expected, encoded requests. The lookup is refused (403) so every valid pair reaches
// the prompt and the DELETE, whatever it names.
import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import {
  contentKeyLike,
  deleteArguments,
  deleteArgumentsValid,
  encodeByHand,
  guidLike,
  isContentKeyByDocs,
  isGuidByDocs,
  validPair,
} from "../helpers/arbitraries.js";
import { type Connected, structured } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

/** Generated cases per property. */
const SINGLE_RUNS = 1_000;
const BULK_RUNS = 300;
/** A fixed amount of work that a machine busy with other work stretches past the default 30 s. */
const LONG = { timeout: 120_000 };
const BASE = "/interaction-content/interactions";

const h = useSimulator();
const sim = () => h.sim;
let c: Connected;
let asked = 0;
beforeEach(async () => {
  c = await h.inProcess({
    env: { VCC_MAX_RETRIES: "0" },
    elicit: () => {
      asked++;
      return { action: "accept", content: { confirm: true } };
    },
  });
});

/** Fresh data and journal; the lookup refused so that no preview decides anything. */
function resetSimulator(): void {
  sim().reset();
  sim().setStandingFault("get-interaction", { status: 403 });
}

/**
 * The requests about the items: without the one search the server makes after its first 404 to check
 * that the base URL is the API's (a 404 about an item is believed only then).
 */
const sent = () =>
  sim()
    .journal.filter((r) => r.route !== "list-interactions")
    .map((r) => `${r.method} ${r.path}`);

describe("generated arguments, end to end", () => {
  it(`delete_interaction_content: ${SINGLE_RUNS} argument objects`, LONG, async () => {
    let valid = 0;
    await fc.assert(
      fc.asyncProperty(deleteArguments, async (args) => {
        resetSimulator();
        asked = 0;
        const result = await c.call("delete_interaction_content", args);
        if (!deleteArgumentsValid(args)) {
          expect(result.isError).toBe(true);
          expect(sim().journal).toEqual([]);
          expect(asked).toBe(0);
          return;
        }
        valid++;
        const guid = args.guid as string;
        const key = args.contentKey as string;
        expect(sent()).toEqual([`GET ${BASE}/${encodeByHand(guid)}`, `DELETE ${BASE}/${encodeByHand(guid)}/content/${encodeByHand(key)}`]);
        expect(asked).toBe(1);
        // Random ids name nothing: a plain 404, reported as not_found, and nothing else changed.
        expect(structured(result)).toMatchObject({ status: "error", error: { code: "not_found" } });
      }),
      { numRuns: SINGLE_RUNS },
    );
    expect(valid).toBeGreaterThan(SINGLE_RUNS / 5);
    // The server is alive and well.
    expect(await c.client.ping()).toEqual({});
    expect(c.stderr()).not.toMatch(/uncaught|unhandled|failed unexpectedly/);
  });

  it(`bulk_delete_interaction_content: ${BULK_RUNS} item lists`, LONG, async () => {
    const itemArb = fc.oneof(
      { weight: 12, arbitrary: validPair },
      { weight: 2, arbitrary: fc.record({ guid: guidLike, contentKey: contentKeyLike }) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    );
    // Sometimes an item twice, in another case: a duplicate, refused as a whole.
    const listArb = fc.tuple(fc.array(itemArb, { maxLength: 5 }), fc.nat(4)).map(([items, dup]) => {
      const first = items[0] as { guid?: unknown; contentKey?: unknown } | undefined;
      if (dup !== 0 || !first || typeof first.guid !== "string" || typeof first.contentKey !== "string") return items;
      return [...items, { guid: first.guid.toUpperCase(), contentKey: first.contentKey.toLowerCase() }];
    });
    let valid = 0;
    await fc.assert(
      fc.asyncProperty(listArb, async (items) => {
        resetSimulator();
        asked = 0;
        const result = await c.call("bulk_delete_interaction_content", { items });
        const pairs = items as { guid: unknown; contentKey: unknown }[];
        const itemValid = (i: unknown) =>
          typeof i === "object" &&
          i !== null &&
          !Array.isArray(i) &&
          Object.keys(i).sort().join() === "contentKey,guid" &&
          isGuidByDocs((i as { guid: unknown }).guid) &&
          isContentKeyByDocs((i as { contentKey: unknown }).contentKey);
        const ids = pairs.map((i) => (itemValid(i) ? `${String(i.guid).toLowerCase()}:${String(i.contentKey).toLowerCase()}` : ""));
        const allValid = items.length > 0 && items.every(itemValid) && new Set(ids).size === ids.length;
        if (!allValid) {
          expect(result.isError).toBe(true);
          expect(sim().journal).toEqual([]);
          expect(asked).toBe(0);
          return;
        }
        valid++;
        // One lookup per interaction (first spelling seen), then the DELETEs one by one, in order.
        const lookups = [...new Map(pairs.map((i) => [String(i.guid).toLowerCase(), String(i.guid)])).values()];
        expect(sent()).toEqual([
          ...lookups.map((g) => `GET ${BASE}/${encodeByHand(g)}`),
          ...pairs.map((i) => `DELETE ${BASE}/${encodeByHand(String(i.guid))}/content/${encodeByHand(String(i.contentKey))}`),
        ]);
        expect(asked).toBe(1);
      }),
      { numRuns: BULK_RUNS },
    );
    expect(valid).toBeGreaterThan(BULK_RUNS / 10);
    expect(await c.client.ping()).toEqual({});
  });
});
