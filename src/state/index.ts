// Opens the shared state: in this process by default, in Redis when VCC_STATE_URL is set. The Redis
// module (and the client library) is imported only then, so a server that does not use it never
// loads it (in the bundle it is a chunk of its own).
import { MemoryState } from "./memory.js";
import type { RedisStateOptions } from "./redis.js";
import type { SharedState, StateTimings } from "./types.js";

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
