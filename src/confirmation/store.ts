// Confirmation tokens as one MCP session sees them: issued when no person could be asked directly,
// bound to exactly one action, single-use, and short-lived. They live in the shared state
// (`SharedState.tokens`: this process's memory by default, Redis with VCC_STATE_URL), so that a
// token issued through one replica can be redeemed through another, and a claim is atomic across all
// of them. This class adds what a session needs on top: random ids, its owner, a count of what it
// still holds, and what ending the session does to them.
//
// Owner: without OAuth, the MCP session (a random id per session): another session, on this replica
// or another, is told `unknown`, and ending the session discards its tokens. With OAuth (team
// server), the person: their tokens work in any of their sessions on any replica, and a session
// ending discards nothing (a client whose replica died starts a new session and carries on).
//
// A token may also need a person's approval on an approval page: it is then pending until the
// person approves or rejects it on a page found by a separate, unguessable page id, and only an
// approved token can be claimed. The model sees the token and the page URL, but never the page's
// anti-forgery value, and a page view (GET) never changes anything.

import { createHash, randomBytes } from "node:crypto";
import type { ConfirmationItem } from "../core/content.js";
import type { Identity } from "../core/identity.js";
import { log } from "../log.js";
import type { ApprovalState, ApprovalView, ClaimRefusal, DecisionOutcome, JsonValue, TokenStore } from "../state/types.js";

export type { ApprovalState } from "../state/types.js";

export type ClaimFailure = ClaimRefusal | "approval_pending";

export interface Claim {
  /** The token is used up (the API was called, whatever it answered). */
  spend(): Promise<void>;
  /** Nothing was carried out (e.g. authentication failed): the token stays usable. Answers whether it does (false: it could not be given back). */
  release(): Promise<boolean>;
}

export type ApprovalChoice = "approve" | "reject";

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
  challenge?: string;
  /** Approving needs a verified passkey assertion (the page was issued with passkeys required). */
  passkeyRequired?: boolean;
  /** Issued by a dry-run server: nothing will be deleted. */
  dryRun?: boolean;
}

/** The shared state's page as the approval page shows it. */
export function pageView(view: ApprovalView): ApprovalPageView {
  const { expiresAt, ...rest } = view;
  return { ...rest, expiresAt: new Date(expiresAt) };
}

export type WaitOutcome = DecisionOutcome;

export type ClaimResult =
  /**
   * `approved`: the token needed, and got, a person's approval on its page; `approver`: team server,
   * the signed-in person who approved there.
   */
  | { ok: true; claim: Claim; payload?: unknown; approved: boolean; approver?: Identity; decidedAt?: number; passkey?: string }
  | { ok: false; reason: Exclude<ClaimFailure, "approval_pending" | "rejected" | "used"> }
  | { ok: false; reason: "used"; payload?: unknown }
  | { ok: false; reason: "rejected"; approver?: Identity; payload?: unknown; repeat?: true }
  | { ok: false; reason: "approval_pending"; pageId: string; expiresAt: Date };

/** Tokens tracked per session at most; the oldest are discarded first. Bounds a looping model. */
const MAX_ENTRIES = 500;

/**
 * Pauses before claiming a token found in use again. The spend of a call that has just answered was
 * sent to the shared state before its result (the workflow does not wait for it), but a claim sent
 * through another connection (another replica) right after may still reach Redis first. A call still
 * running holds the token far longer than these 15 ms, and is still answered in_use.
 */
const IN_USE_PAUSES_MS = [5, 10];

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

/** The owner of a session's tokens in the shared state: the person with OAuth, else the session. */
export function tokenOwner(requester: Identity | undefined): { key: string; sessionBound: boolean } {
  if (requester) return { key: `person:${JSON.stringify([requester.issuer, requester.subject])}`, sessionBound: false };
  return { key: `session:${randomId()}`, sessionBound: true };
}

interface Tracked {
  expiresAt: number;
  /** Nothing more will come of it: spent, withdrawn, rejected, or refused for good. */
  settled: boolean;
}

export class ConfirmationStore {
  readonly #tokens: TokenStore;
  readonly #ttlMs: number;
  readonly #owner: string;
  readonly #sessionBound: boolean;
  readonly #now: () => number;
  /** This session's tokens, oldest first (what `live` counts and what closing discards). */
  readonly #tracked = new Map<string, Tracked>();
  /** Team server: who asks in this session (shown on its approval pages). */
  readonly requester: Identity | undefined;

  constructor(tokens: TokenStore, options: { ttlMs: number; requester?: Identity; now?: () => number }) {
    this.#tokens = tokens;
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
    this.requester = options.requester;
    const owner = tokenOwner(options.requester);
    this.#owner = owner.key;
    this.#sessionBound = owner.sessionBound;
  }

