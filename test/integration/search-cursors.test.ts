// Search cursors on the shared state (issue 22): a cursor issued by one server (replica) continues
// through another when both keep their state in one Redis (a real redis-server), for the same
// person on a team server; Redis unreachable → continuing answers state_unavailable, a fresh search
// still works. SDK Clients over in-memory transports, the simulator over real HTTP.
import { randomBytes } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { NO_AUDIT } from "../../src/audit.js";
import { loadConfig } from "../../src/config.js";
import type { Identity } from "../../src/core/identity.js";
import { setLogSink, writeStderr } from "../../src/log.js";
import { createServer, lazyApi } from "../../src/server.js";
import { SEARCH_SAMPLE } from "../../src/simulator/server.js";
import type { SharedState } from "../../src/state/index.js";
import { RedisState } from "../../src/state/redis.js";
import { SEARCH_TOOL_NAME } from "../../src/tools/search-interactions.js";
import { type Loose, SECRET_TOKEN, sharedValidator, structured } from "../helpers/mcp.js";
import { startRedis, untilReachable, useRedis } from "../helpers/redis-server.js";
import { useSimulator } from "../helpers/simulator.js";

const h = useSimulator();
const shared = useRedis();
const open = { push: (thing: { close(): Promise<void> }) => shared.defer(() => thing.close()) };

async function redisState(prefix: string): Promise<SharedState> {
  const state = new RedisState({ url: shared.redis.url, prefix, maxReconnectDelayMs: 50, commandTimeoutMs: 1_000 });
  open.push(state);
  await untilReachable(state, true);
  return state;
}

const ALICE: Identity = { subject: "alice", issuer: "https://idp.example" };
const BOB: Identity = { subject: "bob", issuer: "https://idp.example" };

/** One session of a replica whose state is `state`, for a team server's caller. */
async function session(state: SharedState, identity: Identity): Promise<Client> {
  const config = loadConfig({ VCC_ACCESS_TOKEN: SECRET_TOKEN, VCC_API_BASE_URL: h.sim.apiBaseUrl, VCC_RETRY_BASE_MS: "1" });
  const server = createServer(
    { config, api: lazyApi(config), audit: NO_AUDIT, state, checkResults: sharedValidator },
    { identity, mayDelete: false },
  );
  const client = new Client({ name: "cursor-test", version: "1" });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(a), client.connect(b)]);
  await client.listTools();
  open.push(client);
  return client;
}

const search = async (client: Client, args: Record<string, unknown>) =>
  (await client.callTool({ name: SEARCH_TOOL_NAME, arguments: args })) as CallToolResult;
const CALLER_A = { from: "2026-01-01", to: "2026-11-30", party: [SEARCH_SAMPLE.callerA] };
const guidsOf = (s: Loose) => (s.interactions as { guid: string }[]).map((i) => i.guid);

describe("search cursors in Redis", () => {
  it("continues on another replica a search begun on one (same person), not for another person", async () => {
    const prefix = `t-${randomBytes(8).toString("base64url")}:`;
    const replicaA = await session(await redisState(prefix), ALICE);
    const replicaB = await session(await redisState(prefix), ALICE);

    const first = structured(await search(replicaA, { ...CALLER_A, maxResults: 5 }));
    expect(first).toMatchObject({ complete: false, cursor: expect.stringMatching(/^sc_/) });
    const next = await search(replicaB, { ...CALLER_A, maxResults: 5, cursor: first.cursor });
    expect(next.isError).toBeFalsy();
    const continued = structured(next);
    expect(guidsOf(continued)).toHaveLength(5);
    expect(guidsOf(continued).filter((guid) => guidsOf(first).includes(guid))).toEqual([]);

    const bob = await session(await redisState(prefix), BOB);
    const refused = structured(await search(bob, { ...CALLER_A, maxResults: 5, cursor: first.cursor }));
    expect(refused.error).toMatchObject({ code: "invalid_input", message: expect.stringMatching(/another person/) });
  });

  it("Redis unreachable: continuing answers state_unavailable with nothing searched; a fresh search still works", async () => {
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    open.push({ close: async () => setLogSink(writeStderr) });
    const own = await startRedis();
    open.push(own);
    const state = new RedisState({ url: own.url, prefix: "vcc:", maxReconnectDelayMs: 50, commandTimeoutMs: 1_000 });
    open.push(state);
    await untilReachable(state, true);
    const client = await session(state, ALICE);
    const first = structured(await search(client, { ...CALLER_A, maxResults: 5 }));
    expect(first.cursor).toMatch(/^sc_/);

    await own.stop();
    await untilReachable(state, false);
    const before = h.sim.requests("GET", "list-interactions").length;
    const continued = await search(client, { ...CALLER_A, maxResults: 5, cursor: first.cursor });
    expect(continued.isError).toBe(true);
    expect(structured(continued).error).toMatchObject({
      code: "state_unavailable",
      message: expect.stringMatching(/^Nothing was searched: the cursor could not be read/),
    });
    expect(structured(continued).error.outcomeUnknown).toBeUndefined();
    expect(h.sim.requests("GET", "list-interactions").length).toBe(before);

    // A fresh search that finishes in one call needs no cursor: it works.
    const fresh = await search(client, { ...CALLER_A, from: "2026-06-01", to: "2026-06-03" });
    expect(fresh.isError).toBeFalsy();
    expect(structured(fresh).complete).toBe(true);
    // One that needs a cursor returns what it found, and says that it cannot be continued.
    const partial = await search(client, { ...CALLER_A, maxResults: 5 });
    expect(partial.isError).toBe(true);
    expect(guidsOf(structured(partial))).toEqual(guidsOf(first));
    expect(structured(partial)).not.toHaveProperty("cursor");
    expect(structured(partial).error).toMatchObject({
      code: "state_unavailable",
      message: expect.stringMatching(/no cursor could be kept/),
    });
    expect(lines.join("\n")).not.toContain(first.cursor);
  });
});
