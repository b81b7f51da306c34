// The one-deletion-at-a-time rule across replicas (issue 22): two API clients, as two replicas would
// have, each with its own RedisState connection to one real redis-server, against one simulator
// (which answers a deletion that overlaps another with 429). Durations are injected, not slept.
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { setLogSink, writeStderr } from "../../src/log.js";
import type { Simulator } from "../../src/simulator/server.js";
import { startSimulator } from "../../src/simulator/server.js";
import { DELETION_WAITING, type DeletionLockOptions, deletionLockOf, FRESH_MS, sharedDeletionLock } from "../../src/state/deletion-lock.js";
import { DELETION_LOCK, MemoryState, type SharedState } from "../../src/state/index.js";
import { RedisState } from "../../src/state/redis.js";
import { staticTokens } from "../../src/vcc/auth.js";
import { type ApiResult, VccClient } from "../../src/vcc/client.js";
import type { RetrySettings } from "../../src/vcc/retry.js";
import { eventually, type RedisServer, startRedis, untilReachable } from "../helpers/redis-server.js";

let redis: RedisServer;
let sim: Simulator;
/** When each DELETE arrived (the journal's time) and when its answer was finished (ms), at the simulator. */
const spans: { start: number; end: number }[] = [];

beforeAll(async () => {
  redis = await startRedis();
  sim = await startSimulator({
    // Long enough that two DELETEs sent together would overlap at the simulator.
    latencyMs: 15,
    onRequest: (entry) => {
      if (entry.route === "delete-content") spans.push({ start: Date.parse(entry.time), end: Date.now() });
    },
  });
});
afterAll(async () => {
  await sim?.close();
  await redis?.close();
});
beforeEach(() => {
  sim.reset();
  spans.length = 0;
});

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of opened.splice(0)) await thing.close();
});

const prefix = () => `t-${randomBytes(8).toString("base64url")}:`;

async function connect(url: string, keyPrefix: string): Promise<SharedState> {
  const state = new RedisState({ url, prefix: keyPrefix, maxReconnectDelayMs: 50, commandTimeoutMs: 1_000 });
  opened.push(state);
  await untilReachable(state, true);
  return state;
}

const FAST: RetrySettings = { maxRetries: 0, deadlineMs: 10_000, baseDelayMs: 1 };

/** One replica's API client, with the deletion lock over its own connection. */
function replica(
  state: SharedState,
  options: { lock?: DeletionLockOptions; retry?: Partial<RetrySettings>; timeoutMs?: number; shortenWait?: (ms: number) => number } = {},
): VccClient {
  const client = new VccClient({
    apiBaseUrl: sim.apiBaseUrl,
    timeoutMs: options.timeoutMs ?? 2_000,
    retry: { ...FAST, ...options.retry },
    tokens: staticTokens("sandbox-token"),
    deletionLock: sharedDeletionLock(state, { pollMinMs: 2, pollMaxMs: 20, ...options.lock }),
    ...(options.shortenWait ? { shortenWait: options.shortenWait } : {}),
  });
  opened.push(client);
  return client;
}

/** Every content item of the simulator's data, as (guid, contentKey). */
const allItems = () => sim.interactions().flatMap((i) => i.content.map((c) => ({ guid: i.guid, contentKey: c.contentKey })));
/** The first 12 of them. */
const someItems = () => allItems().slice(0, 12);
/** An item of the data: the first, or the first of another interaction than `not`. */
function anItem(not?: { guid: string }): { guid: string; contentKey: string } {
  const found = someItems().find((item) => item.guid !== not?.guid);
  if (!found) throw new Error("the simulator has no such item");
  return found;
}

const deletes = () => sim.requests("DELETE", "delete-content");
const del = (client: VccClient, item: { guid: string; contentKey: string }, signal?: AbortSignal): Promise<ApiResult> =>
  client.deleteContent(item.guid, item.contentKey, { subject: `${item.contentKey} of ${item.guid}`, ...(signal ? { signal } : {}) });

