// The one place that decides "did a person agree?" for a destructive action in one MCP session.
// Every destructive tool asks here; nothing is sent to the API unless the answer is "approved".
import { randomUUID } from "node:crypto";
import type { ConfirmationMode } from "../config.js";
import type { ConfirmationItem } from "../core/content.js";
import type { Identity } from "../core/identity.js";

export type { ConfirmationItem, ContentPreview } from "../core/content.js";

import type { ToolError } from "../core/errors.js";
import { log } from "../log.js";
import { processState, StateUnavailableError, stateUnavailable, type TokenStore } from "../state/index.js";
import { type Claim, type ClaimFailure, ConfirmationStore, type IssuedToken, type WaitOutcome } from "./store.js";

/** What the person is asked about. `binding` identifies the exact action a token may perform. */
export interface ConfirmationRequest {
  binding: string;
  /** Every item the action would delete (one for the single tool). */
  items: ConfirmationItem[];
  /** Shown to the person: what will be deleted, and that it cannot be undone. */
  question: string;
  /** A confirmationToken the model passed back, if any. */
  token?: string;
  /** Kept with an issued token and handed back when it is redeemed (what exactly was confirmed). */
  payload?: unknown;
  signal?: AbortSignal;
  /** The MCP request this confirmation belongs to (HTTP transports route the prompt by it). */
  relatedRequestId?: string | number;
  /** Lines shown on the approval page above the items (e.g. an erasure plan's totals and criteria). */
  summary?: readonly string[];
  /**
   * In a form prompt, the person confirms by typing this number (of items) instead of ticking a box:
   * for large erasures, where a checkbox is too easy to tick.
   */
  typedCount?: number;
  /** Reports that the call is still waiting for the person (progress notifications); absent when the client asked for none. */
  progress?: (update: { progress: number; total: number; message: string }) => void;
}

export type Decision =
  | { kind: "approved"; method: "elicitation" }
  /**
   * `approver`: team server, the signed-in person who approved on the approval page; `decidedAt`:
   * when they did (approval), which can be long before the token came back.
   */
  | {
      kind: "approved";
      method: "token" | "approval";
      claim: Claim;
      payload?: unknown;
      approver?: Identity;
      decidedAt?: Date;
      /** The passkey (credential id) that approved on the page, when one was required and verified. */
      passkey?: string;
    }
  | { kind: "declined"; method: "elicitation"; action: "decline" | "cancel" | "unconfirmed" }
  /**
   * The person chose Cancel on the approval page. `approver`: team server, the signed-in person who
   * cancelled; `payload`: with a token, what it was issued with (what the page asked about).
   */
  | { kind: "declined"; method: "approval"; action: "reject"; approver?: Identity; payload?: unknown; repeat?: true }
  | {
      kind: "token_issued";
      token: string;
      expiresAt: Date;
      reason: "mode_token" | "no_elicitation" | "elicitation_failed" | "approval_page" | "approval_timeout";
      /** Mode approval: the page where the person approves; the token works only after that. */
      approvalUrl?: string;
    }
  /** `payload`: a token used before (confirmation_invalid), what it was issued with: what that earlier call did. */
  | { kind: "refused"; error: ToolError; approvalUrl?: string; payload?: unknown };

export type ElicitAnswer = { action: "accept" | "decline" | "cancel"; content?: Record<string, unknown> };

/** How this session talks to its client: whether it can show a form, and how to show one. */
export interface ElicitationChannel {
  supportsForm(): boolean;
  elicitForm(message: string, requestedSchema: Record<string, unknown>, options: ElicitOptions): Promise<ElicitAnswer>;
  /** Whether the client can open a URL for the person (URL-mode elicitation). */
  supportsUrl(): boolean;
  /** Asks the client to offer `url` to the person; `accept` means only that they agreed to open it. */
  elicitUrl(message: string, url: string, elicitationId: string, options: ElicitOptions): Promise<ElicitAnswer>;
  /** Tells the client the out-of-band interaction `elicitationId` is complete. */
  completeUrl(elicitationId: string, relatedRequestId?: string | number): Promise<void>;
}

