// Approvers' sign-in across replicas (issue 22): two team servers (the HTTP transport in this process,
// twice) behind one public origin, each with its own RedisState connection to ONE real redis-server,
// and one real OpenID provider (oidc-provider). Requests without an Mcp-Session-Id (approval pages,
// the sign-in's return) may reach any replica behind a round-robin load balancer: here the test
// sends each to the replica it chooses. The approver's browser is played over plain HTTP with a
// cookie jar: it follows the provider's redirects and submits its login form.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SEED } from "../../src/simulator/seed.js";
import { type Simulator, startSimulator } from "../../src/simulator/server.js";
import { RedisState } from "../../src/state/redis.js";
import { formKeyOf, type PageResponse, pageRequest, postDecision } from "../helpers/approval-page.js";
import { connectHttp, freePort, type HttpConnected, type InProcessHttp, startInProcessHttp } from "../helpers/http.js";
import { SECRET_TOKEN, SECRET_TOKEN_SCOPES, structured } from "../helpers/mcp.js";
import {
  DELETE_SCOPE,
  FOUR_EYES_APPROVAL_ENV,
  MACHINE,
  type OpenIdProvider,
  PEOPLE,
  READ_SCOPE,
  startOpenIdProvider,
  TEAM_SERVER,
} from "../helpers/openid-provider.js";
import { eventually, type RedisServer, startRedis } from "../helpers/redis-server.js";

const TOOL = "delete_interaction_content";

interface Replica {
  name: string;
  server: InProcessHttp;
  state: RedisState;
  port: number;
  audit: string;
}

let redis: RedisServer;
let sim: Simulator;
let op: OpenIdProvider;
let dir: string;
/** The load balancer's origin: what the replicas are configured with and what links name. */
let publicUrl: string;
let a: Replica;
let b: Replica;
let prefix: string;
const clients: HttpConnected[] = [];

beforeAll(async () => {
  redis = await startRedis();
  sim = await startSimulator({ staticTokens: { [SECRET_TOKEN]: SECRET_TOKEN_SCOPES } });
  dir = mkdtempSync(join(tmpdir(), "vcc-team-replicas-"));
  // Nothing listens on the public origin: the test is the load balancer.
  publicUrl = `http://127.0.0.1:${await freePort()}`;
  op = await startOpenIdProvider({ resources: [`${publicUrl}/mcp`], teamServerRedirect: `${publicUrl}/approve/callback` });
  prefix = `t-${Date.now()}:`;
  const replica = async (name: string): Promise<Replica> => {
    const state = new RedisState({
      url: redis.url,
      prefix,
      pollMinMs: 10,
      pollMaxMs: 50,
      maxReconnectDelayMs: 50,
      commandTimeoutMs: 1_000,
    });
    await eventually(() => state.ping().then(() => true), "Redis to answer");
    const audit = join(dir, `audit-${name}.jsonl`);
    const server = await startInProcessHttp({
      state,
      env: {
        VCC_HTTP_AUTH: "oauth",
        VCC_OAUTH_ISSUER: op.issuer,
        VCC_HTTP_PUBLIC_URL: publicUrl,
        VCC_ACCESS_TOKEN: SECRET_TOKEN,
        VCC_API_BASE_URL: sim.apiBaseUrl,
        // Four eyes: the approver's claims must reach the replica that decides, with the session.
        ...FOUR_EYES_APPROVAL_ENV,
        VCC_AUDIT_LOG: audit,
      },
    });
    return { name, server, state, port: Number(new URL(server.url).port), audit };
  };
  a = await replica("a");
  b = await replica("b");
});
afterAll(async () => {
  for (const r of [a, b]) {
    await r?.server.stop();
    await r?.state.close();
  }
  await op?.close();
  await sim?.close();
  await redis?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  for (const r of [a, b]) expect(r.server.stderr()).not.toContain(TEAM_SERVER.clientSecret);
});

/** An MCP session on `replica` for the machine client (client credentials), with a token for the public resource. */
async function sessionOn(replica: Replica): Promise<HttpConnected> {
  const response = await fetch(`${op.issuer}/token`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${MACHINE.clientId}:${MACHINE.clientSecret}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ grant_type: "client_credentials", scope: `${READ_SCOPE} ${DELETE_SCOPE}`, resource: `${publicUrl}/mcp` }),
  });
  const { access_token } = (await response.json()) as { access_token?: string };
  if (!access_token) throw new Error("no access token");
  const connected = await connectHttp(replica.server, { bearer: access_token });
  clients.push(connected);
  await connected.client.listTools();
  return connected;
}

/** Asks for a deletion on `replica`: the approval link (on the public origin) and the token to redeem once approved. */
async function ask(session: HttpConnected, contentKey: string): Promise<{ approvalUrl: string; confirmationToken: string }> {
  const asked = structured(await session.call(TOOL, { guid: SEED.inboundCall, contentKey }));
  expect(asked.status).toBe("confirmation_required");
  expect(asked.approvalUrl.startsWith(`${publicUrl}/approve/`)).toBe(true);
  return asked as { approvalUrl: string; confirmationToken: string };
}

