// Where a search stopped, kept on the server: the assistant gets an opaque random id. A cursor is
// usable only by the MCP session that received it, only with the same criteria, and until it
// expires. It can be used more than once (a repeated call gets the same continuation).
import { randomBytes } from "node:crypto";
import type { FoundInteraction } from "../vcc/search.js";

export const CURSOR_TTL_MS = 30 * 60_000;
const MAX_CURSORS = 1000;

/** Where to go on: the window, the side (query) within it, the API's token for the next page. */
export interface SearchPosition {
  window: number;
  side: number;
  /** null: the first page of this window and side. */
  token: string | null;
  /** Interactions already fetched and accepted but not yet returned (the rest of a page). */
  pending: FoundInteraction[];
  /** GUIDs (lower case) already returned or pending: never returned twice. */
  seen: string[];
}

interface Entry {
  owner: object;
  criteria: string;
  position: SearchPosition;
  expiresAt: number;
}

export type CursorRefusal = "unknown" | "expired" | "other_session" | "other_criteria";

export class CursorStore {
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: { ttlMs?: number; now?: () => number } = {}) {
    this.#ttlMs = options.ttlMs ?? CURSOR_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  /** Keeps a position for `owner` (one object per MCP session) and these criteria; returns the cursor. */
  issue(owner: object, criteria: string, position: SearchPosition): { cursor: string; expiresAt: number } {
    this.#sweep();
    while (this.#entries.size >= MAX_CURSORS) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    const cursor = `sc_${randomBytes(18).toString("base64url")}`;
    const expiresAt = this.#now() + this.#ttlMs;
    this.#entries.set(cursor, { owner, criteria, position, expiresAt });
    return { cursor, expiresAt };
  }

  take(cursor: string, owner: object, criteria: string): { ok: true; position: SearchPosition } | { ok: false; reason: CursorRefusal } {
    const entry = this.#entries.get(cursor);
    if (!entry) return { ok: false, reason: "unknown" };
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(cursor);
      return { ok: false, reason: "expired" };
    }
    if (entry.owner !== owner) return { ok: false, reason: "other_session" };
    if (entry.criteria !== criteria) return { ok: false, reason: "other_criteria" };
    return { ok: true, position: entry.position };
  }

  get size(): number {
    return this.#entries.size;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [cursor, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(cursor);
  }
}

export const CURSOR_REFUSALS: Record<CursorRefusal, string> = {
  unknown: "This cursor is unknown (the server may have restarted). Search again without a cursor.",
  expired: "This cursor has expired. Search again without a cursor.",
  other_session: "This cursor was issued to another MCP session and works only there. Search again without a cursor.",
  other_criteria:
    "This cursor belongs to a search with other criteria (from, to, party, connectFrom, connectTo, handlingAgentId, direction, contentTypes): pass exactly the same criteria with it, or search again without a cursor.",
};
