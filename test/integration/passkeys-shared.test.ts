// Approval passkeys seen by every replica (issue 22): one contract for where passkeys are kept — the
// file of a data directory (one machine) and the shared state in a real redis-server (VCC_STATE_URL)
// — each driven through two handles, as two replicas (or a replica and the `passkey` command) have.
// Then the command itself, the built one, with VCC_STATE_URL: it manages the shared passkeys. And
// what the approval page servers do with a page issued with passkeys required: a page server without
// passkeys on the same shared state cannot approve it, and a passkey server verifies an assertion for
// every approval, whatever an earlier read of the page said.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { ApprovalServer } from "../../src/confirmation/approval-server.js";
import { Confirmer, type ElicitationChannel } from "../../src/confirmation/confirmer.js";
import {
  PasskeyFileError,
  PasskeyStore,
  type Passkeys,
  passkeyGate,
  sharedLocation,
  sharedPasskeys,
  unsharedPasskeysWarning,
} from "../../src/confirmation/passkeys.js";
import { MemoryState } from "../../src/state/memory.js";
import { RedisState } from "../../src/state/redis.js";
import { StateUnavailableError, type TokenStore } from "../../src/state/types.js";
import { formKeyOf, pageRequest, postDecision } from "../helpers/approval-page.js";
import { runNode, SERVER_ENTRY } from "../helpers/mcp.js";
import { eventually, type RedisServer, startRedis } from "../helpers/redis-server.js";