export interface ElicitOptions {
  signal?: AbortSignal;
  timeoutMs: number;
  relatedRequestId?: string | number;
}

/** The process-wide approval page server, as a session sees it. */
export interface ApprovalPages {
  /** The shared state whose pages it serves (idempotent per store); call the returned function when done. */
  attach(tokens: TokenStore): () => void;
  urlFor(pageId: string): Promise<string>;
}

export interface ConfirmerOptions {
  mode: ConfirmationMode;
  ttlSeconds: number;
  elicitationTimeoutSeconds: number;
  channel: ElicitationChannel;
  /** Required for mode approval, for `pageFallback` and with `passkeys`. */
  approvals?: ApprovalPages;
  /**
   * Mode auto: when the client cannot show a form prompt (or it fails), the approval page is used
   * instead of a bare token. Set where the person can reach the page (stdio, HTTP on loopback).
   */
  pageFallback?: boolean;
  /**
   * Passkeys required (VCC_APPROVAL_PASSKEY=required): every deletion is approved on the approval page
   * with a passkey, never by a form prompt or a bare token; with none registered, deletions are refused.
   */
  passkeys?: { registered(): Promise<boolean> };
  /**
   * Team server with the four-eyes rule (VCC_APPROVAL_SEPARATE_APPROVER): every deletion is approved
   * on the approval page, where the approver signs in; never by the requester's own form prompt.
   */
  pageOnly?: boolean;
  now?: () => number;
  /**
   * Team server: who asks in this session (their approval pages say so). Their tokens are theirs, in
   * any of their sessions; without one, the tokens belong to this session.
   */
  requester?: Identity;
  /** Where tokens live: the server's shared state (default: this process's memory). */
  tokens?: TokenStore;
  /** VCC_DRY_RUN: the prompts say that nothing will be deleted (the questions say it too). */
  dryRun?: boolean;
}

/** Origins whose approval pages need the person to sign in first (a team server's public origin). */
const signInOrigins = new Set<string>();

/** Team server: the approval pages at `origin` are behind the approvers' sign-in. */
export function approvalPagesNeedSignIn(origin: string): void {
  signInOrigins.add(origin);
}

/**
 * Where the person opens an approval link: a team server's page anywhere, after signing in (and, with
 * the four-eyes rule, by another person); the loopback page on this computer.
 */
export function whereToOpen(url: string | undefined): string {
  const parsed = url && URL.canParse(url) ? new URL(url) : undefined;
  if (parsed && signInOrigins.has(parsed.origin))
    return "in a browser, where they sign in (if this server requires a second person to approve, they send the link to an approver)";
  return "in a browser on this computer";
}

/** How often a call waiting for the approval page tells the client it is still alive. */
const PROGRESS_INTERVAL_MS = 10_000;

/** The form with one checkbox; in a dry run (VCC_DRY_RUN=true) it says that nothing will be deleted. */
function confirmSchema(dryRun: boolean): Record<string, unknown> {
  return {
    type: "object",
    properties: {
      confirm: {
        type: "boolean",
        title: dryRun ? "Rehearse the deletion (dry run)" : "Delete permanently",
        description: dryRun
          ? "Tick to go through the deletion as a dry run (VCC_DRY_RUN=true): nothing will be deleted."
          : "Tick to delete permanently. This cannot be undone.",
        default: false,
      },
    },
    required: ["confirm"],
  };
}

/** The form in which the person types the number of items to confirm. */
function typedCountSchema(count: number, dryRun: boolean): Record<string, unknown> {
  return {
    type: "object",
    properties: {
      count: {
        type: "string",
        title: dryRun
          ? `Type ${count} to rehearse deleting all ${count} items (dry run)`
          : `Type ${count} to delete all ${count} items permanently`,
        description: dryRun
          ? `To confirm, type the number of items (${count}). A dry run (VCC_DRY_RUN=true): nothing will be deleted.`
          : `To confirm, type the number of items that will be deleted (${count}). This cannot be undone.`,
        maxLength: 20,
      },
    },
    required: ["count"],
  };
}

