// Confirmations across replicas (issue 22): two servers built with createServer in this process, each
// with its own RedisState connection to ONE real redis-server (as two replicas have), the SDK Client
// on each, and the simulator counting what reached "the API".
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { ApprovalServer } from "../../src/confirmation/approval-server.js";
import { SEED, SEED_ITEM_KEYS } from "../../src/simulator/seed.js";
import type { SharedState } from "../../src/state/index.js";
import { RedisState } from "../../src/state/redis.js";
import { decideOnPage, formKeyOf, pageRequest, postDecision } from "../helpers/approval-page.js";
import { structured, textOf } from "../helpers/mcp.js";
import { eventually, useRedis } from "../helpers/redis-server.js";
import { type InProcessOptions, useSimulator } from "../helpers/simulator.js";

const TOOL = "delete_interaction_content";
const ITEM = { guid: SEED.inboundCall, contentKey: "transcript" };
const ALICE = { subject: "alice", issuer: "https://idp.example", name: "Alice" };
const h = useSimulator();

const shared = useRedis();
const opened = {
  push: (...things: { close(): Promise<void> }[]) => {
    for (const thing of things) shared.defer(() => thing.close());
  },
};

let prefix = "";

/** The tokens this test's replicas keep in Redis (not in either process's memory). */
async function tokensInRedis(): Promise<number> {
  const admin = new Redis(shared.redis.url);
  try {
    return (await admin.keys(`${prefix}tok:*`)).length;
  } finally {
    admin.disconnect();
  }
}

/** Two replicas' connections to the one Redis, with a key prefix of this test's own. */
async function replicas(options: { commandTimeoutMs?: number } = {}): Promise<[SharedState, SharedState]> {
  prefix = `t-${randomBytes(8).toString("hex")}:`;
  const open = () => new RedisState({ url: shared.redis.url, prefix, pollMinMs: 10, pollMaxMs: 50, maxReconnectDelayMs: 50, ...options });
  const states: [SharedState, SharedState] = [open(), open()];
  opened.push(...states);
  for (const state of states) await eventually(() => state.ping().then(() => true), "Redis to answer");
  return states;
}

const server = (state: SharedState, options: InProcessOptions = {}) =>
  h.inProcess({ ...options, state, env: { VCC_CONFIRMATION: "token", ...options.env } });

