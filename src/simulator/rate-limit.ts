// "At most n requests in any one second": a sliding window over the requests let through.

export class RateLimiter {
  readonly perSecond: number;
  readonly #now: () => number;
  /** When each request of the last second was let through, oldest first. */
  #times: number[] = [];

  constructor(perSecond: number, now: () => number) {
    this.perSecond = perSecond;
    this.#now = now;
  }

  /** 0 if this request may go now (and counts it), else the whole seconds to wait (Retry-After). */
  take(): number {
    const now = this.#now();
    while (this.#times.length > 0 && (this.#times[0] ?? 0) <= now - 1000) this.#times.shift();
    if (this.#times.length < this.perSecond) {
      this.#times.push(now);
      return 0;
    }
    // The oldest request leaves the window 1000 ms after it went.
    return Math.max(1, Math.ceil(((this.#times[0] ?? now) + 1000 - now) / 1000));
  }
}
