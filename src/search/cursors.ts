// Where a search stopped, kept in the shared state (src/state/: this process's memory, or Redis with
// VCC_STATE_URL, so that a cursor works from any replica): the assistant gets an opaque random id.
// A cursor is usable only by its owner (the MCP session that received it, or on a team server the
// person), only with the same criteria, and until it expires. It can be used more than once (a
// repeated call gets the same continuation).
import { randomBytes } from "node:crypto";
import type { Identity } from "../core/identity.js";
import type { CursorRefusal, CursorStore, JsonValue } from "../state/types.js";
import type { FoundInteraction } from "../vcc/search.js";

export const CURSOR_TTL_MS = 30 * 60_000;

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
  /** Records the API sent that could not be read, in the calls before (so the last call still knows). */
  unreadable?: number;
}

/**
 * Whose cursors these are: the person on a team server (any of their sessions, on any replica), else
 * this one session (a random id made once per session: stdio and in-memory sessions have no id).
 */
export function cursorOwner(requester: Identity | undefined): string {
  return requester ? `person:${JSON.stringify([requester.issuer, requester.subject])}` : `session:${randomBytes(18).toString("base64url")}`;
}

/** Keeps a position for `owner` and these criteria; returns the cursor. Throws StateUnavailableError. */
export async function issueCursor(
  store: CursorStore,
  owner: string,
  criteria: string,
  position: SearchPosition,
  ttlMs = CURSOR_TTL_MS,
): Promise<{ cursor: string; expiresAt: number }> {
  const cursor = `sc_${randomBytes(18).toString("base64url")}`;
  // A position is plain JSON (numbers, strings, arrays of found interactions).
  const { expiresAt } = await store.put(cursor, { owner, criteria, position: position as unknown as JsonValue }, ttlMs);
  return { cursor, expiresAt };
}

/** The position behind a cursor, for its owner and criteria. Throws StateUnavailableError. */
export async function continueCursor(
  store: CursorStore,
  cursor: string,
  owner: string,
  criteria: string,
): Promise<{ ok: true; position: SearchPosition } | { ok: false; reason: CursorRefusal }> {
  const found = await store.get(cursor, owner, criteria);
  return found.ok ? { ok: true, position: found.position as unknown as SearchPosition } : found;
}

export const CURSOR_REFUSALS: Record<CursorRefusal, string> = {
  unknown: "This cursor is unknown (the server may have restarted). Search again without a cursor.",
  expired: "This cursor has expired. Search again without a cursor.",
  other_owner:
    "This cursor was issued to another MCP session (on a team server: to another person) and works only there. Search again without a cursor.",
  other_criteria:
    "This cursor belongs to a search with other criteria (from, to, party, connectFrom, connectTo, handlingAgentId, direction, contentTypes): pass exactly the same criteria with it, or search again without a cursor.",
};
