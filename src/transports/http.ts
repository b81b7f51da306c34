// MCP over Streamable HTTP at /mcp. Each MCP session gets its own McpServer, and so its own
// confirmations and prompts; all sessions share the process's API client (one connection pool).
// Before anything else, every request must name this server in Host/Origin (DNS rebinding) and,
// carry the client's credentials: the static VCC_HTTP_BEARER (one private user), or with
// VCC_HTTP_AUTH=oauth an access token of the configured authorization server (the team server,
// src/auth/): then each session belongs to the identity that started it.
import { randomUUID } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname, networkInterfaces } from "node:os";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest, isJSONRPCRequest } from "@modelcontextprotocol/sdk/types.js";
import type { Caller, ResourceServer } from "../auth/resource-server.js";
import { type Config, isLoopbackHost } from "../config.js";
import { describeIdentity, sameIdentity } from "../core/identity.js";
import { discardBody, hostRefusal, readBody, sameSecret } from "../http-guards.js";
import { handleShutdown, type ShutdownPlan } from "../lifecycle.js";
import { log, redact, writeStderr } from "../log.js";
import { allowDeletion, createServer, holdsConfirmations, isDestructiveTool, type ServerDeps } from "../server.js";
import { processState } from "../state/index.js";

export const MCP_PATH = "/mcp";
/** Tool calls are a few hundred bytes; anything near this is not a real client. */
const MAX_BODY_BYTES = 1024 * 1024;
/** A session may make room for a new one once idle this part of its idle timeout (and holding no confirmation). */
const ABANDONED_AFTER_FRACTION = 0.1;
/** How long a shutdown waits for calls in progress. */
const SHUTDOWN_GRACE_MS = 10_000;
const REALM = 'Bearer realm="vcc-interaction-content-mcp"';

interface Session {
  /** Set once the initialize request succeeded. */
  id?: string;
  server: McpServer;
  transport: StreamableHTTPServerTransport;
  /** POST requests being answered (e.g. a tool call waiting for the person's answer). */
  busy: number;
  lastActive: number;
  idleTimer?: NodeJS.Timeout;
  endReason?: string;
  /** Team server: who started the session; only they may use it. */
  caller?: Caller;
}

type JsonBody = { ok: true; value: unknown } | { ok: false; status: number; code: number; message: string };

/** A server listening in this process (tests, embedders): no signal handlers, never exits the process. */
export interface HttpHandle {
  /** http://<host>:<port>/mcp */
  url: string;
  /** Refuses new work, ends every session (releasing its confirmations) and stops listening. */
  close(): Promise<void>;
}

interface Started {
  url: string;
  port: number;
  /** What the process's one shutdown (lifecycle.ts) needs, without its grace period. */
  plan: Required<Omit<ShutdownPlan, "graceMs">>;
}

