// The whole search of an erasure: every window of the criteria, without the 60-second budget of one
// search_interactions call, flattened into the items a plan holds. Used to plan a job and, with
// `verify`, to look again after it ended. Stops as soon as there are more items than one job may hold.
import type { ToolError } from "../core/errors.js";
import type { SearchCriteria } from "../search/criteria.js";
import type { SearchPosition } from "../search/cursors.js";
import { runSearch, type SearchAdvice } from "../search/engine.js";
import type { VccClient, WaitEvent } from "../vcc/client.js";
import { DEFAULT_UNSAID_WINDOW_MS, Pacer, pause } from "../vcc/pacer.js";
import { MAX_PLAN_ITEMS, type PlanItem } from "./plan.js";

export interface Collected {
  items: PlanItem[];
  interactions: number;
  requests: number;
  /** More than `cap` items match: `items` holds what was found before the search stopped. */
  overCap: boolean;
  /** Interaction records the API sent that could not be read: their content is not in `items`. */
  unreadable: number;
  /** With contentTypes: items of the matching interactions of other types, by type (SearchOutcome.otherTypes). */
  otherTypes: Record<string, number>;
}

export interface CollectOptions {
  signal?: AbortSignal;
  /** Default MAX_PLAN_ITEMS. */
  cap?: number;
  onProgress?: (report: { windowsDone: number; windowsTotal: number; items: number }) => void;
  onWait?: (event: WaitEvent) => void;
  /** The pacer's window after a 429 without Retry-After (VCC_RATE_LIMIT_WINDOW_MS). */
  rateLimitWindowMs?: number;
  /** What an error tells the caller to do (default: plan again with erase_interaction_content). */
  advice?: SearchAdvice;
}

/** Interactions taken per round; the search goes on from where the round stopped. */
const ROUND = 500;

/** Times in a row planning waits out the rate limit before it gives up. */
const MAX_LIMITED_STOPS = 5;
/** How often a long wait for the rate limit is told as progress. */
const HEARTBEAT_MS = 15_000;

const PLANNING_ADVICE: SearchAdvice = {
  again: "Nothing was planned or deleted: call erase_interaction_content again with the same criteria (the search starts over).",
  afterRateLimit:
    "Nothing was planned or deleted: wait a few minutes, then call erase_interaction_content again with the same criteria (the search starts over).",
};

export async function collectItems(
  client: Pick<VccClient, "searchInteractions"> & Partial<Pick<VccClient, "searchPace">>,
  criteria: SearchCriteria,
  options: CollectOptions = {},
): Promise<{ ok: true; collected: Collected } | { ok: false; error: ToolError }> {
  const cap = options.cap ?? MAX_PLAN_ITEMS;
  const items: PlanItem[] = [];
  let interactions = 0;
  let requests = 0;
  const otherTypes = new Map<string, number>();
  let position: SearchPosition | undefined;
  // One pace for the whole plan (its rounds, and the waits between them after a rate limit): the
  // client's, which every search of the process keeps to.
  const windowMs = options.rateLimitWindowMs ?? DEFAULT_UNSAID_WINDOW_MS;
  const pacer = client.searchPace ?? new Pacer(Date.now, { unsaidWindowMs: windowMs });
  let limitedStops = 0;
  for (;;) {
    const outcome = await runSearch(criteria, ROUND, position, {
      request: (query, requestOptions) => client.searchInteractions(query, requestOptions),
      signal: options.signal,
      // Planning has no time budget: the person waits for the whole set (progress says how far it is).
      budgetMs: Number.POSITIVE_INFINITY,
      onProgress: ({ windowsDone, windowsTotal }) => options.onProgress?.({ windowsDone, windowsTotal, items: items.length }),
      onWait: (_done, event) => options.onWait?.(event),
      pacer,
      advice: options.advice ?? PLANNING_ADVICE,
    });
    requests += outcome.requests;
    for (const [type, count] of Object.entries(outcome.otherTypes)) otherTypes.set(type, (otherTypes.get(type) ?? 0) + count);
    for (const found of outcome.interactions) {
      interactions++;
      for (const c of found.content)
        items.push({
          guid: found.guid,
          contentKey: c.contentKey,
          ...(c.type !== undefined ? { type: c.type } : {}),
          ...(c.contentType !== undefined ? { contentType: c.contentType } : {}),
          ...(c.contentLength !== undefined ? { contentLength: c.contentLength } : {}),
          ...(c.lastModified !== undefined ? { lastModified: c.lastModified } : {}),
          ...(found.start !== undefined ? { interactionStart: found.start } : {}),
          ...(found.direction !== undefined ? { direction: found.direction } : {}),
        });
    }
    const collected = (overCap: boolean) => ({
      ok: true as const,
      collected: { items, interactions, requests, overCap, unreadable: outcome.unreadable, otherTypes: Object.fromEntries(otherTypes) },
    });
    if (items.length > cap) return collected(true);
    if (outcome.stop === "cancelled")
      return {
        ok: false,
        error: { code: "cancelled", message: "The search was cancelled before it was complete: nothing was planned or deleted." },
      };
    // Held up by the rate limit longer than one request may wait: the person waits for the whole set,
    // so planning waits for the API (a window, or the learned pace) and goes on where it stopped.
    if (outcome.error?.code === "rate_limited" && outcome.next && limitedStops < MAX_LIMITED_STOPS && !options.signal?.aborted) {
      limitedStops++;
      // Told as it goes (every HEARTBEAT_MS), so that a client that resets its timeout on progress waits too.
      for (let left = pacer.waitMs() || windowMs; left > 0 && !options.signal?.aborted; left -= HEARTBEAT_MS) {
        options.onWait?.({ kind: "pace", delayMs: left });
        await pause(Math.min(left, HEARTBEAT_MS), options.signal);
      }
      position = outcome.next;
      continue;
    }
    if (outcome.error) return { ok: false, error: outcome.error };
    if (outcome.stop === "complete" || !outcome.next) return collected(false);
    position = outcome.next;
  }
}
