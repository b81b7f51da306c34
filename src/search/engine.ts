// The search itself: for each ≤ 7-day window, for each side (a party is searched as connectFrom
// and as connectTo: one query each), every page until the API's token is null — one request after
// another. It stops at maxResults or when its time budget is spent, and says where it stopped so
// that the next call continues there. Interactions seen twice (window boundary, both sides, several
// addresses) are returned once. Independent of MCP: requests, clock and reports are injected.
import type { ToolError } from "../core/errors.js";
import { instantOf } from "../core/time.js";
import type { ApiResult, RequestOptions, WaitEvent } from "../vcc/client.js";
import type { SearchQuery } from "../vcc/ids.js";
import { Pacer, paceAfter, pacedRequest, pause } from "../vcc/pacer.js";
import { type FoundInteraction, parseSearchPage } from "../vcc/search.js";
import type { SearchCriteria } from "./criteria.js";
import type { SearchPosition } from "./cursors.js";
import { splitWindows, type Window } from "./windows.js";

/** The largest page the API serves. */
export const PAGE_LIMIT = 1000;
/** About a minute per call; the rest comes with the cursor. */
export const DEFAULT_BUDGET_MS = 60_000;
/** A request gets at least this long, even when the budget is nearly spent. */
const MIN_REQUEST_MS = 1_000;
export type SearchSide = Omit<SearchQuery, "start" | "end" | "limit" | "continuationToken">;

/** The queries made in every window: one per side of each party address, or one with the sides given. */
export function sidesOf(c: SearchCriteria): SearchSide[] {
  const common: SearchSide = {
    ...(c.handlingAgentId ? { handlingAgentId: c.handlingAgentId } : {}),
    ...(c.direction ? { direction: c.direction } : {}),
  };
  if (c.party)
    return c.party.flatMap((address) => [
      { connectFrom: address, ...common },
      { connectTo: address, ...common },
    ]);
  return [{ ...(c.connectFrom ? { connectFrom: c.connectFrom } : {}), ...(c.connectTo ? { connectTo: c.connectTo } : {}), ...common }];
}

export type SearchRequest = (query: SearchQuery, options: RequestOptions) => Promise<ApiResult>;

export interface SearchEnv {
  request: SearchRequest;
  signal?: AbortSignal;
  budgetMs?: number;
  now?: () => number;
  /** Page size to ask for (default and most: PAGE_LIMIT); tests use small pages. */
  pageLimit?: number;
  /** The pacer's window after a 429 without Retry-After (VCC_RATE_LIMIT_WINDOW_MS). */
  rateLimitWindowMs?: number;
  /** The caller's pacer, kept across its calls (planning's rounds); default: one for this call. */
  pacer?: Pacer;
  /** What an error tells the caller to do (default: call again with the cursor). */
  advice?: SearchAdvice;
  /** After each page: windows fully searched so far (of all, also those of earlier calls). */
  onProgress?: (report: { windowsDone: number; windowsTotal: number; found: number }) => void;
  /** While a request waits (429 / Retry-After, backoff, slow answer). */
  onWait?: (windowsDone: number, event: WaitEvent) => void;
}

export type StopReason = "complete" | "max_results" | "time_budget" | "error" | "cancelled";

export interface SearchOutcome {
  interactions: FoundInteraction[];
  windows: Window[];
  /** Windows fully searched, counting those of earlier calls (windows are searched in order). */
  windowsDone: number;
  /** Windows completed during this call. */
  windowsSearched: Window[];
  stop: StopReason;
  /** Where to continue; undefined when the search is complete (or was cancelled). */
  next?: SearchPosition;
  error?: ToolError;
  /** HTTP requests made by this call (retries included). */
  requests: number;
  /** Interaction records the API sent that could not be read, in this call and the ones it continues. */
  unreadable: number;
  /**
   * With contentTypes: the items of matching interactions (this call's) left out because their type
   * is not asked for, by type ("unknown" where the API gave none). Empty without contentTypes.
   */
  otherTypes: Record<string, number>;
  elapsedMs: number;
}

/** What a search that stopped on an error tells its caller to do (search_interactions: the cursor). */
export interface SearchAdvice {
  again: string;
  afterRateLimit: string;
}

const CURSOR_ADVICE: SearchAdvice = {
  again: "What was found before is included; call again with the same criteria and the cursor to retry from there.",
  afterRateLimit: "What was found before is included; wait a minute, then call again with the same criteria and the cursor.",
};

/**
 * The error mapping (src/vcc/errors.ts) speaks of deletions; a search that stopped needs other
 * advice. The code, status and the API's own message stay; only the words change. A GET changes
 * nothing, so no outcome is unknown.
 */
