// Opens the shared state: in this process by default, in Redis when VCC_STATE_URL is set. The Redis
// module (and the client library) is imported only then, so a server that does not use it never
// loads it (in the bundle it is a chunk of its own).

import type { ToolError } from "../core/errors.js";
import { MemoryState } from "./memory.js";
import type { RedisStateOptions } from "./redis.js";
import type { SharedState, StateTimings, StateUnavailableError } from "./types.js";

export { MemoryState } from "./memory.js";
export * from "./types.js";

export type OpenStateOptions = StateTimings & Omit<RedisStateOptions, "url"> & { url?: string; now?: () => number };

/** The shared state for this server: Redis when `url` (config.state.url) is set, memory otherwise. */
export async function openSharedState(options: OpenStateOptions = {}): Promise<SharedState> {
  const { url, ...rest } = options;
  if (!url) return new MemoryState(rest);
  const { RedisState } = await import("./redis.js");
  return new RedisState({ ...rest, url });
}

let processWide: SharedState | undefined;

/** The in-memory state of this process (one machine, no VCC_STATE_URL): one per process, made on first use. */
export function processState(): SharedState {
  processWide ??= new MemoryState();
  return processWide;
}

/**
 * The one mapping of a shared-state failure to what a tool answers: `state_unavailable`, and when the
 * store may have applied the write (a claim taken, a decision recorded), the outcome is unknown.
 * `what`: what was not done, e.g. "Nothing was deleted". `outcomeKnown`: whatever the store did, the
 * call's outcome is known (nothing was sent to the API: a lease taken or a cursor kept changes nothing).
 */
export function stateUnavailable(
  error: StateUnavailableError,
  what = "Nothing was deleted",
  options: { outcomeKnown?: boolean } = {},
): ToolError {
  return {
    code: "state_unavailable",
    message: `${what}: the shared state (VCC_STATE_URL) cannot be reached right now (${error.message}). Try again in a little while; reads such as list_interaction_content still work.`,
    ...(error.mayHaveApplied && !options.outcomeKnown ? { outcomeUnknown: true } : {}),
  };
}