let redis: RedisServer;
let dir: string;
beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), "vcc-passkeys-shared-"));
});
afterAll(async () => {
  await redis?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
const opened: RedisState[] = [];
afterEach(async () => {
  for (const state of opened.splice(0)) await state.close();
});

let n = 0;
const unique = () => `${process.pid}-${Date.now()}-${++n}`;

async function redisState(prefix: string): Promise<RedisState> {
  const state = new RedisState({ url: redis.url, prefix, maxReconnectDelayMs: 50, commandTimeoutMs: 1_000 });
  opened.push(state);
  await eventually(() => state.ping().then(() => true), "Redis to answer");
  return state;
}

const location = sharedLocation;

const PLACES: { name: string; pair: () => Promise<[Passkeys, Passkeys]> }[] = [
  {
    name: "file of the data directory",
    pair: async () => {
      const data = join(dir, unique());
      return [new PasskeyStore(data), new PasskeyStore(data)];
    },
  },
  {
    name: "shared state (Redis)",
    pair: async () => {
      const prefix = `t-${unique()}:`;
      const [a, b] = [await redisState(prefix), await redisState(prefix)];
      return [sharedPasskeys(a.passkeys, location(prefix)), sharedPasskeys(b.passkeys, location(prefix))];
    },
  },
];

const passkey = (id: string, createdAt = "2026-12-02T10:00:00.000Z") => ({
  id,
  publicKey: "pQECAyYgASFYIA",
  counter: 0,
  transports: ["internal"],
  createdAt,
});

describe.each(PLACES)("approval passkeys: $name", ({ pair }) => {
  it("a passkey registered through one is known to the other, once, with one user handle", async () => {
    const [a, b] = await pair();
    expect(await b.list()).toEqual([]);
    await a.add(passkey("abcdefgh-first"));
    expect(await b.list()).toEqual([passkey("abcdefgh-first")]);
    await expect(b.add(passkey("abcdefgh-first"))).rejects.toThrow(PasskeyFileError);
    expect(await a.userId()).toBe(await b.userId());
  });

  it("a use recorded through one raises the counter for both, and a lower counter never lowers it", async () => {
    const [a, b] = await pair();
    await a.add(passkey("abcdefgh-first"));
    await a.recordUse("abcdefgh-first", 5, new Date("2026-12-02T11:00:00.000Z"));
    expect(await b.list()).toEqual([{ ...passkey("abcdefgh-first"), counter: 5, lastUsedAt: "2026-12-02T11:00:00.000Z" }]);
    await b.recordUse("abcdefgh-first", 3, new Date("2026-12-02T12:00:00.000Z"));
    expect((await a.list())[0]).toMatchObject({ counter: 5, lastUsedAt: "2026-12-02T12:00:00.000Z" });
    // A use of a passkey that is not registered (removed meanwhile) registers nothing.
    await b.recordUse("zzzzzzzz-unknown", 9, new Date());
    expect((await a.list()).map((p) => p.id)).toEqual(["abcdefgh-first"]);
  });

  it("removes by id or a unique prefix, through either, and refuses an ambiguous one", async () => {
    const [a, b] = await pair();
    await a.add(passkey("abcdefgh-first", "2026-12-02T10:00:00.000Z"));
    await a.add(passkey("abcdefgh-second", "2026-12-02T10:01:00.000Z"));
    await a.add(passkey("zzzzzzzz-third", "2026-12-02T10:02:00.000Z"));
    await expect(b.remove("abcdefgh")).rejects.toThrow(/matches 2 passkeys/);
    expect(await b.remove("zzzz")).toBeUndefined();
    expect((await b.remove("zzzzzzzz"))?.id).toBe("zzzzzzzz-third");
    expect((await b.remove("abcdefgh-second"))?.id).toBe("abcdefgh-second");
    expect((await a.list()).map((p) => p.id)).toEqual(["abcdefgh-first"]);
  });
});

describe("approval passkeys in the shared state", () => {
  it("are refused, not taken for none, while Redis is unreachable", async () => {
    const prefix = `t-${unique()}:`;
    const state = await redisState(prefix);
    const passkeys = sharedPasskeys(state.passkeys, location(prefix));
    await passkeys.add(passkey("abcdefgh-first"));
    await redis.stop();
    try {
      await expect(passkeys.list()).rejects.toBeInstanceOf(StateUnavailableError);
      await expect(passkeys.recordUse("abcdefgh-first", 7, new Date())).rejects.toBeInstanceOf(StateUnavailableError);
    } finally {
      await redis.start();
    }
  });

  it("at start, a server whose data directory has passkeys and the shared state none is told to enrol there", async () => {
    const prefix = `t-${unique()}:`;
    const state = await redisState(prefix);
    const dataDir = join(dir, unique());
    const config = loadConfig({ VCC_STATE_URL: redis.url, VCC_STATE_KEY_PREFIX: prefix, VCC_DATA_DIR: dataDir });
    expect(await unsharedPasskeysWarning(config, state.passkeys)).toBeUndefined();
    await new PasskeyStore(dataDir).add(passkey("abcdefgh-on-disk"));
    const warning = await unsharedPasskeysWarning(config, state.passkeys);
    expect(warning).toContain(`with VCC_STATE_URL the replicas use those in the shared state (VCC_STATE_URL), key ${prefix}passkeys`);
    expect(warning).toContain("passkey add");
    expect(warning).not.toContain(redis.url);
    await sharedPasskeys(state.passkeys, location(prefix)).add(passkey("abcdefgh-shared"));
    expect(await unsharedPasskeysWarning(config, state.passkeys)).toBeUndefined();
  });

  it("`passkey list` and `passkey remove` of the built server manage them with VCC_STATE_URL", async () => {
    const prefix = `t-${unique()}:`;
    const state = await redisState(prefix);
    const passkeys = sharedPasskeys(state.passkeys, location(prefix));
    await passkeys.add(passkey("abcdefgh-first"));
    const env = { VCC_STATE_URL: redis.url, VCC_STATE_KEY_PREFIX: prefix, VCC_DATA_DIR: join(dir, unique()) };
    const listed = await runNode([SERVER_ENTRY, "passkey", "list"], { env });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain("abcdefgh-first");
    const removed = await runNode([SERVER_ENTRY, "passkey", "remove", "abcdefgh"], { env });
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/Removed passkey abcdefgh-first/);
    expect(await passkeys.list()).toEqual([]);
    // Without Redis the command says so (it never takes that for "no passkeys").
    await redis.stop();
    try {
      const down = await runNode([SERVER_ENTRY, "passkey", "list"], { env });
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/shared state \(Redis\) is not reachable/);
    } finally {
      await redis.start();
    }
  });
});

/** A client without prompts: every deletion goes to the approval page, its link handed to the model. */
const NO_PROMPTS: ElicitationChannel = {
  supportsForm: () => false,
  elicitForm: async () => ({ action: "cancel" }),
  supportsUrl: () => false,
  elicitUrl: async () => ({ action: "cancel" }),
  completeUrl: async () => {},
};
const ITEM = { guid: "5f1c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f11", contentKey: "callRecording" };
const ASK = { binding: "delete:one", items: [ITEM], question: "Delete?" };

