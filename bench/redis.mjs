// A redis-server for the benchmarks' shared-state figures: started by the bench on 127.0.0.1 with a
// free port, without persistence, in a temporary directory. When redis-server is not installed the
// figures are skipped (startBenchRedis resolves undefined and says so on stderr).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

const BINARY = process.env.REDIS_SERVER ?? "redis-server";

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/** { url, version, close() } of a running redis-server, or undefined (with a note on stderr) when there is none. */
export async function startBenchRedis(what) {
  const probe = spawnSync(BINARY, ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    process.stderr.write(`${what}: SKIPPED, no ${BINARY} on this machine (apt-get install -y redis-server, or set REDIS_SERVER)\n`);
    return undefined;
  }
  const version = /v=(\S+)/.exec(probe.stdout)?.[1] ?? "unknown";
  const dir = mkdtempSync(join(tmpdir(), "vcc-bench-redis-"));
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--daemonize", "no"];
  const child = spawn(BINARY, args, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  await new Promise((resolve, reject) => {
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
      if (output.includes("Ready to accept connections")) resolve();
    });
    child.on("error", reject);
    exited.then((code) => reject(new Error(`${BINARY} exited (${code}) before it was ready:\n${output.slice(-2000)}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    version,
    pid: child.pid,
    close: async () => {
      child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Commands Redis has run so far by name (INFO commandstats), without the INFO calls themselves. */
export async function redisCommandCounts(url) {
  const client = new Redis(url, { lazyConnect: true });
  try {
    await client.connect();
    const stats = await client.info("commandstats");
    const counts = {};
    for (const match of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
      if (!["info", "client", "hello"].includes(match[1])) counts[match[1]] = Number(match[2]);
    return counts;
  } finally {
    client.disconnect();
  }
}

/** What ran between two redisCommandCounts: { total, byCommand }. */
export function commandsBetween(before, after) {
  const byCommand = {};
  for (const [name, calls] of Object.entries(after)) if (calls > (before[name] ?? 0)) byCommand[name] = calls - (before[name] ?? 0);
  return { total: Object.values(byCommand).reduce((a, b) => a + b, 0), byCommand };
}
