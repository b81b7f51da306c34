// The one HTTP client for the VCC Interaction Content API: one keep-alive pool, the required
// headers, a per-request timeout, retries with backoff within an overall deadline, and every failure
// mapped through errors.ts.
import { EventEmitter } from "node:events";
import { Pool } from "undici";
import { log } from "../log.js";
import type { ScopedTokens } from "./auth.js";
import {
  errorAfterUnknownAttempt,
  errorCancelledBetweenAttempts,
  errorForStatus,
  errorForTransport,
  isRetryableTransport,
  MAYBE_CARRIED_OUT,
  parseRetryAfter,
  RETRYABLE_STATUSES,
  type ToolError,
  withAttempts,
} from "./errors.js";
import { contentPath, interactionPath, type SearchQuery, searchPath } from "./ids.js";
import { Pacer, paceAfter, pacedRequest } from "./pacer.js";
import { DEFAULT_RETRY, planRetry, type RetrySettings } from "./retry.js";
import { DELETE_SCOPE, READ_SCOPE, type Scope } from "./scopes.js";

export const ACCEPT_V3 = "application/vnd.newvoicemedia.v3+json";
/** While an answer is this late, the caller hears about it (and again each time this passes). */
export const SLOW_NOTICE_MS = 1_000;

export interface ApiResponse {
  status: number;
  contentType?: string;
  retryAfter?: string;
  body: string;
}

export type ApiResult =
  | {
      ok: true;
      response: ApiResponse;
      /** HTTP requests made for this call. */
      attempts: number;
      /**
       * DELETE only: an earlier attempt got no answer, or a 500/502/504, and a retry found the content
       * gone (404), so that attempt deleted it (or someone else did meanwhile): either way it is gone.
       */
      verifiedByAbsence?: true;
    }
  | {
      ok: false;
      error: ToolError;
      attempts: number;
      /** No valid access token could be obtained, so the request was not carried out. */
      noToken?: true;
    };

/** Why a call is waiting: before another attempt, or for a slow answer. */
export type WaitEvent =
  /** paced: the wait is the caller's pacer's, after a 429 without Retry-After (RequestOptions.rateLimited). */
  | { kind: "retry"; attempt: number; delayMs: number; fromRetryAfter: boolean; paced?: true; reason: ToolError }
  | { kind: "slow"; attempt: number; elapsedMs: number }
  /** Before a request: the caller keeps to the pace the API accepted after a 429 (vcc/pacer.ts). */
  | { kind: "pace"; delayMs: number };

export interface RequestOptions {
  /** Aborts the request in flight and any further attempt (e.g. the MCP request was cancelled). */
  signal?: AbortSignal;
  /** Words for messages: what the request is about, e.g. "callRecording of interaction …". */
  subject: string;
  /** A shorter limit per attempt than VCC_TIMEOUT_MS, e.g. for best-effort lookups. */
  timeoutMs?: number;
  /** A shorter overall limit than VCC_DEADLINE_MS: no attempt or wait goes past it. */
  deadlineMs?: number;
  /** Told while the call waits, so that the caller can keep its client informed. */
  onWait?: (event: WaitEvent) => void;
  /**
   * Once aborted, no further attempt starts (nor a first one, if the call was still waiting for its
   * turn, a token or the lock); the one in flight may finish (used at shutdown).
   */
  stopRetrying?: AbortSignal;
  /**
   * Aborts the attempt in flight, as `signal` does (the end of the shutdown's grace period): the call
   * ends cancelled, its outcome unknown if a DELETE was in flight. Meant with `stopRetrying` aborted
   * earlier, so no further attempt starts.
   */
  cutOff?: AbortSignal;
  /**
   * Told of a 429 without Retry-After (VCC documents none) that follows another in this call: answers
   * how long the caller's pacer says to wait before the next attempt (ms; 0 or undefined: the
   * rate-limit backoff), within the deadline. The first 429 alone gets the backoff: it may be another
   * deletion in progress (VCC answers concurrent deletions with 429), which a few seconds outlast; a
   * rate limit is still there at the retry.
   */
  rateLimited?: () => number | undefined;
  /**
   * A fencing check (issue 22) made right before each attempt is sent, given that attempt's time
   * limit: a lease that must still be held for at least that long. An error answer stops the call
   * there, without sending that attempt (earlier attempts keep what they may have done).
   */
  beforeAttempt?: (attemptTimeoutMs: number) => Promise<ToolError | undefined>;
}

