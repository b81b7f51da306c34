// The state that replicas of one server must share (issue 22): confirmation tokens and their
// single-use claims, approval decisions, passkey challenges, search cursors, the one-deletion-at-a-
// time lock, and erasure job leases. Two implementations behind one interface: in-process memory
// (one machine, the default) and Redis (VCC_STATE_URL). Both pass the same contract tests
// (test/integration/state.test.ts).
//
// Rules every implementation keeps:
//   - Every operation is async and either answers or throws StateUnavailableError: nothing is
//     guessed. A caller refuses destructive work on that error and keeps serving reads.
//   - Ids (tokens, page ids, challenge ids, cursors) are made by the caller, with enough randomness;
//     the store only keeps them. Values are JSON.
//   - Durations (time to live, leases) are given per call, so tests can use short ones.
import type { ConfirmationItem } from "../core/content.js";
import type { Identity } from "../core/identity.js";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * The shared state could not be read or written (Redis unreachable, timed out, or answering an
 * error). `mayHaveApplied`: the request may have reached the store, so a write may have happened
 * (a claim may be held, a decision recorded): the caller must not assume either way.
 */
export class StateUnavailableError extends Error {
  override name = "StateUnavailableError";
  readonly mayHaveApplied: boolean;

  constructor(message: string, options: { cause?: unknown; mayHaveApplied?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.mayHaveApplied = options.mayHaveApplied ?? false;
  }
}

// ---------------------------------------------------------------------------------------------------
// Confirmation tokens and approvals

export interface TokenIssue {
  /** The action the token is for; a claim must name the same. */
  binding: string;
  /** What exactly was confirmed (e.g. a bulk plan), handed back by a successful claim. */
  payload?: JsonValue;
  /**
   * Whose token it is: the MCP session id without OAuth, the person's subject with it. A claim by
   * another owner is answered `unknown`, as if the token did not exist.
   */
  owner: string;
  ttlMs: number;
  /** The token needs a person's decision on an approval page first. */
  approval?: ApprovalIssue;
}

/** An approval page: what the person sees and what they must send back to decide. */
export interface ApprovalIssue {
  pageId: string;
  /** The anti-forgery value the page's form must send back. */
  formKey: string;
  items: readonly ConfirmationItem[];
  /** Lines shown above the items (e.g. an erasure plan's totals and criteria). */
  summary?: readonly string[];
  /** Team server: who asked (shown on the page; the four-eyes rule compares the approver with it). */
  requester?: Identity;
  /** What a passkey must sign to approve this page (base64url), bound to the page and its items. */
  challenge?: string;
  /**
   * Approving needs a verified passkey assertion (the issuing server requires passkeys). Kept with the
   * page, so that a page server with other settings (another replica or process on the same shared
   * state) cannot approve it without one: decide() refuses.
   */
  passkeyRequired?: boolean /** Issued by a dry-run server (VCC_DRY_RUN): the page says that nothing will be deleted. */;
  dryRun?: boolean;
}

export type ClaimRefusal = "unknown" | "expired" | "used" | "mismatch" | "in_use" | "rejected";

export type TokenClaimResult =
  /**
   * `approved`: the token needed, and got, a person's approval on its page; `approver`: who approved
   * there, where the page knew (team server); `decidedAt`: when (ms since the epoch, the deciding
   * replica's clock).
   */
  | {
      ok: true;
      claim: SharedClaim;
      payload?: JsonValue;
      approved: boolean;
      approver?: Identity;
      decidedAt?: number;
      /** The passkey (credential id) whose verified assertion approved the page, if one did. */
      passkey?: string;
    }
  | { ok: false; reason: Exclude<ClaimRefusal, "rejected" | "used"> }
  /** Used up (or withdrawn); `payload`: what it was issued with, so that a repeated call can be told what it did. */
  | { ok: false; reason: "used"; payload?: JsonValue }
  /**
   * `approver`: who rejected on the page, where known; `payload`: what the page asked about (for the
   * record); `repeat`: a claim was told so before (the refusal is on record already).
   */
  | { ok: false; reason: "rejected"; approver?: Identity; payload?: JsonValue; repeat?: true }
  | { ok: false; reason: "approval_pending"; pageId: string; expiresAt: number };

/** A token taken by exactly one caller across all replicas, until it is spent or released. */
export interface SharedClaim {
  /** The token is used up (the API was called, whatever it answered). */
  spend(): Promise<void>;
  /** Nothing was attempted: the token can be claimed again. */
  release(): Promise<void>;
}

export type ApprovalState = "pending" | "approved" | "rejected" | "withdrawn";

export interface ApprovalView {
  items: ConfirmationItem[];
  summary?: string[];
  /** `expired`: the token's time is up, whatever was decided. */
  state: ApprovalState | "expired";
  expiresAt: number;
  /** The anti-forgery value the page's form must send back (compare with sameSecret). */
  formKey: string;
  requester?: Identity;
  /** Who decided, once decided (when the decision named them). */
  approver?: Identity;
  challenge?: string;
  /** Approving needs a verified passkey assertion (see ApprovalIssue). */
  passkeyRequired?: boolean;
  dryRun?: boolean;
}

/**
 * `passkey_required`: an approval without a verified passkey assertion, of a page that needs one (or
 * by a caller that requires one): nothing was recorded.
 */
export type DecideResult =
  | { ok: true; state: "approved" | "rejected" }
  | { ok: false; reason: "unknown" | "expired" | "forged" | "passkey_required" }
  | { ok: false; reason: "decided"; state: ApprovalState };

export interface DecideOptions {
  /**
   * What the page server knows of a passkey for this approval: true, it verified an assertion over the
   * page's challenge; false, it requires one and none was verified; absent, it checks none. An
   * approval is refused (`passkey_required`) when false, or when not true and the page needs a
   * passkey. Checked in the same atomic step as the decision, so no earlier read of the page decides it.
   */
  passkeyVerified?: boolean;
  /** With passkeyVerified: the credential id (base64url) of the passkey that approved, kept with the decision. */
  passkeyId?: string;
}

export type DecisionOutcome = "approved" | "rejected" | "timeout" | "aborted" | "gone";

export interface TokenStore {
  /** Records a new token (and its approval page, if any). Throws if the token already exists. */
  issue(token: string, issue: TokenIssue): Promise<{ expiresAt: number }>;
  /** Takes the token, atomically across replicas: of any number of concurrent claims, one wins. */
  claim(token: string, binding: string, owner: string): Promise<TokenClaimResult>;
  /** The approval page behind `pageId`; undefined when there is none (or no longer). */
  page(pageId: string): Promise<ApprovalView | undefined>;
  /**
   * Records the person's decision (and `approver`, who made it, where known): only a pending,
   * unexpired page with its own form key (compared in constant time) can be decided, once across all
   * replicas; an approval also only as `options.passkeyVerified` allows (DecideOptions).
   */
  decide(
    pageId: string,
    formKey: string,
    choice: "approve" | "reject",
    approver?: Identity,
    options?: DecideOptions,
  ): Promise<DecideResult>;
  /**
   * The token is no longer wanted (never shown, or the call that asked is gone): an unclaimed token
   * can never be used (a claim says `used`); a pending page is closed (`withdrawn`). A claimed token
   * and a decided page are left as they are.
   */
  withdraw(token: string, owner: string): Promise<void>;
  /**
   * Forgets the token and its page (the MCP session that owned it ended): a claim says `unknown`,
   * the page is gone, a waiting call learns `gone`. A claimed token is left to its holder.
   */
  discard(token: string, owner: string): Promise<void>;
  /** Resolves once the page was decided (seen from any replica), or the wait ends otherwise. */
  waitForDecision(pageId: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<DecisionOutcome>;
}

// ---------------------------------------------------------------------------------------------------
// Short-lived values: passkey challenges, sign-ins, approvers' sessions and search cursors

export interface ChallengeStore {
  put(id: string, value: JsonValue, ttlMs: number): Promise<void>;
  /** The value, once: a second take (on any replica) finds nothing. */
  take(id: string): Promise<JsonValue | undefined>;
}

/**
 * Values read any number of times (on any replica) until they expire or are deleted: the team
 * server's signed-in approvers (src/auth/approver-signin.ts). Bounds on how many are kept are the
 * caller's (it knows which entries it made).
 */
export interface SessionStore {
  /** Keeps `value` under `id` for `ttlMs` (replacing what was there). */
  put(id: string, value: JsonValue, ttlMs: number): Promise<void>;
  /** The value, as often as asked, until it expires or is deleted; undefined after. */
  get(id: string): Promise<JsonValue | undefined>;
  delete(id: string): Promise<void>;
}

export type CursorRefusal = "unknown" | "expired" | "other_owner" | "other_criteria";

export interface CursorEntry {
  owner: string;
  criteria: string;
  position: JsonValue;
}

export type CursorResult = { ok: true; position: JsonValue } | { ok: false; reason: CursorRefusal };

export interface CursorStore {
  put(cursor: string, entry: CursorEntry, ttlMs: number): Promise<{ expiresAt: number }>;
  /** Usable more than once, by its owner with the same criteria, until it expires. */
  get(cursor: string, owner: string, criteria: string): Promise<CursorResult>;
}

/** What a stored cursor (or none) means for this request: the one rule both implementations apply. */
export function cursorVerdict(
  stored: (CursorEntry & { expiresAt: number }) | undefined,
  request: { owner: string; criteria: string; now: number },
): CursorResult {
  if (!stored) return { ok: false, reason: "unknown" };
  if (stored.expiresAt <= request.now) return { ok: false, reason: "expired" };
  if (stored.owner !== request.owner) return { ok: false, reason: "other_owner" };
  if (stored.criteria !== request.criteria) return { ok: false, reason: "other_criteria" };
  return { ok: true, position: stored.position };
}

// ---------------------------------------------------------------------------------------------------
// Leases: the deletion lock and erasure jobs

/** The name of the process-wide (now: deployment-wide) one-deletion-at-a-time lock. */
export const DELETION_LOCK = "deletion";
/** The lease name of an erasure job. */
export const jobLease = (jobId: string): string => `job:${jobId}`;

/**
 * A lease held on a name. `fence` grows with every acquisition of that name (also across restarts
 * of a Redis that keeps its data), so a later holder always has a larger one. `id` is unique per
 * acquisition (a random part per process and a count): after a Redis restart without data, when
 * fences start again from 1, an old lease still never passes for a new one.
 */
export interface Lease {
  readonly name: string;
  readonly holder: string;
  readonly fence: number;
  readonly id: string;
}

export interface LeaseStore {
  /** Takes the name if it is free or its lease lapsed; undefined while someone else holds it. */
  acquire(name: string, holder: string, leaseMs: number): Promise<Lease | undefined>;
  /** Extends the lease; false when it was lost (lapsed, and perhaps taken by another). */
  renew(lease: Lease, leaseMs: number): Promise<boolean>;
  /**
   * Whether this lease is still the current one with at least `minRemainingMs` left: the fencing
   * check a holder makes right before an irreversible step (a DELETE). False → do not send.
   */
  check(lease: Lease, minRemainingMs?: number): Promise<boolean>;
  /** Frees the name if this lease still holds it (a lapsed lease never frees another's). */
  release(lease: Lease): Promise<void>;
  /** Who holds the name now, if anyone. */
  holder(name: string): Promise<{ holder: string; fence: number; remainingMs: number } | undefined>;
}

// ---------------------------------------------------------------------------------------------------
// Erasure job records: where replicas keep a job's plan, journal and receipt (src/jobs/ uses them;
// the disk implementation for one machine is src/jobs/disk-store.ts)

/**
 * The job's lease is no longer held by the caller (it lapsed and perhaps another replica took the
 * job over): nothing was written.
 */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
}

/** A job's receipt as stored: its SHA-256, and where each text is (a file path, or a key). */
export interface StoredReceipt {
  sha256: string;
  json: string;
  markdown: string;
}

/**
 * The records of erasure jobs, shared by every engine that opens the same store. Values are JSON
 * objects the engine made (plan, journal entries); the store keeps them as given, in order.
 */
export interface JobRecords {
  readonly kind: "disk" | "redis";
  /** Every job's id. */
  ids(): Promise<string[]>;
  /** Jobs started or resumed and not paused or ended since: what a sweeper takes over when their lease lapsed. */
  running(): Promise<string[]>;
  /** Records a new job's plan, once: false when a job with this id exists already. */
  create(jobId: string, plan: object): Promise<boolean>;
  plan(jobId: string): Promise<unknown>;
  journal(jobId: string): Promise<unknown[]>;
  /**
   * Appends one journal entry; resolves once it is stored durably (disk: fdatasync; Redis: written,
   * durable as its AOF setting makes it). With `lease`: only while that lease is the job's current
   * one, else LeaseLostError and nothing is written. `running`: the job enters (true) or leaves
   * (false) the running set in the same step.
   */
  append(jobId: string, entry: object, options?: { lease?: Lease; running?: boolean }): Promise<void>;
  /** Records a cancellation (its journal entry and a flag any replica reads before its next item). */
  requestCancel(jobId: string, entry: object): Promise<void>;
  cancelRequested(jobId: string): Promise<boolean>;
  /** Stores the receipt (pieces of its JSON and Markdown texts). */
  putReceipt(jobId: string, receipt: { sha256: string; json: Iterable<string>; markdown: Iterable<string> }): Promise<StoredReceipt>;
  receipt(jobId: string): Promise<StoredReceipt | undefined>;
  receiptText(jobId: string, format: "json" | "md"): Promise<string | undefined>;
  /** Keeps a small JSON value with the job under a name (e.g. a verification asked for, and its result). */
  putNote(jobId: string, name: string, value: unknown): Promise<void>;
  note(jobId: string, name: string): Promise<unknown>;
  /** Lets go of what is held open for the job (disk: its journal file). */
  release(jobId: string): Promise<void>;
  /**
   * One machine (disk), where several server processes can share a data directory: marks the job as
   * run by this process, unless another live process runs it (`pid`). Replicas use leases instead.
   */
  holdRun?(jobId: string): Promise<{ ok: true } | { ok: false; pid: number }>;
  /** The job no longer runs in this process (holdRun undone). */
  releaseRun?(jobId: string): Promise<void>;
  /** The pid of another live process that runs the job, if one does. */
  runBy?(jobId: string): Promise<number | undefined>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Approval passkeys (VCC_APPROVAL_PASSKEY=required) shared by replicas; one machine keeps them in a
// file of its data directory (src/confirmation/passkeys.ts). Public keys only: no secret, but whoever
// can change them decides whose gesture counts.

export interface PasskeyRecord {
  /** The credential id, base64url. */
  id: string;
  /** The COSE public key, base64url. */
  publicKey: string;
  /** The authenticator's signature counter at its last use (0 for authenticators that keep none). */
  counter: number;
  transports?: string[];
  createdAt: string;
  lastUsedAt?: string;
}

export interface PasskeyRecords {
  /** Every registered passkey, with its latest counter. */
  list(): Promise<PasskeyRecord[]>;
  /** Registers a passkey; false when one with this id is registered already. */
  add(passkey: PasskeyRecord): Promise<boolean>;
  /** Removes the passkey with exactly this id; false when there was none. */
  delete(id: string): Promise<boolean>;
  /** After a verified assertion: the counter only ever grows (seen at once by every replica). */
  recordUse(id: string, counter: number, at: Date): Promise<void>;
  /** The WebAuthn user handle of this deployment's one user (made on first need, then kept). */
  userId(): Promise<string>;
}

// ---------------------------------------------------------------------------------------------------

export interface SharedState {
  readonly kind: "memory" | "redis";
  readonly tokens: TokenStore;
  /** Taken once: passkey challenges, the team server's sign-ins in progress. */
  readonly challenges: ChallengeStore;
  /** The team server's signed-in approvers (cookie id → who, until their sign-in ends). */
  readonly sessions: SessionStore;
  readonly cursors: CursorStore;
  readonly leases: LeaseStore;
  /** Erasure job records shared by replicas (Redis only; one machine keeps them on disk). */
  readonly jobs?: JobRecords;
  /** Approval passkeys shared by replicas (Redis only; one machine keeps them in its data directory). */
  readonly passkeys?: PasskeyRecords;
  /** Resolves when the store answers now; throws StateUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Timing of an implementation; defaults suit production, tests pass short ones. */
export interface StateTimings {
  /** How long expired tokens and cursors are remembered, so a replay says "expired"/"used", not "unknown". */
  retainMs?: number;
  /** Polling of a pending approval: first and longest pause (the Redis one is woken by pub/sub too). */
  pollMinMs?: number;
  pollMaxMs?: number;
}