describe("confirmation tokens shared by replicas (Redis)", () => {
  it("with OAuth, a token issued through replica A is redeemed through replica B by the same person; once", async () => {
    const [stateA, stateB] = await replicas();
    const caller = { identity: ALICE, mayDelete: true };
    const a = await server(stateA, { caller });
    const b = await server(stateB, { caller: { identity: { ...ALICE, name: "Alice (another session)" }, mayDelete: true } });
    const asked = structured(await a.call(TOOL, ITEM));
    expect(asked.status).toBe("confirmation_required");
    expect(await tokensInRedis()).toBe(1);
    expect(h.deletes()).toHaveLength(0);

    // Another person on replica B: not theirs, as if it did not exist.
    const bob = await server(stateB, { caller: { identity: { ...ALICE, subject: "bob" }, mayDelete: true } });
    const refused = structured(await bob.call(TOOL, { ...ITEM, confirmationToken: asked.confirmationToken }));
    expect(refused.error).toMatchObject({ code: "confirmation_invalid" });
    expect(refused.error.message).toMatch(/not known/);

    const done = await b.call(TOOL, { ...ITEM, confirmationToken: asked.confirmationToken });
    expect(structured(done)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(h.deletes()).toHaveLength(1);
    const replay = structured(await a.call(TOOL, { ...ITEM, confirmationToken: asked.confirmationToken }));
    expect(replay.error.code).toBe("confirmation_invalid");
    expect(replay.error.message).toMatch(/already been used/);
    expect(h.deletes()).toHaveLength(1);
  });

  it("with OAuth, ending the session that asked keeps the person's token: a new session on another replica carries on", async () => {
    const [stateA, stateB] = await replicas();
    const a = await server(stateA, { caller: { identity: ALICE, mayDelete: true } });
    const asked = structured(await a.call(TOOL, ITEM));
    await a.close();
    const b = await server(stateB, { caller: { identity: ALICE, mayDelete: true } });
    expect(structured(await b.call(TOOL, { ...ITEM, confirmationToken: asked.confirmationToken }))).toMatchObject({ status: "deleted" });
    expect(h.deletes()).toHaveLength(1);
  });

  it("without OAuth, a token belongs to its session: another session (on another replica) is told unknown, and nothing is sent", async () => {
    const [stateA, stateB] = await replicas();
    const a = await server(stateA);
    const b = await server(stateB);
    const asked = structured(await a.call(TOOL, ITEM));
    const refused = await b.call(TOOL, { ...ITEM, confirmationToken: asked.confirmationToken });
    expect(refused.isError).toBe(true);
    expect(structured(refused).error.code).toBe("confirmation_invalid");
    expect(structured(refused).error.message).toMatch(/not known/);
    expect(h.deletes()).toHaveLength(0);
    // Its own session still can.
    expect(structured(await a.call(TOOL, { ...ITEM, confirmationToken: asked.confirmationToken }))).toMatchObject({ status: "deleted" });
  });

  it("without OAuth, ending the session discards its tokens in the shared state", async () => {
    const [stateA] = await replicas();
    const a = await server(stateA, { env: { VCC_CONFIRMATION: "approval" } });
    const asked = structured(await a.call(TOOL, ITEM));
    const pageId = new URL(asked.approvalUrl).pathname.split("/").pop() as string;
    expect((await stateA.tokens.page(pageId))?.state).toBe("pending");
    await a.close();
    await eventually(async () => (await stateA.tokens.page(pageId)) === undefined, "the page to be discarded");
  });

  it("the same token redeemed on replicas A and B at the same moment: exactly one DELETE", async () => {
    const [stateA, stateB] = await replicas();
    const caller = { identity: ALICE, mayDelete: true };
    const a = await server(stateA, { caller });
    const b = await server(stateB, { caller });
    for (const item of [ITEM, { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail }]) {
      const asked = structured(await a.call(TOOL, item));
      const redeem = { ...item, confirmationToken: asked.confirmationToken };
      const results = (await Promise.all([a.call(TOOL, redeem), b.call(TOOL, redeem)])).map(structured);
      expect(results.filter((r) => r.status === "deleted")).toHaveLength(1);
      const loser = results.find((r) => r.status !== "deleted");
      expect(loser?.error?.code).toBe("confirmation_invalid");
    }
    await h.sim.idle();
    expect(h.deletes()).toHaveLength(2);
  });
});

describe("approval pages shared by replicas (Redis)", () => {
  it("a page served by another replica's approval page server decides the call waiting on the first", async () => {
    const [stateA, stateB] = await replicas();
    // Replica B's page server, started with its own connection before any session of its own.
    const pagesB = new ApprovalServer({ tokens: stateB.tokens });
    opened.push(pagesB);
    let clicked: Promise<unknown> | undefined;
    let offered: string | undefined;
    const a = await server(stateA, {
      env: { VCC_CONFIRMATION: "approval" },
      elicitUrl: ({ url }) => {
        offered = url;
        return { action: "accept" };
      },
    });
    const result = await a.call(TOOL, ITEM, {
      onprogress: () => {
        // The person opens the link; the load balancer sends them to replica B.
        if (offered && !clicked) {
          const pageId = new URL(offered).pathname.split("/").pop() as string;
          clicked = pagesB.urlFor(pageId).then((url) => decideOnPage(url, "approve"));
        }
      },
    });
    expect(((await clicked) as { status: number }).status).toBe(303);
    expect(structured(result)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(h.deletes()).toHaveLength(1);
  });

  it("a rejection on another replica's page cancels the waiting call; nothing is sent", async () => {
    const [stateA, stateB] = await replicas();
    const pagesB = new ApprovalServer({ tokens: stateB.tokens });
    opened.push(pagesB);
    const a = await server(stateA, { env: { VCC_CONFIRMATION: "approval" } });
    const asked = structured(await a.call(TOOL, ITEM));
    const url = await pagesB.urlFor(new URL(asked.approvalUrl).pathname.split("/").pop() as string);
    expect((await decideOnPage(url, "reject")).status).toBe(303);
    const next = await a.call(TOOL, { ...ITEM, confirmationToken: asked.confirmationToken });
    expect(structured(next).status).toBe("cancelled");
    expect(h.deletes()).toHaveLength(0);
  });
});

describe("Redis unreachable: fail closed", () => {
  it("refuses with state_unavailable, sends nothing, spends no token; the token works once Redis is back", async () => {
    const [stateA, stateB] = await replicas();
    const caller = { identity: ALICE, mayDelete: true };
    const a = await server(stateA, { caller });
    const b = await server(stateB, { caller });
    const asked = structured(await a.call(TOOL, ITEM));
    const approval = await server(stateA, { caller, env: { VCC_CONFIRMATION: "approval" } });
    const pending = structured(await approval.call(TOOL, { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail }));
    const page = await pageRequest(pending.approvalUrl);
    expect(page.status).toBe(200);

    // The data survives the restart (a Redis with persistence): saved now, loaded at start.
    const admin = new Redis(shared.redis.url);
    await admin.save();
    admin.disconnect();
    await shared.redis.stop();
    try {
      const refused = await b.call(TOOL, { ...ITEM, confirmationToken: asked.confirmationToken });
      expect(refused.isError).toBe(true);
      expect(structured(refused).error.code).toBe("state_unavailable");
      expect(textOf(refused)).toMatch(/Nothing was deleted/);
      const notIssued = await a.call(TOOL, { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail });
      expect(structured(notIssued).error.code).toBe("state_unavailable");
      expect(structured(notIssued).confirmationToken).toBeUndefined();
      // Reads keep working.
      expect((await a.call("list_interaction_content", { guid: SEED.inboundCall })).isError).toBeFalsy();
      // The approval page says decisions cannot be recorded now, and records none.
      const shown = await pageRequest(pending.approvalUrl);
      expect(shown.status).toBe(503);
      expect(shown.body).toMatch(/cannot be recorded right now/);
      const posted = await postDecision(pending.approvalUrl, { formKey: formKeyOf(page.body), decision: "approve" });
      expect(posted.status).toBe(503);
      expect(h.deletes()).toHaveLength(0);
    } finally {
      await shared.redis.start();
    }
    await eventually(async () => {
      await Promise.all([stateA.ping(), stateB.ping()]);
      return true;
    }, "both replicas to reconnect");
    expect((await pageRequest(pending.approvalUrl)).status).toBe(200);
    const done = await b.call(TOOL, { ...ITEM, confirmationToken: asked.confirmationToken });
    expect(structured(done)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(h.deletes()).toHaveLength(1);
  });

  it("a claim whose answer is lost: state_unavailable with the outcome unknown, nothing sent, and the token never redeemed after", async () => {
    const [stateA, stateB] = await replicas({ commandTimeoutMs: 100 });
    const caller = { identity: ALICE, mayDelete: true };
    const a = await server(stateA, { caller });
    const b = await server(stateB, { caller });
    const asked = structured(await a.call(TOOL, ITEM));
    // Redis holds every write (scripts included) for a while: the claim is sent, its answer comes too late.
    const admin = new Redis(shared.redis.url);
    try {
      await admin.call("CLIENT", "PAUSE", "1000", "WRITE");
      const lost = structured(await b.call(TOOL, { ...ITEM, confirmationToken: asked.confirmationToken }));
      expect(lost.error).toMatchObject({ code: "state_unavailable", outcomeUnknown: true });
      expect(h.deletes()).toHaveLength(0);
      await admin.call("CLIENT", "UNPAUSE");
    } finally {
      admin.disconnect();
    }
    // The claim was applied when Redis resumed: held by nobody, the token is never usable again.
    const after = structured(await a.call(TOOL, { ...ITEM, confirmationToken: asked.confirmationToken }));
    expect(after.error).toMatchObject({ code: "confirmation_invalid" });
    expect(after.error.message).toMatch(/being used by another call/);
    expect(h.deletes()).toHaveLength(0);
  });
});
