// Pacing after a rate limit: once the API answered 429 with a Retry-After, requests go no faster
// than the API had accepted them in the second before. Used by the search and by erasure jobs.

/** Added to each pacing wait, so that a request never arrives a hair before the API's window moves on. */
const PACE_MARGIN_MS = 5;

/**
 * After a 429 that asked to wait (Retry-After > 0), requests go no faster than the number of
 * requests the API had accepted in the second before: at most that many in any one second.
 * The rate limit is shared by every VCC API of the account, so it is better not to meet it again
 * and again; the waits this saves are the ones a 429 would have cost. One pacer per sequence of
 * requests (a search; the DELETEs of the erasure jobs of a process).
 */
export class Pacer {
  readonly #now: () => number;
  /**
   * When the answer to each request arrived, oldest first (the last two seconds).
   * An answer comes after the request reached the API, so pacing on these never runs early.
   */
  #answered: number[] = [];
  #perSecond: number | undefined;
  #limitedAt = 0;
  readonly #forgetAfterMs: number;

  /**
   * `forgetAfterMs`: after this long without another 429, the learned pace is dropped and requests
   * go at full speed again (for long sequences, where the account's other traffic changes what
   * "accepted in the second before" meant). Default: never.
   */
  constructor(now: () => number, options: { forgetAfterMs?: number } = {}) {
    this.#now = now;
    this.#forgetAfterMs = options.forgetAfterMs ?? Number.POSITIVE_INFINITY;
  }

  answered(): void {
    const now = this.#now();
    this.#answered.push(now);
    while (this.#answered.length > 0 && (this.#answered[0] ?? now) <= now - 2_000) this.#answered.shift();
  }

  /** A 429 that asked to wait: the requests answered in the second before were what the API allowed. */
  limited(): void {
    const now = this.#now();
    const accepted = this.#answered.filter((t) => t > now - 1_000).length;
    if (accepted >= 1) this.#perSecond = Math.min(this.#perSecond ?? accepted, accepted);
    this.#limitedAt = now;
  }

  /** How long to wait before the next request (0: go now). */
  waitMs(): number {
    if (this.#perSecond !== undefined && this.#now() - this.#limitedAt > this.#forgetAfterMs) this.#perSecond = undefined;
    if (this.#perSecond === undefined || this.#answered.length < this.#perSecond) return 0;
    const oldest = this.#answered[this.#answered.length - this.#perSecond] ?? 0;
    return Math.max(0, oldest + 1_000 + PACE_MARGIN_MS - this.#now());
  }
}

export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
