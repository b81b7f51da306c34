// Confirmation tokens of one MCP session: issued when no person could be asked directly, bound to
// exactly one action, single-use, and short-lived. Claiming is synchronous, so two concurrent
// calls with the same token can never both proceed.
import { randomBytes } from "node:crypto";

export type ClaimFailure = "unknown" | "expired" | "used" | "mismatch" | "in_use";

export interface Claim {
  /** The token is used up (the API was called, whatever it answered). */
  spend(): void;
  /** Nothing was attempted (e.g. authentication failed): the token stays usable. */
  release(): void;
}

interface Entry {
  binding: string;
  /** What exactly was confirmed, when the binding alone does not say (e.g. a bulk plan). */
  payload?: unknown;
  expiresAt: number;
  state: "issued" | "claimed" | "spent";
}

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

/** Entries kept per session at most; the oldest go first. Bounds memory against a looping model. */
const MAX_ENTRIES = 500;

export class ConfirmationStore {
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(ttlMs: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** A new token (192 random bits) for the action described by `binding`. */
  issue(binding: string, payload?: unknown): IssuedToken {
    this.#prune();
    const token = `vcc-confirm-${randomBytes(24).toString("base64url")}`;
    const expiresAt = this.#now() + this.#ttlMs;
    this.#entries.set(token, { binding, payload, expiresAt, state: "issued" });
    return { token, expiresAt: new Date(expiresAt) };
  }

  /** Takes the token for `binding` if it is valid; the caller must spend or release the claim. */
  claim(token: string, binding: string): { ok: true; claim: Claim; payload?: unknown } | { ok: false; reason: ClaimFailure } {
    const entry = this.#entries.get(token);
    if (!entry) return { ok: false, reason: "unknown" };
    if (entry.state === "spent") return { ok: false, reason: "used" };
    if (this.#now() >= entry.expiresAt) return { ok: false, reason: "expired" };
    if (entry.binding !== binding) return { ok: false, reason: "mismatch" };
    if (entry.state === "claimed") return { ok: false, reason: "in_use" };
    entry.state = "claimed";
    return {
      ok: true,
      payload: entry.payload,
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

  /** Forget everything (the session ended). */
  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  #prune(): void {
    const now = this.#now();
    for (const [token, entry] of this.#entries) {
      // Spent tokens are kept until they expire so that a replay says "used", not "unknown".
      if (now >= entry.expiresAt && entry.state !== "claimed") this.#entries.delete(token);
    }
    while (this.#entries.size >= MAX_ENTRIES) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }
}