/** A session of a server with passkeys required (one registered, whose key nobody here holds). */
async function passkeySession(tokens: TokenStore, passkeys: Passkeys) {
  await passkeys.add(passkey("abcdefgh-registered"));
  const server = new ApprovalServer({ passkeys: passkeyGate(passkeys) });
  const confirmer = new Confirmer({
    tokens,
    mode: "auto",
    ttlSeconds: 60,
    elicitationTimeoutSeconds: 5,
    channel: NO_PROMPTS,
    approvals: server,
    passkeys: { registered: async () => (await passkeys.list()).length > 0 },
  });
  const issued = await confirmer.decide(ASK);
  if (issued.kind !== "token_issued" || !issued.approvalUrl) throw new Error(`no approval page: ${issued.kind}`);
  const url = issued.approvalUrl;
  const pageId = new URL(url).pathname.split("/").pop() as string;
  return { server, confirmer, url, pageId, token: issued.token };
}

describe("approval pages of a server with passkeys required", () => {
  const servers: ApprovalServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  it("are not approved through a page server without passkeys sharing the state; Cancel there works", async () => {
    const prefix = `t-${unique()}:`;
    // Two server processes on one Redis (same prefix): A requires passkeys, B (other settings) does not.
    const [stateA, stateB] = [await redisState(prefix), await redisState(prefix)];
    const a = await passkeySession(stateA.tokens, sharedPasskeys(stateA.passkeys, location(prefix)));
    const plain = new ApprovalServer();
    servers.push(a.server, plain);
    plain.attach(stateB.tokens);

    // The model fetches its own link (A's page) for the form key, then posts it to B's page server.
    const formKey = formKeyOf((await pageRequest(a.url)).body);
    expect((await postDecision(a.url, { formKey, decision: "approve" })).status).toBe(403);
    const viaPlain = await plain.urlFor(a.pageId);
    expect(new URL(viaPlain).port).not.toBe(new URL(a.url).port);
    // B's page does not offer what it would refuse: no Delete button, and why; Cancel stays.
    const shown = (await pageRequest(viaPlain)).body;
    expect(shown).not.toContain('value="approve"');
    expect(shown).toContain("it needs a passkey, and this page server cannot check one");
    expect(shown).toContain('value="reject"');
    const refused = await postDecision(viaPlain, { formKey, decision: "approve" });
    expect(refused.status).toBe(403);
    expect(refused.body).toContain("needs a passkey");
    expect(refused.body).toContain("cannot check one");
    // Recorded with the page when A issued it: whichever page server is asked, decide() refuses.
    expect(await stateB.tokens.page(a.pageId)).toMatchObject({ state: "pending", passkeyRequired: true });
    expect(await a.confirmer.decide({ ...ASK, token: a.token })).toMatchObject({ kind: "refused", error: { code: "approval_pending" } });

    // Cancel needs no passkey, on either page server.
    expect((await postDecision(viaPlain, { formKey, decision: "reject" })).status).toBe(303);
    expect(await a.confirmer.decide({ ...ASK, token: a.token })).toMatchObject({ kind: "declined", action: "reject" });
    await a.confirmer.dispose();
  });

  it("verify the passkey for every approval, whatever an earlier read of the page said (a clock stepped back)", async () => {
    let now = Date.now();
    const state = new MemoryState({ now: () => now });
    // The page server reads the page, then the clock steps back 2 s (an NTP step) before decide().
    let stepBack = false;
    const real = state.tokens;
    const tokens: TokenStore = {
      issue: real.issue.bind(real),
      claim: real.claim.bind(real),
      decide: real.decide.bind(real),
      withdraw: real.withdraw.bind(real),
      discard: real.discard.bind(real),
      waitForDecision: real.waitForDecision.bind(real),
      page: async (pageId) => {
        const view = await real.page(pageId);
        if (stepBack) now -= 2_000;
        return view;
      },
    };
    const passkeys = new PasskeyStore(join(dir, unique()));
    const a = await passkeySession(state.tokens, passkeys);
    const server = new ApprovalServer({ passkeys: passkeyGate(passkeys), tokens });
    servers.push(a.server, server);
    const url = await server.urlFor(a.pageId);
    const formKey = formKeyOf((await pageRequest(url)).body);
    now += 60_000 + 500; // just past expiry: the page reads as expired, and decide() sees it pending
    stepBack = true;
    const posted = await postDecision(url, { formKey, decision: "approve" });
    stepBack = false;
    expect(posted.status).toBe(403);
    expect(posted.body).toMatch(/passkey check failed/i);
    expect((await state.tokens.page(a.pageId))?.state).toBe("pending");
    expect(await a.confirmer.decide({ ...ASK, token: a.token })).toMatchObject({ kind: "refused", error: { code: "approval_pending" } });
    await a.confirmer.dispose();
    await state.close();
  });
});
