// The engine's DeleteItem over the one HTTP client: VccClient.deleteContent, with its one-DELETE-at-
// a-time rule for the whole process, its retries and its error mapping; the engine's attempt guard
// (a job's lease, with replicas) goes in as RequestOptions.beforeAttempt.
import type { VccClient, WaitEvent } from "../vcc/client.js";
import { type Pacer, paceAfter, pacedRequest, pause } from "../vcc/pacer.js";
import type { AttemptGuard, DeleteItem } from "./engine.js";
import type { PlanItem } from "./plan.js";

/** Waits until the pacer lets the next DELETE go (the engine's beforeItem); ends early on `stop`. */
export function paceBeforeItem(pacer: Pacer): (stop: AbortSignal) => Promise<void> {
  return (stop) => pause(pacer.waitMs(), stop);
}

export function vccDeleteItem(
  client: VccClient,
  options: {
    stopRetrying?: AbortSignal;
    onWait?: (event: WaitEvent) => void;
    /**
     * Paces the DELETEs after a 429 (see vcc/pacer.ts) instead of meeting the limit again and again:
     * the wait before an item is the engine's (beforeItem: paceBeforeItem), the waits within it here.
     */
    pacer?: Pacer;
  } = {},
): DeleteItem {
  const { pacer } = options;
  const call = (item: PlanItem, signal: AbortSignal, guard: AttemptGuard | undefined, stop: AbortSignal | undefined) =>
    client.deleteContent(item.guid, item.contentKey, {
      signal,
      // Replicas: the job's lease checked right before each attempt is sent (engine.ts #guard).
      ...(guard ? { beforeAttempt: guard } : {}),
      subject: `content '${item.contentKey}' of interaction ${item.guid}`,
      // The job cancelled here or the engine closing (stop), or the process shutting down: no further attempt.
      ...(stop || options.stopRetrying ? { stopRetrying: stop ?? options.stopRetrying } : {}),
      ...(pacer ? pacedRequest(pacer, options.onWait) : options.onWait ? { onWait: options.onWait } : {}),
    });
  return async (item, signal, guard, stop) => {
    let result = await call(item, signal, guard, stop);
    paceAfter(pacer, result);
    // Still refused by the rate limit after the call's retries (its deadline came first), with nothing
    // sent that may have been carried out: once more, when the learned pace allows (a 429 deleted
    // nothing). Not once the job is cancelled here, the engine closes or the process shuts down.
    const stopped = () => signal.aborted || Boolean(stop?.aborted) || Boolean(options.stopRetrying?.aborted);
    if (pacer && !result.ok && result.error.code === "rate_limited" && !result.error.outcomeUnknown && pacer.waitMs() > 0 && !stopped()) {
      await pause(pacer.waitMs(), stop ?? signal);
      if (!stopped()) {
        const first = result.attempts;
        result = await call(item, signal, guard, stop);
        paceAfter(pacer, result);
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
