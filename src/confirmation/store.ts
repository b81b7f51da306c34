// Confirmation tokens of one MCP session: issued when no person could be asked directly, bound to
// exactly one action, single-use, and short-lived. Claiming is synchronous, so two concurrent
// calls with the same token can never both proceed.
//
// A token may also need a person's approval on the loopback approval page (mode `approval`): it is
// then pending until the person approves or rejects it on a page found by a separate, unguessable
// page id, and only an approved token can be claimed. The model sees the token and the page URL, but
// never the page's anti-forgery value, and a page view (GET) never changes anything.

import { createHash, randomBytes } from "node:crypto";
import type { Identity } from "../core/identity.js";
import { sameSecret } from "../http-guards.js";
import type { ConfirmationItem } from "./confirmer.js";

export type ClaimFailure = "unknown" | "expired" | "used" | "mismatch" | "in_use" | "approval_pending" | "rejected";

export interface Claim {
  /** The token is used up (the API was called, whatever it answered). */
  spend(): void;
  /** Nothing was attempted (e.g. authentication failed): the token stays usable. */
  release(): void;
}

/** Where a token stands on its approval page. `withdrawn`: the call that asked was cancelled. */
export type ApprovalState = "pending" | "approved" | "rejected" | "withdrawn";
export type ApprovalChoice = "approve" | "reject";

interface Approval {
  pageId: string;
  formKey: string;
  /** The WebAuthn challenge of this page (passkey approvals): bound to the page, the action and its items. */
  challenge: string;
  state: ApprovalState;
  items: readonly ConfirmationItem[];
  /** Team server: the signed-in person who approved or rejected. */
  approver?: Identity;
  /** Lines of summary shown above the items (e.g. an erasure plan's totals and criteria). */
  summary?: readonly string[];
  /** Calls waiting for the person's decision (URL-mode elicitation). */
  waiters: Set<() => void>;
}

interface Entry {
  binding: string;
  /** What exactly was confirmed, when the binding alone does not say (e.g. a bulk plan). */
  payload?: unknown;
  expiresAt: number;
  state: "issued" | "claimed" | "spent";
  approval?: Approval;
}

export interface IssuedToken {
  token: string;
  expiresAt: Date;
  /** Set when the token needs approval on the page: the id in its URL. */
  pageId?: string;
}

/** What an approval page shows. `expired`: the token's time is up, whatever was decided. */
export interface ApprovalPageView {
  items: readonly ConfirmationItem[];
  /** Lines of summary shown above the items, when the action has one. */
  summary?: readonly string[];
  state: ApprovalState | "expired";
  expiresAt: Date;
  /** The anti-forgery value the page's form must send back. */
  formKey: string;
  /** Team server: who asked for the deletion (the session's identity). */
  requester?: Identity;
  /** Team server: who decided, once decided. */
  approver?: Identity;
  /** What a passkey must sign to approve this page (base64url). */
  challenge: string;
}

export type PageDecision =
  | { ok: true; state: "approved" | "rejected" }
  | { ok: false; reason: "unknown" | "expired" | "forged" }
  | { ok: false; reason: "decided"; state: ApprovalState };

/** What the process-wide approval page server asks each session's store. */
export interface ApprovalPageSource {
  page(pageId: string): ApprovalPageView | undefined;
  decide(pageId: string, formKey: string, choice: ApprovalChoice, approver?: Identity): PageDecision;
}

export type WaitOutcome = "approved" | "rejected" | "timeout" | "aborted" | "gone";

export type ClaimResult =
  /**
   * `approved`: the token needed, and got, a person's approval on its page; `approver`: team server,
   * the signed-in person who approved there.
   */
  | { ok: true; claim: Claim; payload?: unknown; approved: boolean; approver?: Identity }
  | { ok: false; reason: Exclude<ClaimFailure, "approval_pending"> }
  | { ok: false; reason: "approval_pending"; pageId: string; expiresAt: Date };

/** Entries kept per session at most; the oldest go first. Bounds memory against a looping model. */
const MAX_ENTRIES = 500;

/** 256 random bits, URL-safe. */
const randomId = () => randomBytes(32).toString("base64url");