/** A person's browser: one cookie jar (the provider and the server share the host name, as a browser keys cookies). */
class Browser {
  readonly jar = new Map<string, string>();

  /** A request to `url`; one on the public origin goes to `via` (the replica the load balancer picked). */
  async request(url: string, options: { via?: Replica; method?: string; form?: Record<string, string> } = {}): Promise<PageResponse> {
    const target = new URL(url);
    const onPublic = target.origin === publicUrl;
    if (onPublic) {
      if (!options.via) throw new Error(`which replica should ${target.pathname} reach?`);
      target.port = String(options.via.port);
    }
    const cookie = [...this.jar].map(([name, value]) => `${name}=${value}`).join("; ");
    const headers: Record<string, string | undefined> = { cookie: cookie || undefined };
    const body = options.form ? new URLSearchParams(options.form).toString() : undefined;
    if (body !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
    const response =
      onPublic && options.method === "POST"
        ? await postDecision(target.href, options.form ?? {}, {
            host: new URL(publicUrl).host,
            headers: { ...headers, origin: publicUrl, referer: url },
          })
        : await pageRequest(target.href, {
            method: options.method ?? "GET",
            host: onPublic ? new URL(publicUrl).host : target.host,
            headers,
            ...(body !== undefined ? { body } : {}),
          });
    this.keep(response);
    return response;
  }

  keep(response: PageResponse): void {
    const set = response.headers["set-cookie"] ?? [];
    for (const line of Array.isArray(set) ? set : [set]) {
      const [pair = "", ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const gone = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=thu, 01 jan 1970/i.test(a));
      if (!value || gone) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  /**
   * Opens the approval link through `via` (not signed in: sent to the provider), signs `login` in at
   * the provider, and stops where the provider sends the browser back: the sign-in's return URL, for
   * the test to send to a replica of its choice.
   */
  async signInAt(approvalUrl: string, via: Replica, login: string): Promise<string> {
    const start = await this.request(approvalUrl, { via });
    expect(start.status).toBe(302);
    let location = new URL(String(start.headers.location));
    expect(location.origin).toBe(op.issuer);
    for (let step = 0; step < 20; step++) {
      if (location.origin === publicUrl) return location.href;
      let response = await this.request(location.href);
      if (response.status === 200 && response.body.includes('name="login"')) {
        const action = /<form[^>]*action="([^"]+)"/.exec(response.body)?.[1];
        if (!action) throw new Error("the provider's login form has no action");
        response = await this.request(new URL(action.replaceAll("&amp;", "&"), location).href, {
          method: "POST",
          form: { prompt: "login", login, password: "any password" },
        });
      }
      if (response.status < 300 || response.status >= 400 || !response.headers.location)
        throw new Error(`the provider answered ${response.status}: ${response.body.slice(0, 300)}`);
      location = new URL(String(response.headers.location), location);
    }
    throw new Error("the provider never sent the browser back");
  }

  /** Sends the page's form (approve or cancel) through `via`. */
  async decide(approvalUrl: string, via: Replica, decision: "approve" | "reject", formKey: string): Promise<PageResponse> {
    return this.request(approvalUrl, { via, method: "POST", form: { formKey, decision } });
  }
}

const auditOf = (replica: Replica) =>
  readFileSync(replica.audit, "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe("approvers' sign-in shared by replicas (Redis)", () => {
  it("a sign-in started on A completes on B; the decision on A is the signed-in approver's, and the call on B deletes once", async () => {
    sim.reset();
    const onB = await sessionOn(b);
    const { approvalUrl, confirmationToken } = await ask(onB, "callRecording");

    const bob = new Browser();
    const callback = await bob.signInAt(approvalUrl, a, "bob");
    expect(new URL(callback).pathname).toBe("/approve/callback");
    // The provider sends the browser back through the load balancer: this time to replica B.
    const back = await bob.request(callback, { via: b });
    expect(back.status).toBe(303);
    expect(back.headers.location).toBe(new URL(approvalUrl).pathname);
    expect(bob.jar.has("vcc_approver")).toBe(true);

    // The page through A: A knows who signed in through B, with the claims that let him approve.
    const page = await bob.request(approvalUrl, { via: a });
    expect(page.status).toBe(200);
    expect(page.body).toContain(PEOPLE.bob?.name);
    expect(page.body).toContain("Delete permanently");
    expect(sim.requests("DELETE")).toHaveLength(0);
    const decided = await bob.decide(approvalUrl, a, "approve", formKeyOf(page.body));
    expect(decided.status).toBe(303);

    // The call on B (where the token was issued) now deletes, once, recording Bob as the approver.
    const done = structured(await onB.call(TOOL, { guid: SEED.inboundCall, contentKey: "callRecording", confirmationToken }));
    expect(done).toMatchObject({ status: "deleted", httpStatus: 204 });
    expect(sim.requests("DELETE")).toHaveLength(1);
    expect(auditOf(b).find((line) => line.event === "deletion")).toMatchObject({
      outcome: "deleted",
      approver: { subject: "bob", name: PEOPLE.bob?.name, issuer: op.issuer },
      requester: { subject: MACHINE.clientId },
    });

    // Signed in once, seen by both: a request asked on A is opened through B without a new sign-in,
    // and cancelled there; the call on A learns it.
    const onA = await sessionOn(a);
    const second = await ask(onA, "transcript");
    const secondPage = await bob.request(second.approvalUrl, { via: b });
    expect(secondPage.status).toBe(200);
    expect((await bob.decide(second.approvalUrl, b, "reject", formKeyOf(secondPage.body))).status).toBe(303);
    const cancelled = structured(
      await onA.call(TOOL, { guid: SEED.inboundCall, contentKey: "transcript", confirmationToken: second.confirmationToken }),
    );
    expect(cancelled.status).toBe("cancelled");
    expect(sim.requests("DELETE")).toHaveLength(1);

    // The sign-in's return was taken once: replaying it on A (or B) is refused, and signs nobody in.
    const replay = new Browser();
    replay.jar.set("vcc_signin", new URL(callback).searchParams.get("state") ?? "");
    for (const via of [a, b]) {
      const again = await replay.request(callback, { via });
      expect(again.status).toBe(400);
      expect(again.body).toMatch(/Sign-in not recognised/);
    }
    expect(replay.jar.has("vcc_approver")).toBe(false);
    // Neither the sign-in's state nor the session cookie reaches a log (Redis keeps only their hashes).
    const secrets = [
      new URL(callback).searchParams.get("state") ?? "",
      bob.jar.get("vcc_approver") ?? "",
      new URL(callback).searchParams.get("code") ?? "",
    ];
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(20);
      for (const r of [a, b]) expect(r.server.stderr()).not.toContain(secret);
    }
    const admin = new Redis(redis.url);
    try {
      const keys = await admin.keys(`${prefix}*`);
      expect(keys.some((key) => key.startsWith(`${prefix}ses:`))).toBe(true);
      for (const secret of secrets) expect(keys.join(" ")).not.toContain(secret);
    } finally {
      admin.disconnect();
    }
  });

