// Sandbox mode (issue 7): no configuration, an in-process simulator, clearly marked everywhere.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SEED } from "../../src/simulator/seed.js";
import { type Simulator, startSimulator } from "../../src/simulator/server.js";
import { decideOnPage } from "../helpers/approval-page.js";
import { type Connected, connect, SECRET_TOKEN, SECRET_TOKEN_SCOPES, structured, textOf } from "../helpers/mcp.js";

let decoy: Simulator;
const open: Connected[] = [];
beforeAll(async () => {
  // A "real" API the sandbox must never contact, even when configured.
  decoy = await startSimulator({ staticTokens: { [SECRET_TOKEN]: SECRET_TOKEN_SCOPES } });
});
afterAll(() => decoy.close());
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});

describe("sandbox mode", () => {
  for (const [label, args, env] of [
    ["--sandbox", ["--sandbox"], {}],
    ["VCC_SANDBOX=true", [], { VCC_SANDBOX: "true" }],
  ] as const) {
    it(`${label}: works with no other configuration, marked as sandbox everywhere`, async () => {
      const c = await connect({ args: [...args], env: { ...env } });
      open.push(c);
      const instructions = c.client.getInstructions() ?? "";
      expect(instructions).toMatch(/SANDBOX/);
      expect(instructions).toContain(SEED.inboundCall);
      expect(instructions).toContain(SEED.voicemails);
      const list = await c.call("list_interaction_content", { guid: SEED.inboundCall });
      expect(structured(list)).toMatchObject({ sandbox: true, guid: SEED.inboundCall });
      const asked = await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "callRecording" });
      expect(structured(asked)).toMatchObject({ status: "confirmation_required", sandbox: true });
      // This client cannot prompt: the person approves on the approval page.
      expect((await decideOnPage(structured(asked).approvalUrl, "approve")).status).toBe(303);
      const done = await c.call("delete_interaction_content", {
        guid: SEED.inboundCall,
        contentKey: "callRecording",
        confirmationToken: structured(asked).confirmationToken,
      });
      expect(structured(done)).toMatchObject({ status: "deleted", httpStatus: 204, sandbox: true });
      expect(textOf(done)).toMatch(/SANDBOX/);
      const bad = await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "callRecording" });
      expect(structured(bad)).toMatchObject({ status: "error", sandbox: true, error: { code: "not_found" } });
      expect(c.stderr()).toMatch(/SANDBOX MODE/);
    });
  }

  it("an erasure's receipt says it was the sandbox's sample data, in the record and in the readable receipt", async () => {
    const c = await connect({ args: ["--sandbox"], env: { VCC_CONFIRMATION: "token" } });
    open.push(c);
    const listed = structured(await c.call("list_interaction_content", { guid: SEED.voicemails }));
    const items = [{ guid: SEED.voicemails, contentKey: listed.content[0].contentKey }];
    const asked = structured(await c.call("erase_interaction_content", { items }));
    const started = structured(await c.call("erase_interaction_content", { items, confirmationToken: asked.confirmationToken }));
    expect(started).toMatchObject({ status: "running", sandbox: true });
    let job: { status: string; receipt?: { json: string; markdown: string } } = { status: "running" };
    await expect
      .poll(
        async () => {
          job = structured(await c.call("get_erasure_job", { jobId: started.jobId })).job;
          return job.status;
        },
        { timeout: 10_000 },
      )
      .toBe("completed");
    const text = async (uri: string) => ((await c.client.readResource({ uri })).contents[0] as { text: string }).text;
    expect(JSON.parse(await text(job.receipt?.json ?? ""))).toMatchObject({ sandbox: true, status: "completed" });
    expect(await text(job.receipt?.markdown ?? "")).toContain("**Sandbox: the local simulator's sample data; nothing real was deleted.**");
  });

  it("never contacts the configured API, even with credentials set", async () => {
    const c = await connect({ args: ["--sandbox"], env: { VCC_ACCESS_TOKEN: SECRET_TOKEN, VCC_API_BASE_URL: decoy.apiBaseUrl } });
    open.push(c);
    const asked = await c.call("delete_interaction_content", { guid: SEED.inboundCall, contentKey: "transcript" });
    await c.call("delete_interaction_content", {
      guid: SEED.inboundCall,
      contentKey: "transcript",
      confirmationToken: structured(asked).confirmationToken,
    });
    expect(decoy.journal).toHaveLength(0);
    expect(decoy.interactions().find((i) => i.guid === SEED.inboundCall)?.content).toHaveLength(4);
  });
});

// `npm run demo` (scripts/demo.mjs) checks every step it shows and exits 1 when one does not behave as
// expected: CI runs it after the tests (.ci/run), so the suite does not run it a second time.
