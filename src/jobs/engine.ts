// Erasure jobs: approved plans carried out one DELETE at a time, each outcome on disk before the
// next item, so that a process killed at any moment can resume without deleting anything twice or
// anything that was not approved. Independent of MCP: tools call this API.
//
// On disk (all under <dataDir>/jobs, 0700 directories, 0600 files):
//   <jobId>/plan.json      the approved plan, written once, atomically
//   <jobId>/journal.jsonl  append-only; every line fdatasync'ed before the engine goes on
//   <jobId>/receipt.json, receipt.md   written when the job ends
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ContentRef } from "../core/content.js";
import type { ErrorCode, ToolError } from "../core/errors.js";
import type { Identity } from "../core/identity.js";
import { log } from "../log.js";
import { ensurePrivateDir, JournalFile, parseJournal, writeFileAtomic } from "./files.js";
import {
  applyOutcome,
  emptyItemState,
  FINAL_STATUSES,
  type FinalStatus,
  type ItemResult,
  type ItemState,
  type JobStatus,
  type JournalEntry,
  needsWork,
  replayJournal,
} from "./journal.js";
import {
  type Approval,
  type ApprovalDecision,
  approvePlan,
  DEFAULT_APPROVAL_TTL_HOURS,
  type JsonValue,
  type Plan,
  type PlanItem,
  type PlanTotals,
  type ProposedPlan,
  proposePlan,
} from "./plan.js";
import { buildReceipt, type Receipt, receiptJsonPieces, receiptMarkdownPieces } from "./receipt.js";

/** What one DELETE call came to (see vcc.ts for the adapter over VccClient.deleteContent). */
export type DeleteOutcome =
  | { kind: "deleted"; httpStatus: number; verifiedByAbsence?: boolean; attempts?: number }
  | {
      kind: "error";
      error: ToolError;
      attempts?: number;
      /** Certainly not carried out: no token could be obtained, or cancelled before sending. */
      notSent?: boolean;
    };

export type DeleteItem = (item: PlanItem, signal: AbortSignal) => Promise<DeleteOutcome>;

/** What the engine reports for the audit trail. Awaited: a rejected "item started" means no DELETE is sent. */
export type JobEvent =
  | { type: "plan"; at: string; jobId: string; criteria: JsonValue; totals: PlanTotals }
  | { type: "approval"; at: string; jobId: string; approval: Approval; dryRun: boolean }
  | { type: "start" | "resume"; at: string; jobId: string }
  | { type: "pause"; at: string; jobId: string; code: ErrorCode; reason: string }
  | { type: "cancel"; at: string; jobId: string }
  | { type: "finish"; at: string; jobId: string; status: FinalStatus; receiptSha256: string }
  | { type: "item"; at: string; jobId: string; index: number; item: ContentRef; phase: "started"; deleteCall: number }
  | { type: "item"; at: string; jobId: string; index: number; item: ContentRef; phase: "outcome"; result: ItemResult; attempts?: number };

export interface ErasureJobsOptions {
  /** The data directory (VCC_DATA_DIR, or defaultDataDir()). */
  dataDir: string;
  deleteItem: DeleteItem;
  onEvent?: (event: JobEvent) => void | Promise<void>;
  /** Jobs approved from now on send no DELETE (VCC_DRY_RUN). */
  dryRun?: boolean;
  /** VCC_JOB_APPROVAL_TTL_HOURS (default 24). */
  approvalTtlHours?: number;
  /** Consecutive transient failures (5xx, network, timeout, 429) after which a job pauses (default 5). */
  pauseAfterFailures?: number;
  now?: () => number;
}

export interface FailureView {
  index: number;
  guid: string;
  contentKey: string;
  code: ErrorCode;
  message: string;
  httpStatus?: number;
  outcomeUnknown?: true;
  /** Resuming the job tries it again. */
  retryable: boolean;
  time?: string;
}

