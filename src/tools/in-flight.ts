// The deletions this process is carrying out, so that shutting down can let them finish (briefly)
// instead of cutting a DELETE off mid-flight and leaving its outcome unknown.

const running = new Set<Promise<unknown>>();
const stopping = new AbortController();

/** Aborted once the process is shutting down: no deletion and no retry starts after that. */
export const shuttingDown: AbortSignal = stopping.signal;

/** Runs `work` (a deletion and the building of its result) as one the shutdown waits for. */
export function trackDeletion<T>(work: () => Promise<T>): Promise<T> {
  const promise = work();
  running.add(promise);
  const forget = () => running.delete(promise);
  promise.then(forget, forget);
  return promise;
}

export function deletionsInFlight(): number {
  return running.size;
}

/** From now on, no deletion and no retry starts. */
export function stopNewDeletions(): void {
  stopping.abort();
}

/**
 * Stops new deletions and retries, then waits up to `graceMs` for those in flight to finish.
 * Resolves to how many are still running (their outcome is unknown).
 */
export async function drainDeletions(graceMs: number): Promise<number> {
  stopNewDeletions();
  if (running.size > 0) {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.allSettled([...running]), grace]);
    clearTimeout(timer);
  }
  return running.size;
}
