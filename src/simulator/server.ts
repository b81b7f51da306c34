// A local stand-in for the VCC Interaction Content API and its token endpoint, over real HTTP on
// 127.0.0.1. It follows ../shared/api/interaction-content-api.md; tests read its journal to assert
// exactly what reached "the API", and inject faults to see what the user is told.
//
// Files: server.ts (this: HTTP, the order of checks, journal, delivery), routes.ts (the six API
// routes and the GUID/key rules), auth.ts (token endpoint, bearer tokens, scopes), faults.ts,
// rate-limit.ts, seed.ts (the data), cli.ts (npm run simulator).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { listenOnLoopback } from "../http-guards.js";
import { type Answer, messageAnswer } from "./answer.js";
import {
  type AuthState,
  DEFAULT_CLIENTS,
  DEFAULT_STATIC_TOKENS,
  DELETE_SCOPE,
  forbidden,
  READ_SCOPE,
  type SimClient,
  TokenStore,
  unauthorized,
} from "./auth.js";
import { type Fault, FaultBook, type FaultRule, faultAnswer, hasAnswer, replacesAnswer } from "./faults.js";
import { RateLimiter, type RateLimitSpec } from "./rate-limit.js";
import { API_PREFIX, classify, DELETE_ROUTES, findContent, handleApi, type RouteName, type Store, TOKEN_PATH } from "./routes.js";
import { generatedInteractions, type SimInteraction, searchSampleInteractions, seedInteractions } from "./seed.js";

export { DEFAULT_CLIENTS, DEFAULT_STATIC_TOKENS, DELETE_SCOPE, READ_SCOPE, type SimClient } from "./auth.js";
export type { Fault, FaultRule } from "./faults.js";
export { parseFaultList } from "./faults.js";
export type { RouteName } from "./routes.js";
export { SEARCH_SAMPLE, SEED, SEED_ITEM_KEYS, type SimContent, type SimInteraction, searchSampleGuid } from "./seed.js";

const ACCEPTED_VERSIONS = ["application/vnd.newvoicemedia.v2+json", "application/vnd.newvoicemedia.v3+json"];
const INVALID_VERSION_MESSAGE = `Invalid api-version! Valid values: ${ACCEPTED_VERSIONS.map((v) => `'${v}'`).join(", ")}`;
const MAX_BODY = 1_000_000;

export interface JournalEntry {
  /** When the request arrived (ISO 8601). */
  time: string;
  method: string;
  /** The raw request target, exactly as received (before any dot-segment normalisation). */
  path: string;
  route: RouteName;
  /** Request headers, lower-case names; Authorization (and Proxy-Authorization) redacted to their scheme. */
  headers: Record<string, string>;
  /** The request body, if any (client_secret redacted on the token endpoint). */
  body?: string;
  /**
   * The status of the answer the simulator produced — also when a fault then dropped or cut the
   * connection after the action; undefined when the connection was dropped before answering.
   */
  status?: number;
  /** With an `afterAction` fault: the status of the normal answer (e.g. 204: the deletion took effect) that the fault replaced. */
  actionStatus?: number;
  /** What the request's bearer token was ("not-needed" on the token endpoint and unknown paths). */
  auth: AuthState | "not-needed";
  /** The injected fault this request met, if any. */
  fault?: Fault;
}

