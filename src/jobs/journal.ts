// What a job's journal records, and how the state of a job is rebuilt from it after a restart.
import type { ErrorCode } from "../core/errors.js";
import type { Plan } from "./plan.js";

/** What became of one attempt at an item. */
export type ItemResult =
  | { outcome: "deleted"; httpStatus: number; verifiedByAbsence?: true }
  /** 404 on the first attempt: nothing was there to delete (already gone, or never there). */
  | { outcome: "already_gone"; httpStatus: 404 }
  | {
      outcome: "failed";
      code: ErrorCode;
      message: string;
      httpStatus?: number;
      /** The DELETE may have been carried out. */
      outcomeUnknown?: true;
      /** The DELETE was certainly not carried out (no token, cancelled before sending). */
      notSent?: true;
      /** A transient failure (5xx, network, timeout, 429, auth): resuming the job tries the item again. */
      retryable: boolean;
    }
  | { outcome: "dry_run" };

export const FINAL_STATUSES = ["completed", "completed_with_errors", "cancelled"] as const;
export type FinalStatus = (typeof FINAL_STATUSES)[number];

/** Whether a job with this status has ended for good (its receipt written, nothing more sent). */
export function isFinal(status: string): status is FinalStatus {
  return (FINAL_STATUSES as readonly string[]).includes(status);
}
export type JobStatus = "running" | "paused" | "interrupted" | FinalStatus;

/** One line of journal.jsonl. `index` is the item's position in plan.items. */
export type JournalEntry =
  | { at: string; event: "run"; kind: "start" | "resume" }
  | { at: string; event: "item_started"; index: number }
  | { at: string; event: "item_outcome"; index: number; attempts?: number; result: ItemResult }
  | { at: string; event: "pause"; code: ErrorCode; reason: string }
  | { at: string; event: "cancel" }
  | { at: string; event: "finish"; status: FinalStatus };

export interface ItemState {
  result?: ItemResult;
  /** When the result was recorded. */
  at?: string;
  /** A DELETE was (about to be) sent and no outcome is recorded: the process died meanwhile. */
  inFlight: boolean;
  /**
   * DELETE calls made for this item (each may be several HTTP attempts within the client's rules): a
   * call that sent nothing (refused by the allowlist, no token, cancelled before sending) is not one.
   */
  deleteCalls: number;
  /** Whether an earlier call may have deleted it: a later 404 then proves it is gone. */
  mayHaveReached: boolean;
}

export interface ReplayedJob {
  items: ItemState[];
  /** undefined: a finish, pause or run line decides (see statusAtLoad). */
  finish?: { status: FinalStatus; at: string };
  pause?: { code: ErrorCode; reason: string; at: string };
  cancelRequested: boolean;
  /** The first run's start. */
  startedAt?: string;
  /** The last line was a run (or nothing ran at all): the process stopped without pausing or finishing. */
  stoppedWhileRunning: boolean;
}

export function emptyItemState(): ItemState {
  return { inFlight: false, deleteCalls: 0, mayHaveReached: false };
}

/** Whether an item still needs a DELETE call: never tried, in flight when the process died, or a transient failure. */
export function needsWork(state: ItemState): boolean {
  if (state.inFlight) return true;
  if (!state.result) return true;
  return state.result.outcome === "failed" && state.result.retryable;
}

/** Applies one outcome to an item's state (used live and when replaying). */
export function applyOutcome(state: ItemState, result: ItemResult, at: string): void {
  state.result = result;
  state.at = at;
  state.inFlight = false;
  // Counted when it started (item_started): one that sent nothing is taken back.
  if (result.outcome === "failed" && result.notSent) state.deleteCalls = Math.max(0, state.deleteCalls - 1);
  if (result.outcome === "failed" && !result.notSent && result.outcomeUnknown) state.mayHaveReached = true;
}

export function replayJournal(plan: Plan, entries: readonly unknown[]): ReplayedJob {
  const items = plan.items.map(emptyItemState);
  const job: ReplayedJob = { items, cancelRequested: false, stoppedWhileRunning: true };
  for (const raw of entries) {
    const entry = raw as JournalEntry;
    const item = "index" in entry ? items[entry.index] : undefined;
    if ("index" in entry && !item) throw new Error(`the journal names item ${entry.index}, which is not in the plan`);
    switch (entry.event) {
      case "run":
        job.startedAt ??= entry.at;
        job.stoppedWhileRunning = true;
        break;
      case "item_started":
        if (item) {
          // Started again while an earlier start has no outcome (the process stopped mid-DELETE):
          // that earlier call may have deleted the item, as the live engine also records.
          if (item.inFlight) item.mayHaveReached = true;
          item.inFlight = true;
          item.deleteCalls++;
        }
        break;
      case "item_outcome":
        if (item) applyOutcome(item, entry.result, entry.at);
        break;
      case "pause":
        job.pause = { code: entry.code, reason: entry.reason, at: entry.at };
        job.stoppedWhileRunning = false;
        break;
      case "cancel":
        job.cancelRequested = true;
        break;
      case "finish":
        job.finish = { status: entry.status, at: entry.at };
        job.stoppedWhileRunning = false;
        break;
      default:
        throw new Error(`unknown journal event ${JSON.stringify((entry as { event?: unknown }).event)}`);
    }
  }
  // A DELETE in flight when the process died may have been carried out.
  for (const item of items) if (item.inFlight) item.mayHaveReached = true;
  return job;
}
