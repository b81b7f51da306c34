// Replicas sharing state in Redis (docs/replicas.md), end to end with real parts: one redis-server,
// the simulator over real HTTP, and two or three processes of the built server (`--http`) behind a
// sticky round-robin load balancer (test/helpers/replicas.ts). Clients are the SDK's, through the
// load balancer, and list the tools first. Three deployments share the one Redis, one after the
// other: a static bearer (tokens bound to their MCP session; loopback approval pages), a team server
// whose approvers sign in on its approval pages, and a team server with confirmation tokens (OAuth:
// a token belongs to the person and works in any of their sessions on any replica).
import { ClientCredentialsProvider } from "@modelcontextprotocol/sdk/client/auth-extensions.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { SEED, SEED_ITEM_KEYS } from "../../src/simulator/seed.js";
import { type Simulator, startSimulator } from "../../src/simulator/server.js";
import { decideOnPage, formKeyOf, pageRequest, postDecision } from "../helpers/approval-page.js";
import { CookieBrowser } from "../helpers/cookie-browser.js";
import { connectHttp, freePort, type HttpConnected } from "../helpers/http.js";
import { deletePath, deletesByPath, generated, simItems } from "../helpers/jobs.js";
import { type Loose, SECRET_TOKEN, SECRET_TOKEN_SCOPES, structured, textOf } from "../helpers/mcp.js";
import {
  DELETE_SCOPE,
  MACHINE,
  type OpenIdProvider,
  type ProviderOptions,
  READ_SCOPE,
  startOpenIdProvider,
  TEAM_SERVER,
} from "../helpers/openid-provider.js";
import { type RedisServer, startRedis } from "../helpers/redis-server.js";
import { type Replica, type ReplicaSet, startReplicas } from "../helpers/replicas.js";

const DELETE = "delete_interaction_content";
const LIST = "list_interaction_content";
const BEARER = "replicas-bearer-for-tests-5d2e9a71c3";
const CRITERIA = { connectFrom: "+441632960101", from: "2026-11-20T09:00:00Z", to: "2026-11-20T11:00:00Z", contentTypes: ["all"] };
/**
 * The DELETE in flight when a replica is killed: long enough to kill it first (the kill follows the
 * DELETE's arrival within milliseconds), short enough to wait for. The takeover waits for the dead
 * replica's job lease (twice the request timeout, which is twice this) and deletion lock (the request
 * timeout plus 2 s).
 */
const SLOW_MS = 600;

let sim: Simulator;
let redis: RedisServer;
/** Every set of replicas started (their logs checked for secrets after each test). */
const sets: ReplicaSet[] = [];
const clients: HttpConnected[] = [];
/** Secrets that must appear in no result and no log: credentials, confirmation tokens, page ids. */
const secrets = new Set<string>([SECRET_TOKEN, BEARER, TEAM_SERVER.clientSecret, MACHINE.clientSecret]);

/** The three deployments, started at once in beforeAll (each block awaits its own, and retires it after). */
let deployments: {
  bearer: Promise<ReplicaSet>;
  approvalPages: Promise<TeamDeployment>;
  tokens: Promise<TeamDeployment>;
};