function searchError(error: ToolError, window: number, windows: number, advice: SearchAdvice = CURSOR_ADVICE): ToolError {
  const where = `The search stopped at window ${window + 1} of ${windows}`;
  const { again, afterRateLimit } = advice;
  const { outcomeUnknown: _unknown, ...rest } = error;
  switch (error.code) {
    case "bad_request":
      return {
        ...rest,
        message: `${where}: the API refused the search as invalid (400). Check the criteria (addresses, agent id, direction).`,
      };
    case "not_found":
      return { ...rest, message: `${where}: the API has no search at this address (404). Check VCC_API_BASE_URL or VCC_REGION.` };
    case "rate_limited":
      return {
        ...rest,
        message: `${where}: the API's rate limit (429, shared by every VCC API of the account) held it up for longer than this call could wait. ${afterRateLimit}`,
      };
    case "upstream_error":
    case "unexpected_status":
      return { ...rest, message: `${where}: the API failed${error.httpStatus ? ` with ${error.httpStatus}` : ""}. ${again}` };
    case "network_error":
    case "timeout":
      return {
        ...rest,
        message: `${where}: ${error.code === "timeout" ? "the API did not answer in time" : "the API could not be reached"}. ${again}`,
      };
    default:
      return rest;
  }
}

function byStart(a: FoundInteraction, b: FoundInteraction): number {
  const x = instantOf(a.start);
  const y = instantOf(b.start);
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) ? (Number.isNaN(y) ? 0 : 1) : -1;
  return x - y;
}

/** Whether the interaction is the person's or agent's, in the period, in the direction asked. */
function isMatch(i: FoundInteraction, c: SearchCriteria): boolean {
  if (c.party) {
    // The person's own addresses. The API matches by how the stored address starts, which also finds
    // longer ones (another subscriber's +4416329601012 for +441632960101, a@x.com.au for a@x.com):
    // kept only where a side is exactly one of them (case aside).
    const own = new Set(c.party.map((address) => address.toLowerCase()));
    const on = (address: string | undefined) => address !== undefined && own.has(address.toLowerCase());
    if (!on(i.connectFrom) && !on(i.connectTo)) return false;
  }
  if (i.start !== undefined) {
    const start = instantOf(i.start);
    // Outside the asked range (e.g. an `end` bound the API treats as inclusive): not asked for.
    if (!Number.isNaN(start) && (start < c.from || start >= c.to)) return false;
  }
  return !(c.direction && i.direction !== undefined && i.direction.toLowerCase() !== c.direction);
}

/**
 * The interaction with only the content of the types asked for (all without contentTypes), or
 * undefined when none is left; what is left out is counted in `others` by type. An item whose type
 * the API did not give is not one of the types asked for: it is counted as "unknown", not guessed.
 */
function ofTypes(i: FoundInteraction, c: SearchCriteria, others: Map<string, number>): FoundInteraction | undefined {
  if (!c.contentTypes) return i;
  const wanted = new Set(c.contentTypes.map((t) => t.toLowerCase()));
  const content = i.content.filter((item) => {
    if (item.type !== undefined && wanted.has(item.type.toLowerCase())) return true;
    const type = item.type ?? "unknown";
    others.set(type, (others.get(type) ?? 0) + 1);
    return false;
  });
  return content.length > 0 ? { ...i, content } : undefined;
}