/**
 * A page's WebAuthn challenge: a hash of the page id, the action's binding, the exact items and 256
 * random bits. An assertion signed for one page cannot approve another page, nor other items.
 */
function approvalChallenge(pageId: string, binding: string, items: readonly ConfirmationItem[]): string {
  const bound = JSON.stringify([pageId, binding, items.map((item) => [item.guid, item.contentKey]), randomId()]);
  return createHash("sha256").update(bound, "utf8").digest("base64url");
}

export class ConfirmationStore implements ApprovalPageSource {
  readonly #entries = new Map<string, Entry>();
  /** Approval page id → token. */
  readonly #pages = new Map<string, string>();
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** Team server: who asks in this session (shown on its approval pages). */
  readonly requester: Identity | undefined;

  constructor(ttlMs: number, now: () => number = Date.now, requester?: Identity) {
    this.#ttlMs = ttlMs;
    this.#now = now;
    this.requester = requester;
  }

  /**
   * A new token (192 random bits) for the action described by `binding`; `payload` is handed back
   * when it is claimed. With `approvalItems`, the token is pending until a person approves it on its
   * page (id: 256 random bits, unrelated to the token).
   */
  issue(
    binding: string,
    payload?: unknown,
    options: { approvalItems?: readonly ConfirmationItem[]; approvalSummary?: readonly string[] } = {},
  ): IssuedToken {
    this.#prune();
    const token = `vcc-confirm-${randomBytes(24).toString("base64url")}`;
    const expiresAt = this.#now() + this.#ttlMs;
    const entry: Entry = { binding, payload, expiresAt, state: "issued" };
    if (options.approvalItems) {
      const pageId = randomId();
      const challenge = approvalChallenge(pageId, binding, options.approvalItems);
      entry.approval = {
        pageId,
        formKey: randomId(),
        challenge,
        state: "pending",
        items: options.approvalItems,
        ...(options.approvalSummary ? { summary: options.approvalSummary } : {}),
        waiters: new Set(),
      };
      this.#pages.set(entry.approval.pageId, token);
    }
    this.#entries.set(token, entry);
    return { token, expiresAt: new Date(expiresAt), ...(entry.approval ? { pageId: entry.approval.pageId } : {}) };
  }