/** Serves until SIGTERM/SIGINT; a port that cannot be bound is one stderr line and exit code 1. */
export async function serveHttp(given: ServerDeps, summary: string): Promise<void> {
  const { config } = given;
  let started: Started;
  try {
    started = await startHttp(given);
  } catch (error) {
    if (!(error instanceof CannotListen)) throw error;
    const code = error.code;
    const advice = code === "EADDRINUSE" ? ": the port is taken; choose another with --port or VCC_HTTP_PORT (0 picks a free one)" : "";
    writeStderr(
      `vcc-interaction-content-mcp: cannot listen on ${config.http.host}:${config.http.port} (${code || error.message})${advice}\n`,
    );
    process.exitCode = 1;
    return;
  }
  handleShutdown({
    graceMs: config.shutdown.graceSeconds !== undefined ? config.shutdown.graceSeconds * 1000 : SHUTDOWN_GRACE_MS,
    ...started.plan,
  });
  const { url, port } = started;
  const wildcard = config.http.host === "0.0.0.0" || config.http.host === "::";
  // Always printed, whatever the log level: with --port 0 this is the only way to learn the port.
  writeStderr(
    redact(
      `[vcc-mcp] listening on ${url}${wildcard ? ` (all interfaces: clients use this machine's name or address, e.g. http://${hostname()}:${port}${MCP_PATH})` : ""}\n`,
    ),
  );
  logReady(config, summary);
}

/**
 * The same server started in this process: resolves once it listens (rejects if it cannot), logs its
 * ready line, and leaves signals and the process's exit to the caller. The CLI uses serveHttp.
 */
export async function listenHttp(deps: ServerDeps, summary: string): Promise<HttpHandle> {
  const { url, plan } = await startHttp(deps);
  logReady(deps.config, summary);
  let closed: Promise<void> | undefined;
  return {
    url,
    close: () => {
      closed ??= (async () => {
        plan.refuseNewWork();
        await plan.close();
      })();
      return closed;
    },
  };
}

/** A port that could not be bound. */
class CannotListen extends Error {
  constructor(
    readonly code: string,
    cause: unknown,
  ) {
    super(String(cause));
  }
}

function logReady(config: Config, summary: string): void {
  log.info(`ready on Streamable HTTP: ${summary}, ${authSummary(config)}, sessions end after ${config.http.sessionIdleSeconds} s idle`);
}

async function startHttp(given: ServerDeps): Promise<Started> {
  const { config } = given;
  const idleMs = config.http.sessionIdleSeconds * 1000;
  const abandonedMs = Math.ceil(idleMs * ABANDONED_AFTER_FRACTION);
  const bearer = config.http.bearer;
  // Loaded only in this mode (jose and the discovery code are not needed otherwise).
  const state = given.state ?? processState();
  const team = config.http.oauth ? await (await import("../auth/team.js")).teamServer(config.http.oauth, MCP_PATH, state) : undefined;
  const resourceServer = team?.resourceServer;
  const publicApprovals = team?.approvals;
  // Team server with sign-in: every session's approval pages are served here, on the public origin.
  const deps: ServerDeps = { ...given, state, ...(publicApprovals ? { approvals: publicApprovals } : {}) };
  const sessions = new Map<string, Session>();
  const newSessions = new SessionRate(config.http.sessionsPerMinute);
  let allowedHosts = new Set<string>();
  let closing = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;

  const httpServer = createHttpServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error("HTTP request failed", { error });
      if (!res.headersSent) reply(res, 500, "Internal error");
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refused = hostRefusal(req, allowedHosts);
    if (refused) {
      const message = `Forbidden: ${refused} (add its host name to VCC_HTTP_ALLOWED_HOSTS if it should be)`;
      log.warn(`refused a request: ${message}`);
      return refuse(req, res, 403, message);
    }
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (resourceServer?.metadataPaths.includes(path)) return serveMetadata(req, res, resourceServer);
    if (publicApprovals && path.startsWith("/approve/")) return publicApprovals.handle(req, res);
    let caller: Caller | undefined;
    if (resourceServer && path === MCP_PATH) {
      const verdict = await resourceServer.verify(req.headers.authorization);
      if (!verdict.ok) {
        return refuse(req, res, verdict.status, `${statusWord(verdict.status)}: ${verdict.description}`, -32000, verdict.headers);
      }
      caller = verdict.caller;
    }
    if (bearer !== undefined && !hasBearer(req, bearer)) {
      log.debug(`refused an unauthenticated request (${req.headers.authorization ? "wrong credentials" : "no Authorization header"})`);
      return refuse(
        req,
        res,
        401,
        "Unauthorized: this server requires the token configured in its VCC_HTTP_BEARER, sent as 'Authorization: Bearer <token>'",
        -32000,
        {
          "www-authenticate": REALM,
        },
      );
    }
    if (path !== MCP_PATH) return refuse(req, res, 404, `Not found: the MCP endpoint is ${MCP_PATH}`);
    const method = req.method ?? "";
    if (method !== "GET" && method !== "POST" && method !== "DELETE")
      return refuse(req, res, 405, "Method not allowed: use POST, GET or DELETE", -32000, { allow: "GET, POST, DELETE" });

    let body: unknown;
    if (method === "POST") {
      const read = await readJson(req);
      if (!read.ok) return reply(res, read.status, read.message, read.code, read.status === 413 ? { connection: "close" } : {});
      body = read.value;
    }
    const messages = body === undefined ? [] : Array.isArray(body) ? body : [body];

    const sessionId = req.headers["mcp-session-id"];
    if (typeof sessionId !== "string") {
      if (!messages.some((m) => isInitializeRequest(m)))
        return reply(res, 400, "Bad Request: no Mcp-Session-Id header; start a session with an initialize request");
      if (closing) return reply(res, 503, "The server is shutting down: no new sessions", -32000, { connection: "close" });
      // Per person on a team server (behind its TLS proxy every caller has the proxy's address), else per address.
      const wait = newSessions.take(caller ? `person ${caller.identity.issuer} ${caller.identity.subject}` : clientAddress(req));
      if (wait > 0) {
        const from = caller ? describeIdentity(caller.identity) : clientAddress(req);
        log.warn(`refused a new session from ${from}: more than ${config.http.sessionsPerMinute} per minute`);
        return reply(res, 429, `Too many new sessions from ${caller ? "this person" : "this address"}; try again later`, -32000, {
          "retry-after": String(wait),
        });
      }
      return startSession(req, res, body, caller);
    }
    const session = sessions.get(sessionId);
    if (!session)
      return reply(res, 404, "Session not found: it ended (DELETE, idle timeout or restart); start a new session with initialize", -32001);
    if (resourceServer && caller && session.caller) {
      // A session id is not a credential: another person's token does not get into it.
      if (!sameIdentity(session.caller.identity, caller.identity)) {
        log.warn(
          `refused a request on session ${short(sessionId)}: it belongs to another identity (${describeIdentity(caller.identity)} tried)`,
        );
        return reply(res, 403, "Forbidden: this session was started by another identity; start your own session with initialize");
      }
      if (!resourceServer.mayDelete(caller) && messages.some((m) => isToolCall(m) && isDestructiveTool(session.server, m.params.name))) {
        const refusal = resourceServer.deleteScopeMissing();
        return reply(res, 403, `Forbidden: ${refusal.description}`, -32000, refusal.headers);
      }
      // The token in hand decides what the caller sees (it may have gained or lost the delete scope).
      session.caller = caller;
      allowDeletion(session.server, resourceServer.mayDelete(caller));
    }
    // While shutting down, answers to the server's own prompts (and notifications) still get in,
    // so that calls in progress can finish; new calls and streams do not.
    if (closing && method !== "DELETE" && (method === "GET" || messages.some((m) => isJSONRPCRequest(m))))
      return reply(res, 503, "The server is shutting down: no new calls", -32000, { connection: "close" });
    return serveSession(session, req, res, body);
  }

  async function startSession(req: IncomingMessage, res: ServerResponse, body: unknown, caller: Caller | undefined): Promise<void> {
    if (sessions.size >= config.http.maxSessions && !endAbandoned(caller)) {
      log.warn(`refused a new session: ${sessions.size} sessions open, none abandoned`);
      return reply(res, 503, "Too many sessions in progress; try again later", -32000, { "retry-after": String(secondsUntilRoom()) });
    }
    const server = createServer(
      deps,
      caller && resourceServer ? { identity: caller.identity, mayDelete: resourceServer.mayDelete(caller) } : undefined,
    );
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => {
        session.id = id;
        sessions.set(id, session);
        armIdleTimer(session, idleMs);
        log.info(
          `session ${short(id)} started${session.caller ? ` by ${describeIdentity(session.caller.identity)}` : ""} (${sessions.size} open)`,
        );
      },
      onsessionclosed: () => {
        session.endReason ??= "closed by the client";
      },
    });
    const session: Session = { server, transport, busy: 0, lastActive: Date.now(), ...(caller ? { caller } : {}) };
    transport.onclose = () => forget(session);
    server.server.onerror = (error) => log.debug(`session ${short(session.id)}: ${error.message}`);
    await server.connect(transport);
    await serveSession(session, req, res, body);
    // The SDK refused the initialize request (e.g. wrong Accept header): nothing to keep.
    if (session.id === undefined) await server.close();
  }

  async function serveSession(session: Session, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    // A GET is a listening stream that may stay open for hours: it neither keeps a session alive
    // nor holds up a shutdown. POSTs are calls (and answers) in progress.
    const isCall = req.method === "POST";
    session.lastActive = Date.now();
    if (isCall) {
      session.busy++;
      inFlight++;
    }
    res.once("close", () => {
      session.lastActive = Date.now();
      if (!isCall) return;
      session.busy--;
      inFlight--;
      if (inFlight === 0) drained?.();
    });
    if (closing) res.setHeader("connection", "close");
    await session.transport.handleRequest(req, res, body);
  }

  function armIdleTimer(session: Session, ms: number): void {
    session.idleTimer = setTimeout(() => {
      if (session.id === undefined || sessions.get(session.id) !== session) return;
      const idleFor = Date.now() - session.lastActive;
      if (session.busy > 0) armIdleTimer(session, idleMs);
      else if (idleFor < idleMs) armIdleTimer(session, idleMs - idleFor);
      else void end(session, `idle for ${config.http.sessionIdleSeconds} s`);
    }, ms);
    session.idleTimer.unref();
  }

  /**
   * Beyond the cap, only an abandoned session makes room: no call in progress, no confirmation a person
   * or a call may still act on, and idle for a while. Sessions in use are never ended for a newcomer;
   * on a team server, neither are another person's (a session belongs to whoever started it).
   */
  function endAbandoned(newcomer: Caller | undefined): boolean {
    const now = Date.now();
    let idlest: Session | undefined;
    for (const s of sessions.values())
      if (
        (!newcomer || !s.caller || sameIdentity(s.caller.identity, newcomer.identity)) &&
        s.busy === 0 &&
        now - s.lastActive >= abandonedMs &&
        !holdsConfirmations(s.server) &&
        (!idlest || s.lastActive < idlest.lastActive)
      )
        idlest = s;
    if (!idlest) return false;
    log.warn(`${sessions.size} sessions open: ending the longest idle one (no confirmations) to make room`);
    void end(idlest, "replaced by a new session (too many sessions)");
    return true;
  }

  /** When a session could next make room (become abandoned or reach its idle timeout), in whole seconds. */
  function secondsUntilRoom(): number {
    const now = Date.now();
    let soonest = idleMs;
    for (const s of sessions.values()) {
      if (s.busy > 0) continue;
      const after = holdsConfirmations(s.server) ? idleMs : abandonedMs;
      soonest = Math.min(soonest, s.lastActive + after - now);
    }
    return Math.max(1, Math.ceil(soonest / 1000));
  }

  /** Ends a session: its transport closes, which releases its confirmations and aborts its prompts. */
  function end(session: Session, reason: string): Promise<void> {
    session.endReason ??= reason;
    return session.transport.close();
  }

  function forget(session: Session): void {
    clearTimeout(session.idleTimer);
    if (session.id === undefined || sessions.get(session.id) !== session) return;
    sessions.delete(session.id);
    log.info(`session ${short(session.id)} ended (${session.endReason ?? "transport closed"}); ${sessions.size} open`);
  }

  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once("error", reject);
      httpServer.listen(config.http.port, config.http.host, () => {
        httpServer.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    throw new CannotListen((error as NodeJS.ErrnoException).code ?? "", error);
  }
  const { port } = httpServer.address() as AddressInfo;
  allowedHosts = allowedHostnames(config);
  // Behind a TLS proxy, requests name the public host.
  if (config.http.oauth) allowedHosts.add(new URL(config.http.oauth.publicUrl).hostname);
  return {
    url: `http://${urlHost(config.http.host)}:${port}${MCP_PATH}`,
    port,
    plan: {
      refuseNewWork: () => {
        closing = true;
      },
      pending: {
        what: "request(s) in progress",
        count: () => inFlight,
        settled: () => new Promise<void>((resolve) => (drained = resolve)),
      },
      close: async () => {
        await Promise.all([...sessions.values()].map((session) => end(session, "server shutting down")));
        httpServer.close();
        httpServer.closeAllConnections();
      },
    },
  };
}