export async function runSearch(
  criteria: SearchCriteria,
  maxResults: number,
  from: SearchPosition | undefined,
  env: SearchEnv,
): Promise<SearchOutcome> {
  const now = env.now ?? Date.now;
  const started = now();
  const budgetMs = env.budgetMs ?? DEFAULT_BUDGET_MS;
  const windows = splitWindows(criteria.from, criteria.to);
  const sides = sidesOf(criteria);
  let window = from?.window ?? 0;
  let side = from?.side ?? 0;
  let token = from?.token ?? null;
  const pending = [...(from?.pending ?? [])];
  const seen = new Set(from?.seen ?? []);
  const found: FoundInteraction[] = [];
  const windowsSearched: Window[] = [];
  let requests = 0;
  let unreadable = from?.unreadable ?? 0;
  // A Map: a type is the API's text, and may be named like an object's own properties ("constructor").
  const otherTypes = new Map<string, number>();
  /** The window and side started again after the API refused their continuation token (at most once each). */
  let restartedAt: string | undefined;
  const pacer = env.pacer ?? new Pacer(Date.now, { ...(env.rateLimitWindowMs ? { unsaidWindowMs: env.rateLimitWindowMs } : {}) });

  const position = (): SearchPosition => ({ window, side, token, pending: [...pending], seen: [...seen], unreadable });
  const finish = (stop: StopReason, error?: ToolError): SearchOutcome => {
    const complete = window >= windows.length && pending.length === 0;
    return {
      // Oldest first within this call (the sides of a window are searched one after the other).
      interactions: found.sort(byStart),
      windows,
      windowsDone: Math.min(window, windows.length),
      windowsSearched,
      stop: complete && stop !== "error" && stop !== "cancelled" ? "complete" : stop,
      ...(complete || stop === "cancelled" ? {} : { next: position() }),
      ...(error ? { error } : {}),
      requests,
      unreadable,
      otherTypes: Object.fromEntries(otherTypes),
      elapsedMs: now() - started,
    };
  };
  const take = () => {
    while (pending.length > 0 && found.length < maxResults) {
      const next = pending.shift();
      if (next) found.push(next);
    }
  };

  take();
  for (;;) {
    if (found.length >= maxResults || window >= windows.length) return finish(found.length >= maxResults ? "max_results" : "complete");
    if (env.signal?.aborted) return finish("cancelled");
    const paceMs = pacer.waitMs();
    if (paceMs > 0) {
      // A wait for the pace that this call's time cannot hold: stop here (the cursor goes on), rather
      // than send a request the API would refuse.
      if (now() - started + paceMs >= budgetMs) return finish("time_budget");
      env.onWait?.(window, { kind: "pace", delayMs: paceMs });
      await pause(paceMs, env.signal);
      if (env.signal?.aborted) return finish("cancelled");
    }
    const spent = now() - started;
    if (spent >= budgetMs) return finish("time_budget");
    const w = windows[window] as Window;
    const query: SearchQuery = {
      start: new Date(w.start).toISOString(),
      end: new Date(w.end).toISOString(),
      ...sides[side],
      limit: Math.min(env.pageLimit ?? PAGE_LIMIT, PAGE_LIMIT),
      ...(token ? { continuationToken: token } : {}),
    };
    const done = window;
    const result = await env.request(query, {
      // No address in the subject: it appears in debug logs.
      subject: `search window ${window + 1} of ${windows.length}`,
      signal: env.signal,
      deadlineMs: Math.max(budgetMs - spent, MIN_REQUEST_MS),
      ...pacedRequest(pacer, (event) => env.onWait?.(done, event)),
    });
    requests += result.attempts;
    paceAfter(pacer, result);
    if (!result.ok) {
      if (env.signal?.aborted || result.error.code === "cancelled") return finish("cancelled");
      // A continuation token the API no longer takes (expired, or from before a restart of its own):
      // this window and side start again from their first page, once (what was already returned is
      // not returned twice). The criteria are not the problem, whatever a 400 would otherwise mean.
      if (token !== null && result.error.code === "bad_request") {
        const here = `${window}:${side}`;
        if (restartedAt !== here) {
          restartedAt = here;
          token = null;
          continue;
        }
        return finish("error", {
          ...result.error,
          message: `The search stopped at window ${window + 1} of ${windows.length}: the API refused its continuation token (400), also after this window was started again. What was found before is included; search again without the cursor.`,
        });
      }
      // Retries that ran into the end of the budget: stop as planned, the cursor repeats this page.
      if (now() - started >= budgetMs && (result.error.code === "rate_limited" || result.error.code === "timeout"))
        return finish("time_budget");
      return finish("error", searchError(result.error, window, windows.length, env.advice));
    }
    const page = parseSearchPage(result.response.body);
    if (!page)
      return finish("error", {
        code: "upstream_error",
        httpStatus: result.response.status,
        message: "The API answered the search, but not with a page of interactions this server understands. Try again later.",
      });
    unreadable += page.unreadable;
    for (const raw of page.items) {
      const id = raw.guid.toLowerCase();
      if (seen.has(id)) continue;
      if (criteria.party && raw.connectFrom === undefined && raw.connectTo === undefined) {
        // Whose it is cannot be told (no address on either side): not listed, and said so.
        seen.add(id);
        unreadable++;
        continue;
      }
      if (!isMatch(raw, criteria)) continue;
      seen.add(id);
      const kept = ofTypes(raw, criteria, otherTypes);
      if (kept) pending.push(kept);
    }
    take();
    token = page.next;
    if (token === null) {
      side++;
      if (side >= sides.length) {
        side = 0;
        windowsSearched.push(w);
        window++;
      }
    }
    env.onProgress?.({ windowsDone: window, windowsTotal: windows.length, found: found.length });
  }
}
