// list_interaction_content, and the preview the delete tool shows before asking (issue 6).
import { describe, expect, it } from "vitest";
import { SEED, SEED_ITEM_KEYS } from "../../src/simulator/seed.js";
import { DELETE_SCOPE } from "../../src/simulator/server.js";
import { countingApprover, type ElicitHandler, SECRET_TOKEN, structured, textOf } from "../helpers/mcp.js";
import { HUNDREDFOLD, useSimulator } from "../helpers/simulator.js";

const DELETE_ONLY_TOKEN = "e2e-delete-only-token-5b1e";
const h = useSimulator({ staticTokens: { [DELETE_ONLY_TOKEN]: [DELETE_SCOPE] } });

const server = (options: { token?: string; elicit?: ElicitHandler; env?: Record<string, string> } = {}) =>
  h.inProcess({ env: { ...(options.token ? { VCC_ACCESS_TOKEN: options.token } : {}), ...options.env }, elicit: options.elicit });
const deletes = () => h.deletes();

describe("list_interaction_content", () => {
  it("is listed as read-only", async () => {
    const c = await server();
    const tool = (await c.client.listTools()).tools.find((t) => t.name === "list_interaction_content");
    expect(tool?.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true });
    expect(tool?.outputSchema?.properties).toHaveProperty("content");
    expect(tool?.inputSchema.additionalProperties).toBe(false);
  });

  it("mirrors the API's listing, with a readable summary", async () => {
    const c = await server();
    const result = await c.call("list_interaction_content", { guid: SEED.voicemails });
    expect(result.isError).toBeFalsy();
    const s = structured(result);
    expect(s).toMatchObject({
      guid: SEED.voicemails,
      direction: "inbound",
      connectFrom: "+15555550142",
      start: "2026-11-24T17:42:19.000Z",
    });
    expect(s.content).toEqual([
      {
        contentKey: SEED_ITEM_KEYS.voicemail,
        type: "voicemail",
        contentType: "audio/wav",
        contentLength: 412_876,
        lastModified: "2026-11-24T17:43:10.000Z",
        owningAgentId: "2077",
      },
      {
        contentKey: "voicemail-123",
        type: "voicemail",
        contentType: "audio/wav",
        contentLength: 198_220,
        lastModified: "2026-11-24T17:44:52.000Z",
        owningAgentId: "123",
      },
    ]);
    const text = textOf(result);
    expect(text).toContain("413 kB");
    expect(text).toContain("2026-11-24 17:43 UTC");
    expect(text).toContain(SEED_ITEM_KEYS.voicemail);
    const get = h.sim.requests("GET", "get-interaction");
    expect(get).toHaveLength(1);
    expect(get[0]?.path).toBe(`/interaction-content/interactions/${SEED.voicemails}`);
    expect(deletes()).toHaveLength(0);
  });

  it("404 → not_found: no such interaction, or no content left", async () => {
    const c = await server();
    const result = await c.call("list_interaction_content", { guid: SEED.empty });
    expect(result.isError).toBe(true);
    expect(structured(result)).toMatchObject({ guid: SEED.empty, error: { code: "not_found", httpStatus: 404 } });
    expect(structured(result).error.message).toMatch(/no interaction with this GUID exists, or all of its content/);
  });

  it("403 without the read scope → forbidden, naming the read scope", async () => {
    const c = await server({ token: DELETE_ONLY_TOKEN });
    const result = await c.call("list_interaction_content", { guid: SEED.inboundCall });
    expect(structured(result).error).toMatchObject({ code: "forbidden", httpStatus: 403 });
    expect(structured(result).error.message).toContain("interaction-content:read");
  });

  it("rejects a bad GUID before sending anything", async () => {
    const c = await server();
    const result = await c.call("list_interaction_content", { guid: "111414121313" });
    expect(result.isError).toBe(true);
    expect(h.sim.journal).toHaveLength(0);
  });
});

