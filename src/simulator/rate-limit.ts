// "At most n requests in any window" (one second by default): a sliding window over the requests let through.

/** A rate limit: `limit` API requests in any `windowMs` (default 1000: a second). */
export interface RateLimitSpec {
  limit: number;
  windowMs?: number;
}

export class RateLimiter {
  readonly limit: number;
  readonly windowMs: number;
  readonly #now: () => number;
  /** When each request of the last window was let through, oldest first. */
  #times: number[] = [];

  constructor(spec: RateLimitSpec, now: () => number) {
    this.limit = spec.limit;
    this.windowMs = spec.windowMs ?? 1_000;
    this.#now = now;
  }

  /** 0 if this request may go now (and counts it), else the whole seconds to wait (Retry-After). */
  take(): number {
    const now = this.#now();
    while (this.#times.length > 0 && (this.#times[0] ?? 0) <= now - this.windowMs) this.#times.shift();
    if (this.#times.length < this.limit) {
      this.#times.push(now);
      return 0;
    }
    // The oldest request leaves the window windowMs after it went.
    return Math.max(1, Math.ceil(((this.#times[0] ?? now) + this.windowMs - now) / 1000));
  }
}