/** The host names clients may use to reach this server, as URL hostnames (IPv6 in brackets). */
export function allowedHostnames(config: Config): Set<string> {
  const names = new Set<string>(config.http.allowedHosts.map(urlHost));
  const loopback = ["localhost", "127.0.0.1", "[::1]"];
  const host = config.http.host;
  if (isLoopbackHost(host)) {
    for (const name of [...loopback, urlHost(host)]) names.add(name);
    return names;
  }
  names.add(urlHost(host));
  names.add(hostname().toLowerCase());
  if (host === "0.0.0.0" || host === "::") {
    for (const name of loopback) names.add(name);
    for (const list of Object.values(networkInterfaces()))
      for (const iface of list ?? []) names.add(urlHost(iface.address.replace(/%.*$/, "").toLowerCase()));
  }
  return names;
}

function authSummary(config: Config): string {
  const oauth = config.http.oauth;
  if (oauth) return `clients must present access tokens of ${oauth.issuer} for ${oauth.publicUrl}${MCP_PATH} (VCC_HTTP_AUTH=oauth)`;
  return config.http.bearer !== undefined ? "clients must authenticate (VCC_HTTP_BEARER)" : "no client authentication (loopback only)";
}

/** RFC 9728: the metadata is public (clients read it before they have a token), and may be read from browsers. */
function serveMetadata(req: IncomingMessage, res: ServerResponse, resourceServer: ResourceServer): void {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD" });
    res.end();
    return;
  }
  const body = JSON.stringify(resourceServer.metadata());
  res.writeHead(200, {
    "content-type": "application/json",
    "cache-control": "max-age=3600",
    "access-control-allow-origin": "*",
    "content-length": String(Buffer.byteLength(body)),
  });
  res.end(req.method === "HEAD" ? undefined : body);
}