  /** Takes the token for `binding` if it is valid (and approved, where it needs approval); the caller must spend or release the claim. */
  claim(token: string, binding: string): ClaimResult {
    const entry = this.#entries.get(token);
    if (!entry) return { ok: false, reason: "unknown" };
    if (entry.state === "spent") return { ok: false, reason: "used" };
    if (this.#now() >= entry.expiresAt) return { ok: false, reason: "expired" };
    if (entry.binding !== binding) return { ok: false, reason: "mismatch" };
    const approval = entry.approval;
    if (approval?.state === "pending")
      return { ok: false, reason: "approval_pending", pageId: approval.pageId, expiresAt: new Date(entry.expiresAt) };
    if (approval && approval.state !== "approved") return { ok: false, reason: "rejected" };
    if (entry.state === "claimed") return { ok: false, reason: "in_use" };
    entry.state = "claimed";
    return {
      ok: true,
      payload: entry.payload,
      ...(approval?.approver ? { approver: approval.approver } : {}),
      approved: approval !== undefined,
      claim: {
        spend: () => {
          entry.state = "spent";
        },
        release: () => {
          if (entry.state === "claimed") entry.state = "issued";
        },
      },
    };
  }

  /** Who decided on the token's approval page (team server), once decided. */
  decidedBy(token: string): Identity | undefined {
    return this.#entries.get(token)?.approval?.approver;
  }

  /**
   * The token will never be shown or is no longer wanted: a plain token that was not claimed becomes
   * unusable; an approval page still pending is closed (nobody is waiting for it any more). A page
   * already decided is left as it is.
   */
  withdraw(token: string): void {
    const entry = this.#entries.get(token);
    if (entry?.state !== "issued") return;
    if (!entry.approval) {
      entry.state = "spent";
      return;
    }
    if (entry.approval.state !== "pending") return;
    entry.approval.state = "withdrawn";
    entry.state = "spent";
    this.#notify(entry.approval);
  }

  /** Resolves when the person decided on the token's page, or the wait ends for another reason. */
  waitForDecision(token: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<WaitOutcome> {
    const outcome = (): WaitOutcome | undefined => {
      const approval = this.#entries.get(token)?.approval;
      if (!approval || approval.state === "withdrawn") return "gone";
      if (approval.state === "pending") return undefined;
      return approval.state;
    };
    const current = outcome();
    if (current) return Promise.resolve(current);
    const approval = this.#entries.get(token)?.approval;
    if (!approval) return Promise.resolve("gone");
    if (options.signal?.aborted) return Promise.resolve("aborted");
    return new Promise((resolve) => {
      const finish = (result: WaitOutcome) => {
        clearTimeout(timer);
        approval.waiters.delete(check);
        options.signal?.removeEventListener("abort", onAbort);
        resolve(result);
      };
      const check = () => finish(outcome() ?? "gone");
      const onAbort = () => finish("aborted");
      const timer = setTimeout(() => finish("timeout"), options.timeoutMs);
      approval.waiters.add(check);
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  page(pageId: string): ApprovalPageView | undefined {
    const found = this.#approvalPage(pageId);
    if (!found) return undefined;
    const { entry, approval } = found;
    const expired = this.#now() >= entry.expiresAt;
    return {
      items: approval.items,
      ...(approval.summary ? { summary: approval.summary } : {}),
      state: expired ? "expired" : approval.state,
      expiresAt: new Date(entry.expiresAt),
      formKey: approval.formKey,
      ...(this.requester ? { requester: this.requester } : {}),
      ...(approval.approver ? { approver: approval.approver } : {}),
      challenge: approval.challenge,
    };
  }

  /** The person's click. Single-use: only a pending, unexpired page with its own form key can be decided. */
  decide(pageId: string, formKey: string, choice: ApprovalChoice, approver?: Identity): PageDecision {
    const found = this.#approvalPage(pageId);
    if (!found) return { ok: false, reason: "unknown" };
    const { entry, approval } = found;
    if (!sameSecret(formKey, approval.formKey)) return { ok: false, reason: "forged" };
    if (this.#now() >= entry.expiresAt) return { ok: false, reason: "expired" };
    if (approval.state !== "pending") return { ok: false, reason: "decided", state: approval.state };
    approval.state = choice === "approve" ? "approved" : "rejected";
    if (approver) approval.approver = approver;
    this.#notify(approval);
    return { ok: true, state: approval.state };
  }

  /** Forget everything (the session ended). */
  clear(): void {
    const approvals = [...this.#entries.values()].flatMap((entry) => (entry.approval ? [entry.approval] : []));
    this.#entries.clear();
    this.#pages.clear();
    for (const approval of approvals) this.#notify(approval);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Tokens still to be acted on: in use, or unexpired and neither spent nor rejected (pending approval included). */
  get live(): number {
    const now = this.#now();
    let count = 0;
    for (const entry of this.#entries.values())
      if (entry.state === "claimed" || (entry.state === "issued" && now < entry.expiresAt && entry.approval?.state !== "rejected")) count++;
    return count;
  }

  #approvalPage(pageId: string): { entry: Entry; approval: Approval } | undefined {
    const token = this.#pages.get(pageId);
    const entry = token === undefined ? undefined : this.#entries.get(token);
    return entry?.approval ? { entry, approval: entry.approval } : undefined;
  }

  #notify(approval: Approval): void {
    for (const waiter of [...approval.waiters]) waiter();
  }

  #delete(token: string): void {
    const entry = this.#entries.get(token);
    this.#entries.delete(token);
    if (entry?.approval) {
      this.#pages.delete(entry.approval.pageId);
      this.#notify(entry.approval);
    }
  }

  #prune(): void {
    const now = this.#now();
    for (const [token, entry] of this.#entries) {
      // Spent tokens are kept until they expire so that a replay says "used", not "unknown".
      if (now >= entry.expiresAt && entry.state !== "claimed") this.#delete(token);
    }
    while (this.#entries.size >= MAX_ENTRIES) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#delete(oldest);
    }
  }
}
