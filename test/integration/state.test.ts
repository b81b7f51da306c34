// The shared-state contract (src/state/): one suite, run against the in-process implementation and
// against Redis (a real redis-server). Durations are short and injected; waits are on conditions.
import { createHash, randomBytes } from "node:crypto";
import { createServer as createNetServer } from "node:net";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ConfirmationItem } from "../../src/core/content.js";
import { setLogSink, writeStderr } from "../../src/log.js";
import {
  DELETION_LOCK,
  jobLease,
  type Lease,
  MemoryState,
  openSharedState,
  type SharedState,
  StateUnavailableError,
} from "../../src/state/index.js";
import { RedisState } from "../../src/state/redis.js";
import { eventually, type RedisServer, startRedis } from "../helpers/redis-server.js";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.close();
});

const TIMINGS = { retainMs: 60_000, pollMinMs: 10, pollMaxMs: 50 };
const opened: SharedState[] = [];
afterEach(async () => {
  for (const state of opened.splice(0)) await state.close();
});

const id = (label: string) => `${label}-${randomBytes(16).toString("base64url")}`;

async function redisReady(state: SharedState): Promise<SharedState> {
  await eventually(() => state.ping().then(() => true), "Redis to answer");
  return state;
}

/**
 * Two handles on one shared state, as two replicas would have: for memory the same object, for
 * Redis two connections with the same key prefix.
 */
const IMPLEMENTATIONS: { name: string; pair: () => Promise<[SharedState, SharedState]> }[] = [
  {
    name: "memory",
    pair: async () => {
      const state = new MemoryState(TIMINGS);
      opened.push(state);
      return [state, state];
    },
  },
  {
    name: "redis",
    pair: async () => {
      const prefix = `${id("t")}:`;
      const a = new RedisState({ url: redis.url, prefix, ...TIMINGS });
      const b = new RedisState({ url: redis.url, prefix, ...TIMINGS });
      opened.push(a, b);
      return [await redisReady(a), await redisReady(b)];
    },
  },
];

const ITEMS: ConfirmationItem[] = [{ guid: "00000000-0000-4000-8000-000000000001", contentKey: "callRecording" } as ConfirmationItem];