  /**
   * A new token (192 random bits) for the action described by `binding`; `payload` (JSON) is handed
   * back when it is claimed. With `approvalItems`, the token is pending until a person approves it on
   * its page (id: 256 random bits, unrelated to the token); with `passkeyRequired` as well, only an
   * approval with a verified passkey assertion counts, whichever page server it reaches. Throws
   * StateUnavailableError.
   */
  async issue(
    binding: string,
    payload?: unknown,
    options: {
      approvalItems?: readonly ConfirmationItem[];
      approvalSummary?: readonly string[];
      passkeyRequired?: boolean;
      dryRun?: boolean;
    } = {},
  ): Promise<IssuedToken> {
    await this.#makeRoom();
    const token = `vcc-confirm-${randomBytes(24).toString("base64url")}`;
    const items = options.approvalItems;
    const pageId = items ? randomId() : undefined;
    const { expiresAt } = await this.#tokens.issue(token, {
      binding,
      // Payloads are plans and item lists: JSON by construction.
      ...(payload !== undefined ? { payload: payload as JsonValue } : {}),
      owner: this.#owner,
      ttlMs: this.#ttlMs,
      ...(items && pageId
        ? {
            approval: {
              pageId,
              formKey: randomId(),
              items,
              ...(options.approvalSummary ? { summary: options.approvalSummary } : {}),
              ...(this.requester ? { requester: this.requester } : {}),
              challenge: approvalChallenge(pageId, binding, items),
              ...(options.passkeyRequired ? { passkeyRequired: true } : {}),
              ...(options.dryRun ? { dryRun: true } : {}),
            },
          }
        : {}),
    });
    this.#tracked.set(token, { expiresAt, settled: false });
    return { token, expiresAt: new Date(expiresAt), ...(pageId ? { pageId } : {}) };
  }

  /**
   * Takes the token for `binding` if it is valid (and approved, where it needs approval), atomically
   * across replicas; the caller must spend or release the claim. Throws StateUnavailableError.
   */
  async claim(token: string, binding: string): Promise<ClaimResult> {
    let result = await this.#tokens.claim(token, binding, this.#owner);
    // Right after a call answered, its spend may still be on its way: see IN_USE_PAUSES_MS.
    for (const pause of IN_USE_PAUSES_MS) {
      if (result.ok || result.reason !== "in_use") break;
      await new Promise((resolve) => setTimeout(resolve, pause));
      result = await this.#tokens.claim(token, binding, this.#owner);
    }
    if (!result.ok) {
      if (result.reason === "approval_pending") return { ...result, expiresAt: new Date(result.expiresAt) };
      if (result.reason !== "in_use" && result.reason !== "mismatch") this.#settle(token, true);
      return result;
    }
    const { claim, ...rest } = result;
    // Being acted on: not among the tokens an ending session would lose (live), unless given back.
    this.#settle(token, true);
    return {
      ...rest,
      claim: {
        // A failure to settle leaves the token claimed until it expires: never usable twice.
        spend: () => claim.spend().catch((error: unknown) => log.warn("a used confirmation token could not be marked used", { error })),
        release: () => {
          this.#settle(token, false);
          return claim.release().then(
            () => true,
            (error: unknown) => {
              log.warn("a confirmation token could not be released (it stays in use until it expires)", { error });
              return false;
            },
          );
        },
      },
    };
  }

  /**
   * The token will never be shown or is no longer wanted: an unclaimed token becomes unusable; an
   * approval page still pending is closed. Never throws: a token that could not be withdrawn expires.
   */
  async withdraw(token: string): Promise<void> {
    this.#settle(token, true);
    await this.#tokens.withdraw(token, this.#owner).catch((error: unknown) => {
      log.warn("a confirmation token could not be withdrawn; it expires by itself", { error });
    });
  }

  /** Resolves when the person decided on the page (through any replica), or the wait ends otherwise. */
  waitForDecision(pageId: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<WaitOutcome> {
    return this.#tokens.waitForDecision(pageId, options);
  }

  /**
   * The session ended. Without OAuth its tokens and approval pages go with it (a call waiting on one
   * learns `gone`); with OAuth they stay the person's. Answers how many of the discarded were still
   * to be acted on (unexpired, unsettled).
   */
  async close(): Promise<number> {
    // Counted are those still to be acted on: a token used or declined is not lost with the session.
    const live = this.live;
    const tokens = [...this.#tracked.keys()];
    this.#tracked.clear();
    if (!this.#sessionBound) return 0;
    await Promise.all(tokens.map((token) => this.#discard(token)));
    return live;
  }

  /**
   * Tokens that ending this session would discard and that are still to be acted on: unexpired and
   * not settled (pending approval included). Always 0 with OAuth (ending a session discards nothing).
   */
  get live(): number {
    if (!this.#sessionBound) return 0;
    const now = this.#now();
    let count = 0;
    for (const entry of this.#tracked.values()) if (!entry.settled && now < entry.expiresAt) count++;
    return count;
  }

  #settle(token: string, settled: boolean): void {
    const entry = this.#tracked.get(token);
    if (entry) entry.settled = settled;
  }

  #discard(token: string): Promise<void> {
    return this.#tokens.discard(token, this.#owner).catch((error: unknown) => {
      log.warn("a confirmation token of an ended session could not be discarded; it expires by itself", { error });
    });
  }

  /** Forgets what expired or was settled; beyond the bound, discards the oldest (they stop working). */
  async #makeRoom(): Promise<void> {
    const now = this.#now();
    for (const [token, entry] of this.#tracked) if (now >= entry.expiresAt || entry.settled) this.#tracked.delete(token);
    const excess = this.#tracked.size - MAX_ENTRIES + 1;
    if (excess <= 0) return;
    const oldest = [...this.#tracked.keys()].slice(0, excess);
    for (const token of oldest) this.#tracked.delete(token);
    await Promise.all(oldest.map((token) => this.#discard(token)));
  }
}