beforeAll(async () => {
  [sim, redis] = await Promise.all([
    startSimulator({ extraInteractions: 5, staticTokens: { [SECRET_TOKEN]: SECRET_TOKEN_SCOPES } }),
    startRedis(),
  ]);
  deployments = {
    bearer: startReplicas({
      count: 2,
      redis,
      env: { ...simEnv(), VCC_HTTP_BEARER: BEARER, VCC_CONFIRMATION: "approval" },
    }).then((set) => {
      sets.push(set);
      return set;
    }),
    approvalPages: teamDeployment(
      2,
      {
        VCC_CONFIRMATION: "approval",
        VCC_OIDC_CLIENT_ID: TEAM_SERVER.clientId,
        VCC_OIDC_CLIENT_SECRET: TEAM_SERVER.clientSecret,
        VCC_OIDC_SCOPE: "openid profile email groups",
        VCC_APPROVER_CLAIM: "groups:vcc-approvers",
      },
      { teamServerRedirect: "/approve/callback" },
    ),
    tokens: teamDeployment(2, {
      VCC_CONFIRMATION: "token",
      // Short leases, so that a dead replica's job is taken over soon: a job's lease is at least
      // twice the request timeout (which must still outlast the slow DELETE), looked for often.
      VCC_TIMEOUT_MS: String(SLOW_MS * 2),
      VCC_JOB_LEASE_MS: String(SLOW_MS * 4),
      VCC_JOB_SWEEP_MS: "100",
    }),
  };
  // Awaited by their blocks; a failure is reported there (not as an unhandled rejection here).
  for (const started of Object.values(deployments)) started.catch(() => undefined);
});
afterAll(async () => {
  // Those a failing block did not retire, and the identity providers.
  const started = await Promise.allSettled([deployments?.approvalPages, deployments?.tokens]);
  await Promise.all([...sets].map(retire));
  await Promise.all(started.map((d) => (d.status === "fulfilled" ? d.value?.op.close() : undefined)));
  await Promise.all([sim?.close(), redis?.close()]);
});
beforeEach(() => sim.reset());
afterEach(async () => {
  for (const c of clients.splice(0)) {
    for (const r of c.results) expect(credentialsIn(JSON.stringify(r)), "a credential in a tool result").toEqual([]);
    await c.close().catch(() => undefined);
  }
  for (const set of sets) expect(leaked(set.stderr()), "a secret in a replica's log").toEqual([]);
});

/** Which credentials `text` contains, by name (never the value: a failing check must not print it). */
function credentialsIn(text: string): string[] {
  const found: string[] = [];
  if (text.includes(SECRET_TOKEN)) found.push("the API token");
  if (text.includes(BEARER)) found.push("the bearer");
  if (text.includes(redis.url)) found.push("Redis's URL");
  if (text.includes(TEAM_SERVER.clientSecret) || text.includes(MACHINE.clientSecret)) found.push("a client secret");
  return found;
}

/** Credentials, and also the access tokens, confirmation tokens and page ids seen: none belongs in a log. */
function leaked(text: string): string[] {
  const others = [...secrets].filter((s) => text.includes(s)).length;
  return [...credentialsIn(text), ...(others > 0 ? [`${others} other secret(s): tokens or page ids`] : [])];
}

/** Stops a deployment's replicas once its tests are done (less load for the next), checking their last log lines too. */
async function retire(set: ReplicaSet | undefined): Promise<void> {
  if (!set || !sets.includes(set)) return;
  sets.splice(sets.indexOf(set), 1);
  await set.close();
  expect(leaked(set.stderr()), "a secret in a replica's log").toEqual([]);
}

const simEnv = () => ({
  VCC_ACCESS_TOKEN: SECRET_TOKEN,
  VCC_API_BASE_URL: sim.apiBaseUrl,
  VCC_LOG_LEVEL: "debug",
  // Every session comes from the load balancer's one address.
  VCC_HTTP_SESSIONS_PER_MINUTE: "10000",
});
const deletes = () => sim.requests("DELETE");

/** Remembers a confirmation token or a page id so that the logs are checked for it. */
function secret<T extends string | undefined>(value: T): T {
  if (value) secrets.add(value);
  return value;
}

/** `text` with every secret seen so far replaced: what an assertion may show when it fails. */
function redact(text: string): string {
  let safe = text;
  for (const value of secrets) safe = safe.replaceAll(value, "‹secret›");
  // Also those the test did not expect to be given (a token where an error was expected).
  return safe.replace(/vcc-confirm-[\w-]+/g, "vcc-confirm-‹secret›").replace(/\/approve\/[\w-]{43}/g, "/approve/‹secret›");
}
/** A result's structured content, redacted (for assertions whose failure prints what was received). */
const shown = (result: CallToolResult): Loose => JSON.parse(redact(JSON.stringify(structured(result)))) as Loose;
/** A result's text, redacted. */
const said = (result: CallToolResult): string => redact(textOf(result));
/** Where a browser is, without query or secrets. */
const where = (url: string) => redact(new URL(url).origin + new URL(url).pathname);

type Session = HttpConnected & { replica: Replica };

/** A session through the load balancer, on the replica its round-robin picks (known from the session id). */
async function sessionThrough(set: ReplicaSet, options: Parameters<typeof connectHttp>[1]): Promise<Session> {
  const c = await connectHttp({ url: set.proxy.url, stderr: set.stderr }, options);
  clients.push(c);
  const replica = set.proxy.replicaOf(c.transport.sessionId);
  if (!replica) throw new Error("the load balancer did not see the session being created");
  return { ...c, replica };
}

