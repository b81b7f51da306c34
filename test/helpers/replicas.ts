// Several replicas of the built server (`dist/index.js --http`) sharing one real redis-server
// (VCC_STATE_URL), behind a small load balancer in this process that keeps MCP sessions sticky, as
// docs/replicas.md asks of a real one: a request with an Mcp-Session-Id header goes to the replica
// that created that session (learned from the initialize answer's header); a request without one goes
// round-robin to the next replica that is still running. Replicas can be killed (SIGKILL) and Redis
// stopped and started again mid-test. Nothing here prints a secret: the bearer, the API token and
// Redis's URL stay in the children's environment.

import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Exit, freePort, type HttpEndpoint, type HttpServer, startHttpServer } from "./http.js";
import { type RedisServer, startRedis } from "./redis-server.js";

export interface Replica extends HttpEndpoint {
  /** "A", "B", "C": for messages. */
  readonly name: string;
  /** Its own loopback approval page port (VCC_APPROVAL_PORT, chosen before it starts). */
  readonly approvalPort: number;
  /** Its own data directory (VCC_DATA_DIR): nothing on disk is shared between replicas. */
  readonly dataDir: string;
  /** Whether the process is still running. */
  alive(): boolean;
  readonly process: HttpServer;
}

export interface StickyProxy {
  /** http://127.0.0.1:<port>/mcp: what the clients connect to. */
  readonly url: string;
  /** http://127.0.0.1:<port>: the public origin. */
  readonly origin: string;
  /** The replica that created this session (undefined: not seen). */
  replicaOf(sessionId: string | undefined): Replica | undefined;
  /** Requests forwarded to each replica, by name. */
  readonly forwarded: Record<string, number>;
  /** Requests answered 502 because their replica was gone. */
  readonly badGateway: number;
  close(): Promise<void>;
}

export interface ReplicaSet {
  readonly redis: RedisServer;
  readonly replicas: Replica[];
  readonly proxy: StickyProxy;
  /** What every replica logged (for leak checks). */
  stderr(): string;
  /** Kills the replica at once (SIGKILL: no shutdown work at all) and waits until it is gone. */
  kill(replica: Replica): Promise<Exit>;
  close(): Promise<void>;
}

export interface ReplicaOptions {
  /** 2 or 3. */
  count: number;
  /** The environment of every replica (credentials, API base URL, confirmation mode, …). */
  env: Record<string, string>;
  /** VCC_HTTP_PUBLIC_URL of every replica is the proxy's origin (the team server). */
  publicUrlIsProxy?: boolean;
  /** The proxy's port, when it must be known before the replicas start (a team server's resource URL). */
  proxyPort?: number;
  /** A redis-server to use (not closed with the set); without it the set starts its own. */
  redis?: RedisServer;
}

const NAMES = ["A", "B", "C"];
/** Request headers that concern one hop only. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"]);

/** Starts redis-server (unless given one), the replicas (in parallel), then the proxy in front of them. */
export async function startReplicas(options: ReplicaOptions): Promise<ReplicaSet> {
  const ownRedis = options.redis === undefined;
  const redis = options.redis ?? (await startRedis());
  const closeRedis = () => (ownRedis ? redis.close() : Promise.resolve());
  const dirs = mkdtempSync(join(tmpdir(), "vcc-replicas-"));
  const started: Replica[] = [];
  try {
    const proxyPort = options.proxyPort ?? (await freePort());
    const origin = `http://127.0.0.1:${proxyPort}`;
    const starting = await Promise.allSettled(
      NAMES.slice(0, options.count).map(async (name) => {
        const approvalPort = await freePort();
        const dataDir = join(dirs, name);
        const child = await startHttpServer({
          env: {
            ...options.env,
            VCC_STATE_URL: redis.url,
            VCC_APPROVAL_PORT: String(approvalPort),
            VCC_DATA_DIR: dataDir,
            ...(options.publicUrlIsProxy ? { VCC_HTTP_PUBLIC_URL: origin } : {}),
          },
        });
        const replica: Replica = {
          name,
          url: child.url,
          approvalPort,
          dataDir,
          stderr: child.stderr,
          alive: () => child.child.exitCode === null && child.child.signalCode === null,
          process: child,
        };
        started.push(replica);
        return replica;
      }),
    );
    // All settled first, so that none is still starting when the others are stopped.
    const replicas = starting.map((outcome) => {
      if (outcome.status === "rejected") throw outcome.reason;
      return outcome.value;
    });
    const proxy = await startStickyProxy(replicas, proxyPort);
    return {
      redis,
      replicas,
      proxy,
      stderr: () => replicas.map((r) => `--- replica ${r.name}\n${r.stderr()}`).join("\n"),
      kill: (replica) => replica.process.stop("SIGKILL"),
      close: async () => {
        await proxy.close();
        await Promise.all(replicas.map((r) => r.process.stop("SIGTERM")));
        await closeRedis();
        rmSync(dirs, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all(started.map((r) => r.process.stop("SIGKILL")));
    await closeRedis();
    rmSync(dirs, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The load balancer: sticky by Mcp-Session-Id, round-robin otherwise, over the replicas still
 * running. Streams both ways (the SDK's event streams stay open through it).
 */
export async function startStickyProxy(replicas: Replica[], port = 0): Promise<StickyProxy> {
  const sessions = new Map<string, Replica>();
  const forwarded: Record<string, number> = Object.fromEntries(replicas.map((r) => [r.name, 0]));
  let next = 0;
  let badGateway = 0;

  const pick = (): Replica | undefined => {
    for (let i = 0; i < replicas.length; i++) {
      const candidate = replicas[(next + i) % replicas.length];
      if (candidate?.alive()) {
        next = (next + i + 1) % replicas.length;
        return candidate;
      }
    }
    return undefined;
  };

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const sessionId = req.headers["mcp-session-id"];
    // A session the proxy knows goes to its replica, alive or not (a dead one: 502, as a real load
    // balancer answers); an unknown one goes anywhere and is answered 404 there.
    const target = (typeof sessionId === "string" ? sessions.get(sessionId) : undefined) ?? pick();
    if (!target?.alive()) {
      badGateway++;
      res.writeHead(502, { "content-type": "text/plain" }).end("Bad gateway: the replica is gone");
      req.resume();
      return;
    }
    forwarded[target.name] = (forwarded[target.name] ?? 0) + 1;
    const upstream = new URL(target.url);
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    const out = request(
      // A connection per request (no keep-alive pool): destroying one never touches another's socket.
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent: false },
      (answer) => {
        const created = answer.headers["mcp-session-id"];
        if (typeof created === "string" && typeof sessionId !== "string") sessions.set(created, target);
        const back: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) back[name] = value;
        res.writeHead(answer.statusCode ?? 502, back);
        answer.pipe(res);
        answer.on("error", () => res.destroy());
      },
    );
    out.on("error", () => {
      // The replica went away mid-request (killed): the client sees the connection end, as it would.
      if (!res.headersSent) {
        badGateway++;
        res.writeHead(502, { "content-type": "text/plain" }).end("Bad gateway: the replica is gone");
      } else res.destroy();
    });
    // The client went away (e.g. it closed its event stream): so does the request to the replica.
    res.on("close", () => out.destroy());
    req.pipe(out);
  };

  const server: Server = createServer(forward);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}/mcp`,
    origin,
    replicaOf: (id) => (id ? sessions.get(id) : undefined),
    forwarded,
    get badGateway() {
      return badGateway;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
