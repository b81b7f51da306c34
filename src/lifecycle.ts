// The life of the process: the deletions it is carrying out, and the one way it shuts down (stdio and
// HTTP alike). Shutting down lets deletions in flight finish (briefly) instead of cutting a DELETE off
// mid-flight and leaving its outcome unknown.
import { log } from "./log.js";

const running = new Set<Promise<unknown>>();
/** What a deletion leaves to do after its result (spending its token): waited for, never a deletion. */
const upkeep = new Set<Promise<unknown>>();
const stopping = new AbortController();
const abandoning = new AbortController();

/** Aborted once the process is shutting down: no deletion and no retry starts after that. */
export const shuttingDown: AbortSignal = stopping.signal;

/**
 * Aborted when the grace period ended with deletions still in flight: their DELETE is cut off, so
 * that each is audited and answered (cancelled, outcome unknown) before the process exits, instead
 * of the process exiting under it with no record of the attempt.
 */
export const abandoned: AbortSignal = abandoning.signal;

/** How long deletions cut off at the end of the grace period get to be recorded and answered. */
const RECORD_MS = 1_000;

function track<T>(set: Set<Promise<unknown>>, work: () => Promise<T>): Promise<T> {
  const promise = work();
  set.add(promise);
  const forget = () => set.delete(promise);
  promise.then(forget, forget);
  return promise;
}

/** Runs `work` (a deletion and the building of its result) as one the shutdown waits for. */
export function trackDeletion<T>(work: () => Promise<T>): Promise<T> {
  return track(running, work);
}

/** Runs `work` left after a deletion's result (its token's spend): the shutdown waits for it too. */
export function trackUpkeep<T>(work: () => Promise<T>): Promise<T> {
  return track(upkeep, work);
}

/** Resolves once no deletion and no upkeep is under way, including work added while waiting. */
async function allSettled(): Promise<void> {
  while (running.size > 0 || upkeep.size > 0) await Promise.allSettled([...running, ...upkeep]);
}

const hooks = new Set<() => Promise<void>>();

/**
 * Work that stops itself at shutdown (erasure jobs: the item in flight finishes, the job is left
 * interrupted); awaited within the grace period. Returns a function that removes the hook.
 */
export function atShutdown(hook: () => Promise<void>): () => void {
  hooks.add(hook);
  return () => hooks.delete(hook);
}

const closers = new Set<() => Promise<void>>();

/**
 * What is closed last, after the sessions ended and their last results were sent (the shared
 * state's connection to Redis): run once by the shutdown, in the order registered.
 */
export function atClose(closer: () => Promise<void>): void {
  closers.add(closer);
}

export function deletionsInFlight(): number {
  return running.size;
}

/** From now on, no deletion and no retry starts. */
export function stopNewDeletions(): void {
  stopping.abort();
}

/** Work of a transport that a shutdown waits for besides deletions (HTTP: requests being answered). */
export interface PendingWork {
  /** How it is named in the log, with the count: e.g. "request(s) in progress". */
  what: string;
  count(): number;
  /** Resolves once count() is 0. */
  settled(): Promise<void>;
}

export interface ShutdownPlan {
  /** How long deletions (and `pending` work) in flight may take to finish. */
  graceMs: number;
  /** Called first: refuse new work (HTTP: new sessions and calls). */
  refuseNewWork?: () => void;
  pending?: PendingWork;
  /** Ends the sessions and whatever serves them; the process exits after it. */
  close: () => Promise<void>;
}

/**
 * The one shutdown of this process, for every transport: on SIGINT/SIGTERM (and whenever the returned
 * function is called, e.g. on stdin EOF) it stops new deletions and new work, waits up to the grace
 * period for what is in flight, says what is left, closes, and exits 0. It never hangs: the process
 * exits shortly after the grace period whatever happens.
 */
export function handleShutdown(plan: ShutdownPlan): (reason: string) => Promise<void> {
  let started = false;
  const shutdown = async (reason: string): Promise<void> => {
    if (started) return;
    started = true;
    setTimeout(() => process.exit(0), plan.graceMs + RECORD_MS + 2_000).unref();
    stopNewDeletions();
    plan.refuseNewWork?.();
    const waitingFor = describeWork(plan.pending);
    log.info(`shutting down (${reason})${waitingFor ? `: waiting up to ${plan.graceMs / 1000} s for ${waitingFor}` : ""}`);
    await within(
      plan.graceMs,
      Promise.all([
        allSettled(),
        Promise.allSettled([...hooks].map((hook) => hook())),
        plan.pending?.count() ? plan.pending.settled() : undefined,
      ]),
    );
    if (running.size > 0) {
      log.warn(
        `${running.size} deletion(s) still in flight after ${plan.graceMs / 1000} s: cut off, their outcome is unknown (audited as cancelled with outcomeUnknown); check with list_interaction_content`,
      );
      abandoning.abort();
      await within(RECORD_MS, allSettled());
      if (running.size > 0) log.warn(`exiting with ${running.size} deletion(s) not yet recorded: their outcome is unknown`);
    }
    const left = plan.pending?.count() ?? 0;
    if (plan.pending && left > 0) log.warn(`${left} ${plan.pending.what} after ${plan.graceMs / 1000} s: ending their sessions`);
    await plan.close().catch((error: unknown) => log.debug("closing failed", { error }));
    for (const closer of closers) await closer().catch((error: unknown) => log.debug("closing failed", { error }));
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  return shutdown;
}

function describeWork(pending: PendingWork | undefined): string {
  const parts: string[] = [];
  if (running.size > 0) parts.push(`${running.size} deletion(s) in flight`);
  const count = pending?.count() ?? 0;
  if (pending && count > 0) parts.push(`${count} ${pending.what}`);
  return parts.join(" and ");
}

/** Waits for `work`, but no longer than `ms`. */
async function within(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([work, grace]);
  clearTimeout(timer);
}
