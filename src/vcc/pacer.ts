// Pacing after a rate limit: once the API answered 429, requests go no faster than the API had
// accepted them before it. Used by the search, erasure jobs and bulk deletions.
import type { ApiResult, RequestOptions, WaitEvent } from "./client.js";

/** Added to each pacing wait, so that a request never arrives a hair before the API's window moves on. */
const PACE_MARGIN_MS = 5;

/** The window of a 429 that said how long to wait (Retry-After): the API counts by the second. */
const SECOND_WINDOW_MS = 1_000;
/**
 * The window of a 429 that did not say, by default (VCC documents no Retry-After; its limits are per
 * minute in Vonage's samples: about 16 deletions a minute): VCC_RATE_LIMIT_WINDOW_MS.
 */
export const DEFAULT_UNSAID_WINDOW_MS = 60_000;

/**
 * After a 429, requests go no faster than the number of requests the API had accepted in the window
 * before it: at most that many in any window. A 429 with Retry-After > 0 sets a one-second window; one
 * without Retry-After the longer `unsaidWindowMs` (a minute), and tells how long until the API should
 * accept again (the oldest request of that window leaving it). The rate limit is shared by every VCC API of the account,
 * so it is better not to meet it again and again; the waits this saves are the ones a 429 would have
 * cost. One pacer per sequence of requests: the searches of a process (VccClient.searchPace), the
 * DELETEs of its erasure jobs, one bulk deletion.
 */
export class Pacer {
  readonly #now: () => number;
  /**
   * When the answer to each request arrived, oldest first (the last minute).
   * An answer comes after the request reached the API, so pacing on these never runs early.
   */
  #answered: number[] = [];
  #perWindow: number | undefined;
  #windowMs = SECOND_WINDOW_MS;
  #limitedAt = 0;
  readonly #forgetAfterMs: number;
  readonly #unsaidWindowMs: number;

  /**
   * `forgetAfterMs`: after this long without another 429 (and at least five windows), the learned
   * pace is dropped and requests go at full speed again (for long sequences, where the account's
   * other traffic changes what "accepted in the window before" meant). Default: never.
   * `unsaidWindowMs`: the window of a 429 without Retry-After (default DEFAULT_UNSAID_WINDOW_MS).
   */
  constructor(now: () => number, options: { forgetAfterMs?: number; unsaidWindowMs?: number } = {}) {
    this.#now = now;
    this.#forgetAfterMs = options.forgetAfterMs ?? Number.POSITIVE_INFINITY;
    this.#unsaidWindowMs = Math.max(options.unsaidWindowMs ?? DEFAULT_UNSAID_WINDOW_MS, SECOND_WINDOW_MS);
  }

  answered(): void {
    const now = this.#now();
    this.#answered.push(now);
    while (this.#answered.length > 0 && (this.#answered[0] ?? now) <= now - this.#unsaidWindowMs) this.#answered.shift();
  }

  /**
   * A 429: the requests answered in the window before were what the API allowed; the window is a
   * second after a Retry-After that asked to wait, else `unsaidWindowMs`. A pace learned over the
   * longer window is kept (a second's count says nothing of the minute). Answers how long to wait
   * before the next request (0: nothing was learned, e.g. no request of the window was accepted).
   */
  limited(how: { retryAfter: boolean }): number {
    const windowMs = how.retryAfter ? SECOND_WINDOW_MS : this.#unsaidWindowMs;
    const now = this.#now();
    const accepted = this.#answered.filter((t) => t > now - windowMs).length;
    if (accepted >= 1 && windowMs >= this.#windowMs) {
      this.#perWindow = windowMs > this.#windowMs ? accepted : Math.min(this.#perWindow ?? accepted, accepted);
      this.#windowMs = windowMs;
    }
    this.#limitedAt = now;
    return this.waitMs();
  }

  /** The requests a minute the learned pace allows, or undefined when none is learned (or it was forgotten). */
  perMinute(): number | undefined {
    this.waitMs();
    return this.#perWindow === undefined ? undefined : (this.#perWindow * 60_000) / this.#windowMs;
  }

  /** How long to wait before the next request (0: go now). */
  waitMs(): number {
    const now = this.#now();
    if (this.#perWindow !== undefined && now - this.#limitedAt > Math.max(this.#forgetAfterMs, 5 * this.#windowMs)) {
      this.#perWindow = undefined;
      this.#windowMs = SECOND_WINDOW_MS;
    }
    if (this.#perWindow === undefined) return 0;
    const inWindow = this.#answered.filter((t) => t > now - this.#windowMs);
    if (inWindow.length < this.#perWindow) return 0;
    const oldest = inWindow[inWindow.length - this.#perWindow] ?? 0;
    return Math.max(0, oldest + this.#windowMs + PACE_MARGIN_MS - now);
  }
}

/**
 * The options of a request that keep `pacer` informed (one wiring for searches, jobs and bulk
 * deletions): it learns from a 429 that asked to wait (Retry-After), and from a second 429 in a row
 * without one, whose retry then waits for its pace instead of the backoff. `onWait` is told as well.
 */
export function pacedRequest(pacer: Pacer, onWait?: (event: WaitEvent) => void): Pick<RequestOptions, "rateLimited" | "onWait"> {
  return {
    rateLimited: () => pacer.limited({ retryAfter: false }),
    onWait: (event) => {
      if (event.kind === "retry" && event.reason.httpStatus === 429 && event.fromRetryAfter && event.delayMs > 0)
        pacer.limited({ retryAfter: true });
      onWait?.(event);
    },
  };
}

/** Tells `pacer` what a request came to: one that did not end on a 429 was accepted by the API. */
export function paceAfter(pacer: Pacer | undefined, result: ApiResult): void {
  if (pacer && (result.ok || result.error.httpStatus !== 429)) pacer.answered();
}

/** Waits `ms`, or less when one of the signals is (or becomes) aborted. */
export function pause(ms: number, ...signals: (AbortSignal | undefined)[]): Promise<void> {
  if (ms <= 0 || signals.some((s) => s?.aborted)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      for (const s of signals) s?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const s of signals) s?.addEventListener("abort", done, { once: true });
  });
}
