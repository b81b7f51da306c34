// Erasure jobs: approved plans carried out one DELETE at a time, each outcome recorded before the
// next item, so that a process killed at any moment can resume without deleting anything twice or
// anything that was not approved. Independent of MCP: tools call this API.
//
// Where the records live (JobRecords, src/state/types.ts): on this machine's disk by default
// (src/jobs/disk-store.ts), or in Redis shared by replicas (VCC_STATE_URL). With replicas, the
// replica that runs a job holds its lease (src/state: fencing numbers), renews it while it runs,
// checks it before each DELETE attempt and writes its journal only while the lease is its own; a
// sweeper on every replica takes over running jobs whose lease lapsed (their replica died) and
// resumes them by the restart rules (the item in flight repeated, nothing recorded as deleted sent
// again). A replica that lost a job's lease stops it at once, sending and writing nothing more.
import type { ContentRef } from "../core/content.js";
import type { ErrorCode, ToolError } from "../core/errors.js";
import { capitalise } from "../core/format.js";
import type { Identity } from "../core/identity.js";
import { log } from "../log.js";
import { stateUnavailable } from "../state/index.js";
import {
  type JobRecords,
  jobLease,
  type Lease,
  LeaseLostError,
  type LeaseStore,
  StateUnavailableError,
  type StoredReceipt,
} from "../state/types.js";
import { DiskJobRecords } from "./disk-store.js";
import {
  applyOutcome,
  emptyItemState,
  type FinalStatus,
  type ItemResult,
  type ItemState,
  isFinal,
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
  type PlanExclusions,
  type PlanItem,
  type PlanTotals,
  type ProposedPlan,
  proposePlan,
} from "./plan.js";
import { buildReceipt, itemOutcome, notSentWhenStopped, type Receipt, receiptJsonPieces, receiptMarkdownPieces } from "./receipt.js";

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

/**
 * A check right before each DELETE attempt is sent, given the attempt's time limit (replicas: the
 * job's lease must still be held for that long); an error answer means that attempt is not sent.
 */
export type AttemptGuard = (attemptTimeoutMs: number) => Promise<ToolError | undefined>;

/**
 * One item's DELETE call. `signal` abandons the request in flight (close with abortInFlight); `stop`
 * is aborted when the job is cancelled here or the engine closes: a wait inside the call (the API's
 * pace after a 429) ends then, and no further attempt is sent.
 */
export type DeleteItem = (item: PlanItem, signal: AbortSignal, guard?: AttemptGuard, stop?: AbortSignal) => Promise<DeleteOutcome>;

/** What the engine reports for the audit trail. Awaited: a rejected "item started" means no DELETE is sent. */
export type JobEvent =
  | { type: "plan"; at: string; jobId: string; criteria: JsonValue; totals: PlanTotals; excluded?: PlanExclusions }
  /** `requester`: team server, who asked (the approver, if known, is in `approval`). */
  | { type: "approval"; at: string; jobId: string; approval: Approval; dryRun: boolean; requester?: Identity }
  | { type: "start" | "resume"; at: string; jobId: string }
  | { type: "pause"; at: string; jobId: string; code: ErrorCode; reason: string }
  | { type: "cancel"; at: string; jobId: string }
  | { type: "finish"; at: string; jobId: string; status: FinalStatus; receiptSha256: string }
  | { type: "item"; at: string; jobId: string; index: number; item: ContentRef; phase: "started"; deleteCall: number }
  | { type: "item"; at: string; jobId: string; index: number; item: ContentRef; phase: "outcome"; result: ItemResult; attempts?: number };

/** Replicas sharing jobs in Redis: leases, their timing, and the sweeper. */
export interface ReplicaOptions {
  /** The shared state's leases (the same Redis as the job records). */
  leases: LeaseStore;
  /** This replica's name as a lease holder (for the log and `holder()`). */
  holder: string;
  /** How long a job's lease lasts unless renewed (default 60 s): longer than one DELETE attempt may take. */
  leaseMs?: number;
  /** How often a running job's lease is renewed (default a quarter of leaseMs). */
  renewMs?: number;
  /** How often this replica looks for running jobs whose lease lapsed (default 15 s; 0: never). */
  sweepMs?: number;
}

export const DEFAULT_JOB_LEASE_MS = 60_000;
export const DEFAULT_JOB_SWEEP_MS = 15_000;

export interface ErasureJobsOptions {
  /** The data directory (VCC_DATA_DIR, or defaultDataDir()): where jobs live unless `store` says otherwise. */
  dataDir: string;
  /** Where the jobs' records live (default: on disk under dataDir). With `replicas`: the shared (Redis) records. */
  store?: JobRecords;
  /** Several replicas run jobs from one shared store (Redis): leases and the sweeper. */
  replicas?: ReplicaOptions;
  deleteItem: DeleteItem;
  /**
   * Waits until the next item's DELETE may go (the API's pace after a 429), before the item is
   * started: a wait is never an item in flight. Ends early when `stop` is aborted (the job cancelled
   * here, the engine closing).
   */
  beforeItem?: (stop: AbortSignal) => Promise<void>;
  /** The items a minute the API's rate limit allows now (the pace learned after a 429), if any: for the estimate. */
  pace?: () => number | undefined;
  onEvent?: (event: JobEvent) => void | Promise<void>;
  /**
   * Jobs approved from now on send no DELETE (VCC_DRY_RUN); and a job approved to delete for real is
   * neither resumed nor taken over here (it would delete for real on a dry-run server).
   */
  dryRun?: boolean;
  /** VCC_READ_ONLY: no job is resumed or taken over here (and the sweeper does not run). */
  readOnly?: boolean;
  /** --sandbox: jobs approved here run against the simulator; their plans and receipts say so. */
  sandbox?: boolean;
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
    /** Items whose last call failed and certainly deleted nothing (retryable ones are tried again on resume). */
    failed: number;
    /**
     * Items that may or may not have been deleted: in flight when the job stopped (the process died
     * mid-DELETE), or failed without knowing (timeout, 500/502/504). The receipt counts them as
     * `unknown`; resuming tries them again.
     */
    outcomeUnknown: number;
    /** Not tried yet (or, while running, in flight); once the job has ended, not attempted. */
    remaining: number;
  };
  /** Waiting for another job of this process to end (status running). */
  queued?: true;
  /**
   * Replicas: running, but no replica holds the job's lease right now (its replica stopped or lost
   * the shared state): nothing is being sent for it until a replica's sweeper takes it over.
   */
  awaitingTakeover?: true;
  cancelRequested?: true;
  pause?: { code: ErrorCode; reason: string; at: string };
  startedAt?: string;
  endedAt?: string;
  /** Items per minute over the current (or last) run. */
  itemsPerMinute?: number;
  /** While running and kept to the API's rate limit (a pace learned after a 429): items per minute it allows. */
  rateLimitPerMinute?: number;
  /** While running: remaining items at that rate (or at the rate limit's pace, where slower). */
  estimatedSecondsLeft?: number;
  /** Whether resuming is possible now, and if not, why. */
  resumable?: { ok: true } | { ok: false; reason: string };
  failures: { page: number; pageSize: number; total: number; items: FailureView[]; nextPage?: number };
  receipt?: StoredReceipt;
}