/** Whether the typed answer is the number asked for: digits, optionally grouped by thousands (1,000 or 1 000). */
function typedCountMatches(answer: unknown, count: number): boolean {
  if (typeof answer !== "string" && typeof answer !== "number") return false;
  const text = String(answer).trim();
  if (!/^(\d+|\d{1,3}([ ,.'\u00a0\u202f]\d{3})+)$/.test(text)) return false;
  return Number(text.replace(/\D/g, "")) === count;
}

const CLAIM_FAILURE_TEXT: Record<ClaimFailure, string> = {
  unknown:
    "is not known for this caller: it was issued in another session (or to another person), or before the server's state was lost, or it was discarded because too many confirmations were waiting at once",
  expired: "has expired",
  used: "has already been used; each token works once",
  mismatch: "was issued for something else (other items, or other criteria)",
  // Or held by a call that could not give it back (the shared state was unreachable): it stays in use until it expires.
  in_use:
    "is being used by another call right now (or by one that could not give it back while the shared state was unreachable: it then stays in use until it expires)",
  // Handled before this text is used; listed for completeness.
  approval_pending: "has not been approved on the approval page yet",
  rejected: "was rejected on the approval page",
};

export class Confirmer {
  readonly store: ConfirmationStore;
  readonly #options: ConfirmerOptions;
  readonly #detach: () => void;
  readonly #now: () => number;

  constructor(options: ConfirmerOptions) {
    const pages =
      options.mode === "approval" || options.pageFallback === true || options.passkeys !== undefined || options.pageOnly === true;
    if (pages && !options.approvals) throw new Error("confirming on the approval page needs the approval page server");
    this.#options = options;
    this.#now = options.now ?? Date.now;
    const tokens = options.tokens ?? processState().tokens;
    this.store = new ConfirmationStore(tokens, {
      ttlMs: options.ttlSeconds * 1000,
      ...(options.now ? { now: options.now } : {}),
      ...(options.requester ? { requester: options.requester } : {}),
    });
    this.#detach = pages && options.approvals ? options.approvals.attach(tokens) : () => {};
  }

  get mode(): ConfirmationMode {
    return this.#options.mode;
  }

  /**
   * The session ended: without OAuth its tokens and approval pages are gone; with OAuth they stay the
   * person's. Answers how many were discarded.
   */
  dispose(): Promise<number> {
    this.#detach();
    return this.store.close();
  }

  /**
   * Whether a person agreed. Fails closed: when the shared state cannot be reached, nothing is issued
   * or claimed, and the answer is `state_unavailable`.
   */
  async decide(request: ConfirmationRequest): Promise<Decision> {
    try {
      return await this.#decide(request);
    } catch (error) {
      if (!(error instanceof StateUnavailableError)) throw error;
      log.warn("a confirmation was refused: the shared state is unreachable", { reason: error.message });
      return { kind: "refused", error: stateUnavailable(error) };
    }
  }

  async #decide(request: ConfirmationRequest): Promise<Decision> {
    if (request.token !== undefined) return this.#redeem(request.token, request.binding);

    const { mode, channel } = this.#options;
    if (this.#options.passkeys) return this.#approveWithPasskey(request);
    if (this.#options.pageOnly) return this.#approveOnPage(request);
    if (mode === "token") return this.#issue(request, "mode_token");
    if (mode === "approval") return this.#approve(request);
    if (!channel.supportsForm()) {
      if (mode === "elicitation")
        return {
          kind: "refused",
          error: {
            code: "elicitation_unsupported",
            message:
              "This server is configured to confirm deletions with an on-screen prompt (VCC_CONFIRMATION=elicitation), but this MCP client cannot show one. Nothing was deleted. Use a client that supports elicitation, or ask the administrator to set VCC_CONFIRMATION=auto.",
          },
        };
      return this.#options.pageFallback ? this.#approveOnPage(request) : this.#issue(request, "no_elicitation");
    }

    const answer = await this.#askForm(request);
    if (answer === "failed") {
      // Some clients advertise elicitation and never show it, or time out: fall back to a token.
      if (mode === "elicitation")
        return {
          kind: "refused",
          error: {
            code: "elicitation_unsupported",
            message: `The confirmation prompt failed or got no answer within ${this.#options.elicitationTimeoutSeconds} s. Nothing was deleted. Ask the user whether they saw the prompt before calling again.`,
          },
        };
      return this.#options.pageFallback ? this.#approveOnPage(request) : this.#issue(request, "elicitation_failed");
    }
    return answer;
  }

  /** Passkeys required: the approval page only, and only once a passkey is registered. */
  async #approveWithPasskey(request: ConfirmationRequest): Promise<Decision> {
    let registered: boolean;
    try {
      registered = await (this.#options.passkeys as { registered(): Promise<boolean> }).registered();
    } catch (error) {
      // Kept in the shared state (VCC_STATE_URL), which cannot be reached now: the usual answer.
      if (error instanceof StateUnavailableError)
        return { kind: "refused", error: stateUnavailable(error, "Nothing was deleted", { outcomeKnown: true }) };
      log.error("the registered passkeys could not be read", { error });
      return {
        kind: "refused",
        error: {
          code: "approval_unavailable",
          message:
            "This server requires a passkey to approve deletions, but its list of registered passkeys could not be read. Nothing was deleted. Ask the administrator to check the server's log and its data directory (VCC_DATA_DIR).",
        },
      };
    }
    if (!registered)
      return {
        kind: "refused",
        error: {
          code: "passkey_required",
          message:
            "This server requires a passkey to approve deletions (VCC_APPROVAL_PASSKEY=required), and none is registered yet. Nothing was deleted. The user must register one themselves: in a terminal on this computer, run `vcc-interaction-content-mcp passkey add` (with the server's settings: the same VCC_DATA_DIR, or with replicas the same VCC_STATE_URL and VCC_STATE_KEY_PREFIX) and open the link it prints. This cannot be done through this assistant.",
        },
      };
    return this.#approveOnPage(request);
  }

  /** The form prompt's decision, or "failed" when the client could not show it or got no answer. */
  async #askForm(request: ConfirmationRequest): Promise<Decision | "failed"> {
    let answer: ElicitAnswer;
    try {
      const typed = request.typedCount;
      const dryRun = this.#options.dryRun === true;
      const message = typed === undefined ? request.question : `${request.question}\n\nTo confirm, type the number of items: ${typed}.`;
      answer = await this.#options.channel.elicitForm(
        message,
        typed === undefined ? confirmSchema(dryRun) : typedCountSchema(typed, dryRun),
        {
          signal: request.signal,
          timeoutMs: this.#options.elicitationTimeoutSeconds * 1000,
          relatedRequestId: request.relatedRequestId,
        },
      );
    } catch {
      if (request.signal?.aborted) return { kind: "declined", method: "elicitation", action: "cancel" };
      return "failed";
    }
    const confirmed =
      request.typedCount === undefined ? answer.content?.confirm === true : typedCountMatches(answer.content?.count, request.typedCount);
    if (answer.action === "accept" && confirmed) return { kind: "approved", method: "elicitation" };
    return {
      kind: "declined",
      method: "elicitation",
      action: answer.action === "accept" ? "unconfirmed" : answer.action,
    };
  }

  /**
   * Mode approval: a person's click on every path. The client's own form where it has one; otherwise
   * the loopback approval page, offered through URL-mode elicitation or as a link for the model to show.
   */
  async #approve(request: ConfirmationRequest): Promise<Decision> {
    if (this.#options.channel.supportsForm()) {
      const answer = await this.#askForm(request);
      if (answer !== "failed") return answer;
    }
    return this.#approveOnPage(request);
  }

  /** The loopback approval page, offered through URL-mode elicitation or as a link for the model to show. */
  async #approveOnPage(request: ConfirmationRequest): Promise<Decision> {
    const { channel } = this.#options;
    const issued = await this.store.issue(request.binding, request.payload, {
      approvalItems: request.items,
      ...(request.summary ? { approvalSummary: request.summary } : {}),
      // Recorded with the page: a page server without passkeys (another process or replica on the
      // same shared state) cannot approve it.
      ...(this.#options.passkeys ? { passkeyRequired: true } : {}),
      // Said on the page, whichever page server shows it: it is the deleting server's setting.
      ...(this.#options.dryRun ? { dryRun: true } : {}),
    });
    let approvalUrl: string;
    try {
      approvalUrl = await (this.#options.approvals as ApprovalPages).urlFor(issued.pageId as string);
    } catch (error) {
      await this.store.withdraw(issued.token);
      log.error("the approval page server could not start", { error });
      return {
        kind: "refused",
        error: {
          code: "approval_unavailable",
          message:
            "The approval page could not be started on this computer (is VCC_APPROVAL_PORT already in use?), so nobody can approve this deletion. Nothing was deleted. Ask the administrator to check the server's log and its VCC_APPROVAL_PORT setting.",
        },
      };
    }
    if (channel.supportsUrl()) return this.#approveInClient(request, issued, approvalUrl);
    return { kind: "token_issued", token: issued.token, expiresAt: issued.expiresAt, reason: "approval_page", approvalUrl };
  }

  /**
   * URL-mode elicitation: the client offers the page to the person, and this call waits (bounded by the
   * elicitation timeout and the token's expiry) for the decision made there. The client's `accept` only
   * means the person agreed to open the page; only the page decides.
   */
  async #approveInClient(request: ConfirmationRequest, issued: IssuedToken, approvalUrl: string): Promise<Decision> {
    const { channel } = this.#options;
    const { token } = issued;
    const elicitationId = randomUUID();
    const started = this.#now();
    const timeoutMs = Math.max(0, Math.min(this.#options.elicitationTimeoutSeconds * 1000, issued.expiresAt.getTime() - started));

    // One signal ends both the prompt and the wait: the tool call was cancelled, or the wait is over.
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    request.signal?.addEventListener("abort", onAbort, { once: true });
    if (request.signal?.aborted) stop.abort();
    let progressTimer: NodeJS.Timeout | undefined;
    try {
      const decided = this.store
        .waitForDecision(issued.pageId as string, { timeoutMs, signal: stop.signal })
        .then((outcome) => ({ outcome }));
      const asked = channel
        .elicitUrl(`${request.question} Open the approval page to decide.`, approvalUrl, elicitationId, {
          signal: stop.signal,
          timeoutMs,
          relatedRequestId: request.relatedRequestId,
        })
        .then(
          (answer) => ({ answer }),
          () => ({ answer: undefined }),
        );

      const first = await Promise.race([decided, asked]);
      let outcome: WaitOutcome;
      if ("outcome" in first) outcome = first.outcome;
      else {
        if (first.answer === undefined) {
          if (request.signal?.aborted) {
            await this.store.withdraw(token);
            return { kind: "declined", method: "elicitation", action: "cancel" };
          }
          // The client could not offer the page: hand the link to the model instead; the page stays the gate.
          return { kind: "token_issued", token, expiresAt: issued.expiresAt, reason: "approval_page", approvalUrl };
        }
        if (first.answer.action !== "accept") {
          await this.store.withdraw(token);
          return { kind: "declined", method: "elicitation", action: first.answer.action };
        }
        const report = request.progress;
        if (report) {
          const total = Math.round(timeoutMs / 1000);
          const tick = () => {
            const elapsed = Math.min(total, Math.round((this.#now() - started) / 1000));
            report({
              progress: elapsed,
              total,
              message: `Waiting for the person to approve or cancel on the approval page (${total - elapsed} s left).`,
            });
          };
          tick();
          progressTimer = setInterval(tick, PROGRESS_INTERVAL_MS);
        }
        outcome = (await decided).outcome;
      }

      switch (outcome) {
        case "approved":
        case "rejected":
          await channel.completeUrl(elicitationId, request.relatedRequestId).catch(() => {});
          // One path for both: the claim says approved (and takes the token) or rejected (and by whom).
          return this.#redeem(token, request.binding);
        case "timeout":
          // The person may still decide: the model gets the link and the token to continue later.
          return { kind: "token_issued", token, expiresAt: issued.expiresAt, reason: "approval_timeout", approvalUrl };
        case "aborted":
          await this.store.withdraw(token);
          return { kind: "declined", method: "elicitation", action: "cancel" };
      }
      // "gone": the session ended or the token was evicted while waiting.
      return {
        kind: "refused",
        error: {
          code: "approval_unavailable",
          message:
            "The approval page for this deletion was closed before the person decided. Nothing was deleted. Call again to start a new confirmation.",
        },
      };
    } finally {
      clearInterval(progressTimer);
      request.signal?.removeEventListener("abort", onAbort);
      stop.abort();
    }
  }

  async #issue(request: ConfirmationRequest, reason: "mode_token" | "no_elicitation" | "elicitation_failed"): Promise<Decision> {
    const { token, expiresAt } = await this.store.issue(request.binding, request.payload);
    return { kind: "token_issued", token, expiresAt, reason };
  }

  async #redeem(token: string, binding: string): Promise<Decision> {
    const result = await this.store.claim(token, binding);
    if (result.ok)
      return {
        kind: "approved",
        method: result.approved ? "approval" : "token",
        claim: result.claim,
        payload: result.payload,
        ...(result.approver ? { approver: result.approver } : {}),
        ...(result.approved && result.decidedAt !== undefined ? { decidedAt: new Date(result.decidedAt) } : {}),
        ...(result.approved && result.passkey ? { passkey: result.passkey } : {}),
      };
    // Cancelled on the approval page, by whom where known (team server).
    if (result.reason === "rejected")
      return {
        kind: "declined",
        method: "approval",
        action: "reject",
        ...(result.approver ? { approver: result.approver } : {}),
        ...(result.payload !== undefined ? { payload: result.payload } : {}),
        ...(result.repeat ? { repeat: true as const } : {}),
      };
    if (result.reason === "approval_pending") {
      const approvalUrl = await (this.#options.approvals as ApprovalPages).urlFor(result.pageId).catch(() => undefined);
      return {
        kind: "refused",
        ...(approvalUrl ? { approvalUrl } : {}),
        error: {
          code: "approval_pending",
          message: `The person has not approved this deletion on the approval page yet. Nothing was deleted, and the confirmationToken stays valid until ${result.expiresAt.toISOString()}. Ask the user to open ${approvalUrl ?? "the approval link"} ${whereToOpen(approvalUrl)} and approve or cancel there; call again with the same confirmationToken only after they say they decided.`,
        },
      };
    }
    // Used before: this call deletes nothing, but the call that used it did what it approved.
    if (result.reason === "used")
      return {
        kind: "refused",
        error: {
          code: "confirmation_invalid",
          message: `The confirmationToken ${CLAIM_FAILURE_TEXT.used}. This call deleted nothing; the call that used it did what the token approved, as far as it could (see that call's result). To delete something else, call again without a confirmationToken and ask the user.`,
        },
        ...(result.payload !== undefined ? { payload: result.payload } : {}),
      };
    return {
      kind: "refused",
      error: {
        code: "confirmation_invalid",
        message: `The confirmationToken ${CLAIM_FAILURE_TEXT[result.reason]}. Nothing was deleted. Call again without a confirmationToken to start a new confirmation, and ask the user.`,
      },
    };
  }
}
