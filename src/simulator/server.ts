// A local stand-in for the VCC Interaction Content API and its token endpoint, over real HTTP on
// 127.0.0.1. It follows ../shared/api/interaction-content-api.md; tests read its journal to assert
// exactly what reached "the API", and inject faults to see what the user is told.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type SimContent, type SimInteraction, seedInteractions } from "./seed.js";

export const READ_SCOPE = "interaction-content:read";
export const DELETE_SCOPE = "interaction-content:delete";
const ALL_SCOPES = [READ_SCOPE, DELETE_SCOPE];
const ACCEPTED_VERSIONS = ["application/vnd.newvoicemedia.v2+json", "application/vnd.newvoicemedia.v3+json"];
const INVALID_VERSION_MESSAGE = `Invalid api-version! Valid values: ${ACCEPTED_VERSIONS.map((v) => `'${v}'`).join(", ")}`;
const API_PREFIX = "/interaction-content";

export type RouteName =
  | "token"
  | "list-interactions"
  | "get-interaction"
  | "get-content"
  | "delete-content"
  | "delete-interaction"
  | "delete-batch"
  | "unknown";

/** One thing to do instead of (or around) the normal answer. */
export interface Fault {
  /** Answer with this status instead (the normal action is not performed). */
  status?: number;
  body?: string;
  contentType?: string;
  /** Sent as the Retry-After header (seconds or an HTTP date). */
  retryAfter?: string;
  /** Wait this long before answering. */
  latencyMs?: number;
  /** Destroy the connection without answering: before or after the action took effect. */
  drop?: "before" | "after";
  /** Send the headers, part of the body, then cut the connection. */
  truncate?: boolean;
  /** Send the body slowly: this many ms between chunks. */
  slowBodyMs?: number;
}

export interface JournalEntry {
  time: string;
  method: string;
  /** The raw request target, exactly as received. */
  path: string;
  route: RouteName;
  headers: Record<string, string>;
  status?: number;
  /** What the request's bearer token was. */
  auth: "valid" | "missing" | "invalid" | "expired" | "not-needed";
}

export interface SimClient {
  secret: string;
  scopes: string[];
}

export interface SimulatorOptions {
  port?: number;
  /** Lifetime of issued tokens, seconds (default 7200). */
  tokenExpiresIn?: number;
  /** API requests per second before answering 429 (default: unlimited). */
  rateLimit?: number;
  /** Client credentials accepted by the token endpoint (default: sandbox-client / sandbox-secret). */
  clients?: Record<string, SimClient>;
  /** Static bearer tokens and their scopes (default: sandbox-token with every scope). */
  staticTokens?: Record<string, string[]>;
  /** Added to every request (ms). */
  latencyMs?: number;
  /** Default page size of GET /interactions (default 3). */
  pageSize?: number;
}

export const DEFAULT_CLIENTS: Record<string, SimClient> = {
  "sandbox-client": { secret: "sandbox-secret", scopes: ALL_SCOPES },
  "readonly-client": { secret: "readonly-secret", scopes: [READ_SCOPE] },
  "delete-only-client": { secret: "delete-only-secret", scopes: [DELETE_SCOPE] },
};
export const DEFAULT_STATIC_TOKENS: Record<string, string[]> = { "sandbox-token": ALL_SCOPES };

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
  /** Queue faults for the next matching requests (route or "*" for all), used one each. */
  injectFaults(route: RouteName | "*", ...faults: Fault[]): void;
  /** A fault applied to every matching request until cleared. */
  setStandingFault(route: RouteName | "*", fault: Fault | undefined): void;
  setRateLimit(perSecond: number | undefined): void;
  /** Issue tokens with this lifetime from now on. */
  setTokenExpiresIn(seconds: number): void;
  /** Expire every issued token now. */
  expireTokens(): void;
  /** Every access token issued since the last reset (tests check that none leaks). */
  issuedTokens(): string[];
  /** Seed data back, journal and faults cleared. */
  reset(): void;
  /** Requests in the journal matching method and route. */
  requests(method?: string, route?: RouteName): JournalEntry[];
  close(): Promise<void>;
}

interface IssuedToken {
  scopes: string[];
  expiresAt: number;
}

function json(res: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...extraHeaders });
  res.end(text);
}

function noContent(res: ServerResponse): void {
  res.writeHead(204);
  res.end();
}