export type JobResult = { ok: true; job: JobView } | { ok: false; error: ToolError };

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TRANSIENT: ReadonlySet<ErrorCode> = new Set(["upstream_error", "network_error", "timeout", "rate_limited", "busy", "cancelled"]);
/** No DELETE can succeed until someone fixes the credentials: pause at once. */
const AUTH: ReadonlySet<ErrorCode> = new Set(["unauthorized", "auth_failed", "not_configured"]);

interface Job {
  plan: Plan;
  items: ItemState[];
  status: JobStatus;
  queued: boolean;
  cancelRequested: boolean;
  pause?: { code: ErrorCode; reason: string; at: string };
  startedAt?: string;
  endedAt?: string;
  receipt?: StoredReceipt;
  /** The current (or last) run, for the rate: items processed in it. */
  run?: { startedMs: number; endedMs?: number; processed: number };
  waiters: (() => void)[];
  /** Disk: this process runs the job (or it waits to run here), and says so to the other processes (holdRun). */
  runHere?: boolean;
  /** Replicas: this replica's lease on the job while it runs (or waits to run) here, and its renewal. */
  lease?: Lease;
  renewal?: NodeJS.Timeout;
  /** Replicas: why the lease is lost or cannot be verified; the job then stops here, sending nothing more. */
  lost?: string;
  /** Being ended (#finish): a second caller waits for this instead of writing a second finish line and receipt. */
  finishing?: Promise<void>;
  /** While it runs here: aborted by a cancellation asked here and by close(), ending the waits for the API's pace. */
  waits?: AbortController;
}

type Found = { ok: true; job: Job } | { ok: false; error: ToolError };

/** The job stops on this replica without writing anything more (its lease is lost or cannot be checked). */
class Abandon extends Error {
  override name = "Abandon";
}

/**
 * An approved item this job has not erased: not tried, in flight, or failed (also a failure it would
 * not try again, e.g. a 403). Deleted, already gone and dry-run items are done.
 */
function notErased(state: ItemState): boolean {
  return state.inFlight === true || !state.result || state.result.outcome === "failed";
}

export class ErasureJobs {
  readonly dataDir: string;
  readonly jobsDir: string;
  readonly #options: ErasureJobsOptions;
  readonly #store: JobRecords;
  readonly #replicas: (Required<Omit<ReplicaOptions, "renewMs">> & { renewMs: number }) | undefined;
  /** The jobs being resumed by a call of this process right now. */
  readonly #resuming = new Set<string>();
  /** Disk: every job. Replicas: the jobs this replica holds (running or queued here); others are read from the store. */
  readonly #jobs = new Map<string, Job>();
  readonly #queue: Job[] = [];
  /** The job the queue is running now (one at a time per process). */
  #active: Job | undefined;
  #closing = false;
  /** Proposals being started now (a second start of the same one is refused). */
  readonly #starting = new Set<string>();
  /** Cancellations under way in this process, by job: a second one at once gets the first one's answer. */
  readonly #cancelling = new Map<string, Promise<JobResult>>();
  readonly #abort = new AbortController();
  #pumping: Promise<void> = Promise.resolve();
  #sweeper: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> = Promise.resolve();
  /** Lettings go started without waiting for them (a job interrupted or stopped here): close() waits for them. */
  readonly #lettingGo = new Set<Promise<void>>();