  it("a sign-in return is refused on any replica when this browser did not start it", async () => {
    sim.reset();
    const onA = await sessionOn(a);
    const { approvalUrl } = await ask(onA, "callRecording");
    const carol = new Browser();
    const callback = await carol.signInAt(approvalUrl, b, "carol");
    // Another browser (no sign-in cookie of its own) cannot complete it, on either replica.
    const other = new Browser();
    expect((await other.request(callback, { via: a })).status).toBe(400);
    // Nor did that attempt use it up: Carol completes her own sign-in on A.
    expect((await carol.request(callback, { via: a })).status).toBe(303);
    // Not an approver (four eyes): she sees the page but no button, whichever replica answers.
    const page = await carol.request(approvalUrl, { via: b });
    expect(page.status).toBe(200);
    expect(page.body).toContain(PEOPLE.carol?.name);
    expect(page.body).not.toContain("Delete permanently");
  });

  // Last: stops Redis.
  it("while Redis is unreachable, the sign-in and the page answer 503 and nothing is decided", async () => {
    sim.reset();
    const onA = await sessionOn(a);
    const { approvalUrl } = await ask(onA, "callRecording");
    const bob = new Browser();
    const first = await bob.signInAt(approvalUrl, b, "bob");
    expect((await bob.request(first, { via: a })).status).toBe(303);
    const page = await bob.request(approvalUrl, { via: b });
    const formKey = formKeyOf(page.body);
    // A second sign-in (another browser) is under way when Redis goes.
    const dave = new Browser();
    const pending = await dave.signInAt(approvalUrl, a, "bob");

    await redis.stop();
    await eventually(
      async () =>
        (await a.state
          .ping()
          .then(() => false)
          .catch(() => true)) &&
        (await b.state
          .ping()
          .then(() => false)
          .catch(() => true)),
      "both replicas to lose Redis",
    );
    const returned = await dave.request(pending, { via: b });
    expect(returned.status).toBe(503);
    expect(returned.body).toMatch(/Sign-in is unavailable right now/);
    expect(dave.jar.has("vcc_approver")).toBe(false);
    const started = await new Browser().request(approvalUrl, { via: a });
    expect(started.status).toBe(503);
    for (const via of [a, b]) {
      const shown = await bob.request(approvalUrl, { via });
      expect(shown.status).toBe(503);
      expect(shown.body).toMatch(/cannot be reached right now/);
      const posted = await bob.decide(approvalUrl, via, "approve", formKey);
      expect(posted.status).toBe(503);
    }
    expect(sim.requests("DELETE")).toHaveLength(0);
    await redis.start();
  });
});
