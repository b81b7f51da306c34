// A real redis-server for tests (Debian's package; .ci/run installs it): on 127.0.0.1 with a free
// port, in a temporary directory, without persistence unless asked (`aof`: appendonly with fsync at
// every write, as docs/replicas.md asks for erasure jobs). stop() and start() again keep the port, so
// that clients can reconnect to "the same Redis" (empty again without `aof`, as after a restart
// without disk; with `aof`, holding what was written).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll } from "vitest";

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGTERM) and waits until it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  close(): Promise<void>;
}

const BINARY = process.env.REDIS_SERVER ?? "redis-server";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export async function startRedis(options: { aof?: boolean } = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "vcc-redis-"));
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = () =>
    new Promise<void>((resolve, reject) => {
      const persistence = options.aof ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
      const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", ...persistence, "--daemonize", "no"];
      const proc = spawn(BINARY, args, { stdio: ["ignore", "pipe", "pipe"] });
      child = proc;
      let output = "";
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Ready to accept connections")) {
          proc.stdout?.off("data", onData);
          resolve();
        }
      };
      proc.stdout?.on("data", onData);
      proc.stderr?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      proc.on("error", (error) =>
        reject(new Error(`${BINARY} could not be started (${error.message}); install it with: apt-get install -y redis-server`)),
      );
      proc.on("exit", (code) => reject(new Error(`${BINARY} exited (${code}) before it was ready:\n${output.slice(-2000)}`)));
    });

  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill("SIGTERM");
    await exited;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls an async condition (errors count as "not yet") until it holds, e.g. a client reconnected. */
export async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves once the shared state answers (`true`) or refuses (`false`), polling every few ms (at most 10 s). */
export function untilReachable(state: { ping(): Promise<void> }, wanted: boolean): Promise<void> {
  const reachable = () =>
    state.ping().then(
      () => true,
      () => false,
    );
  return eventually(async () => (await reachable()) === wanted, `the shared state to become ${wanted ? "reachable" : "unreachable"}`);
}

/**
 * A redis-server for the tests of one file (started before them, closed after), and `defer`: work
 * that runs after each test, the last deferred first (closing engines and connections).
 */
export function useRedis(options: { aof?: boolean } = {}): { readonly redis: RedisServer; defer(cleanup: () => Promise<void>): void } {
  let redis: RedisServer | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    redis = await startRedis(options);
  });
  afterAll(async () => {
    await redis?.close();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    get redis() {
      if (!redis) throw new Error("redis-server is started in beforeAll: use it inside tests");
      return redis;
    },
    defer: (cleanup) => {
      cleanups.push(cleanup);
    },
  };
}