/** Two sessions on different replicas (the round-robin moves on with each new session). */
async function twoReplicas(session: () => Promise<Session>): Promise<readonly [Session, Session]> {
  const a = await session();
  for (let tries = 0; tries < 4; tries++) {
    const b = await session();
    if (b.replica !== a.replica) return [a, b];
  }
  throw new Error("every new session landed on the same replica");
}

interface TeamDeployment {
  set: ReplicaSet;
  op: OpenIdProvider;
  /** A session of one person (the machine client); every session uses its one access token. */
  session(): Promise<Session>;
}

/**
 * Replicas as a team server (VCC_HTTP_AUTH=oauth) behind the load balancer, with their own OpenID
 * provider: the load balancer's port is chosen first, since the provider must know the resource URL
 * (and the sign-in's redirect URI) before the replicas start.
 */
async function teamDeployment(count: number, env: Record<string, string>, provider: Omit<ProviderOptions, "resources"> = {}) {
  const proxyPort = await freePort();
  const origin = `http://127.0.0.1:${proxyPort}`;
  const op = await startOpenIdProvider({
    ...provider,
    ...(provider.teamServerRedirect ? { teamServerRedirect: new URL(provider.teamServerRedirect, origin).href } : {}),
    resources: [`${origin}/mcp`],
  });
  const set = await startReplicas({
    count,
    redis,
    proxyPort,
    publicUrlIsProxy: true,
    env: { ...simEnv(), VCC_HTTP_AUTH: "oauth", VCC_OAUTH_ISSUER: op.issuer, ...env },
  }).catch(async (error: unknown) => {
    await op.close();
    throw error;
  });
  sets.push(set);
  const auth = new ClientCredentialsProvider({ ...MACHINE, scope: `${READ_SCOPE} ${DELETE_SCOPE}`, expectedIssuer: op.issuer });
  const deployment: TeamDeployment = {
    set,
    op,
    session: async () => {
      const c = await sessionThrough(set, { authProvider: auth });
      secret(auth.tokens()?.access_token);
      return c;
    },
  };
  return deployment;
}