function readBody(req: IncomingMessage, limit = 1_000_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Deterministic filler bytes for a content file. */
function contentBytes(item: SimContent, start: number, end: number): Buffer {
  const buf = Buffer.alloc(end - start + 1);
  const seed = item.contentKey.length * 31 + item.contentLength;
  for (let i = 0; i < buf.length; i++) buf[i] = (seed + start + i) & 0xff;
  return buf;
}

function classify(method: string, segments: string[]): RouteName {
  // segments after /interaction-content: ["interactions", guid?, "content"?, key?]
  if (segments[0] !== "interactions") return "unknown";
  if (segments.length === 1) return method === "GET" ? "list-interactions" : "unknown";
  if (segments.length === 2 && segments[1] === "delete-batch") return method === "POST" ? "delete-batch" : "unknown";
  if (segments.length === 2) return method === "GET" ? "get-interaction" : method === "DELETE" ? "delete-interaction" : "unknown";
  if (segments.length === 4 && segments[2] === "content")
    return method === "GET" ? "get-content" : method === "DELETE" ? "delete-content" : "unknown";
  return "unknown";
}

/** The documented GUID rules, with the documented messages. */
function guidProblem(guid: string): string | undefined {
  if (guid.length !== 36) return "GUID must be 36 characters in length";
  if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(guid))
    return `GUID '${guid}' is not a valid UUID string`;
  return undefined;
}