export interface JobView {
  jobId: string;
  status: JobStatus;
  dryRun: boolean;
  criteria: JsonValue;
  /** Team server: who asked for the erasure. */
  requester?: Identity;
  approval: Approval;
  totals: PlanTotals;
  progress: {
    /** Finished for good: deleted, already gone, or dry run. */
    done: number;
    deleted: number;
    alreadyGone: number;
    dryRun: number;
    /** Items whose last call failed (retryable ones are tried again on resume). */
    failed: number;
    /** Not tried yet (or in flight). */
    remaining: number;
  };
  /** Waiting for another job of this process to end (status running). */
  queued?: true;
  cancelRequested?: true;
  pause?: { code: ErrorCode; reason: string; at: string };
  startedAt?: string;
  endedAt?: string;
  /** Items per minute over the current (or last) run. */
  itemsPerMinute?: number;
  /** While running: remaining items at that rate. */
  estimatedSecondsLeft?: number;
  /** Whether resuming is possible now, and if not, why. */
  resumable?: { ok: true } | { ok: false; reason: string };
  failures: { page: number; pageSize: number; total: number; items: FailureView[]; nextPage?: number };
  receipt?: { json: string; markdown: string; sha256: string };
}

export type JobResult = { ok: true; job: JobView } | { ok: false; error: ToolError };

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TRANSIENT: ReadonlySet<ErrorCode> = new Set(["upstream_error", "network_error", "timeout", "rate_limited", "busy", "cancelled"]);
/** No DELETE can succeed until someone fixes the credentials: pause at once. */
const AUTH: ReadonlySet<ErrorCode> = new Set(["unauthorized", "auth_failed", "not_configured"]);

interface Job {
  plan: Plan;
  dir: string;
  journal: JournalFile;
  items: ItemState[];
  status: JobStatus;
  queued: boolean;
  cancelRequested: boolean;
  pause?: { code: ErrorCode; reason: string; at: string };
  startedAt?: string;
  endedAt?: string;
  receipt?: { json: string; markdown: string; sha256: string };
  /** The current (or last) run, for the rate: items processed in it. */
  run?: { startedMs: number; endedMs?: number; processed: number };
  waiters: (() => void)[];
}

export class ErasureJobs {
  readonly dataDir: string;
  readonly jobsDir: string;
  readonly #options: ErasureJobsOptions;
  readonly #jobs = new Map<string, Job>();
  readonly #queue: Job[] = [];
  #closing = false;
  /** Proposals being started now (a second start of the same one is refused). */
  readonly #starting = new Set<string>();
  readonly #abort = new AbortController();
  #pumping: Promise<void> = Promise.resolve();

  private constructor(options: ErasureJobsOptions) {
    this.#options = options;
    this.dataDir = options.dataDir;
    this.jobsDir = join(options.dataDir, "jobs");
  }

