// The engine's DeleteItem over the one HTTP client: VccClient.deleteContent, with its one-DELETE-at-
// a-time rule for the whole process, its retries and its error mapping; the engine's attempt guard
// (a job's lease, with replicas) goes in as RequestOptions.beforeAttempt.
import type { VccClient, WaitEvent } from "../vcc/client.js";
import { type Pacer, pause } from "../vcc/pacer.js";
import type { DeleteItem } from "./engine.js";

export function vccDeleteItem(
  client: VccClient,
  options: {
    stopRetrying?: AbortSignal;
    onWait?: (event: WaitEvent) => void;
    /** Paces the DELETEs after a 429 with Retry-After (see vcc/pacer.ts) instead of meeting the limit every second. */
    pacer?: Pacer;
  } = {},
): DeleteItem {
  const { pacer } = options;
  return async (item, signal, guard) => {
    if (pacer) await pause(pacer.waitMs(), signal);
    const result = await client.deleteContent(item.guid, item.contentKey, {
      signal,
      // Replicas: the job's lease checked right before each attempt is sent (engine.ts #guard).
      ...(guard ? { beforeAttempt: guard } : {}),
      subject: `content '${item.contentKey}' of interaction ${item.guid}`,
      ...(options.stopRetrying ? { stopRetrying: options.stopRetrying } : {}),
      onWait: (event) => {
        if (pacer && event.kind === "retry" && event.reason.httpStatus === 429 && event.fromRetryAfter && event.delayMs > 0)
          pacer.limited();
        options.onWait?.(event);
      },
    });
    pacer?.answered();
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
