// runDeletion called directly, as search-based erasure will call it: no tool, no MCP session.
import { describe, expect, it } from "vitest";
import { NO_AUDIT } from "../../src/audit.js";
import { loadConfig } from "../../src/config.js";
import { Confirmer, type ElicitationChannel } from "../../src/confirmation/confirmer.js";
import { runDeletion } from "../../src/deletion/workflow.js";
import { lazyApi } from "../../src/server.js";
import { SEED } from "../../src/simulator/seed.js";
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
