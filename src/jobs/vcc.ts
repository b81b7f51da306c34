// The engine's DeleteItem over the one HTTP client: VccClient.deleteContent, with its one-DELETE-at-
// a-time rule for the whole process, its retries and its error mapping; the engine's attempt guard
// (a job's lease, with replicas) goes in as RequestOptions.beforeAttempt.
import type { VccClient, WaitEvent } from "../vcc/client.js";
import { type Pacer, pause } from "../vcc/pacer.js";
import type { AttemptGuard, DeleteItem } from "./engine.js";
import type { PlanItem } from "./plan.js";

export function vccDeleteItem(
  client: VccClient,
  options: {
    stopRetrying?: AbortSignal;
    onWait?: (event: WaitEvent) => void;
    /** Paces the DELETEs after a 429 (see vcc/pacer.ts) instead of meeting the limit again and again. */
    pacer?: Pacer;
  } = {},
): DeleteItem {
  const { pacer } = options;
  const call = (item: PlanItem, signal: AbortSignal, guard: AttemptGuard | undefined) =>
    client.deleteContent(item.guid, item.contentKey, {
      signal,
      // Replicas: the job's lease checked right before each attempt is sent (engine.ts #guard).
      ...(guard ? { beforeAttempt: guard } : {}),
      subject: `content '${item.contentKey}' of interaction ${item.guid}`,
      ...(options.stopRetrying ? { stopRetrying: options.stopRetrying } : {}),
      // A 429 without Retry-After: wait until the pace of the window before (a minute) allows the next request.
      ...(pacer ? { rateLimited: () => pacer.limited({ retryAfter: false }) } : {}),
      onWait: (event) => {
        if (pacer && event.kind === "retry" && event.reason.httpStatus === 429 && event.fromRetryAfter && event.delayMs > 0)
          pacer.limited({ retryAfter: true });
        options.onWait?.(event);
      },
    });
  return async (item, signal, guard) => {
    if (pacer) await pause(pacer.waitMs(), signal);
    let result = await call(item, signal, guard);
    pacer?.answered();
    // Still refused by the rate limit after the call's retries (its deadline came first), with nothing
    // sent that may have been carried out: once more, when the learned pace allows (a 429 deleted nothing).
    if (
      pacer &&
      !result.ok &&
      result.error.code === "rate_limited" &&
      !result.error.outcomeUnknown &&
      pacer.waitMs() > 0 &&
      !signal.aborted &&
      !options.stopRetrying?.aborted
    ) {
      const first = result.attempts;
      await pause(pacer.waitMs(), signal);
      if (!signal.aborted) {
        result = await call(item, signal, guard);
        pacer.answered();
        result = { ...result, attempts: first + result.attempts };
      }
    }
    if (result.ok)
      return {
        kind: "deleted",
        httpStatus: result.response.status,
        attempts: result.attempts,
        ...(result.verifiedByAbsence ? { verifiedByAbsence: true } : {}),
      };
    // No token, or no attempt made (cancelled or busy before sending): certainly not carried out.
    const notSent = result.noToken === true || result.attempts === 0;
    return { kind: "error", error: result.error, attempts: result.attempts, ...(notSent ? { notSent: true } : {}) };
  };
}