describe("a static bearer (tokens bound to their session)", () => {
  let set: ReplicaSet;
  beforeAll(async () => {
    set = await deployments.bearer;
  });
  afterAll(() => retire(set));

  const session = () => sessionThrough(set, { bearer: BEARER });
  const sessionsOnTwoReplicas = () => twoReplicas(session);

  it("keeps each session on the replica that created it, and spreads new sessions over the replicas", async () => {
    const [a, b] = await sessionsOnTwoReplicas();
    const before = { ...set.proxy.forwarded };
    // A session's request on the other replica would be answered 404 (unknown session): every call
    // succeeding is what shows the affinity (the counts may include the SDK's own event stream).
    for (let i = 0; i < 3; i++) {
      expect((await a.call(LIST, { guid: SEED.inboundCall })).isError).toBeFalsy();
      expect((await b.call(LIST, { guid: SEED.chat })).isError).toBeFalsy();
    }
    expect(set.proxy.forwarded[a.replica.name]).toBeGreaterThanOrEqual((before[a.replica.name] ?? 0) + 3);
    expect(set.proxy.forwarded[b.replica.name]).toBeGreaterThanOrEqual((before[b.replica.name] ?? 0) + 3);
  });

  it("a token stays bound to its session: refused in a session on another replica, redeemed once in its own", async () => {
    const [a, b] = await sessionsOnTwoReplicas();
    const args = { guid: SEED.inboundCall, contentKey: "transcript" };
    const issued = structured(await a.call(DELETE, args));
    expect(issued.status).toBe("confirmation_required");
    secret(issued.confirmationToken);
    secret(/\/approve\/(.+)$/.exec(issued.approvalUrl ?? "")?.[1]);
    expect((await decideOnPage(issued.approvalUrl, "approve")).status).toBe(303);

    const elsewhere = await b.call(DELETE, { ...args, confirmationToken: issued.confirmationToken });
    expect(structured(elsewhere).error?.code).toBe("confirmation_invalid");
    expect(deletes()).toHaveLength(0);

    const own = await a.call(DELETE, { ...args, confirmationToken: issued.confirmationToken });
    expect(shown(own), said(own)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(deletes()).toHaveLength(1);
  });

  it("an approval page issued by one replica is shown and decided on another, and the first sees the decision", async () => {
    const [a, b] = await sessionsOnTwoReplicas();
    // B's page server starts with its first page (it listens on its own loopback port).
    const warm = structured(await b.call(DELETE, { guid: SEED.chat, contentKey: "chatTranscript" }));
    expect(new URL(warm.approvalUrl).port).toBe(String(b.replica.approvalPort));
    secret(warm.confirmationToken);
    secret(/\/approve\/(.+)$/.exec(warm.approvalUrl ?? "")?.[1]);

    const args = { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail };
    const issued = structured(await a.call(DELETE, args));
    expect(new URL(issued.approvalUrl).port).toBe(String(a.replica.approvalPort));
    secret(issued.confirmationToken);
    const pageId = secret(/\/approve\/(.+)$/.exec(issued.approvalUrl)?.[1] as string);
    const onB = `http://127.0.0.1:${b.replica.approvalPort}/approve/${pageId}`;

    const page = await pageRequest(onB);
    expect(page.status, "replica B shows a page replica A issued").toBe(200);
    expect(page.body.includes(SEED.voicemails)).toBe(true);
    expect((await decideOnPage(onB, "approve")).status).toBe(303);

    const redeemed = await a.call(DELETE, { ...args, confirmationToken: issued.confirmationToken });
    expect(shown(redeemed), said(redeemed)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(deletes().map((d) => d.path)).toEqual([deletePath(sim, args)]);
  });
});

describe("a team server's approval pages (sign-in with the identity provider) through the round-robin", () => {
  let team: TeamDeployment;
  beforeAll(async () => {
    team = await deployments.approvalPages;
  });
  afterAll(() => retire(team?.set));

  it("the approver signs in and decides with every page request going to the next replica; the session redeems its token", async () => {
    const c = await team.session();
    const args = { guid: SEED.inboundCall, contentKey: "callRecording" };
    const asked = structured(await c.call(DELETE, args));
    expect(asked.status).toBe("confirmation_required");
    secret(asked.confirmationToken);
    const approvalUrl: string = asked.approvalUrl;
    expect(approvalUrl.startsWith(`${team.set.proxy.origin}/approve/`)).toBe(true);
    secret(/\/approve\/(.+)$/.exec(approvalUrl)?.[1]);

    // Bob (an approver) opens the link: sent to sign in, back through the load balancer to another
    // replica (the sign-in's return), then the page itself on the next one.
    const before = { ...team.set.proxy.forwarded };
    const browser = new CookieBrowser();
    const login = await browser.go(approvalUrl);
    expect(login.url.startsWith(team.op.issuer), `sent to sign in: ${login.status}`).toBe(true);
    let page = await browser.submit(login, { prompt: "login", login: "bob", password: "any" });
    if (page.body.includes('value="consent"')) page = await browser.submit(page, { prompt: "consent" });
    expect(where(page.url), `back on the page after signing in (${page.status})`).toBe(where(approvalUrl));
    expect(page.status).toBe(200);
    expect(page.body.includes(SEED.inboundCall)).toBe(true);
    // Both replicas answered page requests of this one sign-in.
    for (const r of team.set.replicas) expect(team.set.proxy.forwarded[r.name]).toBeGreaterThan(before[r.name] ?? 0);

    const decided = await postDecision(
      approvalUrl,
      { formKey: formKeyOf(page.body), decision: "approve" },
      { headers: { cookie: browser.cookieFor(approvalUrl) } },
    );
    expect(decided.status).toBe(303);
    const redeemed = await c.call(DELETE, { ...args, confirmationToken: asked.confirmationToken });
    expect(shown(redeemed), said(redeemed)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(deletes().map((d) => d.path)).toEqual([deletePath(sim, args)]);
  });
});

describe("a team server (OAuth: a token belongs to the person, in any of their sessions)", () => {
  let team: TeamDeployment;
  let set: ReplicaSet;
  beforeAll(async () => {
    team = await deployments.tokens;
    set = team.set;
  });
  afterAll(() => retire(team?.set));

  const session = () => team.session();
  const sessionsOnTwoReplicas = () => twoReplicas(session);

  it("a token issued in a session on one replica is redeemed in the same person's session on another", async () => {
    const [a, b] = await sessionsOnTwoReplicas();
    const args = { guid: SEED.inboundCall, contentKey: "callRecording" };
    const issued = structured(await a.call(DELETE, args));
    expect(issued.status).toBe("confirmation_required");
    secret(issued.confirmationToken);
    expect(deletes()).toHaveLength(0);

    const redeemed = await b.call(DELETE, { ...args, confirmationToken: issued.confirmationToken });
    expect(shown(redeemed), said(redeemed)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(deletes().map((d) => d.path)).toEqual([deletePath(sim, args)]);
    // Used: neither replica accepts it again.
    const again = await a.call(DELETE, { ...args, confirmationToken: issued.confirmationToken });
    expect(structured(again).error?.code).toBe("confirmation_invalid");
    expect(deletes()).toHaveLength(1);
  });

  it("the same token redeemed on two replicas at once: exactly one DELETE, the other call told it is in use or used", async () => {
    const [a, b] = await sessionsOnTwoReplicas();
    const args = { guid: SEED.chat, contentKey: "chatTranscript" };
    const issued = structured(await a.call(DELETE, args));
    secret(issued.confirmationToken);
    // The winner's DELETE takes a while: the other call arrives while the token is claimed.
    sim.injectFaults("delete-content", { latencyMs: 300 });
    const results = await Promise.all([a, b].map((c) => c.call(DELETE, { ...args, confirmationToken: issued.confirmationToken })));
    const outcomes = results.map((r) => shown(r));
    expect(outcomes.filter((o) => o.status === "deleted")).toHaveLength(1);
    const loser = outcomes.find((o) => o.status !== "deleted");
    expect(loser?.error?.code).toBe("confirmation_invalid");
    // Not "unknown": the other replica knew the token, and found it claimed (or already spent).
    expect(loser?.error?.message).toMatch(/being used by another call|already been used/);
    await sim.idle();
    expect(deletes().map((d) => d.path)).toEqual([deletePath(sim, args)]);
  });

  it("two deletions confirmed on two replicas at once go to the API one after the other (the deployment-wide lock)", async () => {
    const [a, b] = await sessionsOnTwoReplicas();
    const onA = { guid: SEED.inboundCall, contentKey: "transcript" };
    const onB = { guid: SEED.screenRecording, contentKey: SEED_ITEM_KEYS.screenRecording };
    const tokenA = secret(structured(await a.call(DELETE, onA)).confirmationToken as string);
    const tokenB = secret(structured(await b.call(DELETE, onB)).confirmationToken as string);
    // Each DELETE takes a while: without a lock shared by the replicas the two would overlap, and the
    // API answers a deletion that arrives while another is being answered with 429.
    sim.injectFaults("delete-content", { latencyMs: 300 }, { latencyMs: 300 });
    const [ra, rb] = await Promise.all([
      a.call(DELETE, { ...onA, confirmationToken: tokenA }),
      b.call(DELETE, { ...onB, confirmationToken: tokenB }),
    ]);
    expect(shown(ra), said(ra)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(shown(rb), said(rb)).toMatchObject({ status: "deleted", httpStatus: 204 });
    await sim.idle();
    expect(deletes().map((d) => d.status)).toEqual([204, 204]);
  });

  it("Redis stopped: destructive calls answer state_unavailable with nothing deleted, reads work; Redis back: works again, no restart", async () => {
    const c = await session();
    const args = { guid: SEED.voicemails, contentKey: SEED_ITEM_KEYS.voicemail };
    const issued = structured(await c.call(DELETE, args));
    secret(issued.confirmationToken);
    await redis.stop();
    try {
      const refused = await c.call(DELETE, { ...args, confirmationToken: issued.confirmationToken });
      expect(refused.isError).toBe(true);
      expect(structured(refused).error?.code, said(refused)).toBe("state_unavailable");
      const ask = await c.call(DELETE, { guid: SEED.inboundCall, contentKey: "transcript" });
      expect(structured(ask).error?.code, said(ask)).toBe("state_unavailable");
      // Reads need no shared state: listing, and a search from its start.
      const listed = await c.call(LIST, { guid: SEED.voicemails });
      expect(listed.isError, said(listed)).toBeFalsy();
      const found = await c.call("search_interactions", { from: "2026-11-20", to: "2026-11-20", party: [CRITERIA.connectFrom] });
      expect(found.isError, said(found)).toBeFalsy();
      expect(structured(found).interactions.length).toBeGreaterThan(0);
      // Any replica, through a new session: the same.
      const other = await session();
      expect(structured(await other.call(DELETE, args)).error?.code).toBe("state_unavailable");
      await sim.idle();
      expect(deletes()).toHaveLength(0);
      expect(sim.holds(args.guid, args.contentKey)).toBe(true);
    } finally {
      await redis.start();
    }
    // Redis came back empty (no persistence): the replicas reconnect by themselves; the old token is
    // unknown now, a new one is issued on one replica and redeemed on another.
    const [x, y] = await sessionsOnTwoReplicas();
    // A replica has reconnected once it issues a token again (asked until then; y's token is not used).
    const issuedOnceBack = (s: Session) =>
      vi.waitFor(
        async () => {
          const asked = structured(await s.call(DELETE, args));
          secret(asked.confirmationToken);
          expect(asked.status).toBe("confirmation_required");
          return asked;
        },
        { timeout: 10_000, interval: 100 },
      );
    const fresh = await issuedOnceBack(x);
    await issuedOnceBack(y);
    // The first session's replica too (asked until it has reconnected).
    await vi.waitFor(
      async () => {
        const stale = await c.call(DELETE, { ...args, confirmationToken: issued.confirmationToken });
        expect(structured(stale).error?.code, said(stale)).toBe("confirmation_invalid");
      },
      { timeout: 10_000, interval: 100 },
    );
    const redeemed = await y.call(DELETE, { ...args, confirmationToken: fresh.confirmationToken });
    expect(shown(redeemed), said(redeemed)).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(deletes()).toHaveLength(1);
    expect(set.replicas.every((r) => r.alive())).toBe(true);
  });

  // Last in this block: it kills a replica.
  it("a replica killed mid erasure job: another takes the job over and finishes it, each item deleted once (the one in flight at most twice)", async () => {
    const items = simItems(sim, generated);
    expect(items).toHaveLength(10);
    const c = await session();
    const asked = structured(await c.call("erase_interaction_content", CRITERIA));
    expect(asked.status).toBe("confirmation_required");
    secret(asked.confirmationToken);
    // The third DELETE is slow: the replica is killed while it is in flight; the API still carries it out.
    sim.injectFaults("delete-content", {}, {}, { latencyMs: SLOW_MS });
    const started = structured(await c.call("erase_interaction_content", { ...CRITERIA, confirmationToken: asked.confirmationToken }));
    expect(started.status, redact(JSON.stringify(started))).toBe("running");
    const jobId: string = started.jobId;
    await vi.waitFor(() => expect(deletes()).toHaveLength(3), { timeout: 10_000, interval: 10 });
    const killed = c.replica;
    await set.kill(killed);

    // No client does anything: a surviving replica's sweeper finds the lapsed lease and resumes the job.
    await vi.waitFor(() => expect(items.filter((item) => sim.holds(item.guid, item.contentKey))).toEqual([]), {
      timeout: 20_000,
      interval: 50,
    });
    const survivor = await session();
    expect(survivor.replica).not.toBe(killed);
    let job: Record<string, unknown> = {};
    await vi.waitFor(
      async () => {
        job = structured(await survivor.call("get_erasure_job", { jobId })).job ?? {};
        expect(job.status).toBe("completed");
      },
      { timeout: 10_000, interval: 100 },
    );

    await sim.idle();
    const byPath = deletesByPath(sim);
    const planned = new Set(items.map((item) => deletePath(sim, item)));
    expect([...byPath.keys()].filter((path) => !planned.has(path))).toEqual([]);
    const statuses = items.map((item) => byPath.get(deletePath(sim, item))?.map((e) => e.status));
    // Exactly one 204 each; the item in flight when the replica died may have been sent once more (404).
    for (const s of statuses) expect(s?.filter((status) => status === 204)).toEqual([204]);
    const repeated = statuses.filter((s) => (s?.length ?? 0) > 1);
    expect(repeated.length).toBeLessThanOrEqual(1);
    for (const s of repeated) expect(s).toEqual([204, 404]);
  });
});