export interface SimulatorOptions {
  port?: number;
  /** Lifetime of issued tokens, seconds (default 7200). */
  tokenExpiresIn?: number;
  /**
   * API requests per second (a number), or in any window (`{ limit, windowMs }`: Vonage's samples
   * keep to about 16 deletions a minute), before answering 429 (default: unlimited).
   */
  rateLimit?: number | RateLimitSpec;
  /**
   * Whether a 429 (rate limit or concurrent deletion) carries Retry-After (default true). VCC
   * documents none: false is the API as documented.
   */
  retryAfterHeader?: boolean;
  /** Client credentials accepted by the token endpoint (default: DEFAULT_CLIENTS). */
  clients?: Record<string, SimClient>;
  /** Static bearer tokens and their scopes (default: sandbox-token with every scope). */
  staticTokens?: Record<string, string[]>;
  /** Added to every request (ms). */
  latencyMs?: number;
  /** Default page size of GET /interactions when no `limit` is given (default 3). */
  pageSize?: number;
  /**
   * Whether GET /interactions treats `end` as inclusive (default true, as the newer docs page says)
   * or exclusive (the older page). Clients must cope with both.
   */
  searchEndInclusive?: boolean;
  /** Generated interactions added after the seed data (see generatedInteractions), for benchmarks. */
  extraInteractions?: number;
  /** Faults in place from the start (and again after reset()). */
  faults?: FaultRule[];
  /**
   * A deletion that arrives while an earlier one is still being answered gets 429, as VCC does
   * ("send deletions one at a time"). Default true.
   */
  rejectConcurrentDeletes?: boolean;
  /** The clock for token expiry and the rate limit (ms since the epoch); tests may pass their own. */
  now?: () => number;
  /** Called once per request when it is finished (answered, dropped or abandoned). */
  onRequest?: (entry: JournalEntry) => void;
}

export interface Simulator {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The Interaction Content API base: {url}/interaction-content */
  readonly apiBaseUrl: string;
  /** The token endpoint: {url}/Auth/connect/token */
  readonly authUrl: string;
  readonly port: number;
  /** Every request received, oldest first. */
  readonly journal: JournalEntry[];
  /** The interactions as they are now (a live view; do not mutate). */
  interactions(): readonly SimInteraction[];
  /** Whether the interaction still holds this content, matched as the API matches keys. */
  holds(guid: string, contentKey: string): boolean;
  /** Queue faults for the next matching requests (route or "*" for all), used one each. */
  injectFaults(route: RouteName | "*", ...faults: Fault[]): void;
  /** A fault applied to every matching request until cleared (undefined) or reset(). */
  setStandingFault(route: RouteName | "*", fault: Fault | undefined): void;
  /** How many queued faults have not been used yet. */
  pendingFaults(): number;
  /** Requests per second (a number) or in any window; undefined: unlimited. */
  setRateLimit(limit: number | RateLimitSpec | undefined): void;
  /** Issue tokens with this lifetime from now on. */
  setTokenExpiresIn(seconds: number): void;
  /** Expire every issued token now (static tokens never expire). */
  expireTokens(): void;
  /** Every access token issued since the last reset (tests check that none leaks). */
  issuedTokens(): string[];
  /**
   * Back to the start: seed data, empty journal, the options' faults, rate limit and token lifetime.
   * Tokens already issued stay valid, as they would at VCC.
   */
  reset(): void;
  /** Lets every request held by a `hold` fault go on (it then acts and answers as it would have). */
  release(): void;
  /** Requests in the journal matching method and route. */
  requests(method?: string, route?: RouteName): JournalEntry[];
  /**
   * Resolves once no request is being handled (added latency and slow bodies included, also of
   * requests whose client gave up) and none arrived for one turn of the event loop: what a test
   * awaits instead of sleeping to see that nothing more happens.
   */
  idle(): Promise<void>;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let size = 0;
    let tooLarge = false;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(tooLarge ? undefined : Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** The request target as a URL, its path normalised (a leading "//" is a path, not a host). */
function parseTarget(target: string): URL {
  try {
    return new URL(target.startsWith("/") ? `http://simulator.local${target}` : target);
  } catch {
    return new URL("http://simulator.local/unparseable-request-target");
  }
}

/**
 * Waits (added latency, slow bodies, holds) that reset() and close() cut short. A request still waiting
 * when the simulator is reset belongs to the previous test: it is abandoned (connection closed, no
 * action), so it cannot delete from the fresh seed data.
 */
class Waits {
  #epoch = 0;
  readonly #wakers = new Set<() => void>();
  readonly #held = new Set<() => void>();

  get epoch(): number {
    return this.#epoch;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wakers.add(wake);
    });
  }