function statusWord(status: number): string {
  return status === 401 ? "Unauthorized" : status === 403 ? "Forbidden" : "Service Unavailable";
}

function isToolCall(message: unknown): message is { method: "tools/call"; params: { name: string } } {
  if (!isJSONRPCRequest(message) || message.method !== "tools/call") return false;
  const params = message.params as { name?: unknown } | undefined;
  return typeof params?.name === "string";
}

/** Constant-time comparison of the presented bearer with the configured one. */
function hasBearer(req: IncomingMessage, expected: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  return match?.[1] !== undefined && sameSecret(match[1], expected);
}

async function readJson(req: IncomingMessage): Promise<JsonBody> {
  if (!/^application\/json\s*(;|$)/i.test(req.headers["content-type"] ?? ""))
    return { ok: false, status: 415, code: -32000, message: "Unsupported Media Type: Content-Type must be application/json" };
  const read = await readBody(req, MAX_BODY_BYTES);
  if (!read.ok)
    return read.reason === "too_large"
      ? { ok: false, status: 413, code: -32000, message: `Payload Too Large: the limit is ${MAX_BODY_BYTES} bytes` }
      : { ok: false, status: 400, code: -32000, message: "Bad Request: the body could not be read" };
  try {
    return { ok: true, value: JSON.parse(read.body.toString("utf8")) };
  } catch {
    return { ok: false, status: 400, code: -32700, message: "Parse error: the body is not valid JSON" };
  }
}