describe.each(IMPLEMENTATIONS)("shared state: $name", ({ pair }) => {
  it("claims a token exactly once among 50 concurrent claims on two replicas, and spends it", async () => {
    const [a, b] = await pair();
    const token = id("tok");
    await a.tokens.issue(token, { binding: "delete:x", payload: { plan: [1, 2] }, owner: "alice", ttlMs: 60_000 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).tokens.claim(token, "delete:x", "alice")));
    const winners = results.filter((r) => r.ok);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => !r.ok).map((r) => (r.ok ? "" : r.reason))).toEqual(Array(49).fill("in_use"));
    const won = winners[0];
    if (!won?.ok) throw new Error("unreachable");
    expect(won.payload).toEqual({ plan: [1, 2] });
    await won.claim.spend();
    // Used up, on every replica; the refusal carries what it was issued with (what the earlier call did).
    expect(await b.tokens.claim(token, "delete:x", "alice")).toEqual({ ok: false, reason: "used", payload: { plan: [1, 2] } });
    // A late release of the spent claim changes nothing.
    await won.claim.release();
    expect(await a.tokens.claim(token, "delete:x", "alice")).toEqual({ ok: false, reason: "used", payload: { plan: [1, 2] } });
  });

  it("makes a released claim claimable again (on the other replica), and only by the same owner and binding", async () => {
    const [a, b] = await pair();
    const token = id("tok");
    await a.tokens.issue(token, { binding: "delete:x", owner: "alice", ttlMs: 60_000 });
    expect(await b.tokens.claim(token, "delete:x", "bob")).toEqual({ ok: false, reason: "unknown" });
    expect(await b.tokens.claim(token, "delete:y", "alice")).toEqual({ ok: false, reason: "mismatch" });
    expect(await b.tokens.claim(id("tok"), "delete:x", "alice")).toEqual({ ok: false, reason: "unknown" });
    const first = await b.tokens.claim(token, "delete:x", "alice");
    if (!first.ok) throw new Error(first.reason);
    expect(first.payload).toBeUndefined();
    await first.claim.release();
    const second = await a.tokens.claim(token, "delete:x", "alice");
    expect(second.ok).toBe(true);
    // The first claim was released: its spend must not spend the second claim.
    await first.claim.spend();
    expect(await b.tokens.claim(token, "delete:x", "alice")).toEqual({ ok: false, reason: "in_use" });
  });

  it("refuses a token once it expired", async () => {
    const [a, b] = await pair();
    const token = id("tok");
    const { expiresAt } = await a.tokens.issue(token, { binding: "d", owner: "o", ttlMs: 40 });
    expect(expiresAt).toBeGreaterThan(Date.now() - 1000);
    await eventually(async () => Date.now() > expiresAt, "the token's time to run out");
    expect(await b.tokens.claim(token, "d", "o")).toEqual({ ok: false, reason: "expired" });
  });

  it("refuses a second token with the same id", async () => {
    const [a, b] = await pair();
    const token = id("tok");
    await a.tokens.issue(token, { binding: "d", owner: "o", ttlMs: 60_000 });
    await expect(b.tokens.issue(token, { binding: "other", owner: "o", ttlMs: 60_000 })).rejects.toThrow(/exists/);
  });

  it("shows an approval decided on one replica to the others, wakes waiters there, and decides only once", async () => {
    const [a, b] = await pair();
    const token = id("tok");
    const pageId = id("page");
    const formKey = id("form");
    await a.tokens.issue(token, { binding: "d", owner: "o", ttlMs: 60_000, approval: { pageId, formKey, items: ITEMS } });
    const pending = await b.tokens.claim(token, "d", "o");
    expect(pending).toMatchObject({ ok: false, reason: "approval_pending", pageId });
    expect(await b.tokens.page(pageId)).toMatchObject({ state: "pending", items: ITEMS, formKey });
    expect(await b.tokens.page(id("page"))).toBeUndefined();

    const waiting = a.tokens.waitForDecision(pageId, { timeoutMs: 10_000 });
    expect(await b.tokens.decide(pageId, "wrong", "approve")).toEqual({ ok: false, reason: "forged" });
    expect(await b.tokens.decide(pageId, formKey, "approve")).toEqual({ ok: true, state: "approved" });
    expect(await waiting).toBe("approved");
    expect(await a.tokens.decide(pageId, formKey, "reject")).toEqual({ ok: false, reason: "decided", state: "approved" });
    expect((await a.tokens.page(pageId))?.state).toBe("approved");
    const claimed = await a.tokens.claim(token, "d", "o");
    expect(claimed.ok).toBe(true);
  });

  it("ends a wait on rejection, withdrawal, timeout and abort; a rejected token cannot be claimed", async () => {
    const [a, b] = await pair();
    const issue = async () => {
      const token = id("tok");
      const pageId = id("page");
      const formKey = id("form");
      await a.tokens.issue(token, { binding: "d", owner: "o", ttlMs: 60_000, approval: { pageId, formKey, items: ITEMS } });
      return { token, pageId, formKey };
    };
    const rejected = await issue();
    const rejectedWait = b.tokens.waitForDecision(rejected.pageId, { timeoutMs: 10_000 });
    await a.tokens.decide(rejected.pageId, rejected.formKey, "reject");
    expect(await rejectedWait).toBe("rejected");
    expect(await b.tokens.claim(rejected.token, "d", "o")).toEqual({ ok: false, reason: "rejected" });

    const withdrawn = await issue();
    const withdrawnWait = b.tokens.waitForDecision(withdrawn.pageId, { timeoutMs: 10_000 });
    await a.tokens.withdraw(withdrawn.token, "o");
    expect(await withdrawnWait).toBe("gone");
    expect(await b.tokens.decide(withdrawn.pageId, withdrawn.formKey, "approve")).toEqual({
      ok: false,
      reason: "decided",
      state: "withdrawn",
    });
    expect(await b.tokens.claim(withdrawn.token, "d", "o")).toEqual({ ok: false, reason: "used" });

    const open = await issue();
    expect(await b.tokens.waitForDecision(open.pageId, { timeoutMs: 30 })).toBe("timeout");
    const controller = new AbortController();
    const aborted = b.tokens.waitForDecision(open.pageId, { timeoutMs: 10_000, signal: controller.signal });
    controller.abort();
    expect(await aborted).toBe("aborted");
    expect(await b.tokens.waitForDecision(id("page"), { timeoutMs: 10_000 })).toBe("gone");
  });

  it("keeps what an approval page shows (summary, requester, passkey challenge) and who decided, for every replica", async () => {
    const [a, b] = await pair();
    const requester = { subject: "alice-sub", issuer: "https://idp.example", name: "Alice" };
    const approver = { subject: "bob-sub", issuer: "https://idp.example", email: "bob@example.com" };
    const issue = async () => {
      const token = id("tok");
      const pageId = id("page");
      const formKey = id("form");
      const approval = { pageId, formKey, items: ITEMS, summary: ["2 items", "criteria: x"], requester, challenge: id("ch") };
      await a.tokens.issue(token, { binding: "d", owner: "o", ttlMs: 60_000, approval, payload: { shown: [pageId] } });
      return { token, pageId, formKey, challenge: approval.challenge };
    };
    const approved = await issue();
    expect(await b.tokens.page(approved.pageId)).toEqual({
      items: ITEMS,
      summary: ["2 items", "criteria: x"],
      state: "pending",
      expiresAt: expect.any(Number),
      formKey: approved.formKey,
      requester,
      challenge: approved.challenge,
    });
    expect(await b.tokens.decide(approved.pageId, approved.formKey, "approve", approver)).toEqual({ ok: true, state: "approved" });
    expect(await a.tokens.page(approved.pageId)).toMatchObject({ state: "approved", approver });
    // The claim says when the page was decided, on whichever replica.
    const decidedBy = Date.now();
    const approvedClaim = await a.tokens.claim(approved.token, "d", "o");
    expect(approvedClaim).toMatchObject({ ok: true, approved: true, approver, decidedAt: expect.any(Number) });
    expect(approvedClaim.ok && approvedClaim.decidedAt).toBeLessThanOrEqual(decidedBy);

    const rejected = await issue();
    await a.tokens.decide(rejected.pageId, rejected.formKey, "reject", approver);
    // The refusal says who cancelled, and what the page asked about (for the record of the decline).
    expect(await b.tokens.claim(rejected.token, "d", "o")).toEqual({
      ok: false,
      reason: "rejected",
      approver,
      payload: { shown: [rejected.pageId] },
    });
    // Told again, on any replica: the same, marked as a repeat (its refusal is on record already).
    expect(await a.tokens.claim(rejected.token, "d", "o")).toEqual({
      ok: false,
      reason: "rejected",
      approver,
      payload: { shown: [rejected.pageId] },
      repeat: true,
    });

    // Without a page, a claim is no approval; a page decided without a name records none.
    const plain = id("tok");
    await a.tokens.issue(plain, { binding: "d", owner: "o", ttlMs: 60_000 });
    const claimed = await b.tokens.claim(plain, "d", "o");
    expect(claimed).toMatchObject({ ok: true, approved: false });
    expect(claimed).not.toHaveProperty("approver");
    const anonymous = await issue();
    await b.tokens.decide(anonymous.pageId, anonymous.formKey, "approve");
    expect(await a.tokens.page(anonymous.pageId)).not.toHaveProperty("approver");
  });

  it("a page issued by a dry-run server says so to every replica's page server", async () => {
    const [a, b] = await pair();
    const issue = async (dryRun: boolean) => {
      const pageId = id("page");
      const approval = { pageId, formKey: id("form"), items: ITEMS, ...(dryRun ? { dryRun } : {}) };
      await a.tokens.issue(id("tok"), { binding: "d", owner: "o", ttlMs: 60_000, approval });
      return pageId;
    };
    expect(await b.tokens.page(await issue(true))).toMatchObject({ state: "pending", dryRun: true });
    expect(await b.tokens.page(await issue(false))).not.toHaveProperty("dryRun");
  });

  it("approves a page issued with passkeys required only with a verified passkey; a caller requiring one refuses any page without", async () => {
    const [a, b] = await pair();
    const issue = async (passkeyRequired: boolean) => {
      const token = id("tok");
      const pageId = id("page");
      const formKey = id("form");
      const approval = { pageId, formKey, items: ITEMS, challenge: id("ch"), ...(passkeyRequired ? { passkeyRequired } : {}) };
      await a.tokens.issue(token, { binding: "d", owner: "o", ttlMs: 60_000, approval });
      return { token, pageId, formKey };
    };
    const guarded = await issue(true);
    expect(await b.tokens.page(guarded.pageId)).toMatchObject({ state: "pending", passkeyRequired: true });
    // A page server that checks no passkeys (undefined), or one whose check failed (false): nothing recorded.
    for (const passkeyVerified of [undefined, false]) {
      expect(await b.tokens.decide(guarded.pageId, guarded.formKey, "approve", undefined, { passkeyVerified })).toEqual({
        ok: false,
        reason: "passkey_required",
      });
    }
    expect(await b.tokens.decide(guarded.pageId, guarded.formKey, "approve")).toEqual({ ok: false, reason: "passkey_required" });
    expect((await a.tokens.page(guarded.pageId))?.state).toBe("pending");
    expect(await a.tokens.claim(guarded.token, "d", "o")).toMatchObject({ ok: false, reason: "approval_pending" });
    // The form key is checked first: a forged form learns nothing about passkeys.
    expect(await b.tokens.decide(guarded.pageId, "wrong", "approve")).toEqual({ ok: false, reason: "forged" });
    expect(
      await b.tokens.decide(guarded.pageId, guarded.formKey, "approve", undefined, { passkeyVerified: true, passkeyId: "cred-1" }),
    ).toEqual({ ok: true, state: "approved" });
    // Which passkey approved goes with the approval, to every replica's records.
    expect(await a.tokens.claim(guarded.token, "d", "o")).toMatchObject({ ok: true, approved: true, passkey: "cred-1" });

    // Cancel needs no passkey.
    const cancelled = await issue(true);
    expect(await b.tokens.decide(cancelled.pageId, cancelled.formKey, "reject")).toEqual({ ok: true, state: "rejected" });

    // A page issued without passkeys: approved without one, unless the deciding server requires one.
    const plain = await issue(false);
    expect(await b.tokens.page(plain.pageId)).not.toHaveProperty("passkeyRequired");
    expect(await b.tokens.decide(plain.pageId, plain.formKey, "approve", undefined, { passkeyVerified: false })).toEqual({
      ok: false,
      reason: "passkey_required",
    });
    expect(await b.tokens.decide(plain.pageId, plain.formKey, "approve")).toEqual({ ok: true, state: "approved" });
  });

  it("withdraws an unclaimed token for good, leaves a claimed one to its holder, and only for its owner", async () => {
    const [a, b] = await pair();
    const token = id("tok");
    await a.tokens.issue(token, { binding: "d", owner: "o", ttlMs: 60_000 });
    await b.tokens.withdraw(token, "someone else");
    await b.tokens.withdraw(token, "o");
    expect(await a.tokens.claim(token, "d", "o")).toEqual({ ok: false, reason: "used" });

    const held = id("tok");
    await a.tokens.issue(held, { binding: "d", owner: "o", ttlMs: 60_000 });
    const claim = await a.tokens.claim(held, "d", "o");
    if (!claim.ok) throw new Error(claim.reason);
    await b.tokens.withdraw(held, "o");
    await claim.claim.release();
    expect((await b.tokens.claim(held, "d", "o")).ok).toBe(true);
  });

  it("discards a token and its page when its session ends: unknown, page gone, a waiter told; not another owner's, not a claimed one", async () => {
    const [a, b] = await pair();
    const token = id("tok");
    const pageId = id("page");
    const formKey = id("form");
    await a.tokens.issue(token, { binding: "d", owner: "o", ttlMs: 60_000, approval: { pageId, formKey, items: ITEMS } });
    await b.tokens.discard(token, "someone else");
    expect((await a.tokens.page(pageId))?.state).toBe("pending");
    const waiting = b.tokens.waitForDecision(pageId, { timeoutMs: 10_000 });
    await a.tokens.discard(token, "o");
    expect(await waiting).toBe("gone");
    expect(await b.tokens.page(pageId)).toBeUndefined();
    expect(await b.tokens.decide(pageId, formKey, "approve")).toEqual({ ok: false, reason: "unknown" });
    expect(await b.tokens.claim(token, "d", "o")).toEqual({ ok: false, reason: "unknown" });

    const held = id("tok");
    await a.tokens.issue(held, { binding: "d", owner: "o", ttlMs: 60_000 });
    const claim = await b.tokens.claim(held, "d", "o");
    if (!claim.ok) throw new Error(claim.reason);
    await a.tokens.discard(held, "o");
    await claim.claim.spend();
    expect(await a.tokens.claim(held, "d", "o")).toEqual({ ok: false, reason: "used" });
  });

  it("refuses a decision on an expired page", async () => {
    const [a, b] = await pair();
    const pageId = id("page");
    const formKey = id("form");
    await a.tokens.issue(id("tok"), { binding: "d", owner: "o", ttlMs: 40, approval: { pageId, formKey, items: ITEMS } });
    await eventually(async () => (await b.tokens.page(pageId))?.state === "expired", "the page to expire");
    expect(await b.tokens.decide(pageId, formKey, "approve")).toEqual({ ok: false, reason: "expired" });
  });

  it("hands out a challenge once, across replicas, and not after its time", async () => {
    const [a, b] = await pair();
    const challenge = id("ch");
    await a.challenges.put(challenge, { user: "alice", bytes: "abc" }, 60_000);
    const takes = await Promise.all([a.challenges.take(challenge), b.challenges.take(challenge), b.challenges.take(challenge)]);
    expect(takes.filter((t) => t !== undefined)).toEqual([{ user: "alice", bytes: "abc" }]);
    const short = id("ch");
    await a.challenges.put(short, "v", 30);
    await eventually(async () => (await b.challenges.take(short)) === undefined, "the challenge to expire");
  });

  it("keeps a session for every replica, read as often as asked, until it expires or is deleted", async () => {
    const [a, b] = await pair();
    const session = id("ses");
    const value = { identity: { subject: "bob", issuer: "https://op" }, claims: { groups: ["vcc-approvers"] }, expiresAt: 1 };
    await a.sessions.put(session, value, 60_000);
    expect(await b.sessions.get(session)).toEqual(value);
    expect(await b.sessions.get(session)).toEqual(value);
    expect(await a.sessions.get(session)).toEqual(value);
    expect(await b.sessions.get(id("ses"))).toBeUndefined();
    await b.sessions.delete(session);
    expect(await a.sessions.get(session)).toBeUndefined();
    const short = id("ses");
    await a.sessions.put(short, "v", 30);
    await eventually(async () => (await b.sessions.get(short)) === undefined, "the session to expire");
  });

  it("keeps a cursor for its owner and criteria only, reusable until it expires", async () => {
    const [a, b] = await pair();
    const cursor = id("sc");
    const position = { window: 2, side: 0, token: null, pending: [], seen: ["g1"] };
    await a.cursors.put(cursor, { owner: "session-1", criteria: "c1", position }, 60_000);
    expect(await b.cursors.get(cursor, "session-1", "c1")).toEqual({ ok: true, position });
    expect(await b.cursors.get(cursor, "session-1", "c1")).toEqual({ ok: true, position });
    expect(await b.cursors.get(cursor, "session-2", "c1")).toEqual({ ok: false, reason: "other_owner" });
    expect(await b.cursors.get(cursor, "session-1", "c2")).toEqual({ ok: false, reason: "other_criteria" });
    expect(await b.cursors.get(id("sc"), "session-1", "c1")).toEqual({ ok: false, reason: "unknown" });
    const short = id("sc");
    await a.cursors.put(short, { owner: "s", criteria: "c", position: 1 }, 30);
    await eventually(async () => (await b.cursors.get(short, "s", "c")).ok === false, "the cursor to expire");
    expect(await b.cursors.get(short, "s", "c")).toEqual({ ok: false, reason: "expired" });
  });

  it("fences the deletion lock: after the lease lapsed, the old holder's check fails and its release frees nothing", async () => {
    const [a, b] = await pair();
    const name = `${DELETION_LOCK}-${id("x")}`;
    // Long enough for the checks below on a slow machine, short enough to lapse quickly.
    const first = await a.leases.acquire(name, "replica-a", 1_000);
    if (!first) throw new Error("not acquired");
    expect(await b.leases.acquire(name, "replica-b", 60_000)).toBeUndefined();
    expect(await a.leases.check(first)).toBe(true);
    // The holder wants enough time left to send its DELETE: a short lease does not have it.
    expect(await a.leases.check(first, 60_000)).toBe(false);
    expect(await b.leases.holder(name)).toMatchObject({ holder: "replica-a", fence: first.fence });

    // replica-a "pauses"; its lease lapses and replica-b takes the lock.
    let second: Lease | undefined;
    await eventually(async () => {
      second = await b.leases.acquire(name, "replica-b", 60_000);
      return second !== undefined;
    }, "the lease to lapse");
    if (!second) throw new Error("unreachable");
    expect(second.fence).toBeGreaterThan(first.fence);
    expect(await b.leases.holder(name)).toMatchObject({ holder: "replica-b", fence: second.fence });
    expect(await a.leases.check(first)).toBe(false);
    expect(await a.leases.renew(first, 60_000)).toBe(false);
    await a.leases.release(first);
    expect(await b.leases.holder(name)).toMatchObject({ holder: "replica-b" });
    // A lease that looks the same but is not this acquisition does not pass either.
    expect(await b.leases.check({ ...second, id: "forged" })).toBe(false);

    expect(await b.leases.check(second, 1_000)).toBe(true);
    await b.leases.release(second);
    expect(await a.leases.holder(name)).toBeUndefined();
    const third = await a.leases.acquire(name, "replica-a", 60_000);
    expect(third?.fence).toBeGreaterThan(second.fence);
  });

  it("lets another replica take over a job whose lease lapsed, while renewals keep it with its holder", async () => {
    const [a, b] = await pair();
    const name = jobLease(id("job"));
    const lease = await a.leases.acquire(name, "replica-a", 1_000);
    if (!lease) throw new Error("not acquired");
    // Renewed while running: never free for the other replica.
    for (let i = 0; i < 3; i++) {
      expect(await a.leases.renew(lease, 1_000)).toBe(true);
      expect(await b.leases.acquire(name, "replica-b", 60_000)).toBeUndefined();
    }
    // replica-a dies (no more renewals): replica-b takes over once the lease lapsed.
    let takeover: Awaited<ReturnType<typeof b.leases.acquire>>;
    await eventually(async () => {
      takeover = await b.leases.acquire(name, "replica-b", 60_000);
      return takeover !== undefined;
    }, "the job lease to lapse");
    expect(takeover).toMatchObject({ name, holder: "replica-b" });
    expect(await a.leases.renew(lease, 1_000)).toBe(false);
  });
});

