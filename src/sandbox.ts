// Sandbox mode: the server talks to the project's simulator, started in this process on a free
// loopback port with its sample data. Nothing real can be reached or deleted.
import { SEARCH_SAMPLE, SEED } from "./simulator/seed.js";
import { deletionLockOf } from "./state/deletion-lock.js";
import type { SharedState } from "./state/types.js";
import type { ApiAccess, VccClient } from "./vcc/client.js";
import type { RetrySettings } from "./vcc/retry.js";

/** The simulator's static token, accepted with every scope (one token for everything). Not a secret. */
const SANDBOX_TOKEN = "sandbox-token";

export const SANDBOX_INSTRUCTIONS = `SANDBOX MODE: this server talks to a local simulator of the Vonage Contact Center API with sample data; nothing real is read or deleted, and every result carries sandbox: true. Sample interactions to start from: ${SEED.inboundCall} (inbound call: callRecording, transcript, categorizationResult, sentimentSummary), ${SEED.voicemails} (two voicemails), ${SEED.screenRecording} (call with a screen recording), ${SEED.chat} (chat transcript and attachment), ${SEED.ivr} (IVR audio and an AI summary), ${SEED.empty} (no content left). For search_interactions: a repeat caller on ${SEARCH_SAMPLE.callerA} (also stored as ${SEARCH_SAMPLE.callerANational}) called and was called back many times between ${SEARCH_SAMPLE.from.slice(0, 10)} and ${SEARCH_SAMPLE.to.slice(0, 10)} (another: ${SEARCH_SAMPLE.callerB}, also ${SEARCH_SAMPLE.callerBNoPlus}); agent ${SEARCH_SAMPLE.agent} handled many interactions.`;

/**
 * The API of a sandbox server: the simulator starts on the first tool call, not at start-up. Each
 * replica has a simulator of its own; with `state` in Redis their deletions still take the shared
 * deletion lock, as they would against VCC.
 */
export function sandboxApi(timeoutMs: number, retry?: RetrySettings, state?: SharedState): ApiAccess {
  const deletionLock = deletionLockOf(state);
  let client: Promise<VccClient> | undefined;
  return async () => {
    client ??= (async () => {
      const [{ startSimulator }, { VccClient }, { staticTokens }] = await Promise.all([
        import("./simulator/server.js"),
        import("./vcc/client.js"),
        import("./vcc/auth.js"),
      ]);
      // Only 127.0.0.1: the simulator binds loopback and the client is pointed at nothing else.
      const simulator = await startSimulator();
      return new VccClient({
        apiBaseUrl: simulator.apiBaseUrl,
        timeoutMs,
        retry,
        tokens: staticTokens(SANDBOX_TOKEN),
        ...(deletionLock ? { deletionLock } : {}),
      });
    })();
    return { ok: true, client: await client };
  };
}