/**
 * A refusal before the request's body was read: the body is read and dropped up to the size of a
 * body this server accepts, so that the client reads the answer on a connection it can reuse; a
 * larger body is not read on (the connection is closed after the answer). Without this, Node reads
 * a refused body to its end, however long a client keeps sending.
 */
async function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  message: string,
  code = -32000,
  headers: Record<string, string> = {},
): Promise<void> {
  await discardBody(req, res, MAX_BODY_BYTES);
  reply(res, status, message, code, headers);
}

/** A JSON-RPC error answer without an id, as the SDK's transport gives. */
function reply(res: ServerResponse, status: number, message: string, code = -32000, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
}

function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** Enough of a session id to follow it in the log, not enough to use it. */
function short(id: string | undefined): string {
  return id ? `${id.slice(0, 8)}…` : "(new)";
}

/** The address a request comes from, IPv4-mapped IPv6 as plain IPv4. */
function clientAddress(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? "unknown").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
}

/** New sessions per client address: a bucket of `perMinute` that refills evenly over a minute. */
class SessionRate {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #perMinute: number;

  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }

  /** Takes one new session for `address`: 0 when allowed, else the seconds to wait. */
  take(address: string): number {
    const now = Date.now();
    const perMs = this.#perMinute / 60_000;
    const bucket = this.#buckets.get(address) ?? { tokens: this.#perMinute, at: now };
    bucket.tokens = Math.min(this.#perMinute, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    this.#buckets.set(address, bucket);
    if (this.#buckets.size > 10_000) this.#forgetFull(now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
  }

  /** Addresses whose bucket has refilled are the same as unknown ones: forget them. */
  #forgetFull(now: number): void {
    for (const [address, bucket] of this.#buckets)
      if (bucket.tokens + (now - bucket.at) * (this.#perMinute / 60_000) >= this.#perMinute) this.#buckets.delete(address);
  }
}
