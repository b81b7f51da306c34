// Shared state kept in this process: the default for one machine. Every operation is synchronous
// underneath (so a claim is atomic by construction) and async only to match the interface.
import { randomBytes } from "node:crypto";
import type { Identity } from "../core/identity.js";
import { sameSecret } from "../http-guards.js";
import {
  type ApprovalIssue,
  type ApprovalState,
  type ApprovalView,
  type ChallengeStore,
  type CursorEntry,
  type CursorResult,
  type CursorStore,
  cursorVerdict,
  type DecideOptions,
  type DecideResult,
  type DecisionOutcome,
  type JsonValue,
  type Lease,
  type LeaseStore,
  type SessionStore,
  type SharedState,
  type StateTimings,
  type TokenClaimResult,
  type TokenIssue,
  type TokenStore,
} from "./types.js";

export const DEFAULT_RETAIN_MS = 10 * 60_000;
/** Search cursors kept in one process at most (a cursor holds what its search has seen). */
const MAX_CURSORS = 1000;

/** This process's random part of every lease id it makes (72 bits, drawn once). */
const LEASE_ID_PREFIX = randomBytes(9).toString("base64url");
let leaseCount = 0;
/**
 * The id of one lease acquisition, unique across processes and restarts: this process's random part
 * and a count. Not a secret: it only tells acquisitions apart. Made without a call into OpenSSL per
 * acquisition, which costs 50-100 µs on a small VM, on the path of every confirmed deletion.
 */
export const leaseId = (): string => `${LEASE_ID_PREFIX}.${(++leaseCount).toString(36)}`;

interface TokenEntry {
  binding: string;
  payload?: JsonValue;
  owner: string;
  expiresAt: number;
  state: "issued" | "claimed" | "spent";
  /** Distinguishes claims: a late spend/release of an earlier claim changes nothing. */
  claims: number;
  pageId?: string;
  /** A claim was told the page was rejected. */
  rejectionSeen?: boolean;
}

interface PageEntry {
  token: string;
  issue: ApprovalIssue;
  state: ApprovalState;
  approver?: Identity;
  /** When the page was decided (ms since the epoch). */
  decidedAt?: number;
  /** The passkey that approved it, if one did. */
  passkeyId?: string;
  expiresAt: number;
  waiters: Set<() => void>;
}

/** JSON in, a copy out: what a caller keeps cannot change what is stored (as with Redis). */
const copy = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

class MemoryTokens implements TokenStore {
  readonly #tokens = new Map<string, TokenEntry>();
  readonly #pages = new Map<string, PageEntry>();

  constructor(
    private readonly now: () => number,
    private readonly retainMs: number,
  ) {}