/**
 * The API client as the application reaches it: created on first use, with the access token of
 * `scope` at hand (the scope the caller cannot do without); an error when credentials are missing
 * or cannot get that token.
 */
export type ApiAccess = (
  signal: AbortSignal | undefined,
  scope: Scope,
) => Promise<{ ok: true; client: VccClient } | { ok: false; error: ToolError }>;

export interface VccClientOptions {
  apiBaseUrl: string;
  timeoutMs: number;
  /** One token per scope: GETs are sent with the read scope's, DELETEs with the delete scope's. */
  tokens: ScopedTokens;
  retry?: RetrySettings;
  /**
   * Tests: how long a wait between attempts really lasts, given the planned one (default: as
   * planned). The plan, its deadline check and what the caller is told keep the planned figure.
   */
  shortenWait?: (plannedMs: number) => number;
  /** How often a slow answer is announced to onWait (default SLOW_NOTICE_MS; tests shorten it). */
  slowNoticeMs?: number;
  /**
   * The one-deletion-at-a-time rule across replicas (issue 22): taken after this process's own turn,
   * checked right before every attempt, released after the call. Absent on one machine: the
   * in-process queue is the whole rule there.
   */
  deletionLock?: DeletionLock;
  /** The window of a 429 without Retry-After (VCC_RATE_LIMIT_WINDOW_MS), for `searchPace`. */
  rateLimitWindowMs?: number;
}

/** A lock shared by every replica that deletes through the same API account (see src/state/deletion-lock.ts). */
export interface DeletionLock {
  /**
   * Takes the lock within `budgetMs` (polling while another replica holds it), for a call whose
   * attempts take at most `attemptMs` each. An error (busy, cancelled, state_unavailable): nothing
   * was sent.
   */
  acquire(request: {
    subject: string;
    budgetMs: number;
    attemptMs: number;
    signal?: AbortSignal;
  }): Promise<{ ok: true; held: HeldDeletionLock } | { ok: false; error: ToolError }>;
}

export interface HeldDeletionLock {
  /**
   * The fencing check right before an attempt: undefined while the lock is held with more than
   * `attemptMs` left. `subject`: what the attempt is about, for the error (default: the acquisition's).
   */
  check(attemptMs: number, subject?: string): Promise<ToolError | undefined>;
  /** Frees the lock; resolves once freed (or once freeing failed: the lease then lapses by itself). Never rejects. */
  release(): Promise<void>;
}

/** How long a deletion lock taken ahead (prepareDeletion) waits for its DELETE before it is given back. */
export const EARLY_LOCK_MS = 500;

type Exchange = { ok: true; response: ApiResponse } | { ok: false; error: ToolError; retryable: boolean; cancelled: boolean };

/** How long a check of the base URL that did not confirm it stands before the next 404 checks again. */
const BASE_RECHECK_MS = 60_000;

export class VccClient {
  /**
   * The pace the API accepted this process's searches at, learned from its 429s (see pacer.ts) and
   * kept by every search and plan of the process: a search that follows one the API refused (the
   * cursor of a call that stopped on the rate limit) waits for that pace instead of meeting the
   * limit again. Forgotten after a while without a 429.
   */
  readonly searchPace: Pacer;
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #timeoutMs: number;
  readonly #tokens: ScopedTokens;
  readonly #retry: RetrySettings;
  readonly #shortenWait: (plannedMs: number) => number;
  readonly #slowNoticeMs: number;
  readonly #deletionLock: DeletionLock | undefined;
  /** Settles when every DELETE queued so far has finished (see deleteContent). */
  #deletions: Promise<void> = Promise.resolve();
  /** DELETE calls begun and not yet finished (sending, or waiting for their turn). */
  #deletionsUnderWay = 0;
  /** The API's search answered at this base once: a 404 about an interaction is about the interaction. */
  #baseConfirmed = false;
  /** The last check of the base that did not confirm it, and until when its answer stands. */
  #baseProbe: { until: number; answer: Promise<boolean | undefined> } | undefined;
  /** The deletion lock taken ahead by prepareDeletion, until a DELETE uses it or it is given back. */
  #early: { acquired: Promise<Awaited<ReturnType<DeletionLock["acquire"]>> | undefined> } | undefined;