describe("the deletion lock across replicas (Redis)", () => {
  it("never lets the DELETEs of two replicas overlap at the API", async () => {
    const keyPrefix = prefix();
    const a = replica(await connect(redis.url, keyPrefix));
    const b = replica(await connect(redis.url, keyPrefix));
    const items = someItems();
    expect(items.length).toBeGreaterThanOrEqual(10);
    // Both replicas delete at once, half of the items each.
    const results = await Promise.all(items.map((item, i) => del(i % 2 === 0 ? a : b, item)));
    await sim.idle();

    expect(results.map((r) => (r.ok ? r.response.status : r.error.code))).toEqual(items.map(() => 204));
    expect(deletes().map((e) => e.status)).toEqual(items.map(() => 204));
    // No 429 (the simulator's answer to an overlapping deletion), and by the clock: each DELETE
    // arrived after the previous one's answer was finished.
    const ordered = [...spans].sort((x, y) => x.start - y.start);
    expect(ordered).toHaveLength(items.length);
    ordered.reduce((previous, span) => {
      expect(span.start).toBeGreaterThanOrEqual(previous.end - 1);
      return span;
    });
    for (const item of items) expect(sim.holds(item.guid, item.contentKey)).toBe(false);
  });

  it("lets a waiting replica in between the back-to-back deletions of another (an erasure job)", async () => {
    const keyPrefix = prefix();
    const a = replica(await connect(redis.url, keyPrefix));
    const b = replica(await connect(redis.url, keyPrefix), { retry: { deadlineMs: 600 } });
    // A: 40 deletions in a row (about 20 ms each), queued in its process at once.
    const stream = Array.from({ length: 40 }, (_, i) => someItems()[i % 12]).filter((item) => item !== undefined);
    const streamed = Promise.all(stream.map((item) => del(a, item)));
    while (deletes().length === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    // B's item is not among A's.
    const other = allItems()[100];
    if (!other) throw new Error("the simulator has too few items");
    const resultB = await del(b, other);
    await streamed;
    // B got its turn within its 600 ms, long before A's stream ended.
    expect(resultB.ok ? "sent" : resultB.error.code).toBe("sent");
    const order = deletes().map((e) => (e.path.includes(other.guid) ? "B" : "A"));
    expect(order.indexOf("B")).toBeLessThan(20);
    expect(
      deletes()
        .map((e) => e.status)
        .filter((status) => status === 429),
    ).toEqual([]);
  });

  it("takes turns: a replica that has just released the lock lets an announced waiter go first", async () => {
    const keyPrefix = prefix();
    const stateA = await connect(redis.url, keyPrefix);
    const lockA = sharedDeletionLock(stateA, { holder: "replica-a", pollMinMs: 5, pollMaxMs: 20 });
    // B polls rarely: without taking turns, A would take the lock again long before B's next poll.
    const lockB = sharedDeletionLock(await connect(redis.url, keyPrefix), { holder: "replica-b", pollMinMs: 200, pollMaxMs: 200 });
    const request = { subject: "x", attemptMs: 1_000 };
    const first = await lockA.acquire({ ...request, budgetMs: 0 });
    if (!first.ok) throw new Error("A could not take the free lock");
    const waitingB = lockB.acquire({ ...request, budgetMs: 5_000 });
    while ((await stateA.leases.holder(DELETION_WAITING))?.holder !== "replica-b") await new Promise((resolve) => setTimeout(resolve, 2));

    await first.held.release();
    const again = await lockA.acquire({ ...request, budgetMs: 50 });
    expect(again).toMatchObject({ ok: false, error: { code: "busy" } });
    const b = await waitingB;
    expect(b.ok).toBe(true);
    expect((await stateA.leases.holder(DELETION_LOCK))?.holder).toBe("replica-b");
    // B's announcement ended when it got the lock.
    expect(await stateA.leases.holder(DELETION_WAITING)).toBeUndefined();
    if (b.ok) await b.held.release();
    // With no one announced, A takes it at once, however recently it released it.
    expect((await lockA.acquire({ ...request, budgetMs: 0 })).ok).toBe(true);
  });

  it("refuses the next attempt of a holder whose lease lapsed (a paused replica): nothing more is sent, the answer says so", async () => {
    const keyPrefix = prefix();
    const stateA = await connect(redis.url, keyPrefix);
    // A: a lease of 250 ms not renewed in the background (a paused process runs no timers), and a
    // retry wait that lasts 400 ms: it wakes up after its lease lapsed.
    const a = replica(stateA, {
      lock: { leaseMs: 0, marginMs: 50, renewEveryMs: 0 },
      timeoutMs: 200,
      retry: { maxRetries: 2 },
      shortenWait: () => 400,
    });
    const b = replica(await connect(redis.url, keyPrefix));
    // Of two interactions, so that the journal tells them apart.
    const first = anItem();
    const second = anItem(first);
    sim.injectFaults("delete-content", { status: 503, retryAfter: "1" });

    const pausedA = del(a, first);
    // B asks once A holds the lock and its first attempt was answered 503.
    while (deletes().length === 0 || deletes()[0]?.status === undefined) await new Promise((resolve) => setTimeout(resolve, 2));
    const resultB = await del(b, second);
    const resultA = await pausedA;
    await sim.idle();

    expect(resultB).toMatchObject({ ok: true, response: { status: 204 } });
    expect(resultA).toMatchObject({ ok: false, attempts: 1, error: { code: "busy" } });
    if (!resultA.ok) {
      expect(resultA.error.outcomeUnknown).toBeUndefined();
      expect(resultA.error.message).toMatch(/was not sent.*was not deleted.*no longer held the deployment-wide deletion lock/);
    }
    // A's first attempt (503) and B's deletion; A's retry was never sent.
    expect(deletes().map((e) => [e.path.includes(first.guid) ? "A" : "B", e.status])).toEqual([
      ["A", 503],
      ["B", 204],
    ]);
    expect(sim.holds(first.guid, first.contentKey)).toBe(true);
  });

  it("answers busy when another replica holds the lock past the call's deadline, and cancelled when cancelled: nothing is sent", async () => {
    const keyPrefix = prefix();
    const other = await connect(redis.url, keyPrefix);
    expect(await other.leases.acquire(DELETION_LOCK, "replica-b", 60_000)).toBeDefined();
    const a = replica(await connect(redis.url, keyPrefix), { retry: { deadlineMs: 300 } });
    const item = anItem();

    const started = Date.now();
    const busy = await del(a, item);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(busy).toMatchObject({ ok: false, attempts: 0, error: { code: "busy", message: expect.stringMatching(/Another replica/) } });

    const controller = new AbortController();
    const cancelled = del(a, item, controller.signal);
    setTimeout(() => controller.abort(), 20);
    expect(await cancelled).toMatchObject({ ok: false, attempts: 0, error: { code: "cancelled" } });
    expect(deletes()).toEqual([]);
    expect((await other.leases.holder(DELETION_LOCK))?.holder).toBe("replica-b");
  });

  it("takes the lock again after a replica's release, and waits for a lease another replica holds until it is freed", async () => {
    const keyPrefix = prefix();
    const other = await connect(redis.url, keyPrefix);
    const lease = await other.leases.acquire(DELETION_LOCK, "replica-b", 60_000);
    const a = replica(await connect(redis.url, keyPrefix));
    const item = anItem();
    const waiting = del(a, item);
    // A found the lock held (it announced itself as waiting for it) and sent nothing.
    while ((await other.leases.holder(DELETION_WAITING)) === undefined) await new Promise((resolve) => setTimeout(resolve, 2));
    expect(deletes()).toEqual([]);
    if (lease) await other.leases.release(lease);
    expect(await waiting).toMatchObject({ ok: true, response: { status: 204 } });
    // Released right after the call (sent once its result is out): well before its lease (about 4 s) could lapse.
    const released = Date.now();
    await eventually(async () => (await other.leases.holder(DELETION_LOCK)) === undefined, "the lock's release", 1_000);
    expect(Date.now() - released).toBeLessThan(1_000);
  });

  it("a replica's release that is still to be sent goes before its own next acquisition: back-to-back deletions never wait for themselves", async () => {
    const state = await connect(redis.url, prefix());
    const acquire = state.leases.acquire.bind(state.leases);
    const tries: boolean[] = [];
    state.leases.acquire = async (name, holder, leaseMs) => {
      const lease = await acquire(name, holder, leaseMs);
      if (name === DELETION_LOCK) tries.push(lease !== undefined);
      return lease;
    };
    const a = replica(state);
    const first = anItem();
    const second = anItem(first);
    expect(await del(a, first)).toMatchObject({ ok: true, response: { status: 204 } });
    // Right after the first one's end, in the same turn of the event loop, as a bulk deletion's next item.
    expect(await del(a, second)).toMatchObject({ ok: true, response: { status: 204 } });
    // Each took the lock at its first try: the second never found the first one's lease still held.
    expect(tries).toEqual([true, true]);
    expect(deletes()).toHaveLength(2);
  });
});

describe("the deletion lock when Redis is unreachable", () => {
  let own: RedisServer;
  beforeAll(async () => {
    own = await startRedis();
  });
  afterAll(async () => {
    await own?.close();
  });

  it("refuses with state_unavailable before anything is sent, and works again once Redis is back", async () => {
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    opened.push({ close: async () => setLogSink(writeStderr) });
    const state = await connect(own.url, prefix());
    const a = replica(state);
    const first = anItem();
    const second = anItem(first);
    await own.stop();
    // Wait until the client has seen the connection go (a refusal is then immediate).
    await untilReachable(state, false);
    const refused = await del(a, first);
    expect(refused).toMatchObject({ ok: false, attempts: 0, error: { code: "state_unavailable" } });
    if (!refused.ok) {
      expect(refused.error.outcomeUnknown).toBeUndefined();
      expect(refused.error.message).toMatch(/Nothing was sent.*not deleted/);
      expect(refused.error.message).not.toContain(own.url);
    }
    expect(deletes()).toEqual([]);

    await own.start();
    await untilReachable(state, true);
    expect(await del(a, second)).toMatchObject({ ok: true, response: { status: 204 } });
    expect(lines.filter((line) => line.includes("is unreachable"))).toHaveLength(1);
  });
});

describe("one machine", () => {
  it("adds no lock (and no round trip) with the process's own state", () => {
    expect(deletionLockOf(new MemoryState())).toBeUndefined();
    expect(deletionLockOf(undefined)).toBeUndefined();
  });
});

describe("the round trips of one deletion", () => {
  it("the first attempt right after taking the lease needs no renewal; a later attempt, or one sent later, renews (the fencing check)", async () => {
    const state = new MemoryState();
    const renew = state.leases.renew.bind(state.leases);
    let renewals = 0;
    state.leases.renew = (lease, leaseMs) => {
      renewals++;
      return renew(lease, leaseMs);
    };
    const lock = sharedDeletionLock(state, { holder: "replica-a", renewEveryMs: 0 });
    const request = { subject: "x", attemptMs: 1_000, budgetMs: 0 };

    const first = await lock.acquire(request);
    if (!first.ok) throw new Error("the free lock was not taken");
    expect(await first.held.check(1_000)).toBeUndefined();
    expect(renewals).toBe(0);
    expect(await first.held.check(1_000)).toBeUndefined();
    expect(renewals).toBe(1);
    await first.held.release();

    const second = await lock.acquire(request);
    if (!second.ok) throw new Error("the lock was not taken again");
    // Time passes between taking the lease and the first attempt (here 40 ms, more than FRESH_MS).
    await new Promise((resolve) => setTimeout(resolve, FRESH_MS + 15));
    expect(await second.held.check(1_000)).toBeUndefined();
    expect(renewals).toBe(2);
    await second.held.release();
  });
});

describe("the deletion lock taken ahead (prepareDeletion)", () => {
  it("the next DELETE uses the lease taken ahead: one acquisition, and the lock is free again after it", async () => {
    const keyPrefix = prefix();
    const state = await connect(redis.url, keyPrefix);
    const acquire = state.leases.acquire.bind(state.leases);
    let acquisitions = 0;
    state.leases.acquire = (name, holder, leaseMs) => {
      if (name === DELETION_LOCK) acquisitions++;
      return acquire(name, holder, leaseMs);
    };
    const client = replica(state);
    client.prepareDeletion();
    // A second preparation while one is outstanding takes nothing more.
    client.prepareDeletion();
    await eventually(async () => (await state.leases.holder(DELETION_LOCK)) !== undefined, "the lock to be taken ahead");
    expect(acquisitions).toBe(1);
    expect(await del(client, anItem())).toMatchObject({ ok: true, response: { status: 204 } });
    expect(acquisitions).toBe(1);
    await untilFree(state);
  });

  it("unused, the lease taken ahead is given back after EARLY_LOCK_MS, so another replica can delete", async () => {
    const keyPrefix = prefix();
    const a = replica(await connect(redis.url, keyPrefix));
    const stateB = await connect(redis.url, keyPrefix);
    const b = replica(stateB);
    a.prepareDeletion();
    await eventually(async () => (await stateB.leases.holder(DELETION_LOCK)) !== undefined, "A to take the lock ahead");
    const started = Date.now();
    // B waits for A's unused lease to be given back (not for its expiry, which is over 4 s away).
    expect(await del(b, anItem())).toMatchObject({ ok: true, response: { status: 204 } });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(deletes()).toHaveLength(1);
  });
});

async function untilFree(state: SharedState): Promise<void> {
  await eventually(async () => (await state.leases.holder(DELETION_LOCK)) === undefined, "the deletion lock to be free");
}