  private constructor(options: ErasureJobsOptions, store: JobRecords) {
    this.#options = options;
    this.#store = store;
    this.dataDir = options.dataDir;
    this.jobsDir = store instanceof DiskJobRecords ? store.jobsDir : `${options.dataDir}/jobs`;
    const r = options.replicas;
    if (r) {
      const leaseMs = r.leaseMs ?? DEFAULT_JOB_LEASE_MS;
      this.#replicas = {
        leases: r.leases,
        holder: r.holder,
        leaseMs,
        renewMs: r.renewMs ?? Math.max(1, Math.floor(leaseMs / 4)),
        sweepMs: r.sweepMs ?? DEFAULT_JOB_SWEEP_MS,
      };
    }
  }

  /**
   * Opens the jobs' records. On disk, loads every job: one that was running when its process stopped
   * is `interrupted` (resume it); one whose cancellation was asked for is finished as cancelled. With
   * replicas, starts the sweeper (its first look at once).
   */
  static async open(options: ErasureJobsOptions): Promise<ErasureJobs> {
    const store = options.store ?? (await new DiskJobRecords(options.dataDir).open());
    const engine = new ErasureJobs(options, store);
    if (engine.#replicas) {
      if (!options.readOnly) engine.#startSweeper();
      return engine;
    }
    for (const jobId of await store.ids()) {
      try {
        await engine.#load(jobId);
      } catch (error) {
        log.error("an erasure job could not be loaded and is ignored", { jobId, error: errorText(error) });
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
      log.error("an erasure job event could not be recorded", { type: event.type, error: errorText(error) });
    }
  }

  /**
   * A job as its records say (plan and journal replayed). Without a plan the job never existed. With
   * replicas, a job that stopped while running is `running` while it is in the running set (run here
   * or elsewhere, or about to be taken over), `interrupted` otherwise.
   */
  async #read(jobId: string): Promise<Job | undefined> {
    const plan = (await this.#store.plan(jobId)) as Plan | undefined;
    if (plan === undefined) return undefined;
    if (plan.jobId !== jobId || !Array.isArray(plan.items)) throw new Error("the plan does not describe this job");
    const replayed = replayJournal(plan, await this.#store.journal(jobId));
    let status: JobStatus = replayed.finish?.status ?? (replayed.stoppedWhileRunning ? "interrupted" : "paused");
    if (this.#replicas && status === "interrupted" && (await this.#store.running()).includes(jobId)) status = "running";
    // Disk: another server process of this machine runs it now (the same data directory).
    if (!this.#replicas && status === "interrupted" && (await this.#store.runBy?.(jobId)) !== undefined) status = "running";
    const job: Job = {
      plan,
      items: replayed.items,
      status,
      queued: false,
      // The journal's line, or the flag alone (the process that cancelled died before writing the line).
      cancelRequested: replayed.cancelRequested || (!replayed.finish && (await this.#store.cancelRequested(jobId))),
      pause: replayed.stoppedWhileRunning ? undefined : replayed.pause,
      startedAt: replayed.startedAt,
      endedAt: replayed.finish?.at,
      waiters: [],
    };
    if (replayed.finish) {
      // Finished, but the process died before the receipt was stored: it follows from the journal
      // alone (the same text whoever writes it), so it is written now. That process may have died
      // before its audit record of the end too (it is written before the receipt is stored): it is
      // written again, so that the audit trail has it (at worst twice, never not at all).
      const stored = await this.#store.receipt(jobId);
      if (stored) job.receipt = stored;
      else {
        const receipt = await this.#writeReceipt(job);
        const { status: ended, at } = replayed.finish;
        // Only by whoever can hold the job now, never while the process ending it is still at work (it
        // holds the job until the receipt is stored), and only when its record is not known to be
        // written (the note after it): at worst twice, never not at all.
        await this.#whileHolding(job, async () => {
          if ((await this.#store.note(jobId, FINISH_RECORDED).catch(() => undefined)) !== undefined) return;
          await this.#report({ type: "finish", at, jobId, status: ended, receiptSha256: receipt.sha256 });
          await this.#store.putNote(jobId, FINISH_RECORDED, true).catch(() => {});
        });
      }
    }
    return job;
  }

  /**
   * Does `work` while holding the job as its runner would (disk: its `running` file; replicas: its
   * lease); nothing when the job cannot be held now: another process or replica (or this one's own
   * run) holds it.
   */
  async #whileHolding(job: Job, work: () => Promise<void>): Promise<void> {
    const jobId = job.plan.jobId;
    if (this.#jobs.get(jobId)?.finishing) return;
    const r = this.#replicas;
    if (r) {
      const lease = await r.leases.acquire(jobLease(jobId), r.holder, r.leaseMs).catch(() => undefined);
      if (!lease) return;
      try {
        return await work();
      } finally {
        await r.leases.release(lease).catch(() => {});
      }
    }
    // Disk: the job's `running` file, as a runner holds it (#holdRun), let go as a runner does (#letGo).
    if (await this.#holdRun(job)) return;
    try {
      return await work();
    } finally {
      await this.#letGo(job);
    }
  }

  async #load(jobId: string): Promise<void> {
    const job = await this.#read(jobId);
    if (!job) return;
    this.#jobs.set(jobId, job);
    // A cancelled job that no process runs any more ends now (as this process's own).
    if (job.cancelRequested && !isFinal(job.status) && job.status !== "running" && (await this.#holdRun(job)) === undefined)
      await this.#finish(job, "cancelled");
  }

  /**
   * Disk: this process runs the job from now on (see DiskJobRecords.holdRun); an error (another live
   * process of this machine runs it) when it cannot. Nothing to do with replicas (leases) or once held.
   */
  async #holdRun(job: Job): Promise<ToolError | undefined> {
    if (this.#replicas || job.runHere || !this.#store.holdRun) return undefined;
    const held = await this.#store.holdRun(job.plan.jobId);
    if (held.ok) {
      job.runHere = true;
      return undefined;
    }
    if (held.pid === process.pid)
      return { code: "invalid_input", message: `Job ${job.plan.jobId} is running: only a paused or interrupted job can be resumed.` };
    return runElsewhere(job.plan.jobId, held.pid);
  }

  /** Fixes the items to approve (no job exists yet). Emits `plan`. */
  async propose(input: {
    items: readonly PlanItem[];
    criteria: JsonValue;
    requester?: Identity;
    excluded?: PlanExclusions;
  }): Promise<{ ok: true; plan: ProposedPlan } | { ok: false; error: ToolError }> {
    const proposed = proposePlan(input, this.#now());
    if (proposed.ok)
      await this.#report({
        type: "plan",
        at: proposed.plan.proposedAt,
        jobId: proposed.plan.jobId,
        criteria: proposed.plan.criteria,
        totals: proposed.plan.totals,
        ...(proposed.plan.excluded ? { excluded: proposed.plan.excluded } : {}),
      });
    return proposed;
  }

  /**
   * A person approved the proposal: the plan is written, and the job starts (or waits for the job
   * running now). Refused when the approval or start cannot be recorded.
   */
  async start(proposal: ProposedPlan, decision: ApprovalDecision): Promise<JobResult> {
    if (this.#closing) return { ok: false, error: SHUTTING_DOWN };
    if (this.#jobs.has(proposal.jobId) || this.#starting.has(proposal.jobId)) return alreadyStarted(proposal.jobId);
    this.#starting.add(proposal.jobId);
    try {
      return await this.#create(proposal, decision);
    } catch (error) {
      if (error instanceof StateUnavailableError)
        return { ok: false, error: stateUnavailable(error, `Job ${proposal.jobId} was not started and nothing was deleted`) };
      throw error;
    } finally {
      this.#starting.delete(proposal.jobId);
    }
  }

  async #create(proposal: ProposedPlan, decision: ApprovalDecision): Promise<JobResult> {
    const plan = approvePlan(proposal, decision, {
      now: this.#now(),
      ttlHours: this.#options.approvalTtlHours ?? DEFAULT_APPROVAL_TTL_HOURS,
      dryRun: this.#options.dryRun ?? false,
      sandbox: this.#options.sandbox ?? false,
    });
    try {
      await this.#emit({
        type: "approval",
        at: plan.approval.approvedAt,
        jobId: plan.jobId,
        approval: plan.approval,
        dryRun: plan.dryRun,
        ...(plan.requester ? { requester: plan.requester } : {}),
      });
    } catch (error) {
      return { ok: false, error: auditFailed(error, "the job was not started") };
    }
    // Replicas: the lease first, so that the job is never in the running set without a holder.
    const r = this.#replicas;
    const lease = r ? await r.leases.acquire(jobLease(plan.jobId), r.holder, r.leaseMs) : undefined;
    if (r && !lease) return alreadyStarted(plan.jobId);
    const job: Job = {
      plan,
      items: plan.items.map(emptyItemState),
      status: "running",
      queued: false,
      cancelRequested: false,
      waiters: [],
    };
    // Disk: this process holds the job (its `running` file) before its plan exists, so that no other
    // process on the data directory ever sees it without a runner and resumes it meanwhile (it would
    // then run twice: there, and here from the start).
    if (await this.#holdRun(job).catch(() => true)) {
      if (lease) await r?.leases.release(lease).catch(() => {});
      return alreadyStarted(plan.jobId);
    }
    let created: boolean;
    try {
      created = await this.#store.create(plan.jobId, plan);
    } catch (error) {
      await this.#letGo(job);
      if (lease) await r?.leases.release(lease).catch(() => {});
      if (error instanceof StateUnavailableError) throw error;
      return {
        ok: false,
        error: {
          code: "internal_error",
          message: `The job's plan could not be written to ${this.jobsDir} (${errorText(error)}), so the job was not started: nothing was deleted. Check VCC_DATA_DIR.`,
        },
      };
    }
    if (!created) {
      await this.#letGo(job);
      if (lease) await r?.leases.release(lease).catch(() => {});
      return alreadyStarted(plan.jobId);
    }
    this.#jobs.set(plan.jobId, job);
    if (lease) this.#hold(job, lease);
    return this.#begin(job, "start");
  }

  /** Continues a paused or interrupted job while its approval is valid. */
  async resume(jobId: string): Promise<JobResult> {
    // Asked twice at once in this process: the first one asked resumes it, the other is refused.
    const id = jobId.trim().toLowerCase();
    if (this.#resuming.has(id))
      return {
        ok: false,
        error: { code: "invalid_input", message: `Job ${jobId} is running: only a paused or interrupted job can be resumed.` },
      };
    this.#resuming.add(id);
    try {
      return await this.#resume(jobId);
    } finally {
      this.#resuming.delete(id);
    }
  }

  async #resume(jobId: string): Promise<JobResult> {
    try {
      const found = await this.#find(jobId);
      if (!found.ok) return found;
      let job = found.job;
      if (this.#closing) return { ok: false, error: SHUTTING_DOWN };
      const elsewhere = !this.#replicas && job.status === "running" && !job.runHere ? await this.#store.runBy?.(job.plan.jobId) : undefined;
      if (elsewhere !== undefined) return { ok: false, error: runElsewhere(job.plan.jobId, elsewhere) };
      let resumable = this.#resumable(job);
      if (!resumable.ok) return { ok: false, error: { code: "invalid_input", message: resumable.reason } };
      const r = this.#replicas;
      if (r && !this.#jobs.has(job.plan.jobId)) {
        const lease = await r.leases.acquire(jobLease(job.plan.jobId), r.holder, r.leaseMs);
        if (!lease)
          return {
            ok: false,
            error: { code: "invalid_input", message: `Job ${job.plan.jobId} is being run by another replica right now.` },
          };
        // What it is now that no one else can change it.
        let fresh: Job | undefined;
        try {
          fresh = await this.#read(job.plan.jobId);
        } catch (error) {
          await r.leases.release(lease).catch(() => {});
          throw error;
        }
        resumable = fresh ? this.#resumable(fresh) : { ok: false, reason: `There is no erasure job ${jobId}.` };
        if (!fresh || !resumable.ok) {
          await r.leases.release(lease).catch(() => {});
          return { ok: false, error: { code: "invalid_input", message: resumable.ok ? "" : resumable.reason } };
        }
        job = fresh;
        this.#jobs.set(jobId.trim().toLowerCase(), job);
        this.#hold(job, lease);
      } else if (!r && !job.runHere) {
        // Disk: held before anything else, then read again: another process may have run it meanwhile.
        const held = await this.#holdAndRead(job);
        if ("refused" in held) return { ok: false, error: held.refused };
        const fresh = held.fresh;
        resumable = fresh ? this.#resumable(fresh) : { ok: false, reason: `There is no erasure job ${jobId}.` };
        if (!fresh || !resumable.ok) {
          await this.#letGo(job);
          return { ok: false, error: { code: "invalid_input", message: resumable.ok ? "" : resumable.reason } };
        }
        fresh.runHere = true;
        job.runHere = false;
        job = fresh;
        this.#jobs.set(job.plan.jobId, job);
      }
      return await this.#begin(job, "resume");
    } catch (error) {
      if (error instanceof StateUnavailableError)
        return { ok: false, error: stateUnavailable(error, `Job ${jobId} was not resumed and nothing was deleted`) };
      throw error;
    }
  }

  async #begin(job: Job, kind: "start" | "resume"): Promise<JobResult> {
    const refused = await this.#holdRun(job);
    if (refused) return { ok: false, error: refused };
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
      await this.#letGo(job);
      return { ok: false, error: auditFailed(error, what) };
    }
    try {
      await this.#append(job, { at, event: "run", kind }, true);
    } catch (error) {
      job.status = before;
      await this.#letGo(job);
      if (error instanceof StateUnavailableError)
        return { ok: false, error: stateUnavailable(error, `${capitalise(what)}: nothing was deleted`) };
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

  /** One journal line; with replicas, only while this replica's lease is the job's (else LeaseLostError). */
  #append(job: Job, entry: JournalEntry, running?: boolean): Promise<void> {
    return this.#store.append(job.plan.jobId, entry, {
      ...(job.lease ? { lease: job.lease } : {}),
      ...(running !== undefined ? { running } : {}),
    });
  }

  /**
   * Stops a job: a running one after the item in flight (on whichever replica runs it), a paused or
   * interrupted one at once. The items not attempted stay; the receipt says so.
   */
  cancel(jobId: string): Promise<JobResult> {
    // Two at once (e.g. a tool call retried): each would read its own copy of the job and the second
    // would answer with the job as it was (no receipt yet), or end it a second time. The second
    // waits for the first instead, so both name the one receipt.
    const id = jobId.trim().toLowerCase();
    const under = this.#cancelling.get(id);
    if (under) return under;
    const cancelling = this.#cancel(jobId).finally(() => this.#cancelling.delete(id));
    this.#cancelling.set(id, cancelling);
    return cancelling;
  }

  async #cancel(jobId: string): Promise<JobResult> {
    let found: Found;
    try {
      found = await this.#find(jobId);
    } catch (error) {
      if (error instanceof StateUnavailableError) return { ok: false, error: stateUnavailable(error, `Job ${jobId} was not cancelled`) };
      throw error;
    }
    if (!found.ok) return found;
    let job = found.job;
    if (job.status !== "running" && job.status !== "paused" && job.status !== "interrupted")
      return {
        ok: false,
        error: { code: "invalid_input", message: `Job ${jobId} has already ended (${job.status}); there is nothing to cancel.` },
      };
    const local = this.#jobs.get(job.plan.jobId) === job;
    try {
      if (!job.cancelRequested) {
        // Seen by the runner before its next item, even while the line is being written; a wait for
        // the API's pace ends now.
        job.cancelRequested = true;
        job.waits?.abort();
        const at = this.#now().toISOString();
        await this.#store.requestCancel(job.plan.jobId, { at, event: "cancel" } satisfies JournalEntry);
        await this.#report({ type: "cancel", at, jobId: job.plan.jobId });
      }
      if (local) {
        // Meanwhile the job may have ended by itself.
        if (isFinal(job.status)) return { ok: true, job: this.#view(job) };
        if (!this.#replicas && !job.runHere) {
          // Disk, not run by this process: run by another one (which stops before its next item),
          // or by none, and then ended here, held (against a resume elsewhere) and read again first.
          if (job.status !== "running") job = await this.#cancelHere(job);
        } else if (job.status !== "running" || job.queued) {
          const index = this.#queue.indexOf(job);
          if (index >= 0) this.#queue.splice(index, 1);
          job.queued = false;
          await this.#finish(job, "cancelled");
        }
      } else if (this.#replicas) {
        // Not run here: run by another replica (which stops before its next item), or by no one.
        const r = this.#replicas;
        const lease = await r.leases.acquire(jobLease(job.plan.jobId), r.holder, r.leaseMs);
        if (lease) {
          const fresh = await this.#read(job.plan.jobId).catch(async (error: unknown) => {
            await r.leases.release(lease).catch(() => {});
            throw error;
          });
          if (!fresh || isFinal(fresh.status)) await r.leases.release(lease).catch(() => {});
          else {
            fresh.lease = lease;
            await this.#finish(fresh, "cancelled");
          }
          if (fresh) job = fresh;
        }
      }
    } catch (error) {
      if (error instanceof StateUnavailableError)
        return { ok: false, error: stateUnavailable(error, `The cancellation of job ${jobId} was not recorded`) };
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

  /** Disk: holds the job (#holdRun), then reads it again from the disk, where another process may have changed it. */
  async #holdAndRead(job: Job): Promise<{ refused: ToolError } | { fresh: Job | undefined }> {
    const refused = await this.#holdRun(job);
    if (refused) return { refused };
    try {
      return { fresh: await this.#read(job.plan.jobId) };
    } catch (error) {
      await this.#letGo(job);
      throw error;
    }
  }

  /** Disk: ends a paused or interrupted job that no process runs, as cancelled; what it is then. */
  async #cancelHere(job: Job): Promise<Job> {
    const held = await this.#holdAndRead(job);
    if ("refused" in held) return job; // another process resumed it just now: it reads the cancellation
    const fresh = held.fresh;
    if (!fresh || isFinal(fresh.status)) {
      await this.#letGo(job);
      return fresh ?? job;
    }
    job.runHere = false;
    fresh.runHere = true;
    fresh.cancelRequested = true;
    this.#jobs.set(fresh.plan.jobId, fresh);
    await this.#finish(fresh, "cancelled");
    return fresh;
  }

  /** The job's state; failures 50 a page by default, pages from 1. */
  async get(jobId: string, options: { page?: number; pageSize?: number } = {}): Promise<JobResult> {
    try {
      const found = await this.#find(jobId);
      if (!found.ok) return found;
      const view = this.#view(found.job, options);
      if (await this.#awaitingTakeover(found.job)) view.awaitingTakeover = true;
      return { ok: true, job: view };
    } catch (error) {
      if (error instanceof StateUnavailableError) return { ok: false, error: stateUnavailable(error, `Job ${jobId} could not be read`) };
      throw error;
    }
  }

  /** Every job (with replicas: every replica's). Throws StateUnavailableError when the shared records cannot be read. */
  async list(): Promise<JobView[]> {
    const views: JobView[] = [];
    for (const jobId of (await this.#store.ids()).sort()) {
      const job = await this.#current(jobId).catch(rethrowUnavailable);
      if (!job) continue;
      const view = this.#view(job, { pageSize: 0 });
      if (await this.#awaitingTakeover(job)) view.awaitingTakeover = true;
      views.push(view);
    }
    return views;
  }

  /**
   * Replicas: a running job that no replica holds (not this one, and no lease in the shared state).
   * Not said when the lease cannot be read: the view then shows what the records say, as before.
   */
  async #awaitingTakeover(job: Job): Promise<boolean> {
    const r = this.#replicas;
    if (!r || job.status !== "running") return false;
    if (this.#jobs.get(job.plan.jobId) === job && job.lease && !job.lost) return false;
    try {
      return (await r.leases.holder(jobLease(job.plan.jobId))) === undefined;
    } catch {
      return false;
    }
  }

  /**
   * The job as it is now. Replicas: the one held here, else read from the store. Disk: this
   * process's own while it runs it here or once it has ended, else read again from the disk, where
   * another server process of this machine may have run, cancelled or created it since.
   */
  async #current(id: string): Promise<Job | undefined> {
    const known = this.#jobs.get(id);
    if (this.#replicas) return known ?? (await this.#read(id));
    if (known && (known.runHere || isFinal(known.status))) return known;
    // A job whose records cannot be read is left out, as at open.
    const fresh = await this.#read(id).catch(rethrowUnavailable);
    if (fresh) this.#jobs.set(id, fresh);
    return fresh;
  }

  /** Every job's id (with replicas: every replica's), without reading the jobs. */
  ids(): Promise<string[]> {
    return this.#store.ids();
  }

  /** The approved plan's items (empty for an unknown job). */
  async planItems(jobId: string): Promise<PlanItem[]> {
    const plan = (await this.#store.plan(jobId)) as Plan | undefined;
    return plan?.items ?? [];
  }

  /** A small JSON value kept with the job (see JobRecords.putNote), in whichever store holds it. */
  putNote(jobId: string, name: string, value: unknown): Promise<void> {
    return this.#store.putNote(jobId, name, value);
  }

  note(jobId: string, name: string): Promise<unknown> {
    return this.#store.note(jobId, name);
  }

  /** The text of an ended job's receipt, from wherever it is stored. */
  receiptText(jobId: string, format: "json" | "md"): Promise<string | undefined> {
    return this.#store.receiptText(jobId, format);
  }

  /** Resolves once the job is no longer running here (paused, ended, stopped on this replica, or interrupted by close()). */
  async settled(jobId: string): Promise<JobView> {
    const job = this.#jobs.get(jobId);
    if (job?.status === "running") return new Promise((resolve) => job.waiters.push(() => resolve(this.#view(job))));
    const found = await this.get(jobId);
    if (!found.ok) throw new Error(`no job ${jobId}: ${found.error.message}`);
    return found.job;
  }

  /**
   * Stops taking work: the job running now stops after the item in flight and stays `interrupted`
   * (resumable by the next process; with replicas, its lease is released and another replica, or
   * this one's successor, takes it over). With `abortInFlight`, the DELETE in flight is abandoned too
   * (its outcome is then recorded as unknown).
   */
  async close(options: { abortInFlight?: boolean } = {}): Promise<void> {
    this.#closing = true;
    for (const job of this.#jobs.values()) job.waits?.abort();
    clearTimeout(this.#sweeper);
    if (options.abortInFlight) this.#abort.abort();
    await this.#sweeping;
    await this.#pumping;
    for (const job of this.#queue.splice(0)) {
      job.queued = false;
      this.#settle(job, "interrupted");
    }
    if (this.#replicas) await Promise.all([...this.#jobs.values()].map((job) => this.#letGo(job)));
    // The jobs stopped just now are let go (their `running` file removed) before the process exits.
    while (this.#lettingGo.size > 0) await Promise.all([...this.#lettingGo]);
    await this.#store.close();
  }

  async #find(jobId: string): Promise<Found> {
    const id = jobId.trim().toLowerCase();
    const job = JOB_ID.test(id) ? await this.#current(id) : undefined;
    if (!job) return { ok: false, error: { code: "not_found", message: `There is no erasure job ${jobId}.` } };
    return { ok: true, job };
  }

  /** Why this server must not run the job (its settings), if it must not. */
  #refusedHere(job: Job): string | undefined {
    if (this.#options.readOnly)
      return `This server is read-only (VCC_READ_ONLY=true), so it runs no erasure job: job ${job.plan.jobId} was not resumed.`;
    if (this.#options.dryRun && !job.plan.dryRun)
      return `This server runs with VCC_DRY_RUN=true, and job ${job.plan.jobId} was approved to delete for real: run here, it would delete for real, so it was not resumed. Resume it on a server without VCC_DRY_RUN, or cancel it.`;
    // Sample data and real data never mix: a sandbox job's items are the simulator's, and the reverse.
    if (Boolean(this.#options.sandbox) !== Boolean(job.plan.sandbox))
      return job.plan.sandbox
        ? `Job ${job.plan.jobId} was approved in sandbox mode, on the simulator's sample data: this server talks to the real API, so it was not resumed. Resume it with --sandbox, or cancel it.`
        : `This server is in sandbox mode, and job ${job.plan.jobId} was approved against the real API: it was not resumed here. Resume it on a server without --sandbox, or cancel it.`;
    return undefined;
  }

  #resumable(job: Job): { ok: true } | { ok: false; reason: string } {
    if (job.status !== "paused" && job.status !== "interrupted") {
      const left = job.items.filter(notErased).length;
      // An ended job with items left (cancelled, or ended with failures) is erased further by a new plan.
      const next =
        isFinal(job.status) && left > 0
          ? ` ${left} approved item(s) of it were not erased (failed, of unknown outcome, or not attempted): plan a new job for what is left and have it approved again.`
          : "";
      return { ok: false, reason: `Job ${job.plan.jobId} is ${job.status}: only a paused or interrupted job can be resumed.${next}` };
    }
    const refused = this.#refusedHere(job);
    if (refused) return { ok: false, reason: refused };
    return this.#approvalValid(job);
  }

  #approvalValid(job: Job): { ok: true } | { ok: false; reason: string } {
    const expires = Date.parse(job.plan.approval.expiresAt);
    if (this.#now().getTime() >= expires) {
      const left = job.items.filter(notErased).length;
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
    if (status === "interrupted") this.#letGoLater(job);
    for (const wake of job.waiters.splice(0)) wake();
  }

  // ---------------------------------------------------------------------------------------------
  // Replicas: leases, their renewal, and the sweeper

  /** This replica holds the job's lease from now on, renewing it while the job runs or waits here. */
  #hold(job: Job, lease: Lease): void {
    const r = this.#replicas;
    if (!r) return;
    job.lease = lease;
    job.lost = undefined;
    let renewing = false;
    job.renewal = setInterval(() => {
      if (renewing) return;
      renewing = true;
      r.leases
        .renew(lease, r.leaseMs)
        .then(
          (held) => {
            if (!held && job.lease === lease)
              this.#lose(job, "its lease lapsed before it was renewed (another replica may have taken the job over)");
          },
          // Unreachable now: the check before the next DELETE refuses, and the job stops there.
          () => {},
        )
        .finally(() => {
          renewing = false;
        });
    }, r.renewMs);
    job.renewal.unref();
  }

  /** The lease is lost (or cannot be verified): no renewal, nothing more sent or written for the job here. */
  #lose(job: Job, reason: string): void {
    job.lost ??= reason;
    clearInterval(job.renewal);
  }

  /** This replica no longer runs the job: no renewal, the lease released (unless lost), views read from the store. */
  async #letGo(job: Job): Promise<void> {
    if (job.runHere) {
      job.runHere = false;
      // Not removable now: the file names this process, which the others see is gone once it is.
      await this.#store.releaseRun?.(job.plan.jobId).catch(() => {});
    }
    const r = this.#replicas;
    if (!r) return;
    clearInterval(job.renewal);
    if (this.#jobs.get(job.plan.jobId) === job) this.#jobs.delete(job.plan.jobId);
    const lease = job.lease;
    job.lease = undefined;
    // Not releasable now (Redis away): it lapses by itself.
    if (lease && !job.lost) await r.leases.release(lease).catch(() => {});
  }

  /** #letGo, not waited for here: close() waits for it. */
  #letGoLater(job: Job): void {
    const letting = this.#letGo(job).catch(() => {});
    this.#lettingGo.add(letting);
    void letting.finally(() => this.#lettingGo.delete(letting));
  }

  /** The job stops on this replica without writing anything: another replica (or this one's sweeper) continues it. */
  #abandon(job: Job, reason: string): void {
    log.warn("an erasure job stops on this replica: nothing more is sent for it here; once its lease lapses, a replica takes it over", {
      jobId: job.plan.jobId,
      reason,
    });
    this.#lose(job, reason);
    this.#letGoLater(job);
    job.status = "running";
    if (job.run) job.run.endedMs ??= this.#now().getTime();
    for (const wake of job.waiters.splice(0)) wake();
  }

  /** The fencing check before each DELETE attempt: the lease renewed, and held for at least the attempt's time limit. */
  #guard(job: Job): AttemptGuard {
    return async (attemptTimeoutMs) => {
      const r = this.#replicas;
      const lease = job.lease;
      if (!r || !lease) return undefined;
      if (!job.lost) {
        try {
          if ((await r.leases.renew(lease, r.leaseMs)) && (await r.leases.check(lease, attemptTimeoutMs))) return undefined;
          this.#lose(job, `its lease is lost or has less than ${attemptTimeoutMs} ms left`);
        } catch (error) {
          this.#lose(job, `its lease could not be checked (${errorText(error)})`);
        }
      }
      return {
        code: "state_unavailable",
        message: `The job's lease could not be confirmed (${job.lost}), so this replica sent nothing.`,
      };
    };
  }

  #startSweeper(): void {
    const r = this.#replicas;
    if (!r || r.sweepMs <= 0) return;
    const tick = () => {
      if (this.#closing) return;
      this.#sweeping = this.sweep()
        .then(() => {})
        .catch((error: unknown) => log.debug("the erasure job sweeper could not look at the shared state", { error: errorText(error) }))
        .finally(() => {
          if (this.#closing) return;
          this.#sweeper = setTimeout(tick, r.sweepMs);
          this.#sweeper.unref();
        });
    };
    tick();
  }

  /**
   * Takes over running jobs whose lease lapsed (their replica died or lost the shared state): a new
   * lease (a larger fence), then the job resumes here by the restart rules. Returns the jobs taken.
   */
  async sweep(): Promise<string[]> {
    const r = this.#replicas;
    if (!r || this.#closing) return [];
    const taken: string[] = [];
    for (const jobId of await this.#store.running()) {
      if (this.#closing) break;
      if (this.#jobs.has(jobId) || (await r.leases.holder(jobLease(jobId)))) continue;
      const lease = await r.leases.acquire(jobLease(jobId), r.holder, r.leaseMs);
      if (!lease) continue;
      try {
        if (await this.#takeOver(jobId, lease)) taken.push(jobId);
      } catch (error) {
        log.warn("an erasure job could not be taken over", { jobId, error: errorText(error) });
        const job = this.#jobs.get(jobId);
        if (job) await this.#letGo(job);
        else await r.leases.release(lease).catch(() => {});
      }
    }
    return taken;
  }

  async #takeOver(jobId: string, lease: Lease): Promise<boolean> {
    const r = this.#replicas;
    if (!r) return false;
    const job = await this.#read(jobId);
    // Not running any more, or not to be run by this server (read-only, or dry run for a real job).
    if (job?.status !== "running" || this.#refusedHere(job)) {
      await r.leases.release(lease).catch(() => {});
      return false;
    }
    this.#jobs.set(jobId, job);
    this.#hold(job, lease);
    log.info("taking over an erasure job whose lease lapsed", { jobId, fence: lease.fence });
    if (job.cancelRequested) {
      await this.#finish(job, "cancelled");
      return true;
    }
    const valid = this.#approvalValid(job);
    if (!valid.ok) {
      await this.#pause(job, "confirmation_invalid", valid.reason);
      return true;
    }
    const begun = await this.#begin(job, "resume");
    if (!begun.ok) log.warn("an erasure job could not be taken over", { jobId, error: begun.error.message });
    return begun.ok;
  }

  // ---------------------------------------------------------------------------------------------

  async #pump(): Promise<void> {
    for (;;) {
      const job = this.#queue.shift();
      if (!job) return;
      job.queued = false;
      if (this.#closing) {
        this.#settle(job, "interrupted");
        continue;
      }
      this.#active = job;
      try {
        await this.#run(job);
      } catch (error) {
        if (this.#replicas && (error instanceof Abandon || error instanceof LeaseLostError || error instanceof StateUnavailableError)) {
          this.#abandon(job, errorText(error));
          continue;
        }
        // The journal could not be written: the job cannot go on safely. It stays resumable.
        log.error("an erasure job stopped: its journal could not be written", { jobId: job.plan.jobId, error: errorText(error) });
        job.pause = {
          code: "internal_error",
          reason: `The job's journal could not be written (${errorText(error)}).`,
          at: this.#now().toISOString(),
        };
        this.#settle(job, "interrupted");
      } finally {
        this.#active = undefined;
      }
    }
  }

  async #run(job: Job): Promise<void> {
    const limit = this.#options.pauseAfterFailures ?? 5;
    const jobId = job.plan.jobId;
    job.run = { startedMs: this.#now().getTime(), processed: 0 };
    // One per run (not per item): what a cancellation here and close() abort.
    const waits = new AbortController();
    job.waits = waits;
    if (job.cancelRequested || this.#closing) waits.abort();
    let consecutive = 0;
    for (let index = 0; index < job.items.length; index++) {
      const state = job.items[index];
      if (!state || !needsWork(state)) continue;
      // The API's pace, before the item is started (a wait is never an item in flight); cancelled or
      // closed meanwhile (which ends the wait), the item is not started.
      if (this.#options.beforeItem && !job.plan.dryRun) await this.#options.beforeItem(waits.signal);
      if (job.lost) throw new Abandon(job.lost);
      // Replicas: a cancellation may have been asked for on another replica.
      // Asked through another replica, or another server process on this machine.
      if (!job.cancelRequested && (await this.#store.cancelRequested(jobId))) job.cancelRequested = true;
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
          await this.#emit({ type: "item", at, jobId, index, item: ref, phase: "started", deleteCall: state.deleteCalls + 1 });
        } catch (error) {
          await this.#pause(
            job,
            "audit_failed",
            `The audit record could not be written (${errorText(error)}), so no further DELETE was sent.`,
          );
          return;
        }
        await this.#append(job, { at, event: "item_started", index });
        // Still in flight from an earlier call of this process (its outcome could not be journalled):
        // that call may have deleted the item, as after a restart (replayJournal).
        if (state.inFlight) state.mayHaveReached = true;
        state.inFlight = true;
        state.deleteCalls++;
        const outcome = await this.#callDelete(planned, job.lease ? this.#guard(job) : undefined, waits.signal);
        // The lease was lost meanwhile: the new holder repeats this item (in flight); nothing is written here.
        if (job.lost) throw new Abandon(job.lost);
        attempts = outcome.attempts;
        result = classify(outcome, state);
      }
      const at = this.#now().toISOString();
      // The audit record first, then the journal line: a process that dies in between leaves the item
      // in flight, repeated on resume and recorded again (at worst twice, never not at all). The other
      // way round, the journal's outcome keeps the item from being sent again and its record was lost.
      await this.#report({
        type: "item",
        at,
        jobId,
        index,
        item: ref,
        phase: "outcome",
        result,
        ...(attempts !== undefined ? { attempts } : {}),
      });
      await this.#append(job, { at, event: "item_outcome", index, ...(attempts !== undefined ? { attempts } : {}), result });
      applyOutcome(state, result, at);
      job.run.processed++;

      // Its DELETE was not sent because the job is being cancelled or stopped here: ended as such, not
      // as a failure (which could pause it, or, at the last item, complete it for good).
      if (result.outcome === "failed" && result.notSent && result.code === "cancelled") {
        if (job.cancelRequested) break;
        if (this.#closing) {
          this.#settle(job, "interrupted");
          return;
        }
      }
      if (result.outcome === "failed" && AUTH.has(result.code)) {
        await this.#pause(
          job,
          result.code,
          `The API cannot be used with the current ${result.code === "not_configured" ? "configuration" : "credentials"}: ${result.message}`,
        );
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
    if (job.lost) throw new Abandon(job.lost);
    // Cancelled during the last item: every item was attempted, so the job completed (with or without
    // errors); one whose DELETE the cancellation kept from being sent was not attempted.
    const cancelled = job.cancelRequested && job.items.some((s) => s.inFlight || !s.result || notSentWhenStopped(s.result));
    const failed = job.items.some((s) => s.inFlight || !s.result || s.result.outcome === "failed");
    await this.#finish(job, cancelled ? "cancelled" : failed ? "completed_with_errors" : "completed");
  }

  async #callDelete(item: PlanItem, guard: AttemptGuard | undefined, stop: AbortSignal): Promise<DeleteOutcome> {
    try {
      return await this.#options.deleteItem(item, this.#abort.signal, guard, stop);
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
    await this.#append(job, { at, event: "pause", code, reason }, false);
    job.pause = { code, reason, at };
    await this.#letGo(job);
    this.#settle(job, "paused");
    await this.#report({ type: "pause", at, jobId: job.plan.jobId, code, reason });
  }

  /** Ends the job once: a caller while it is being ended waits for that end (the same receipt). */
  #finish(job: Job, status: FinalStatus): Promise<void> {
    if (isFinal(job.status) && job.endedAt) return Promise.resolve();
    // Set before anything is awaited: the status is final only once the receipt is written, so until
    // then a second caller would pass the check above and write a second finish line and receipt.
    if (!job.finishing) {
      const finishing = this.#end(job, status);
      job.finishing = finishing;
      // Its finish line not written: a later call may end it. Once written, never again (a restart
      // writes the receipt from the journal).
      finishing.catch(() => {
        if (job.endedAt === undefined) job.finishing = undefined;
      });
    }
    return job.finishing;
  }

  async #end(job: Job, status: FinalStatus): Promise<void> {
    const at = this.#now().toISOString();
    await this.#append(job, { at, event: "finish", status }, false);
    job.endedAt = at;
    job.pause = undefined;
    // Recorded in the audit trail before the receipt is stored: a process that dies in between
    // leaves the receipt to be written at the next start, which writes this record again.
    const receipt = receiptOf(job, status, at);
    await this.#report({ type: "finish", at, jobId: job.plan.jobId, status, receiptSha256: receipt.sha256 });
    await this.#store.putNote(job.plan.jobId, FINISH_RECORDED, true).catch(() => {});
    // The status changes once the receipt is there: a job seen ended always has one.
    await this.#putReceipt(job, receipt);
    // Let go first (the journal says it ended), so that whoever sees it ended finds it let go.
    await this.#letGo(job);
    this.#settle(job, status);
    await this.#store.release(job.plan.jobId);
  }

  #writeReceipt(job: Job, status = job.status as FinalStatus): Promise<StoredReceipt> {
    return this.#putReceipt(job, receiptOf(job, status, job.endedAt ?? this.#now().toISOString()));
  }

  async #putReceipt(job: Job, receipt: Receipt): Promise<StoredReceipt> {
    job.receipt = await this.#store.putReceipt(job.plan.jobId, {
      sha256: receipt.sha256,
      json: receiptJsonPieces(receipt),
      markdown: receiptMarkdownPieces(receipt),
    });
    return job.receipt;
  }

  #view(job: Job, options: { page?: number; pageSize?: number } = {}): JobView {
    let deleted = 0;
    let alreadyGone = 0;
    let dryRun = 0;
    let failed = 0;
    let outcomeUnknown = 0;
    let remaining = 0;
    const failures: FailureView[] = [];
    job.items.forEach((state, index) => {
      // As the receipt counts (itemOutcome), but while the job runs, its item in flight is being sent now.
      const outcome = job.status === "running" && state.inFlight ? "not_attempted" : itemOutcome(state);
      if (outcome === "not_attempted") remaining++;
      else if (outcome === "deleted") deleted++;
      else if (outcome === "already_gone") alreadyGone++;
      else if (outcome === "dry_run") dryRun++;
      else if (outcome === "failed") failed++;
      else outcomeUnknown++;
      const r = state.result;
      if (!state.inFlight && r?.outcome === "failed") {
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
      progress: { done: deleted + alreadyGone + dryRun, deleted, alreadyGone, dryRun, failed, outcomeUnknown, remaining },
      failures: {
        page,
        pageSize,
        total: failures.length,
        items: pageItems,
        ...(pageSize > 0 && page * pageSize < failures.length ? { nextPage: page + 1 } : {}),
      },
    };
    // Queued behind another job: one runs now, or another is ahead of it (not just its turn about to come).
    if (job.queued && ((this.#active !== undefined && this.#active !== job) || this.#queue.indexOf(job) > 0)) view.queued = true;
    if (job.cancelRequested) view.cancelRequested = true;
    if (job.pause) view.pause = job.pause;
    if (job.startedAt) view.startedAt = job.startedAt;
    if (job.endedAt) view.endedAt = job.endedAt;
    if (job.run && job.run.processed > 0) {
      const minutes = ((job.run.endedMs ?? this.#now().getTime()) - job.run.startedMs) / 60_000;
      if (minutes > 0) {
        const measured = job.run.processed / minutes;
        view.itemsPerMinute = Math.round(measured * 10) / 10;
        if (job.status === "running") {
          // After a 429 the job keeps to the pace the API accepted: the rate so far (a burst before
          // the 429) would promise far too early an end.
          const paced = this.#options.pace?.();
          const rate = paced !== undefined && paced < measured ? paced : measured;
          if (paced !== undefined && paced < measured) view.rateLimitPerMinute = Math.round(paced * 10) / 10;
          view.estimatedSecondsLeft = Math.ceil((remaining / rate) * 60);
        }
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

function alreadyStarted(jobId: string): JobResult {
  return { ok: false, error: { code: "invalid_input", message: `Job ${jobId} was already started.` } };
}

/** A read failure of the shared state goes to the caller; any other failure to read one job leaves it out. */
/** Disk: another server process of this machine (the same data directory) runs the job. */
const runElsewhere = (jobId: string, pid: number): ToolError => ({
  code: "invalid_input",
  message: `Job ${jobId} is being carried out by another server process on this machine (process ${pid}, the same data directory). Nothing was done here: follow it with get_erasure_job; cancel_erasure_job stops it from here too.`,
});

function rethrowUnavailable(error: unknown): undefined {
  if (error instanceof StateUnavailableError) throw error;
  log.error("an erasure job could not be read and is left out", { error: errorText(error) });
  return undefined;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function auditFailed(error: unknown, what: string): ToolError {
  return { code: "audit_failed", message: `The audit record could not be written (${errorText(error)}), so ${what}: nothing was deleted.` };
}

/** The note kept once the job's `finish` audit record was written (see #read). */
const FINISH_RECORDED = "finish-recorded";

/** The job's receipt as its items stand, ended at `endedAt` with `status`. */
function receiptOf(job: Job, status: FinalStatus, endedAt: string): Receipt {
  return buildReceipt({ plan: job.plan, items: job.items, status, startedAt: job.startedAt, endedAt });
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
  // An earlier call may have deleted it: this call's failure does not make it "not deleted".
  const earlier = state.mayHaveReached && !error.outcomeUnknown;
  return {
    outcome: "failed",
    code: error.code,
    message: earlier
      ? `An earlier attempt at this item may have deleted it (its answer was lost, or the server stopped while it was in flight), and this attempt ${outcome.notSent ? "was not sent" : "failed too"} (${error.code}${error.httpStatus !== undefined ? `, HTTP ${error.httpStatus}` : ""}): whether it is deleted is unknown. Check it with list_interaction_content.`
      : error.message,
    ...(error.httpStatus !== undefined ? { httpStatus: error.httpStatus } : {}),
    ...(error.outcomeUnknown || state.mayHaveReached ? { outcomeUnknown: true } : {}),
    ...(outcome.notSent ? { notSent: true } : {}),
    retryable: TRANSIENT.has(error.code) || AUTH.has(error.code),
  };
}
