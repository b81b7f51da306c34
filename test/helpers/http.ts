// Spawns the built server with --http on a free port (or starts the same HTTP transport in this
// process) and drives it with the SDK's Streamable HTTP client, as an IDE or a shared team setup would.
import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { fileAuditTrail, NO_AUDIT } from "../../src/audit.js";
import { loadConfig } from "../../src/config.js";
import { ApprovalServer } from "../../src/confirmation/approval-server.js";
import { setLogLevel, setLogSink, writeStderr } from "../../src/log.js";
import { lazyApi } from "../../src/server.js";
import type { SharedState } from "../../src/state/types.js";
import { listenHttp } from "../../src/transports/http.js";
import { type Connected, childEnv, connectClient, type ElicitHandler, SERVER_ENTRY, sharedValidator } from "./mcp.js";

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** What a client needs of an HTTP server, spawned or in process. */
export interface HttpEndpoint {
  /** http://127.0.0.1:<port>/mcp */
  url: string;
  /** What the server logged (a process: its stderr). */
  stderr(): string;
}

export interface HttpServer extends HttpEndpoint {
  /** http://127.0.0.1:<port>/mcp, as printed on stderr. */
  url: string;
  child: ChildProcess;
  exited: Promise<Exit>;
  /** Sends the signal (SIGTERM by default) and resolves with how the process ended. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

/** Starts `dist/index.js --http --port 0` (or with `args` instead) and waits for the URL it prints. */
export function startHttpServer(options: { env?: Record<string, string>; args?: string[] } = {}): Promise<HttpServer> {
  const child = spawn(process.execPath, [SERVER_ENTRY, ...(options.args ?? ["--http", "--port", "0"])], {
    env: childEnv(options.env),
    cwd: tmpdir(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  const exited = new Promise<Exit>((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    void exited.then((exit) => reject(new Error(`server exited before listening (${JSON.stringify(exit)}): ${stderr}`)));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      const url = /listening on (http:\/\/\S+\/mcp)/.exec(stderr)?.[1];
      if (url)
        resolve({
          url,
          child,
          stderr: () => stderr,
          exited,
          stop: (signal = "SIGTERM") => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
    });
  });
}

export interface InProcessHttp extends HttpEndpoint {
  /** Ends its sessions, stops listening and closes its approval page server. */
  stop(): Promise<void>;
}

/** Log lines of the in-process HTTP servers of this test process, and how many are running. */
let logged = "";
let running = 0;
const appendLogged = (line: string): void => {
  logged += line;
};

/**
 * The HTTP transport in this process (listenHttp), configured from `env` as `--http --port 0` would
 * be (VCC_HTTP_PORT in `env` wins), with its own approval page server, every tool result checked against its output schema.
 * `sessionIdleSeconds` is applied after the environment and may be shorter than a user may set.
 * `state`: the shared state (e.g. a RedisState, as a replica opens it); else the process's memory.
 * For what needs no process; start-up lines, exit codes and signals need startHttpServer.
 */
export async function startInProcessHttp(
  options: { env?: Record<string, string>; sessionIdleSeconds?: number; state?: SharedState } = {},
): Promise<InProcessHttp> {
  const loaded = loadConfig({ VCC_TRANSPORT: "http", VCC_HTTP_PORT: "0", ...options.env });
  const config =
    options.sessionIdleSeconds === undefined
      ? loaded
      : { ...loaded, http: { ...loaded.http, sessionIdleSeconds: options.sessionIdleSeconds } };
  const approvals = new ApprovalServer({ port: config.confirmation.approvalPort });
  // As the process does at start; installed for every server (another file in this worker may have set its own).
  setLogLevel(config.log.level);
  setLogSink(appendLogged);
  running++;
  const from = logged.length;
  try {
    const audit = config.audit.logPath ? fileAuditTrail(config.audit.logPath) : NO_AUDIT;
    const deps = {
      config,
      api: lazyApi(config),
      audit,
      approvals,
      checkResults: sharedValidator,
      ...(options.state ? { state: options.state } : {}),
    };
    const handle = await listenHttp(deps, "in process");
    return {
      url: handle.url,
      stderr: () => logged.slice(from),
      stop: async () => {
        await handle.close();
        await approvals.close();
        stopped();
      },
    };
  } catch (error) {
    await approvals.close();
    stopped();
    throw error;
  }
}

/** The last one stopped: the logger goes back to how the process starts it (workers run several files). */
function stopped(): void {
  if (--running > 0) return;
  setLogLevel("info");
  setLogSink(writeStderr);
  logged = "";
}

export interface HttpConnected extends Connected {
  transport: StreamableHTTPClientTransport;
}

/**
 * An SDK client session over Streamable HTTP; `bearer` is sent as Authorization on every request, or
 * the SDK's own OAuth support gets tokens through `authProvider`. `url`: the server's public URL.
 */
export async function connectHttp(
  server: HttpEndpoint,
  options: { elicit?: ElicitHandler; bearer?: string; authProvider?: OAuthClientProvider; url?: string } = {},
): Promise<HttpConnected> {
  const transport = new StreamableHTTPClientTransport(new URL(options.url ?? server.url), {
    requestInit: options.bearer ? { headers: { authorization: `Bearer ${options.bearer}` } } : undefined,
    ...(options.authProvider ? { authProvider: options.authProvider } : {}),
  });
  const connected = await connectClient(transport, options, server.stderr);
  return { ...connected, transport };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with full control of the headers (fetch may not set Host). */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<RawResponse> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...options.headers,
        },
      },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString("utf8");
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
};

/** Polls until `check` holds: waiting for an event, never asserting how long it took. */
export async function waitUntil(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export { freePort } from "./ports.js";

/**
 * A POST (no credentials, any content) whose chunked body goes on until the server closes the connection or
 * `limit` bytes were sent: what was sent, what came back, and whether the server closed it.
 */
export function sendEndlessBody(url: string, limit: number): Promise<{ sent: number; answer: string; closedByServer: boolean }> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    const chunk = Buffer.alloc(64 * 1024, "x");
    const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
    let sent = 0;
    let answer = "";
    let ended = false;
    const finish = (closedByServer: boolean) => {
      if (ended) return;
      ended = true;
      socket.destroy();
      resolve({ sent, answer, closedByServer });
    };
    const pump = () => {
      while (!ended && sent < limit) {
        sent += chunk.length;
        if (!socket.write(framed)) return void socket.once("drain", pump);
      }
      if (sent >= limit) finish(false);
    };
    socket.on("data", (data: Buffer) => {
      answer += data.toString("latin1");
    });
    socket.on("end", () => finish(true));
    socket.on("close", () => finish(true));
    socket.on("error", () => finish(true));
    socket.on("connect", () => {
      socket.write(
        `POST ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
      pump();
    });
  });
}