function contentKeyProblem(key: string): string | undefined {
  if (key.length < 1 || key.length > 36) return "Content key must be between 1 and 36 characters in length";
  if (!/^[0-9A-Za-z!\-_.,*'()]+$/.test(key)) return `Content key '${key}' contains invalid characters`;
  return undefined;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const clients = options.clients ?? DEFAULT_CLIENTS;
  const staticTokens = options.staticTokens ?? DEFAULT_STATIC_TOKENS;
  const pageSize = options.pageSize ?? 3;
  let tokenExpiresIn = options.tokenExpiresIn ?? 7200;
  let rateLimit = options.rateLimit;
  let data = seedInteractions();
  const journal: JournalEntry[] = [];
  const issued = new Map<string, IssuedToken>();
  let queued: { route: RouteName | "*"; fault: Fault }[] = [];
  const standing = new Map<RouteName | "*", Fault>();
  // Token bucket for the rate limit: capacity = one second's worth.
  let bucket = { tokens: rateLimit ?? 0, updated: Date.now() };

  function takeFault(route: RouteName): Fault | undefined {
    const index = queued.findIndex((q) => q.route === route || q.route === "*");
    if (index >= 0) return queued.splice(index, 1)[0]?.fault;
    return standing.get(route) ?? standing.get("*");
  }

  /** Seconds until a request is allowed, or 0 if it may go now. */
  function rateLimited(): number {
    if (!rateLimit) return 0;
    const now = Date.now();
    bucket.tokens = Math.min(rateLimit, bucket.tokens + ((now - bucket.updated) / 1000) * rateLimit);
    bucket.updated = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / rateLimit));
  }

  function authenticate(req: IncomingMessage): { state: JournalEntry["auth"]; scopes: string[] } {
    const header = req.headers.authorization;
    const match = header?.match(/^Bearer\s+(\S+)$/i);
    if (!match?.[1]) return { state: "missing", scopes: [] };
    const token = match[1];
    const fixed = staticTokens[token];
    if (fixed) return { state: "valid", scopes: fixed };
    const entry = issued.get(token);
    if (!entry) return { state: "invalid", scopes: [] };
    if (Date.now() >= entry.expiresAt) return { state: "expired", scopes: [] };
    return { state: "valid", scopes: entry.scopes };
  }

  function find(guid: string): SimInteraction | undefined {
    const lower = guid.toLowerCase();
    return data.find((i) => i.guid.toLowerCase() === lower);
  }

  function findContent(interaction: SimInteraction, key: string): number {
    // Named keys and item ids both match case-insensitively, as the docs' own example suggests.
    const lower = key.toLowerCase();
    return interaction.content.findIndex((c) => c.contentKey.toLowerCase() === lower);
  }

  function view(i: SimInteraction) {
    return {
      guid: i.guid,
      start: i.start,
      connectFrom: i.connectFrom,
      connectTo: i.connectTo,
      direction: i.direction,
      handlingAgents: i.handlingAgents,
      content: i.content,
    };
  }

  async function handleToken(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const body = await readBody(req);
    const form = new URLSearchParams(body);
    let clientId = form.get("client_id") ?? undefined;
    let clientSecret = form.get("client_secret") ?? undefined;
    const basic = req.headers.authorization?.match(/^Basic\s+(\S+)$/i);
    if (basic?.[1]) {
      const decoded = Buffer.from(basic[1], "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon >= 0) {
        clientId = decodeURIComponent(decoded.slice(0, colon));
        clientSecret = decodeURIComponent(decoded.slice(colon + 1));
      }
    }
    if (form.get("grant_type") !== "client_credentials") {
      json(res, 400, { error: "unsupported_grant_type" });
      return 400;
    }
    const client = clientId ? clients[clientId] : undefined;
    if (!client || client.secret !== clientSecret) {
      json(res, 401, { error: "invalid_client" });
      return 401;
    }
    const requested = (form.get("scope") ?? "").split(/\s+/).filter(Boolean);
    if (requested.some((s) => !client.scopes.includes(s))) {
      json(res, 400, { error: "invalid_scope" });
      return 400;
    }
    const scopes = requested.length > 0 ? requested : client.scopes;
    const token = `sim-${randomBytes(24).toString("base64url")}`;
    issued.set(token, { scopes, expiresAt: Date.now() + tokenExpiresIn * 1000 });
    json(res, 200, { access_token: token, expires_in: tokenExpiresIn, token_type: "Bearer", scope: scopes.join(" ") });
    return 200;
  }

  async function handleApi(
    route: RouteName,
    segments: string[],
    req: IncomingMessage,
    res: ServerResponse,
    auth: ReturnType<typeof authenticate>,
    url: URL,
  ): Promise<number> {
    const accept = req.headers.accept ?? "";
    if (!ACCEPTED_VERSIONS.some((v) => accept.includes(v))) {
      json(res, 400, { message: INVALID_VERSION_MESSAGE });
      return 400;
    }
    if (auth.state !== "valid") {
      res.writeHead(401, { "www-authenticate": `Bearer error="invalid_token"`, "content-length": 0 });
      res.end();
      return 401;
    }
    if (route === "unknown") {
      json(res, 404, { message: "Resource not found" });
      return 404;
    }
    const needed = req.method === "GET" ? READ_SCOPE : DELETE_SCOPE;
    if (!auth.scopes.includes(needed)) {
      res.writeHead(403, { "content-length": 0 });
      res.end();
      return 403;
    }
    const retryIn = rateLimited();
    if (retryIn > 0) {
      json(res, 429, { message: "Too many requests" }, { "retry-after": String(retryIn) });
      return 429;
    }

    if (route === "list-interactions") {
      const requestedSize = Number(url.searchParams.get("pageSize") ?? pageSize);
      const size = Number.isInteger(requestedSize) && requestedSize > 0 ? Math.min(requestedSize, 100) : pageSize;
      const withContent = data.filter((i) => i.content.length > 0);
      const cont = url.searchParams.get("continuationToken");
      const offset = cont ? Number(Buffer.from(cont, "base64url").toString("utf8")) : 0;
      if (!Number.isInteger(offset) || offset < 0) {
        json(res, 400, { message: "Invalid continuation token" });
        return 400;
      }
      const page = withContent.slice(offset, offset + size);
      const next = offset + size < withContent.length ? Buffer.from(String(offset + size)).toString("base64url") : null;
      json(res, 200, { items: page.map(view), meta: { count: page.length, nextContinuationToken: next } });
      return 200;
    }

    if (route === "delete-batch") {
      let guids: unknown;
      try {
        guids = (JSON.parse(await readBody(req)) as { guids?: unknown }).guids;
      } catch {
        json(res, 400, { message: 'Request body must be JSON: {"guids":[...]}' });
        return 400;
      }
      if (!Array.isArray(guids) || guids.length > 1000) {
        json(res, 400, { message: "guids must be an array of at most 1000 GUIDs" });
        return 400;
      }
      const failures: { guid: unknown; message: string; statusCode: number }[] = [];
      for (const guid of guids) {
        const problem = typeof guid === "string" ? guidProblem(guid) : "GUID must be a string";
        if (problem) {
          failures.push({ guid, message: problem, statusCode: 400 });
          continue;
        }
        data = data.filter((i) => i.guid.toLowerCase() !== String(guid).toLowerCase());
      }
      json(res, 200, { failures });
      return 200;
    }

    const guid = segments[1] ?? "";
    const problem = guidProblem(guid);
    if (problem) {
      json(res, 400, { message: problem });
      return 400;
    }
    const interaction = find(guid);

    if (route === "get-interaction" || route === "delete-interaction") {
      if (!interaction || interaction.content.length === 0) {
        json(res, 404, { message: `Interaction '${guid}' not found` });
        return 404;
      }
      if (route === "get-interaction") {
        json(res, 200, view(interaction));
        return 200;
      }
      interaction.content = [];
      noContent(res);
      return 204;
    }

    const key = segments[3] ?? "";
    const keyProblem = contentKeyProblem(key);
    if (keyProblem) {
      json(res, 400, { message: keyProblem });
      return 400;
    }
    const index = interaction ? findContent(interaction, key) : -1;
    const item = interaction?.content[index];
    if (!interaction || !item) {
      json(res, 404, { message: `Content '${key}' not found for interaction '${guid}'` });
      return 404;
    }
    if (route === "delete-content") {
      interaction.content.splice(index, 1);
      noContent(res);
      return 204;
    }
    // get-content, with Range
    const range = req.headers.range?.match(/^bytes=(\d*)-(\d*)$/);
    let start = 0;
    let end = item.contentLength - 1;
    let status = 200;
    if (range && (range[1] || range[2])) {
      if (range[1]) {
        start = Number(range[1]);
        end = range[2] ? Math.min(Number(range[2]), end) : end;
      } else {
        start = Math.max(0, item.contentLength - Number(range[2]));
      }
      if (start > end || start >= item.contentLength) {
        res.writeHead(416, { "content-range": `bytes */${item.contentLength}`, "content-length": 0 });
        res.end();
        return 416;
      }
      status = 206;
    }
    const bytes = contentBytes(item, start, end);
    res.writeHead(status, {
      "content-type": item.contentType,
      "content-length": bytes.length,
      "accept-ranges": "bytes",
      "last-modified": new Date(item.lastModified).toUTCString(),
      ...(status === 206 ? { "content-range": `bytes ${start}-${end}/${item.contentLength}` } : {}),
    });
    res.end(bytes);
    return status;
  }

  async function applyFaultAnswer(fault: Fault, res: ServerResponse): Promise<number> {
    const status = fault.status ?? 500;
    const body = fault.body ?? "";
    const headers: Record<string, string | number> = { "content-length": Buffer.byteLength(body) };
    if (body) headers["content-type"] = fault.contentType ?? "application/json; charset=utf-8";
    if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
    res.writeHead(status, headers);
    res.end(body);
    return status;
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const method = req.method ?? "GET";
      const rawPath = req.url ?? "/";
      // Resolve dot segments (also %2e) the way URL parsers and proxies do, so that a client
      // that lets ".." through is seen hitting a different endpoint.
      const url = new URL(rawPath, "http://simulator.local");
      const entry: JournalEntry = {
        time: new Date().toISOString(),
        method,
        path: rawPath,
        route: "unknown",
        headers: {},
        auth: "not-needed",
      };
      for (const [name, value] of Object.entries(req.headers)) {
        if (value === undefined) continue;
        const text = Array.isArray(value) ? value.join(", ") : value;
        entry.headers[name] = name === "authorization" ? text.replace(/^(\w+)\s+.*$/, "$1 [REDACTED]") : text;
      }
      journal.push(entry);

      let route: RouteName = "unknown";
      let segments: string[] = [];
      if (url.pathname === "/Auth/connect/token" && method === "POST") route = "token";
      else if (url.pathname === API_PREFIX || url.pathname.startsWith(`${API_PREFIX}/`)) {
        try {
          segments = url.pathname
            .slice(API_PREFIX.length + 1)
            .split("/")
            .map((s) => decodeURIComponent(s));
        } catch {
          segments = ["unknown"];
        }
        route = classify(method, segments);
      }
      entry.route = route;

      if (options.latencyMs) await sleep(options.latencyMs);
      const fault = takeFault(route);
      if (fault?.latencyMs) await sleep(fault.latencyMs);
      if (fault?.drop === "before") {
        req.socket.destroy();
        return;
      }

      if (route !== "token" && !url.pathname.startsWith(API_PREFIX)) {
        entry.status = 404;
        json(res, 404, { message: "Resource not found" });
        return;
      }

      const auth: ReturnType<typeof authenticate> = route === "token" ? { state: "not-needed", scopes: [] } : authenticate(req);
      entry.auth = auth.state;

      if (fault && (fault.status !== undefined || fault.body !== undefined) && !fault.drop && !fault.truncate && !fault.slowBodyMs) {
        entry.status = await applyFaultAnswer(fault, res);
        return;
      }

      if (fault?.drop === "after" || fault?.truncate || fault?.slowBodyMs) {
        // Perform the real action against a throwaway response, then misbehave on the wire.
        const shadow = new ShadowResponse();
        entry.status =
          route === "token"
            ? await handleToken(req, shadow.asResponse())
            : await handleApi(route, segments, req, shadow.asResponse(), auth, url);
        if (fault.drop === "after") {
          req.socket.destroy();
          return;
        }
        const body = shadow.body.length > 0 ? shadow.body : Buffer.from(JSON.stringify({ message: "simulated body" }));
        res.writeHead(fault.status ?? (entry.status === 204 ? 200 : entry.status), {
          ...shadow.headers,
          "content-type": shadow.headers["content-type"] ?? "application/json",
          "content-length": body.length,
        });
        if (fault.truncate) {
          res.write(body.subarray(0, Math.max(1, Math.floor(body.length / 2))));
          setTimeout(() => req.socket.destroy(), 10);
          return;
        }
        for (let i = 0; i < body.length; i += 16) {
          res.write(body.subarray(i, i + 16));
          await sleep(fault.slowBodyMs ?? 0);
        }
        res.end();
        return;
      }

      entry.status = route === "token" ? await handleToken(req, res) : await handleApi(route, segments, req, res, auth, url);
    })().catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { message: `Simulator error: ${error instanceof Error ? error.message : String(error)}` });
      else res.destroy();
    });
  });

  // Keep-alive connections must not keep close() waiting.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    apiBaseUrl: `${url}${API_PREFIX}`,
    authUrl: `${url}/Auth/connect/token`,
    port,
    journal,
    interactions: () => data,
    injectFaults: (route, ...faults) => {
      for (const fault of faults) queued.push({ route, fault });
    },
    setStandingFault: (route, fault) => {
      if (fault) standing.set(route, fault);
      else standing.delete(route);
    },
    setRateLimit: (perSecond) => {
      rateLimit = perSecond;
      bucket = { tokens: perSecond ?? 0, updated: Date.now() };
    },
    setTokenExpiresIn: (seconds) => {
      tokenExpiresIn = seconds;
    },
    expireTokens: () => {
      for (const entry of issued.values()) entry.expiresAt = 0;
    },
    issuedTokens: () => [...issued.keys()],
    reset: () => {
      data = seedInteractions();
      journal.length = 0;
      queued = [];
      standing.clear();
      issued.clear();
      tokenExpiresIn = options.tokenExpiresIn ?? 7200;
      rateLimit = options.rateLimit;
      bucket = { tokens: rateLimit ?? 0, updated: Date.now() };
    },
    requests: (method, route) => journal.filter((e) => (!method || e.method === method) && (!route || e.route === route)),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Collects what a handler would have answered, so a fault can misbehave after the action. */
class ShadowResponse {
  headers: Record<string, string> = {};
  body: Buffer = Buffer.alloc(0);
  statusCode = 200;

  asResponse(): ServerResponse {
    const self = this;
    // A minimal stand-in for the few ServerResponse methods the handlers use.
    const fake = {
      writeHead(status: number, headers?: Record<string, string | number>) {
        self.statusCode = status;
        for (const [k, v] of Object.entries(headers ?? {})) self.headers[k.toLowerCase()] = String(v);
        return fake;
      },
      end(chunk?: string | Buffer) {
        if (chunk) self.body = Buffer.concat([self.body, Buffer.from(chunk)]);
        return fake;
      },
      get headersSent() {
        return false;
      },
    };
    return fake as unknown as ServerResponse;
  }
}