  async issue(token: string, issue: TokenIssue): Promise<{ expiresAt: number }> {
    this.#prune();
    if (this.#tokens.has(token) || (issue.approval && this.#pages.has(issue.approval.pageId)))
      throw new Error("a token or approval page with this id exists already");
    const expiresAt = this.now() + issue.ttlMs;
    this.#tokens.set(token, {
      binding: issue.binding,
      payload: copy(issue.payload),
      owner: issue.owner,
      expiresAt,
      state: "issued",
      claims: 0,
      pageId: issue.approval?.pageId,
    });
    if (issue.approval)
      this.#pages.set(issue.approval.pageId, {
        token,
        issue: copy(issue.approval),
        state: "pending",
        expiresAt,
        waiters: new Set(),
      });
    return { expiresAt };
  }

  async claim(token: string, binding: string, owner: string): Promise<TokenClaimResult> {
    const entry = this.#tokens.get(token);
    if (!entry || entry.owner !== owner) return { ok: false, reason: "unknown" };
    if (entry.state === "spent")
      return { ok: false, reason: "used", ...(entry.payload !== undefined ? { payload: copy(entry.payload) } : {}) };
    if (this.now() >= entry.expiresAt) return { ok: false, reason: "expired" };
    if (entry.binding !== binding) return { ok: false, reason: "mismatch" };
    const page = entry.pageId === undefined ? undefined : this.#pages.get(entry.pageId);
    if (entry.pageId !== undefined && page?.state === "pending")
      return { ok: false, reason: "approval_pending", pageId: entry.pageId, expiresAt: entry.expiresAt };
    if (entry.pageId !== undefined && page?.state !== "approved") {
      const repeat = entry.rejectionSeen === true;
      entry.rejectionSeen = true;
      return {
        ok: false,
        reason: "rejected",
        ...(page?.approver ? { approver: copy(page.approver) } : {}),
        ...(entry.payload !== undefined ? { payload: copy(entry.payload) } : {}),
        ...(repeat ? { repeat: true as const } : {}),
      };
    }
    if (entry.state === "claimed") return { ok: false, reason: "in_use" };
    entry.state = "claimed";
    const claim = ++entry.claims;
    const mine = () => entry.state === "claimed" && entry.claims === claim;
    return {
      ok: true,
      ...(entry.payload !== undefined ? { payload: copy(entry.payload) } : {}),
      approved: page !== undefined,
      ...(page?.approver ? { approver: copy(page.approver) } : {}),
      ...(page?.decidedAt !== undefined ? { decidedAt: page.decidedAt } : {}),
      ...(page?.passkeyId ? { passkey: page.passkeyId } : {}),
      claim: {
        spend: async () => {
          if (mine()) entry.state = "spent";
        },
        release: async () => {
          if (mine()) entry.state = "issued";
        },
      },
    };
  }

  async page(pageId: string): Promise<ApprovalView | undefined> {
    const page = this.#pages.get(pageId);
    if (!page) return undefined;
    const { items, summary, formKey, requester, challenge, passkeyRequired, dryRun } = copy(page.issue);
    return {
      items: [...items],
      ...(summary ? { summary: [...summary] } : {}),
      state: this.now() >= page.expiresAt ? "expired" : page.state,
      expiresAt: page.expiresAt,
      formKey,
      ...(requester ? { requester } : {}),
      ...(page.approver ? { approver: copy(page.approver) } : {}),
      ...(challenge ? { challenge } : {}),
      ...(passkeyRequired ? { passkeyRequired } : {}),
      ...(dryRun ? { dryRun } : {}),
    };
  }

  async decide(
    pageId: string,
    formKey: string,
    choice: "approve" | "reject",
    approver?: Identity,
    options: DecideOptions = {},
  ): Promise<DecideResult> {
    const page = this.#pages.get(pageId);
    if (!page) return { ok: false, reason: "unknown" };
    if (!sameSecret(formKey, page.issue.formKey)) return { ok: false, reason: "forged" };
    if (this.now() >= page.expiresAt) return { ok: false, reason: "expired" };
    if (page.state !== "pending") return { ok: false, reason: "decided", state: page.state };
    const verified = options.passkeyVerified;
    if (choice === "approve" && verified !== true && (verified === false || page.issue.passkeyRequired === true))
      return { ok: false, reason: "passkey_required" };
    page.state = choice === "approve" ? "approved" : "rejected";
    page.decidedAt = this.now();
    if (choice === "approve" && verified === true && options.passkeyId) page.passkeyId = options.passkeyId;
    if (approver) page.approver = copy(approver);
    this.#notify(page);
    return { ok: true, state: page.state };
  }

  async withdraw(token: string, owner: string): Promise<void> {
    const entry = this.#tokens.get(token);
    if (!entry || entry.owner !== owner || entry.state !== "issued") return;
    const page = entry.pageId === undefined ? undefined : this.#pages.get(entry.pageId);
    if (page && page.state !== "pending") return;
    entry.state = "spent";
    if (!page) return;
    page.state = "withdrawn";
    this.#notify(page);
  }

  async discard(token: string, owner: string): Promise<void> {
    const entry = this.#tokens.get(token);
    if (!entry || entry.owner !== owner || entry.state === "claimed") return;
    this.#forget(token, entry);
  }

  #forget(token: string, entry: TokenEntry): void {
    this.#tokens.delete(token);
    const page = entry.pageId === undefined ? undefined : this.#pages.get(entry.pageId);
    if (entry.pageId !== undefined) this.#pages.delete(entry.pageId);
    if (page) this.#notify(page);
  }

  async waitForDecision(pageId: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<DecisionOutcome> {
    const outcome = (): DecisionOutcome | undefined => {
      const page = this.#pages.get(pageId);
      if (!page || page.state === "withdrawn") return "gone";
      return page.state === "pending" ? undefined : page.state;
    };
    const now = outcome();
    if (now) return now;
    if (options.signal?.aborted) return "aborted";
    const page = this.#pages.get(pageId) as PageEntry;
    return new Promise((resolve) => {
      const finish = (result: DecisionOutcome) => {
        clearTimeout(timer);
        page.waiters.delete(check);
        options.signal?.removeEventListener("abort", onAbort);
        resolve(result);
      };
      const check = () => finish(outcome() ?? "gone");
      const onAbort = () => finish("aborted");
      const timer = setTimeout(() => finish("timeout"), options.timeoutMs);
      page.waiters.add(check);
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  #notify(page: PageEntry): void {
    for (const waiter of [...page.waiters]) waiter();
  }

  /** Forgets what expired more than retainMs ago (a claimed token is kept: its holder still answers). */
  #prune(): void {
    const horizon = this.now() - this.retainMs;
    for (const [token, entry] of this.#tokens) {
      if (entry.expiresAt > horizon || entry.state === "claimed") continue;
      this.#forget(token, entry);
    }
  }
}

/** Values that expire: the passkey challenges (taken once) and the approvers' sessions (read as often as asked). */
class ExpiringValues implements ChallengeStore, SessionStore {
  readonly #values = new Map<string, { value: JsonValue; expiresAt: number }>();

  constructor(private readonly now: () => number) {}

  async put(id: string, value: JsonValue, ttlMs: number): Promise<void> {
    const now = this.now();
    for (const [key, entry] of this.#values) if (entry.expiresAt <= now) this.#values.delete(key);
    this.#values.set(id, { value: copy(value), expiresAt: now + ttlMs });
  }

  async get(id: string): Promise<JsonValue | undefined> {
    const entry = this.#values.get(id);
    if (entry && entry.expiresAt <= this.now()) this.#values.delete(id);
    return entry && entry.expiresAt > this.now() ? copy(entry.value) : undefined;
  }

  async take(id: string): Promise<JsonValue | undefined> {
    const entry = this.#values.get(id);
    this.#values.delete(id);
    return entry && entry.expiresAt > this.now() ? entry.value : undefined;
  }

  async delete(id: string): Promise<void> {
    this.#values.delete(id);
  }
}

class MemoryCursors implements CursorStore {
  readonly #entries = new Map<string, CursorEntry & { expiresAt: number }>();

  constructor(
    private readonly now: () => number,
    private readonly retainMs: number,
  ) {}

  async put(cursor: string, entry: CursorEntry, ttlMs: number): Promise<{ expiresAt: number }> {
    const now = this.now();
    for (const [key, old] of this.#entries) if (old.expiresAt + this.retainMs <= now) this.#entries.delete(key);
    // Bounded: past MAX_CURSORS the oldest goes first (it then answers "unknown": search again).
    for (const key of this.#entries.keys()) {
      if (this.#entries.size < MAX_CURSORS) break;
      this.#entries.delete(key);
    }
    const expiresAt = now + ttlMs;
    this.#entries.set(cursor, { ...entry, position: copy(entry.position), expiresAt });
    return { expiresAt };
  }

  async get(cursor: string, owner: string, criteria: string): Promise<CursorResult> {
    const stored = this.#entries.get(cursor);
    return cursorVerdict(stored && { ...stored, position: copy(stored.position) }, { owner, criteria, now: this.now() });
  }
}

class MemoryLeases implements LeaseStore {
  readonly #held = new Map<string, { holder: string; fence: number; id: string; expiresAt: number }>();
  readonly #fences = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  #current(lease: Lease, minRemainingMs = 0) {
    const held = this.#held.get(lease.name);
    return held && held.id === lease.id && held.fence === lease.fence && held.expiresAt - this.now() > minRemainingMs ? held : undefined;
  }

  async acquire(name: string, holder: string, leaseMs: number): Promise<Lease | undefined> {
    const held = this.#held.get(name);
    if (held && held.expiresAt > this.now()) return undefined;
    const fence = (this.#fences.get(name) ?? 0) + 1;
    this.#fences.set(name, fence);
    const id = leaseId();
    this.#held.set(name, { holder, fence, id, expiresAt: this.now() + leaseMs });
    return { name, holder, fence, id };
  }

  async renew(lease: Lease, leaseMs: number): Promise<boolean> {
    const held = this.#current(lease);
    if (held) held.expiresAt = this.now() + leaseMs;
    return held !== undefined;
  }

  async check(lease: Lease, minRemainingMs = 0): Promise<boolean> {
    return this.#current(lease, minRemainingMs) !== undefined;
  }

  async release(lease: Lease): Promise<void> {
    if (this.#current(lease)) this.#held.delete(lease.name);
  }

  async holder(name: string): Promise<{ holder: string; fence: number; remainingMs: number } | undefined> {
    const held = this.#held.get(name);
    const remainingMs = held ? held.expiresAt - this.now() : 0;
    return held && remainingMs > 0 ? { holder: held.holder, fence: held.fence, remainingMs } : undefined;
  }
}

export class MemoryState implements SharedState {
  readonly kind = "memory";
  readonly tokens: TokenStore;
  readonly challenges: ChallengeStore;
  readonly sessions: SessionStore;
  readonly cursors: CursorStore;
  readonly leases: LeaseStore;

  constructor(options: StateTimings & { now?: () => number } = {}) {
    const now = options.now ?? Date.now;
    const retainMs = options.retainMs ?? DEFAULT_RETAIN_MS;
    this.tokens = new MemoryTokens(now, retainMs);
    // Two separate maps: a challenge id and a session id never meet.
    this.challenges = new ExpiringValues(now);
    this.sessions = new ExpiringValues(now);
    this.cursors = new MemoryCursors(now, retainMs);
    this.leases = new MemoryLeases(now);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