  constructor(options: VccClientOptions) {
    const base = new URL(options.apiBaseUrl);
    this.#pool = new Pool(base.origin, { connections: 4, keepAliveTimeout: 30_000 });
    this.#basePath = base.pathname.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs;
    this.#tokens = options.tokens;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#shortenWait = options.shortenWait ?? ((ms) => ms);
    this.#slowNoticeMs = options.slowNoticeMs ?? SLOW_NOTICE_MS;
    this.#deletionLock = options.deletionLock;
    this.searchPace = new Pacer(Date.now, {
      forgetAfterMs: 60_000,
      ...(options.rateLimitWindowMs ? { unsaidWindowMs: options.rateLimitWindowMs } : {}),
    });
  }

  /**
   * DELETE /interactions/{guid}/content/{contentKey}: 204 is success. VCC answers concurrent
   * deletions with 429, so the deletions of this process (every session, every tool) go one at a
   * time, and with a `deletionLock` those of every replica too: after its turn here, a call takes
   * the shared lock, checks it right before every attempt and releases it at the end. Waiting for
   * the turn and the lock counts against the call's deadline and stops on cancellation.
   */
  async deleteContent(guid: string, contentKey: string, options: RequestOptions): Promise<ApiResult> {
    const path = contentPath(guid, contentKey);
    const previous = this.#deletions;
    let finished = () => {};
    const mine = new Promise<void>((resolve) => {
      finished = resolve;
    });
    // None under way (the usual case): every earlier one has finished, so this one's turn is now,
    // with no timer or listener to set up.
    const idle = this.#deletionsUnderWay === 0;
    this.#deletions = idle ? mine : previous.then(() => mine);
    this.#deletionsUnderWay++;
    try {
      const started = Date.now();
      const budget = Math.min(options.deadlineMs ?? this.#retry.deadlineMs, this.#retry.deadlineMs);
      const turn = idle ? (options.signal?.aborted ? "cancelled" : "ready") : await waitForTurn(previous, budget, options.signal);
      if (turn === "cancelled")
        return { ok: false, attempts: 0, error: errorCancelledBetweenAttempts(options.subject, "delete", 0, false) };
      if (turn === "timeout")
        return {
          ok: false,
          attempts: 0,
          error: {
            code: "busy",
            message: `Other deletions of this server were still in progress after ${Math.round(budget / 1000)} s (VCC accepts one deletion at a time), so this one was not sent: ${options.subject} was not deleted. Try again shortly.`,
          },
        };
      const lock = this.#deletionLock;
      if (!lock) return await this.#checked("DELETE", path, { ...options, deadlineMs: budget - (Date.now() - started) });
      const attemptMs = Math.min(options.timeoutMs ?? this.#timeoutMs, this.#timeoutMs);
      // Taken ahead (prepareDeletion) and not yet used: this call has the turn, so the lease is its.
      const early = this.#early;
      this.#early = undefined;
      const ahead = early ? await early.acquired : undefined;
      const taken = ahead?.ok
        ? ahead
        : await lock.acquire({
            subject: options.subject,
            budgetMs: Math.max(0, budget - (Date.now() - started)),
            attemptMs,
            ...(options.signal ? { signal: options.signal } : {}),
          });
      if (!taken.ok) return { ok: false, attempts: 0, error: taken.error };
      const { held } = taken;
      const own = options.beforeAttempt;
      try {
        return await this.#checked("DELETE", path, {
          ...options,
          deadlineMs: budget - (Date.now() - started),
          beforeAttempt: async (timeoutMs) => (await held.check(timeoutMs, options.subject)) ?? (await own?.(timeoutMs)),
        });
      } finally {
        // Not waited for: the answer does not depend on it. It leaves after the call's result, and
        // before this replica's next acquisition (a release that fails lets the lease lapse by itself).
        void held.release();
      }
    } finally {
      this.#deletionsUnderWay--;
      finished();
    }
  }