describe("shared state: memory", () => {
  it("keeps at most 1000 search cursors, dropping the oldest first", async () => {
    const state = new MemoryState(TIMINGS);
    for (let i = 0; i <= 1000; i++) await state.cursors.put(`sc_${i}`, { owner: "o", criteria: "c", position: i }, 60_000);
    expect(await state.cursors.get("sc_0", "o", "c")).toEqual({ ok: false, reason: "unknown" });
    expect(await state.cursors.get("sc_1", "o", "c")).toEqual({ ok: true, position: 1 });
    expect(await state.cursors.get("sc_1000", "o", "c")).toEqual({ ok: true, position: 1000 });
  });
});

describe("shared state: Redis going away", () => {
  it("fails closed while Redis is down and recovers by itself when it is back", async () => {
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    try {
      const state = new RedisState({ url: redis.url, prefix: `${id("t")}:`, ...TIMINGS, maxReconnectDelayMs: 50, commandTimeoutMs: 1_000 });
      opened.push(state);
      await redisReady(state);
      const token = id("tok");
      await state.tokens.issue(token, { binding: "d", owner: "o", ttlMs: 60_000 });
      const before = await state.leases.acquire(DELETION_LOCK, "r", 60_000);
      expect(before?.fence).toBe(1);

      await redis.stop();
      const refused = await state.tokens.claim(token, "d", "o").catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(StateUnavailableError);
      expect((refused as StateUnavailableError).message).toMatch(/shared state \(Redis\)/);
      await expect(state.leases.acquire(DELETION_LOCK, "r", 1_000)).rejects.toBeInstanceOf(StateUnavailableError);
      await expect(state.challenges.take(id("ch"))).rejects.toBeInstanceOf(StateUnavailableError);
      await expect(state.sessions.get(id("ses"))).rejects.toBeInstanceOf(StateUnavailableError);
      await expect(state.sessions.put(id("ses"), "v", 1_000)).rejects.toBeInstanceOf(StateUnavailableError);
      await expect(state.ping()).rejects.toBeInstanceOf(StateUnavailableError);

      await redis.start();
      // The restarted Redis kept nothing (no persistence): the token is unknown now, never usable twice.
      await eventually(() => state.ping().then(() => true), "the client to reconnect by itself");
      expect(await state.tokens.claim(token, "d", "o")).toEqual({ ok: false, reason: "unknown" });
      const again = id("tok");
      await state.tokens.issue(again, { binding: "d", owner: "o", ttlMs: 60_000 });
      expect((await state.tokens.claim(again, "d", "o")).ok).toBe(true);
      // The restarted Redis gives fence 1 again, to the same holder name: the old lease still does not pass.
      const after = await state.leases.acquire(DELETION_LOCK, "r", 60_000);
      expect(after).toMatchObject({ holder: "r", fence: 1 });
      if (before) expect(await state.leases.check(before)).toBe(false);
      const log = lines.join("\n");
      expect(log).toMatch(/unreachable/);
      expect(log).toMatch(/reachable again/);
      expect(log).not.toContain(token);
    } finally {
      setLogSink(writeStderr);
    }
  });

  it("logs one warning per outage, however many reconnection attempts fail, and one line when Redis is back", async () => {
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    try {
      const state = new RedisState({ url: redis.url, prefix: `${id("t")}:`, ...TIMINGS, maxReconnectDelayMs: 20, commandTimeoutMs: 1_000 });
      opened.push(state);
      await redisReady(state);
      const count = () => ({
        down: lines.filter((line) => line.includes("is unreachable")).length,
        back: lines.filter((line) => line.includes("reachable again")).length,
      });
      for (const outage of [1, 2]) {
        await redis.stop();
        // While it is down, a stand-in on its port takes every reconnection attempt and hangs up.
        let attempts = 0;
        const standIn = createNetServer((socket) => {
          attempts++;
          socket.destroy();
        });
        await new Promise<void>((resolve) => standIn.listen(redis.port, "127.0.0.1", resolve));
        await eventually(async () => attempts >= 3, "three failed reconnection attempts");
        await new Promise<void>((resolve) => standIn.close(() => resolve()));
        await redis.start();
        await eventually(() => state.ping().then(() => true), "the client to reconnect");
        expect(count()).toEqual({ down: outage, back: outage });
      }
      expect(lines.join("\n")).not.toContain(redis.url);
    } finally {
      setLogSink(writeStderr);
    }
  });

  it("wakes a waiter on another replica by pub/sub, not by polling", async () => {
    const prefix = `${id("t")}:`;
    // The first read happens at once; the next poll would come only after a minute.
    const slow = { ...TIMINGS, pollMinMs: 60_000, pollMaxMs: 60_000 };
    const a = new RedisState({ url: redis.url, prefix, ...slow });
    const b = new RedisState({ url: redis.url, prefix, ...slow });
    opened.push(a, b);
    await redisReady(a);
    await redisReady(b);
    const pageId = id("page");
    const formKey = id("form");
    await a.tokens.issue(id("tok"), { binding: "d", owner: "o", ttlMs: 60_000, approval: { pageId, formKey, items: ITEMS } });
    const waiting = b.tokens.waitForDecision(pageId, { timeoutMs: 5_000 });
    // Decided once b listens (it reads the state right after subscribing, then only after a minute).
    const observer = new Redis(redis.url);
    try {
      await eventually(async () => {
        const [, count] = (await observer.pubsub("NUMSUB", `${prefix}decided`)) as [string, number];
        return count > 0;
      }, "the waiting replica to subscribe");
    } finally {
      observer.disconnect();
    }
    expect(await a.tokens.decide(pageId, formKey, "reject")).toEqual({ ok: true, state: "rejected" });
    expect(await waiting).toBe("rejected");
  });

  it("tells claims apart by a unique id: after Redis lost recent writes, an old claim's release frees no newer claim", async () => {
    const prefix = `${id("t")}:`;
    const state = new RedisState({ url: redis.url, prefix, ...TIMINGS });
    opened.push(state);
    await redisReady(state);
    const token = id("tok");
    await state.tokens.issue(token, { binding: "d", owner: "o", ttlMs: 60_000 });
    const first = await state.tokens.claim(token, "d", "o");
    if (!first.ok) throw new Error("not claimed");
    // What a failover to a replica that had not received the claim yet leaves: the token issued, its count of claims as before.
    const raw = new Redis(redis.url);
    try {
      const key = `${prefix}tok:${createHash("sha256").update(token, "utf8").digest("base64url")}`;
      await raw.hset(key, "state", "issued", "claims", 0);
    } finally {
      raw.disconnect();
    }
    const second = await state.tokens.claim(token, "d", "o");
    expect(second.ok).toBe(true);
    // The first holder gives its claim back: the second one's stays.
    await first.claim.release();
    expect(await state.tokens.claim(token, "d", "o")).toEqual({ ok: false, reason: "in_use" });
  });

  it("never falls back to plain text: rediss:// to a server without TLS stays unavailable", async () => {
    const state = new RedisState({ url: `rediss://127.0.0.1:${redis.port}`, prefix: `${id("t")}:`, ...TIMINGS, maxReconnectDelayMs: 20 });
    opened.push(state);
    const plain = new RedisState({ url: redis.url, prefix: `${id("t")}:`, ...TIMINGS });
    opened.push(plain);
    // The plain client connects meanwhile; the TLS one, retrying all along, never does.
    await redisReady(plain);
    await expect(state.ping()).rejects.toBeInstanceOf(StateUnavailableError);
    await expect(state.tokens.claim(id("tok"), "d", "o")).rejects.toBeInstanceOf(StateUnavailableError);
  });

  it("keeps deployments with different key prefixes apart on one Redis", async () => {
    const base = id("t");
    const prod = await openSharedState({ ...TIMINGS, url: redis.url, prefix: `${base}:prod:` });
    const test = await openSharedState({ ...TIMINGS, url: redis.url, prefix: `${base}:test:` });
    opened.push(prod, test);
    await redisReady(prod);
    await redisReady(test);
    const token = id("tok");
    await prod.tokens.issue(token, { binding: "d", owner: "o", ttlMs: 60_000 });
    // The same token id and owner in the other deployment: unknown there, and issuable there too.
    expect(await test.tokens.claim(token, "d", "o")).toEqual({ ok: false, reason: "unknown" });
    await test.tokens.issue(token, { binding: "d", owner: "o", ttlMs: 60_000 });
    expect(await prod.leases.acquire(DELETION_LOCK, "p", 60_000)).toBeDefined();
    expect(await test.leases.acquire(DELETION_LOCK, "t", 60_000)).toBeDefined();
    await prod.cursors.put("sc_x", { owner: "o", criteria: "c", position: 1 }, 60_000);
    expect(await test.cursors.get("sc_x", "o", "c")).toEqual({ ok: false, reason: "unknown" });
    expect((await prod.tokens.claim(token, "d", "o")).ok).toBe(true);
  });

  it("keeps a session under its hashed id, with the prefix and an expiry set by Redis", async () => {
    const prefix = `${id("t")}:`;
    const state = new RedisState({ url: redis.url, prefix, ...TIMINGS });
    opened.push(state);
    await redisReady(state);
    const session = id("ses");
    await state.sessions.put(session, { who: "bob" }, 60_000);
    const observer = new Redis(redis.url);
    try {
      const keys = await observer.keys(`${prefix}*`);
      expect(keys).toEqual([`${prefix}ses:${createHash("sha256").update(session).digest("base64url")}`]);
      const ttl = await observer.pttl(keys[0] as string);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    } finally {
      observer.disconnect();
    }
  });

  it("is only loaded and used when a URL is given", async () => {
    const memory = await openSharedState(TIMINGS);
    expect(memory.kind).toBe("memory");
    const remote = await openSharedState({ ...TIMINGS, url: redis.url, prefix: `${id("t")}:` });
    opened.push(remote);
    expect(remote.kind).toBe("redis");
    await redisReady(remote);
  });
});