  /**
   * Opens the data directory and loads every job. A job that was running when its process stopped
   * is `interrupted` (resume it); one whose cancellation was asked for is finished as cancelled.
   */
  static async open(options: ErasureJobsOptions): Promise<ErasureJobs> {
    const engine = new ErasureJobs(options);
    await ensurePrivateDir(options.dataDir, false);
    await ensurePrivateDir(engine.jobsDir, true);
    for (const name of (await readdir(engine.jobsDir)).sort()) {
      if (!JOB_ID.test(name)) continue;
      try {
        await engine.#load(name);
      } catch (error) {
        log.error("an erasure job could not be loaded and is ignored", {
          jobId: name,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    return engine;
  }

  #now(): Date {
    return new Date((this.#options.now ?? Date.now)());
  }

  async #emit(event: JobEvent): Promise<void> {
    await this.#options.onEvent?.(event);
  }

  /** Emits an event after the fact: a failure is logged, and does not undo what happened. */
  async #report(event: JobEvent): Promise<void> {
    try {
      await this.#emit(event);
    } catch (error) {
      log.error("an erasure job event could not be recorded", {
        type: event.type,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  async #load(jobId: string): Promise<void> {
    const dir = join(this.jobsDir, jobId);
    let planText: string;
    try {
      planText = await readFile(join(dir, "plan.json"), "utf8");
    } catch {
      // The plan is written before anything else happens: without it, the job never existed.
      return;
    }
    const plan = JSON.parse(planText) as Plan;
    if (plan.jobId !== jobId || !Array.isArray(plan.items)) throw new Error("plan.json does not describe this job");
    let text = "";
    try {
      text = await readFile(join(dir, "journal.jsonl"), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    const replayed = replayJournal(plan, parseJournal(text));
    const job: Job = {
      plan,
      dir,
      journal: new JournalFile(join(dir, "journal.jsonl")),
      items: replayed.items,
      status: replayed.finish?.status ?? (replayed.stoppedWhileRunning ? "interrupted" : "paused"),
      queued: false,
      cancelRequested: replayed.cancelRequested,
      pause: replayed.stoppedWhileRunning ? undefined : replayed.pause,
      startedAt: replayed.startedAt,
      endedAt: replayed.finish?.at,
      waiters: [],
    };
    this.#jobs.set(jobId, job);
    if (replayed.finish) {
      job.receipt = await this.#readReceipt(job).catch(() => undefined);
      // Finished, but the process died before the receipt was written.
      if (!job.receipt) await this.#writeReceipt(job);
    } else if (job.cancelRequested) {
      await this.#finish(job, "cancelled");
    }
  }

  /** Fixes the items to approve (no job exists yet). Emits `plan`. */
  async propose(input: {
    items: readonly PlanItem[];
    criteria: JsonValue;
    requester?: Identity;
  }): Promise<{ ok: true; plan: ProposedPlan } | { ok: false; error: ToolError }> {
    const proposed = proposePlan(input, this.#now());
    if (proposed.ok)
      await this.#report({
        type: "plan",
        at: proposed.plan.proposedAt,
        jobId: proposed.plan.jobId,
        criteria: proposed.plan.criteria,
        totals: proposed.plan.totals,
      });
    return proposed;
  }

  /**
   * A person approved the proposal: the plan is written, and the job starts (or waits for the job
   * running now). Refused when the approval or start cannot be recorded.
   */
  async start(proposal: ProposedPlan, decision: ApprovalDecision): Promise<JobResult> {
    if (this.#closing) return { ok: false, error: SHUTTING_DOWN };
    if (this.#jobs.has(proposal.jobId) || this.#starting.has(proposal.jobId))
      return { ok: false, error: { code: "invalid_input", message: `Job ${proposal.jobId} was already started.` } };
    this.#starting.add(proposal.jobId);
    try {
      return await this.#create(proposal, decision);
    } finally {
      this.#starting.delete(proposal.jobId);
    }
  }

  async #create(proposal: ProposedPlan, decision: ApprovalDecision): Promise<JobResult> {
    const plan = approvePlan(proposal, decision, {
      now: this.#now(),
      ttlHours: this.#options.approvalTtlHours ?? DEFAULT_APPROVAL_TTL_HOURS,
      dryRun: this.#options.dryRun ?? false,
    });
    try {
      await this.#emit({ type: "approval", at: plan.approval.approvedAt, jobId: plan.jobId, approval: plan.approval, dryRun: plan.dryRun });
    } catch (error) {
      return { ok: false, error: auditFailed(error, "the job was not started") };
    }
    const dir = join(this.jobsDir, plan.jobId);
    try {
      await ensurePrivateDir(dir, true);
      await writeFileAtomic(join(dir, "plan.json"), `${JSON.stringify(plan, null, 2)}\n`);
    } catch (error) {
      return {
        ok: false,
        error: {
          code: "internal_error",
          message: `The job's plan could not be written to ${dir} (${errorText(error)}), so the job was not started: nothing was deleted. Check VCC_DATA_DIR.`,
        },
      };
    }
    const job: Job = {
      plan,
      dir,
      journal: new JournalFile(join(dir, "journal.jsonl")),
      items: plan.items.map(emptyItemState),
      status: "running",
      queued: false,
      cancelRequested: false,
      waiters: [],
    };
    this.#jobs.set(plan.jobId, job);
    return this.#begin(job, "start");
  }

  /** Continues a paused or interrupted job while its approval is valid. */
  async resume(jobId: string): Promise<JobResult> {
    const job = this.#find(jobId);
    if (!job.ok) return job;
    const j = job.job;
    if (this.#closing) return { ok: false, error: SHUTTING_DOWN };
    const resumable = this.#resumable(j);
    if (!resumable.ok) return { ok: false, error: { code: "invalid_input", message: resumable.reason } };
    return this.#begin(j, "resume");
  }

  async #begin(job: Job, kind: "start" | "resume"): Promise<JobResult> {
    const at = this.#now().toISOString();
    // Running from now on, so that a second resume meanwhile is refused.
    const before = kind === "start" ? "interrupted" : job.status;
    job.status = "running";
    const what = `job ${job.plan.jobId} was not ${kind === "start" ? "started" : "resumed"}`;
    try {
      await this.#emit({ type: kind, at, jobId: job.plan.jobId });
    } catch (error) {
      // Nothing was sent; the job stays as it was (a new one: interrupted, resumable).
      job.status = before;
      return { ok: false, error: auditFailed(error, what) };
    }
    try {
      await job.journal.append({ at, event: "run", kind } satisfies JournalEntry);
    } catch (error) {
      job.status = before;
      return {
        ok: false,
        error: {
          code: "internal_error",
          message: `The job's journal could not be written (${errorText(error)}), so ${what}: nothing was deleted.`,
        },
      };
    }
    job.startedAt ??= at;
    job.pause = undefined;
    job.queued = true;
    this.#queue.push(job);
    this.#pumping = this.#pumping.then(() => this.#pump());
    return { ok: true, job: this.#view(job) };
  }

  /**
   * Stops a job: a running one after the item in flight, a paused or interrupted one at once. The
   * items not attempted stay; the receipt says so.
   */
  async cancel(jobId: string): Promise<JobResult> {
    const found = this.#find(jobId);
    if (!found.ok) return found;
    const job = found.job;
    if (job.status !== "running" && job.status !== "paused" && job.status !== "interrupted")
      return {
        ok: false,
        error: { code: "invalid_input", message: `Job ${jobId} has already ended (${job.status}); there is nothing to cancel.` },
      };
    try {
      if (!job.cancelRequested) {
        // Seen by the runner before its next item, even while the line is being written.
        job.cancelRequested = true;
        const at = this.#now().toISOString();
        await job.journal.append({ at, event: "cancel" } satisfies JournalEntry);
        await this.#report({ type: "cancel", at, jobId });
      }
      // Meanwhile the job may have ended by itself.
      if (isFinal(job.status)) return { ok: true, job: this.#view(job) };
      if (job.status !== "running" || job.queued) {
        const index = this.#queue.indexOf(job);
        if (index >= 0) this.#queue.splice(index, 1);
        job.queued = false;
        await this.#finish(job, "cancelled");
      }
    } catch (error) {
      // Asked for but not recorded: a running job still stops after the item in flight.
      return {
        ok: false,
        error: {
          code: "internal_error",
          message: `The cancellation of job ${jobId} could not be recorded in its journal (${errorText(error)}). ${job.status === "running" ? "The job stops after the item in flight." : "The job stays as it was."}`,
        },
      };
    }
    return { ok: true, job: this.#view(job) };
  }

  /** The job's state; failures 50 a page by default, pages from 1. */
  get(jobId: string, options: { page?: number; pageSize?: number } = {}): JobResult {
    const found = this.#find(jobId);
    return found.ok ? { ok: true, job: this.#view(found.job, options) } : found;
  }

  list(): JobView[] {
    return [...this.#jobs.values()].map((job) => this.#view(job, { pageSize: 0 }));
  }

  /** Resolves once the job is no longer running (paused, ended, or interrupted by close()). */
  settled(jobId: string): Promise<JobView> {
    const job = this.#jobs.get(jobId);
    if (!job) return Promise.reject(new Error(`no job ${jobId}`));
    if (job.status !== "running") return Promise.resolve(this.#view(job));
    return new Promise((resolve) => job.waiters.push(() => resolve(this.#view(job))));
  }

  /**
   * Stops taking work: the job running now stops after the item in flight and stays `interrupted`
   * (resumable by the next process). With `abortInFlight`, the DELETE in flight is abandoned too
   * (its outcome is then recorded as unknown).
   */
  async close(options: { abortInFlight?: boolean } = {}): Promise<void> {
    this.#closing = true;
    if (options.abortInFlight) this.#abort.abort();
    await this.#pumping;
    for (const job of this.#queue.splice(0)) {
      job.queued = false;
      this.#settle(job, "interrupted");
    }
    await Promise.all([...this.#jobs.values()].map((job) => job.journal.close()));
  }

  #find(jobId: string): { ok: true; job: Job } | { ok: false; error: ToolError } {
    const id = jobId.trim().toLowerCase();
    const job = JOB_ID.test(id) ? this.#jobs.get(id) : undefined;
    if (!job) return { ok: false, error: { code: "not_found", message: `There is no erasure job ${jobId}.` } };
    return { ok: true, job };
  }

  #resumable(job: Job): { ok: true } | { ok: false; reason: string } {
    if (job.status !== "paused" && job.status !== "interrupted")
      return { ok: false, reason: `Job ${job.plan.jobId} is ${job.status}: only a paused or interrupted job can be resumed.` };
    const expires = Date.parse(job.plan.approval.expiresAt);
    if (this.#now().getTime() >= expires) {
      const left = job.items.filter(needsWork).length;
      return {
        ok: false,
        reason: `The approval of job ${job.plan.jobId} expired at ${job.plan.approval.expiresAt}, so it cannot be resumed: ${left} approved item(s) were not erased. Plan a new job for what is left and have it approved again.`,
      };
    }
    return { ok: true };
  }

  #settle(job: Job, status: JobStatus): void {
    job.status = status;
    if (job.run) job.run.endedMs ??= this.#now().getTime();
    for (const wake of job.waiters.splice(0)) wake();
  }

  async #pump(): Promise<void> {
    for (;;) {
      const job = this.#queue.shift();
      if (!job) return;
      job.queued = false;
      if (this.#closing) {
        this.#settle(job, "interrupted");
        continue;
      }
      try {
        await this.#run(job);
      } catch (error) {
        // The journal could not be written: the job cannot go on safely. It stays resumable.
        log.error("an erasure job stopped: its journal could not be written", {
          jobId: job.plan.jobId,
          error: error instanceof Error ? error.message : String(error),
        });
        job.pause = {
          code: "internal_error",
          reason: `The job's journal could not be written (${errorText(error)}).`,
          at: this.#now().toISOString(),
        };
        this.#settle(job, "interrupted");
      }
    }
  }

  async #run(job: Job): Promise<void> {
    const limit = this.#options.pauseAfterFailures ?? 5;
    job.run = { startedMs: this.#now().getTime(), processed: 0 };
    let consecutive = 0;
    for (let index = 0; index < job.items.length; index++) {
      const state = job.items[index];
      if (!state || !needsWork(state)) continue;
      if (job.cancelRequested) break;
      if (this.#closing) {
        this.#settle(job, "interrupted");
        return;
      }
      const planned = job.plan.items[index] as PlanItem;
      const ref = { guid: planned.guid, contentKey: planned.contentKey };

      let result: ItemResult;
      let attempts: number | undefined;
      if (job.plan.dryRun) {
        result = { outcome: "dry_run" };
      } else {
        const at = this.#now().toISOString();
        try {
          await this.#emit({
            type: "item",
            at,
            jobId: job.plan.jobId,
            index,
            item: ref,
            phase: "started",
            deleteCall: state.deleteCalls + 1,
          });
        } catch (error) {
          await this.#pause(
            job,
            "audit_failed",
            `The audit record could not be written (${errorText(error)}), so no further DELETE was sent.`,
          );
          return;
        }
        await job.journal.append({ at, event: "item_started", index } satisfies JournalEntry);
        // Still in flight from an earlier call of this process (its outcome could not be journalled):
        // that call may have deleted the item, as after a restart (replayJournal).
        if (state.inFlight) state.mayHaveReached = true;
        state.inFlight = true;
        state.deleteCalls++;
        const outcome = await this.#callDelete(planned);
        attempts = outcome.attempts;
        result = classify(outcome, state);
      }
      const at = this.#now().toISOString();
      await job.journal.append({
        at,
        event: "item_outcome",
        index,
        ...(attempts !== undefined ? { attempts } : {}),
        result,
      } satisfies JournalEntry);
      applyOutcome(state, result, at);
      job.run.processed++;
      await this.#report({
        type: "item",
        at,
        jobId: job.plan.jobId,
        index,
        item: ref,
        phase: "outcome",
        result,
        ...(attempts !== undefined ? { attempts } : {}),
      });

      if (result.outcome === "failed" && AUTH.has(result.code)) {
        await this.#pause(job, result.code, `The API cannot be used with the current credentials: ${result.message}`);
        return;
      }
      consecutive = result.outcome === "failed" && TRANSIENT.has(result.code) ? consecutive + 1 : 0;
      if (consecutive >= limit) {
        await this.#pause(
          job,
          result.outcome === "failed" ? result.code : "upstream_error",
          `${limit} deletions in a row failed; the last: ${result.outcome === "failed" ? result.message : ""}`,
        );
        return;
      }
    }
    // Cancelled during the last item: every item was attempted, so the job completed (with or without errors).
    const cancelled = job.cancelRequested && job.items.some((s) => s.inFlight || !s.result);
    const failed = job.items.some((s) => s.inFlight || !s.result || s.result.outcome === "failed");
    await this.#finish(job, cancelled ? "cancelled" : failed ? "completed_with_errors" : "completed");
  }

  async #callDelete(item: PlanItem): Promise<DeleteOutcome> {
    try {
      return await this.#options.deleteItem(item, this.#abort.signal);
    } catch (error) {
      // The adapter broke its promise to answer with a value: whether the DELETE went out is unknown.
      return {
        kind: "error",
        error: {
          code: "internal_error",
          message: `The deletion failed unexpectedly (${errorText(error)}); its outcome is unknown.`,
          outcomeUnknown: true,
        },
      };
    }
  }

  async #pause(job: Job, code: ErrorCode, reason: string): Promise<void> {
    const at = this.#now().toISOString();
    await job.journal.append({ at, event: "pause", code, reason } satisfies JournalEntry);
    job.pause = { code, reason, at };
    this.#settle(job, "paused");
    await this.#report({ type: "pause", at, jobId: job.plan.jobId, code, reason });
  }

  async #finish(job: Job, status: FinalStatus): Promise<void> {
    if (isFinal(job.status) && job.endedAt) return;
    const at = this.#now().toISOString();
    await job.journal.append({ at, event: "finish", status } satisfies JournalEntry);
    job.endedAt = at;
    job.pause = undefined;
    const receipt = await this.#writeReceipt(job, status);
    this.#settle(job, status);
    await job.journal.close();
    await this.#report({ type: "finish", at, jobId: job.plan.jobId, status, receiptSha256: receipt.sha256 });
  }

  async #writeReceipt(job: Job, status = job.status as FinalStatus): Promise<Receipt> {
    const receipt = buildReceipt({
      plan: job.plan,
      items: job.items,
      status,
      startedAt: job.startedAt,
      endedAt: job.endedAt ?? this.#now().toISOString(),
    });
    const json = join(job.dir, "receipt.json");
    const markdown = join(job.dir, "receipt.md");
    await writeFileAtomic(json, receiptJsonPieces(receipt));
    await writeFileAtomic(markdown, receiptMarkdownPieces(receipt));
    job.receipt = { json, markdown, sha256: receipt.sha256 };
    return receipt;
  }

  async #readReceipt(job: Job): Promise<JobView["receipt"]> {
    const json = join(job.dir, "receipt.json");
    const receipt = JSON.parse(await readFile(json, "utf8")) as Receipt;
    await readFile(join(job.dir, "receipt.md"));
    return { json, markdown: join(job.dir, "receipt.md"), sha256: receipt.sha256 };
  }

  #view(job: Job, options: { page?: number; pageSize?: number } = {}): JobView {
    let deleted = 0;
    let alreadyGone = 0;
    let dryRun = 0;
    let remaining = 0;
    const failures: FailureView[] = [];
    job.items.forEach((state, index) => {
      const r = state.result;
      if (state.inFlight || !r) remaining++;
      else if (r.outcome === "deleted") deleted++;
      else if (r.outcome === "already_gone") alreadyGone++;
      else if (r.outcome === "dry_run") dryRun++;
      else {
        const planned = job.plan.items[index] as PlanItem;
        failures.push({
          index,
          guid: planned.guid,
          contentKey: planned.contentKey,
          code: r.code,
          message: r.message,
          ...(r.httpStatus !== undefined ? { httpStatus: r.httpStatus } : {}),
          ...(r.outcomeUnknown ? { outcomeUnknown: true as const } : {}),
          retryable: r.retryable,
          ...(state.at !== undefined ? { time: state.at } : {}),
        });
      }
    });
    const pageSize = Math.max(0, Math.min(options.pageSize ?? 50, 500));
    const page = Math.max(1, Math.floor(options.page ?? 1));
    const pageItems = failures.slice((page - 1) * pageSize, page * pageSize);
    const view: JobView = {
      jobId: job.plan.jobId,
      status: job.status,
      dryRun: job.plan.dryRun,
      criteria: job.plan.criteria,
      ...(job.plan.requester ? { requester: job.plan.requester } : {}),
      approval: job.plan.approval,
      totals: job.plan.totals,
      progress: { done: deleted + alreadyGone + dryRun, deleted, alreadyGone, dryRun, failed: failures.length, remaining },
      failures: {
        page,
        pageSize,
        total: failures.length,
        items: pageItems,
        ...(pageSize > 0 && page * pageSize < failures.length ? { nextPage: page + 1 } : {}),
      },
    };
    if (job.queued) view.queued = true;
    if (job.cancelRequested) view.cancelRequested = true;
    if (job.pause) view.pause = job.pause;
    if (job.startedAt) view.startedAt = job.startedAt;
    if (job.endedAt) view.endedAt = job.endedAt;
    if (job.run && job.run.processed > 0) {
      const minutes = ((job.run.endedMs ?? this.#now().getTime()) - job.run.startedMs) / 60_000;
      if (minutes > 0) {
        view.itemsPerMinute = Math.round((job.run.processed / minutes) * 10) / 10;
        if (job.status === "running") view.estimatedSecondsLeft = Math.ceil((remaining / job.run.processed) * minutes * 60);
      }
    }
    if (job.status === "paused" || job.status === "interrupted") view.resumable = this.#resumable(job);
    if (job.receipt) view.receipt = job.receipt;
    return view;
  }
}

const SHUTTING_DOWN: ToolError = {
  code: "cancelled",
  message: "The server is shutting down; no job is started or resumed now. Ask again once it is back.",
};

function isFinal(status: JobStatus): status is FinalStatus {
  return (FINAL_STATUSES as readonly string[]).includes(status);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function auditFailed(error: unknown, what: string): ToolError {
  return { code: "audit_failed", message: `The audit record could not be written (${errorText(error)}), so ${what}: nothing was deleted.` };
}

/** What one DELETE call means for the item, given what earlier calls may have done. */
function classify(outcome: DeleteOutcome, state: ItemState): ItemResult {
  if (outcome.kind === "deleted")
    return { outcome: "deleted", httpStatus: outcome.httpStatus, ...(outcome.verifiedByAbsence ? { verifiedByAbsence: true } : {}) };
  const { error } = outcome;
  if (error.httpStatus === 404) {
    // An earlier call may have deleted it (its answer was lost, or the process died): gone now, so deleted.
    if (state.mayHaveReached) return { outcome: "deleted", httpStatus: 404, verifiedByAbsence: true };
    return { outcome: "already_gone", httpStatus: 404 };
  }
  return {
    outcome: "failed",
    code: error.code,
    message: error.message,
    ...(error.httpStatus !== undefined ? { httpStatus: error.httpStatus } : {}),
    ...(error.outcomeUnknown ? { outcomeUnknown: true } : {}),
    ...(outcome.notSent ? { notSent: true } : {}),
    retryable: TRANSIENT.has(error.code) || AUTH.has(error.code),
  };
}