  /**
   * Starts taking the deployment-wide deletion lock now, one try without waiting, so that it goes to
   * the shared state together with the caller's own next request there (a confirmation token's claim)
   * instead of one round trip after it. Only when this process has no deletion under way; the next
   * DELETE of this process uses it, and unused it is given back after EARLY_LOCK_MS. Without a shared
   * lock (one machine) it does nothing.
   */
  prepareDeletion(): void {
    const lock = this.#deletionLock;
    if (!lock || this.#early || this.#deletionsUnderWay > 0) return;
    const acquired = lock
      .acquire({ subject: "this deletion", budgetMs: 0, attemptMs: this.#timeoutMs })
      // Whatever went wrong, the DELETE takes the lock the usual way and reports it from there.
      .catch((): undefined => undefined);
    const early = { acquired };
    this.#early = early;
    setTimeout(() => {
      if (this.#early !== early) return;
      this.#early = undefined;
      void acquired.then((taken) => (taken?.ok ? taken.held.release() : undefined));
    }, EARLY_LOCK_MS).unref();
  }

  /** GET /interactions/{guid}: the interaction and the content it still holds. */
  getInteraction(guid: string, options: RequestOptions): Promise<ApiResult> {
    return this.#checked("GET", interactionPath(guid), options);
  }

  /** GET /interactions: one page of a search (one window of at most 7 days). */
  searchInteractions(query: SearchQuery, options: RequestOptions): Promise<ApiResult> {
    return this.#send("GET", searchPath(query), options);
  }

  /**
   * Obtains the access token of this scope now, so that credentials that cannot get it are reported
   * before a person is asked to approve anything. The token is cached for the requests that follow.
   */
  async authenticate(scope: Scope, signal?: AbortSignal): Promise<{ ok: true } | { ok: false; error: ToolError }> {
    const token = await this.#tokens.forScope(scope).token(signal);
    return token.ok ? { ok: true } : token;
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }

  /**
   * A call about one interaction, whose 404 ("no such interaction or content": nothing to delete, or
   * already gone) is believed only where the API's search answers at the same base: a wrong
   * VCC_API_BASE_URL or region answers 404 to everything, and would read as "already deleted".
   */
  async #checked(method: "GET" | "DELETE", path: string, options: RequestOptions): Promise<ApiResult> {
    const result = await this.#send(method, path, options);
    const absent = result.ok ? result.verifiedByAbsence === true : result.error.httpStatus === 404;
    if (!absent || (await this.#baseAnswers()) !== false) return result;
    // No httpStatus: this is no 404 about the item (a job would take one for "already gone").
    return {
      ok: false,
      attempts: result.attempts,
      error: {
        code: "not_configured",
        message: `The API at VCC_API_BASE_URL answered 404 for ${options.subject}, and 404 to a search too: that is not the address of the VCC Interaction Content API, so this says nothing of the interaction${method === "DELETE" ? " and nothing was deleted" : ""}. Check VCC_REGION or VCC_API_BASE_URL.`,
      },
    };
  }

  /**
   * Whether the API's search answers at this base: true once it did (kept for the process), false
   * when it answered 404, undefined when that could not be told (no read token, a failure, a 429, the
   * searches' pace): then the 404 is believed, as before. One small search of a minute in 2000, after
   * a 404 only, shared by the calls that meet one meanwhile (no caller's cancellation ends it: it
   * lasts 2 s at most). An answer the API gave (404, a 429, a 5xx) is kept for BASE_RECHECK_MS, so
   * that a job over many items already gone asks once, not per item; no answer at all (a timeout, a
   * broken connection) is not kept: the next 404 asks again.
   */
  #baseAnswers(): Promise<boolean | undefined> {
    if (this.#baseConfirmed) return Promise.resolve(true);
    const now = Date.now();
    if (this.#baseProbe && now < this.#baseProbe.until) return this.#baseProbe.answer;
    const probe: { until: number; answer: Promise<boolean | undefined> } = {
      until: now + BASE_RECHECK_MS,
      answer: Promise.resolve(undefined),
    };
    probe.answer = (async () => {
      // The searches keep to the pace the API accepted them at: no probe into a rate limit.
      if (this.searchPace.waitMs() > 0) return undefined;
      const result = await this.#send("GET", searchPath({ start: "2000-01-01T00:00:00.000Z", end: "2000-01-01T00:01:00.000Z", limit: 1 }), {
        subject: "a check of VCC_API_BASE_URL",
        deadlineMs: 2_000,
        ...pacedRequest(this.searchPace),
      });
      paceAfter(this.searchPace, result);
      if (result.ok) this.#baseConfirmed = true;
      if (!result.ok && result.error.httpStatus === undefined) probe.until = 0;
      return result.ok ? true : result.error.httpStatus === 404 ? false : undefined;
    })();
    this.#baseProbe = probe;
    return probe.answer;
  }

  /**
   * One call: attempts until an answer that is final, retries exhausted, or the deadline. DELETE is
   * idempotent, so repeating it is safe; what an attempt without an answer means is kept track of.
   */
  async #send(method: "GET" | "DELETE", path: string, options: RequestOptions): Promise<ApiResult> {
    const operation = method === "GET" ? "read" : "delete";
    const tokens = this.#tokens.forScope(method === "GET" ? READ_SCOPE : DELETE_SCOPE);
    const started = Date.now();
    const deadline = started + Math.min(options.deadlineMs ?? this.#retry.deadlineMs, this.#retry.deadlineMs);
    const attemptLimit = Math.min(options.timeoutMs ?? this.#timeoutMs, this.#timeoutMs);
    let attempts = 0;
    let retries = 0;
    let renewed = false;
    // Whether an attempt may have been carried out: answered with anything but a 401, or lost in
    // flight. Until then, a failure to get a token means the request was not carried out at all.
    let reached = false;
    // An attempt that may have been carried out without us hearing so (DELETE only): no answer, or a
    // 500/502/504 from a gateway or server that may have failed after the deletion.
    let unknown = false;
    const fail = (error: ToolError): ApiResult => ({
      ok: false,
      error: unknown ? errorAfterUnknownAttempt(error, options.subject, attempts) : withAttempts(error, attempts),
      attempts,
    });
    const cancelled = (): ApiResult => ({
      ok: false,
      error: errorCancelledBetweenAttempts(options.subject, operation, attempts, unknown),
      attempts,
    });
    /** What the last attempt came to, for a retry that is not sent after all. */
    let lastError: ToolError | undefined;
    /** The last attempt was answered 429 without Retry-After (see RequestOptions.rateLimited). */
    let refusedBefore = false;

    for (;;) {
      if (options.signal?.aborted || options.cutOff?.aborted) return cancelled();
      const token = await tokens.token(options.signal);
      if (!token.ok) {
        if (!reached) return { ok: false, error: token.error, attempts, noToken: true };
        return options.signal?.aborted ? cancelled() : fail(token.error);
      }
      // Bounded by the deadline, but never so short that an attempt is pointless (at most ~1 s over).
      const timeoutMs = Math.min(attemptLimit, Math.max(deadline - Date.now(), Math.min(attemptLimit, 1_000)));
      if (options.beforeAttempt) {
        const refused = await options.beforeAttempt(timeoutMs);
        if (refused) return attempts === 0 ? { ok: false, error: refused, attempts } : fail(refused);
      }
      // Getting the token and the lock (or this call's turn) may have taken long: cancelled or cut off
      // meanwhile, this attempt is not sent; a retry is not sent past the deadline or once shutdown
      // began (also after a 401), nor a first attempt once it began.
      if (options.signal?.aborted || options.cutOff?.aborted) return cancelled();
      if (lastError && (options.stopRetrying?.aborted || deadline - Date.now() < Math.min(attemptLimit, 1_000))) return fail(lastError);
      if (attempts === 0 && options.stopRetrying?.aborted) return cancelled();
      attempts++;
      const sent = await this.#exchange(method, path, token.value, timeoutMs, attempts, options);
      if (sent.ok ? sent.response.status !== 401 : sent.error.outcomeUnknown) reached = true;

      let error: ToolError;
      let retryAfterMs: number | undefined;
      let pacedMs: number | undefined;
      if (sent.ok) {
        const { response } = sent;
        if (response.status >= 200 && response.status < 300) {
          return { ok: true, response, attempts };
        } else if (response.status === 404 && method === "DELETE" && unknown) {
          return { ok: true, response, attempts, verifiedByAbsence: true };
        } else if (response.status === 401 && !renewed && tokens.invalidate(token.value)) {
          // A 401 was not carried out: a token that can be renewed is, and the request is tried once more.
          renewed = true;
          lastError = errorForStatus(response, options.subject, operation, this.#tokens.kind);
          continue;
        } else {
          error = errorForStatus(response, options.subject, operation, this.#tokens.kind);
          lastError = error;
          if (method === "DELETE" && MAYBE_CARRIED_OUT.has(response.status)) unknown = true;
          if (!RETRYABLE_STATUSES.has(response.status)) return fail(error);
          const seconds = parseRetryAfter(response.retryAfter);
          if (seconds !== undefined) retryAfterMs = seconds * 1000;
          else if (response.status === 429 && refusedBefore) pacedMs = options.rateLimited?.();
          refusedBefore = response.status === 429 && seconds === undefined;
        }
      } else {
        refusedBefore = false;
        // Cancelled in flight: the error already says that this attempt may have reached the API.
        if (sent.cancelled) return fail(sent.error);
        error = sent.error;
        lastError = error;
        if (error.outcomeUnknown && method === "DELETE") unknown = true;
        if (!sent.retryable) return fail(error);
      }

      const plan = planRetry({
        retry: retries,
        settings: this.#retry,
        retryAfterMs,
        rateLimited: error.code === "rate_limited",
        pacedMs,
        remainingMs: deadline - Date.now(),
        attemptMs: attemptLimit,
      });
      if (!plan.retry) {
        if (retries > 0 || this.#retry.maxRetries > 0) log.debug(`not retrying ${method} ${options.subject}: ${plan.why}`);
        return fail(error);
      }
      retries++;
      log.debug(`retrying ${method} ${options.subject} in ${plan.delayMs} ms after ${error.code}`, { attempt: attempts });
      options.onWait?.({
        kind: "retry",
        attempt: attempts,
        delayMs: plan.delayMs,
        fromRetryAfter: plan.fromRetryAfter,
        ...(plan.paced ? { paced: true as const } : {}),
        reason: error,
      });
      const waited = await sleep(this.#shortenWait(plan.delayMs), options.signal, options.stopRetrying);
      if (waited === "cancelled") return cancelled();
      if (waited === "stopped") return fail(error);
    }
  }

  /** One request on the wire: its answer, or the transport failure mapped to a ToolError. */
  async #exchange(
    method: "GET" | "DELETE",
    path: string,
    accessToken: string,
    timeoutMs: number,
    attempt: number,
    options: RequestOptions,
  ): Promise<Exchange> {
    const operation = method === "GET" ? "read" : "delete";
    // One abort handle for the attempt, fired by its timeout or by the caller's signal: a plain timer
    // and listener, both removed when the attempt ends (AbortSignal.timeout and AbortSignal.any cost
    // several times more on every request, and keep weak references for the garbage collector).
    const signal = new AttemptAbort();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      signal.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
    }, timeoutMs);
    const { signal: outer, cutOff } = options;
    const onAbort = () => signal.abort(outer?.aborted ? outer.reason : cutOff?.reason);
    if (outer?.aborted || cutOff?.aborted) onAbort();
    else {
      outer?.addEventListener("abort", onAbort, { once: true });
      cutOff?.addEventListener("abort", onAbort, { once: true });
    }
    const started = Date.now();
    const { onWait } = options;
    const ticker = onWait
      ? setInterval(() => onWait({ kind: "slow", attempt, elapsedMs: Date.now() - started }), this.#slowNoticeMs)
      : undefined;
    const failed = (cause: unknown): Exchange => {
      const kind = outer?.aborted || cutOff?.aborted ? "cancelled" : timedOut ? "timeout" : "network";
      return {
        ok: false,
        error: errorForTransport(cause, options.subject, timeoutMs, kind, operation),
        retryable: isRetryableTransport(cause, kind),
        cancelled: kind === "cancelled",
      };
    };
    try {
      let res: Awaited<ReturnType<Pool["request"]>>;
      try {
        res = await this.#pool.request({
          method,
          path: this.#basePath + path,
          headers: { accept: ACCEPT_V3, authorization: `Bearer ${accessToken}` },
          signal,
        });
      } catch (cause) {
        return failed(cause);
      }
      const header = (name: string) => {
        const value = res.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      // The status line has arrived, so the API has decided: a body cut short (or too slow) is only
      // missing detail for a DELETE, whose outcome is its status. A GET needs its whole body.
      let body = "";
      try {
        body = await res.body.text();
      } catch (cause) {
        if (method === "GET") return failed(cause);
      }
      return {
        ok: true,
        response: { status: res.statusCode, contentType: header("content-type"), retryAfter: header("retry-after"), body },
      };
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
      cutOff?.removeEventListener("abort", onAbort);
      if (ticker) clearInterval(ticker);
    }
  }
}

/**
 * What aborts one attempt's request: undici takes an EventEmitter with `aborted` and `reason` as its
 * `signal`, as well as an AbortSignal. Not an AbortController per attempt: under Node 20 each one
 * left about 1 KiB in the old generation until the next full collection (measured: a 10 000-item
 * erasure job's heap grew ~10 MiB more with one AbortController per DELETE than with this; see
 * docs/benchmarks.md), and a long job runs thousands of attempts between full collections.
 */
class AttemptAbort extends EventEmitter {
  aborted = false;
  reason: unknown;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new DOMException("This operation was aborted", "AbortError");
    this.emit("abort");
  }
}

/** Waits, unless cancelled (the call ends) or stopped (no further attempt) first. */
function sleep(ms: number, cancel?: AbortSignal, stop?: AbortSignal): Promise<"elapsed" | "cancelled" | "stopped"> {
  if (cancel?.aborted) return Promise.resolve("cancelled");
  if (stop?.aborted) return Promise.resolve("stopped");
  return new Promise((resolve) => {
    const done = (outcome: "elapsed" | "cancelled" | "stopped") => {
      clearTimeout(timer);
      cancel?.removeEventListener("abort", onCancel);
      stop?.removeEventListener("abort", onStop);
      resolve(outcome);
    };
    const onCancel = () => done("cancelled");
    const onStop = () => done("stopped");
    const timer = setTimeout(() => done("elapsed"), ms);
    cancel?.addEventListener("abort", onCancel, { once: true });
    stop?.addEventListener("abort", onStop, { once: true });
  });
}

/** Resolves when `previous` settles, the budget runs out, or the signal aborts: whichever is first. */
function waitForTurn(previous: Promise<void>, budgetMs: number, signal?: AbortSignal): Promise<"ready" | "timeout" | "cancelled"> {
  if (signal?.aborted) return Promise.resolve("cancelled");
  return new Promise((resolve) => {
    const timer = setTimeout(() => done("timeout"), budgetMs);
    const onAbort = () => done("cancelled");
    signal?.addEventListener("abort", onAbort, { once: true });
    void previous.then(() => done("ready"));
    function done(outcome: "ready" | "timeout" | "cancelled") {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(outcome);
    }
  });
}
