// When to try an API request again, and how long to wait first. Pure, so that the rules can be
// tested without a network; the loop that applies them is VccClient#send.

/** A Retry-After longer than this is not waited for: the call gives up and reports it. */
export const RETRY_AFTER_CAP_MS = 30_000;
/** The longest backoff between two attempts. */
export const MAX_BACKOFF_MS = 10_000;

export interface RetrySettings {
  /** Retries after the first attempt (0 = none). */
  maxRetries: number;
  /** Overall limit of one call: attempts and waits together. */
  deadlineMs: number;
  /** Base of the exponential backoff. */
  baseDelayMs: number;
}

export const DEFAULT_RETRY: RetrySettings = { maxRetries: 3, deadlineMs: 60_000, baseDelayMs: 500 };

/**
 * After a 429 without Retry-After and without a pace to keep, the backoff's base is this many times
 * the usual one (2 s by default): VCC documents neither figures nor Retry-After, and its limit "is
 * reset after a short period" (Vonage's samples back off from 10 s), so a rate limit is waited out
 * longer than a failure.
 */
export const RATE_LIMIT_BASE_FACTOR = 4;

/** After a 429 without Retry-After: 4·base·2^retry (capped), at least half of it, so that the limit has time to reset. */
export function rateLimitBackoffMs(retry: number, baseDelayMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, RATE_LIMIT_BASE_FACTOR * baseDelayMs * 2 ** retry);
  return Math.floor(ceiling / 2 + (random() * ceiling) / 2);
}

/** Exponential backoff with full jitter: anywhere from 0 to base·2^retry (capped), so that clients spread out. */
export function backoffMs(retry: number, baseDelayMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseDelayMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

export type RetryPlan = { retry: true; delayMs: number; fromRetryAfter: boolean; paced?: true } | { retry: false; why: string };

/**
 * Whether to make another attempt after a retryable failure, and after what wait.
 * `retry` counts the retries made so far; `remainingMs` is what is left of the deadline;
 * `attemptMs` is how long an attempt may take (the per-request timeout).
 */
export function planRetry(input: {
  retry: number;
  settings: RetrySettings;
  retryAfterMs?: number;
  /** The failure was a 429 (without Retry-After when retryAfterMs is absent). */
  rateLimited?: boolean;
  /** After a 429 without Retry-After: the wait the caller's pacer chose (see pacer.ts); 0 or absent: none. */
  pacedMs?: number;
  remainingMs: number;
  attemptMs: number;
  random?: () => number;
}): RetryPlan {
  const { retry, settings, retryAfterMs, remainingMs, attemptMs } = input;
  const pacedMs = retryAfterMs === undefined && input.pacedMs !== undefined && input.pacedMs > 0 ? input.pacedMs : undefined;
  // The pacer's wait only where it fits the deadline: else the backoff, which may still get through.
  const paced = pacedMs !== undefined && pacedMs + Math.min(attemptMs, 1_000) <= remainingMs ? pacedMs : undefined;
  if (retry >= settings.maxRetries)
    return { retry: false, why: settings.maxRetries === 0 ? "retries are disabled" : `${settings.maxRetries} retries were made` };
  if (retryAfterMs !== undefined && retryAfterMs > RETRY_AFTER_CAP_MS)
    return { retry: false, why: `the API asked to wait ${Math.ceil(retryAfterMs / 1000)} s, longer than this server waits` };
  const delayMs =
    retryAfterMs ??
    paced ??
    (input.rateLimited
      ? rateLimitBackoffMs(retry, settings.baseDelayMs, input.random)
      : backoffMs(retry, settings.baseDelayMs, input.random));
  // The next attempt must have a fair chance to finish before the deadline: an attempt cut short by
  // the deadline would only turn a clear answer into an unknown one.
  const neededMs = delayMs + Math.min(attemptMs, 1_000);
  if (neededMs > remainingMs) return { retry: false, why: "the call's deadline (VCC_DEADLINE_MS) would pass" };
  return { retry: true, delayMs, fromRetryAfter: retryAfterMs !== undefined, ...(paced !== undefined ? { paced: true as const } : {}) };
}