describe("preview before confirmation", () => {
  it("the prompt shows the item's type, content type, size and date", async () => {
    const prompts: string[] = [];
    const c = await server({
      elicit: ({ message }) => {
        prompts.push(message);
        return { action: "decline" };
      },
    });
    const result = await c.call("delete_interaction_content", {
      guid: SEED.screenRecording,
      contentKey: SEED_ITEM_KEYS.screenRecording.toUpperCase(),
    });
    expect(structured(result).status).toBe("cancelled");
    expect(prompts[0]).toContain("screen recording");
    expect(prompts[0]).toContain("video/mp4");
    expect(prompts[0]).toContain("24.9 MB");
    expect(prompts[0]).toContain("2026-11-25 13:19 UTC");
    expect(prompts[0]).toMatch(/cannot be undone/);
    expect(deletes()).toHaveLength(0);
  });

  it("the confirmation_required text and result carry the preview", async () => {
    const c = await server();
    const result = await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "CALLRECORDING" });
    expect(structured(result)).toMatchObject({
      status: "confirmation_required",
      preview: { type: "callRecording", contentType: "audio/wav", contentLength: 2_457_644, lastModified: "2026-11-23T09:21:40.000Z" },
    });
    expect(textOf(result)).toContain("call recording 'CALLRECORDING' (audio/wav, 2.5 MB, last modified 2026-11-23 09:21 UTC)");
    expect(textOf(result)).toContain("+441632960101");
  });

  it("an absent key is not_found at once: no prompt, no token, nothing deleted", async () => {
    const approver = countingApprover();
    const c = await server({ elicit: approver.handler });
    const result = await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "voicemail-999" });
    expect(result.isError).toBe(true);
    expect(structured(result)).toMatchObject({ status: "error", error: { code: "not_found" } });
    expect(structured(result).confirmationToken).toBeUndefined();
    expect(structured(result).error.message).toContain("callRecording");
    expect(approver.asked).toBe(0);
    expect(deletes()).toHaveLength(0);
  });

  it("an interaction with no content left is not_found at once", async () => {
    // Token mode: the answer would otherwise carry a token (auto would offer the approval page instead).
    const c = await server({ env: { VCC_CONFIRMATION: "token" } });
    const result = await c.call("delete_interaction_content", { guid: SEED.empty, contentKey: "callRecording" });
    expect(structured(result)).toMatchObject({ status: "error", error: { code: "not_found" } });
    expect(structured(result).confirmationToken).toBeUndefined();
    expect(deletes()).toHaveLength(0);
  });

  it("without the read scope (403) it still asks, saying no preview was available, and deletes", async () => {
    const prompts: string[] = [];
    const c = await server({
      token: DELETE_ONLY_TOKEN,
      elicit: ({ message }) => {
        prompts.push(message);
        return { action: "accept", content: { confirm: true } };
      },
    });
    const result = await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "transcript" });
    expect(structured(result)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(structured(result).preview).toBeUndefined();
    expect(prompts[0]).toMatch(/no preview available/);
    expect(h.sim.requests("GET", "get-interaction")[0]?.status).toBe(403);
    expect(deletes()).toHaveLength(1);
  });

  it("when the API cannot be reached for the lookup, the token text says no preview was available", async () => {
    // Retry waits last a hundredth of the planned time: the lookup's rules run as planned, without the wait.
    const c = await h.inProcess({ timing: HUNDREDFOLD });
    // Every attempt (the lookup retries within its 5 s) loses its connection.
    h.sim.setStandingFault("get-interaction", { drop: "before" });
    const result = await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "transcript" });
    expect(structured(result).status).toBe("confirmation_required");
    expect(textOf(result)).toMatch(/no preview available/);
    expect(h.sim.requests("GET", "get-interaction").length).toBeGreaterThan(1);
    expect(deletes()).toHaveLength(0);
  });

  it("the token call does not look the interaction up again", async () => {
    const c = await server({ env: { VCC_CONFIRMATION: "token" } });
    const token = structured(
      await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "transcript" }),
    ).confirmationToken;
    const result = await c.call("delete_interaction_content", {
      guid: SEED.inboundCall,
      contentKey: "transcript",
      confirmationToken: token,
    });
    expect(structured(result).status).toBe("deleted");
    expect(h.sim.requests("GET")).toHaveLength(1);
    expect(deletes()).toHaveLength(1);
  });
});

describe("no secret from the API reaches a result or a prompt", () => {
  // An upstream that echoes the request's Authorization header (or the bare token) in its errors.
  const echoed = (status: number) => ({
    status,
    body: JSON.stringify({ message: `Rejected; request had Authorization: Bearer ${SECRET_TOKEN} (token ${SECRET_TOKEN})` }),
  });

  it("in the list's error, the confirmation prompt and the deletion's error, the token is redacted", async () => {
    const prompts: string[] = [];
    const c = await server({
      elicit: ({ message }) => {
        prompts.push(message);
        return { action: "accept", content: { confirm: true } };
      },
    });
    h.sim.injectFaults("get-interaction", echoed(400));
    const listed = await c.call("list_interaction_content", { guid: SEED.inboundCall });
    expect(structured(listed).error).toMatchObject({ code: "bad_request", upstreamMessage: expect.stringMatching(/REDACTED/) });

    // The lookup fails with the echo (the prompt says why there is no preview), then the DELETE does.
    h.sim.injectFaults("get-interaction", echoed(400));
    h.sim.injectFaults("delete-content", echoed(403));
    const deleted = await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "transcript" });
    expect(prompts[0]).toMatch(/no preview available.*REDACTED/s);
    expect(structured(deleted).error).toMatchObject({ code: "forbidden", upstreamMessage: expect.stringMatching(/REDACTED/) });
    expect(textOf(deleted)).toMatch(/REDACTED/);
    for (const text of [...prompts, JSON.stringify(listed), JSON.stringify(deleted)]) expect(text).not.toContain(SECRET_TOKEN);
  });
});
