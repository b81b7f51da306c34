// runDeletion called directly, as search-based erasure will call it: no tool, no MCP session.
import { describe, expect, it } from "vitest";
import { NO_AUDIT } from "../../src/audit.js";
import { loadConfig } from "../../src/config.js";
import { Confirmer, type ElicitationChannel } from "../../src/confirmation/confirmer.js";
import { runDeletion } from "../../src/deletion/workflow.js";
import { lazyApi } from "../../src/server.js";
import { SEED } from "../../src/simulator/seed.js";
import { MemoryState } from "../../src/state/index.js";
import type { TokenStore } from "../../src/state/types.js";
import { DELETE_SCOPE } from "../../src/vcc/scopes.js";
import { SECRET_TOKEN } from "../helpers/mcp.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator();

/** A client that shows prompts; the person accepts each one, and the prompts are kept. */
function accepting(prompts: string[]): ElicitationChannel {
  return {
    supportsForm: () => true,
    elicitForm: async (message) => {
      prompts.push(message);
      return { action: "accept", content: { confirm: true } };
    },
    supportsUrl: () => false,
    elicitUrl: async () => ({ action: "decline" }),
    completeUrl: async () => {},
  };
}

async function setup() {
  const config = loadConfig({ VCC_ACCESS_TOKEN: SECRET_TOKEN, VCC_API_BASE_URL: h.sim.apiBaseUrl });
  const prompts: string[] = [];
  const confirmer = new Confirmer({ mode: "auto", ttlSeconds: 60, elicitationTimeoutSeconds: 5, channel: accepting(prompts) });
  const api = await lazyApi(config)(undefined, DELETE_SCOPE);
  if (!api.ok) throw new Error(api.error.message);
  const context = { config, confirmer, audit: NO_AUDIT, auditContext: () => ({ dryRun: false, sandbox: false }) };
  return { context, client: api.client, prompts };
}

describe("the deletion workflow on its own", () => {
  it("with previews already known, looks nothing up, shows them, and deletes", async () => {
    const { context, client, prompts } = await setup();
    const outcome = await runDeletion(context, client, {
      tool: "erase_interaction_content",
      items: [{ guid: SEED.inboundCall, contentKey: "callRecording", preview: { type: "callRecording", contentLength: 2_457_644 } }],
      signal: new AbortController().signal,
    });
    expect(outcome).toMatchObject({ kind: "ran", stopped: false, items: [{ status: "deleted", httpStatus: 204 }] });
    expect(h.sim.requests("GET", "get-interaction")).toHaveLength(0);
    expect(prompts[0]).toContain("call recording 'callRecording' (content type unknown, 2.5 MB, last modified unknown)");
  });

  it("an item named twice (in any case) is asked about and deleted once", async () => {
    const { context, client } = await setup();
    const outcome = await runDeletion(context, client, {
      tool: "erase_interaction_content",
      items: [
        { guid: SEED.inboundCall, contentKey: "transcript" },
        { guid: SEED.inboundCall.toUpperCase(), contentKey: "TRANSCRIPT" },
      ],
      signal: new AbortController().signal,
    });
    expect(outcome.kind).toBe("ran");
    expect(outcome.items).toHaveLength(1);
    expect(h.deletes()).toHaveLength(1);
  });
});

describe("whether a run says the model's confirmation token still works", () => {
  const noPrompts: ElicitationChannel = {
    supportsForm: () => false,
    elicitForm: async () => ({ action: "decline" }),
    supportsUrl: () => false,
    elicitUrl: async () => ({ action: "decline" }),
    completeUrl: async () => {},
  };
  const limited = { status: 429, body: JSON.stringify({ message: "Too many requests" }) };

  async function tokenRun(tokens?: TokenStore) {
    const config = loadConfig({
      VCC_ACCESS_TOKEN: SECRET_TOKEN,
      VCC_API_BASE_URL: h.sim.apiBaseUrl,
      VCC_MAX_RETRIES: "1",
      VCC_RETRY_BASE_MS: "1",
    });
    const confirmer = new Confirmer({
      mode: "token",
      ttlSeconds: 60,
      elicitationTimeoutSeconds: 5,
      channel: noPrompts,
      ...(tokens ? { tokens } : {}),
    });
    const api = await lazyApi(config)(undefined, DELETE_SCOPE);
    if (!api.ok) throw new Error(api.error.message);
    const context = { config, confirmer, audit: NO_AUDIT, auditContext: () => ({ dryRun: false, sandbox: false }) };
    const items = [{ guid: SEED.inboundCall, contentKey: "callRecording" }];
    const asked = await runDeletion(context, api.client, {
      tool: "delete_interaction_content",
      items,
      signal: new AbortController().signal,
    });
    if (asked.kind !== "awaiting") throw new Error(`not asked: ${asked.kind}`);
    h.sim.injectFaults("delete-content", limited, limited);
    return runDeletion(context, api.client, {
      tool: "delete_interaction_content",
      items,
      token: asked.token,
      signal: new AbortController().signal,
    });
  }

  it("refused by the rate limit at every attempt: it does", async () => {
    expect(await tokenRun()).toMatchObject({
      kind: "ran",
      tokenUsable: true,
      items: [{ status: "error", error: { code: "rate_limited" } }],
    });
  });

  it("but not when the token could not be given back (the shared state unreachable)", async () => {
    const inner = new MemoryState().tokens;
    const claim: TokenStore["claim"] = async (...args) => {
      const claimed = await inner.claim(...args);
      if (!claimed.ok) return claimed;
      return { ...claimed, claim: { spend: claimed.claim.spend, release: () => Promise.reject(new Error("Redis unreachable")) } };
    };
    // The store's own methods, bound to it (its fields are private), but a claim whose release fails.
    const failingRelease = new Proxy(inner, {
      get: (target, key) => {
        if (key === "claim") return claim;
        const value: unknown = Reflect.get(target, key);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const ran = await tokenRun(failingRelease);
    expect(ran.kind).toBe("ran");
    expect(ran.kind === "ran" && ran.tokenUsable).toBeFalsy();
  });
});