  /** Until release() or abandonAll(). */
  hold(): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.#held.delete(wake);
        this.#wakers.delete(wake);
        resolve();
      };
      this.#held.add(wake);
      this.#wakers.add(wake);
    });
  }

  release(): void {
    for (const wake of [...this.#held]) wake();
  }

  abandonAll(): void {
    this.#epoch++;
    for (const wake of [...this.#wakers]) wake();
  }
}

function redactHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(", ") : value;
    if (name === "authorization" || name === "proxy-authorization") {
      const scheme = text.match(/^\s*([A-Za-z][\w.-]*)\s+\S/);
      headers[name] = scheme ? `${scheme[1]} [REDACTED]` : "[REDACTED]";
    } else headers[name] = text;
  }
  return headers;
}

/** Whether the Accept header names a supported API version (media types compare case-insensitively). */
function acceptsVersion(accept: string | undefined): boolean {
  const types = (accept ?? "").split(",").map((t) => t.split(";")[0]?.trim().toLowerCase());
  return types.some((t) => t !== undefined && ACCEPTED_VERSIONS.includes(t));
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const now = options.now ?? Date.now;
  // Generated once (a few ms: tests reset before each test, some before each generated case) and
  // copied once. The routes only ever take content away from an interaction, so a reset gives back
  // their content to those that lost some (the same objects: the GUID index stays valid) instead of
  // copying all of them again (~700 with the search sample: 2.4 ms per reset, the property tests
  // reset 1300 times).
  const template = [...seedInteractions(), ...searchSampleInteractions(), ...generatedInteractions(options.extraInteractions ?? 0)];
  const store: Store = {
    interactions: template.map(copyInteraction),
    pageSize: options.pageSize ?? 3,
    endInclusive: options.searchEndInclusive ?? true,
  };
  const restoreData = () => {
    template.forEach((original, index) => {
      const current = store.interactions[index];
      if (current && current.content.length !== original.content.length) current.content = copyInteraction(original).content;
    });
  };
  const journal: JournalEntry[] = [];
  const tokens = new TokenStore(
    { clients: options.clients ?? DEFAULT_CLIENTS, staticTokens: options.staticTokens ?? DEFAULT_STATIC_TOKENS, now },
    options.tokenExpiresIn ?? 7200,
  );
  const faults = new FaultBook(options.faults);
  const limiterFor = (limit: number | RateLimitSpec | undefined) =>
    limit === undefined || limit === 0 ? undefined : new RateLimiter(typeof limit === "number" ? { limit } : limit, now);
  /** Retry-After of a 429, unless the simulator answers as the API is documented (none). */
  const retryAfterOf = (seconds: number): Record<string, string> =>
    options.retryAfterHeader === false ? {} : { "retry-after": String(seconds) };
  let limiter = limiterFor(options.rateLimit);
  const rejectConcurrentDeletes = options.rejectConcurrentDeletes ?? true;
  /** Deletions being answered right now, by arrival number. */
  let deletesInFlight = new Set<number>();
  let arrivals = 0;
  const waits = new Waits();
  /** Requests received and not yet handled to the end; whoever awaits idle() when it drops to 0. */
  let handling = 0;
  let received = 0;
  const idleWaiters = new Set<() => void>();

  /**
   * The normal answer to an API request. The checks run in this order: rate limit (the gateway),
   * Accept version, bearer token, unknown route, scope, concurrent deletion, then the route's own
   * rules (GUID, content key, existence).
   */
  function answerApi(
    req: IncomingMessage,
    route: RouteName,
    segments: string[],
    url: URL,
    body: string,
    verdicts: { retryAfter: number; concurrent: boolean },
    entry: JournalEntry,
  ): Answer {
    if (verdicts.retryAfter > 0) return messageAnswer(429, "Too many requests", retryAfterOf(verdicts.retryAfter));
    if (!acceptsVersion(req.headers.accept)) return messageAnswer(400, INVALID_VERSION_MESSAGE);
    const auth = tokens.authenticate(req.headers);
    entry.auth = auth.state;
    if (auth.state !== "valid") return unauthorized(auth.state);
    if (route === "unknown") return messageAnswer(404, "Resource not found");
    const needed = DELETE_ROUTES.includes(route) ? DELETE_SCOPE : READ_SCOPE;
    if (!auth.scopes.includes(needed)) return forbidden(needed);
    if (verdicts.concurrent) {
      return messageAnswer(429, "Another deletion is in progress: send deletions one at a time", retryAfterOf(1));
    }
    return handleApi({ route, segments, query: url.searchParams, range: req.headers.range, body }, store);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, entry: JournalEntry): Promise<void> {
    const method = entry.method;
    const epoch = waits.epoch;
    const abandoned = () => waits.epoch !== epoch;
    // Resolve dot segments (also %2e) the way URL parsers and proxies do, so that a client that
    // lets ".." through is seen hitting a different endpoint.
    const url = parseTarget(entry.path);
    const { route, segments } = classify(method, url.pathname);
    entry.route = route;
    const isApi = url.pathname.startsWith(`${API_PREFIX}/`);

    // Decided on arrival: which fault, the rate limit, and whether an earlier deletion is still running.
    const fault = faults.take(route);
    if (fault) entry.fault = fault;
    const arrival = ++arrivals;
    let concurrent = false;
    if (DELETE_ROUTES.includes(route)) {
      concurrent = rejectConcurrentDeletes && deletesInFlight.size > 0;
      const inFlight = deletesInFlight;
      inFlight.add(arrival);
      res.on("close", () => inFlight.delete(arrival));
    }
    const retryAfter = isApi && !replacesAnswer(fault) && fault?.drop !== "before" && limiter ? limiter.take() : 0;

    const body = await readBody(req);
    if (body) entry.body = route === "token" ? body.replace(/(^|&)(client_secret=)[^&]*/g, "$1$2[REDACTED]") : body;
    const latency = (options.latencyMs ?? 0) + (fault?.latencyMs ?? 0);
    if (latency > 0) await waits.sleep(latency);
    if (fault?.hold) await waits.hold();
    if (abandoned() || fault?.drop === "before") {
      req.socket.destroy();
      return;
    }

    let answer: Answer;
    if (fault && replacesAnswer(fault)) answer = faultAnswer(fault);
    else if (body === undefined) answer = messageAnswer(413, "Request body too large");
    else if (route === "token") answer = tokens.tokenRequest(method, req.headers, body);
    else if (isApi) answer = answerApi(req, route, segments, url, body, { retryAfter, concurrent }, entry);
    else if (url.pathname === "/" && method === "GET") answer = indexPage();
    else answer = messageAnswer(404, "Resource not found");
    // Performed, but the client is told otherwise (a gateway failing after the API acted).
    if (fault?.afterAction && hasAnswer(fault)) {
      entry.actionStatus = answer.status;
      answer = faultAnswer(fault);
    }
    entry.status = answer.status;

    if (fault?.drop === "after") {
      req.socket.destroy();
      return;
    }
    await deliver(req, res, answer, fault, waits, abandoned);
  }

  function indexPage(): Answer {
    const text = `VCC Interaction Content API simulator\nAPI base: ${simulator.apiBaseUrl}\ntoken endpoint: ${simulator.authUrl}\n`;
    return { status: 200, headers: { "content-type": "text/plain; charset=utf-8" }, body: Buffer.from(text) };
  }

  const server: Server = createServer((req, res) => {
    // A client that went away must not crash the simulator when it writes.
    res.on("error", () => {});
    const entry: JournalEntry = {
      time: new Date(now()).toISOString(),
      method: req.method ?? "GET",
      path: req.url ?? "/",
      route: "unknown",
      headers: redactHeaders(req),
      auth: "not-needed",
    };
    journal.push(entry);
    if (options.onRequest) {
      const report = options.onRequest;
      res.on("close", () => report(entry));
    }
    handling++;
    received++;
    handle(req, res, entry)
      .catch((error: unknown) => {
        entry.status = 500;
        const answer = messageAnswer(500, `Simulator error: ${error instanceof Error ? error.message : String(error)}`);
        if (!res.headersSent) res.writeHead(answer.status, { ...answer.headers, "content-length": answer.body.length }).end(answer.body);
        else res.destroy();
      })
      .finally(() => {
        if (--handling > 0) return;
        for (const wake of [...idleWaiters]) wake();
        idleWaiters.clear();
      });
  });

  // Keep-alive connections must not keep close() waiting.
  server.keepAliveTimeout = 5_000;
  const port = await listenOnLoopback(server, options.port);
  const url = `http://127.0.0.1:${port}`;

  const simulator: Simulator = {
    url,
    apiBaseUrl: `${url}${API_PREFIX}`,
    authUrl: `${url}${TOKEN_PATH}`,
    port,
    journal,
    interactions: () => store.interactions,
    holds: (guid, contentKey) => {
      const interaction = store.interactions.find((i) => i.guid.toLowerCase() === guid.toLowerCase());
      return interaction !== undefined && findContent(interaction, contentKey) >= 0;
    },
    injectFaults: (route, ...list) => faults.queue(route, list),
    setStandingFault: (route, fault) => faults.setStanding(route, fault),
    pendingFaults: () => faults.pending,
    setRateLimit: (limit) => {
      limiter = limiterFor(limit);
    },
    setTokenExpiresIn: (seconds) => {
      tokens.expiresIn = seconds;
    },
    expireTokens: () => tokens.expireAll(),
    issuedTokens: () => tokens.issuedSinceReset(),
    reset: () => {
      restoreData();
      journal.length = 0;
      faults.load(options.faults ?? []);
      tokens.expiresIn = options.tokenExpiresIn ?? 7200;
      tokens.startNewPeriod();
      limiter = limiterFor(options.rateLimit);
      // Requests still waiting from before are abandoned and no longer hold up new deletions.
      waits.abandonAll();
      deletesInFlight = new Set();
    },
    release: () => waits.release(),
    requests: (method, route) => journal.filter((e) => (!method || e.method === method) && (!route || e.route === route)),
    idle: async () => {
      for (;;) {
        while (handling > 0) await new Promise<void>((resolve) => idleWaiters.add(resolve));
        const seen = received;
        await new Promise((resolve) => setImmediate(resolve));
        if (handling === 0 && received === seen) return;
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        waits.abandonAll();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return simulator;
}

/** A copy that shares nothing mutable with `i` (the routes delete content in place). */
function copyInteraction(i: SimInteraction): SimInteraction {
  return {
    ...i,
    handlingAgents: i.handlingAgents.map((a) => ({ ...a })),
    content: i.content.map((c) => ({ ...c, ...(c.owningAgent ? { owningAgent: { ...c.owningAgent } } : {}) })),
  };
}

/** Sends an answer, misbehaving on the wire as the fault says (truncated or slow body). */
async function deliver(
  req: IncomingMessage,
  res: ServerResponse,
  answer: Answer,
  fault: Fault | undefined,
  waits: Waits,
  abandoned: () => boolean,
): Promise<void> {
  if (req.socket.destroyed) return; // The client gave up (e.g. during added latency); the action still took effect.
  const body = answer.body;
  if (fault?.truncate && body.length === 0) {
    // Nothing to cut short but the head itself.
    req.socket.end(`HTTP/1.1 ${answer.status} `);
    return;
  }
  // 204 and 304 carry no Content-Length (RFC 9110 §8.6).
  const bodiless = answer.status === 204 || answer.status === 304;
  res.writeHead(answer.status, bodiless ? answer.headers : { ...answer.headers, "content-length": String(body.length) });
  if (fault?.truncate) {
    res.write(body.subarray(0, Math.max(1, Math.floor(body.length / 2))), () => req.socket.destroy());
    return;
  }
  if (fault?.slowBodyMs && body.length > 0) {
    const piece = Math.ceil(body.length / 16);
    for (let i = 0; i < body.length; i += piece) {
      if (res.destroyed) return;
      if (abandoned()) {
        req.socket.destroy();
        return;
      }
      res.write(body.subarray(i, i + piece));
      await waits.sleep(fault.slowBodyMs);
    }
    res.end();
    return;
  }
  res.end(body);
}
