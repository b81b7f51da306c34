// npm run bench: start-up, memory, per-call cost and rate-limited throughput of the shipped server
// (dist/index.js), against the official filesystem MCP server and a hand-written floor, all on this
// machine and against the project's simulator on 127.0.0.1. Prints a table, writes bench/results.json.
// Method and figures: docs/benchmarks.md. Sizes can be changed with BENCH_* variables (see below).
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generatedGuid, SEARCH_SAMPLE } from "../dist/simulator/seed.js";
import { startSimulator } from "../dist/simulator/server.js";
import { commandsBetween, redisCommandCounts, startBenchRedis } from "./redis.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const int = (name, fallback) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number (got '${process.env[name]}')`);
  return value;
};
const WARMUP = int("BENCH_WARMUP", 3);
const START_RUNS = int("BENCH_START_RUNS", 30);
const CALLS = int("BENCH_CALLS", 600);
const CALL_WARMUP = int("BENCH_CALL_WARMUP", 50);
const THROUGHPUT_DELETIONS = int("BENCH_THROUGHPUT_DELETIONS", 200);
const RATE_LIMIT = int("BENCH_RATE_LIMIT", 10);
/** Confirmed deletions (ask + confirm) of the server with its state in Redis and of the same server with its state in the process. */
const STATE_CALLS = int("BENCH_STATE_CALLS", 300);
const STATE_CALL_WARMUP = int("BENCH_STATE_CALL_WARMUP", 30);
/** The search figure's rate limit: the one-year search (212 requests) then takes about eight seconds. */
const SEARCH_RATE_LIMIT = int("BENCH_SEARCH_RATE_LIMIT", 25);

const OURS = join(root, "dist/index.js");
const REFERENCE = join(root, "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");
const FLOOR = join(root, "bench/floor.mjs");
/** The SDK reference: one registerTool, the same input schema, one DELETE (bench/minimal-sdk.mjs). */
const MINIMAL_SDK = join(root, "bench/minimal-sdk.mjs");
/** A directory: the per-call and shared-state programs run under `node --cpu-prof` and write ours, minimal-sdk, floor, state-memory and state-redis .cpuprofile files there. */
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;
/** Node itself answering `initialize` with a constant: what no server can go below. */
const BARE_NODE = ["-e", `process.stdin.once("data",()=>process.stdout.write('{"jsonrpc":"2.0","id":1,"result":{}}\\n'))`];

const INITIALIZE = {
  protocolVersion: "2025-06-18",
  capabilities: {},
  clientInfo: { name: "bench", version: "1" },
};

// ---------------------------------------------------------------------------------------------
// A minimal newline-delimited JSON-RPC client over a child's stdio, the same for every program.

class StdioPeer {
  #next = 1;
  #pending = new Map();
  #buffer = "";

  constructor(args, { env = {}, cwd }) {
    this.child = spawn(process.execPath, args, {
      cwd,
      // Only what a client would pass: nothing inherited from this shell (no stray VCC_* variables).
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? tmpdir(), ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.stderr = "";
    this.child.stderr.on("data", (chunk) => {
      if (this.stderr.length < 20_000) this.stderr += chunk;
    });
    this.child.stdout.setEncoding("utf8");
    this.child.stdout.on("data", (chunk) => this.#read(chunk));
    this.exited = new Promise((resolve) => this.child.on("exit", (code, signal) => resolve({ code, signal })));
    this.exited.then(() => {
      for (const { reject } of this.#pending.values()) reject(new Error(`process exited; stderr:\n${this.stderr}`));
      this.#pending.clear();
    });
  }

  #read(chunk) {
    // Time-stamped on arrival, before parsing, so that the reader's own work is not counted.
    const at = process.hrtime.bigint();
    this.#buffer += chunk;
    let newline = this.#buffer.indexOf("\n");
    while (newline >= 0) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + 1);
      newline = this.#buffer.indexOf("\n");
      if (!line.trim()) continue;
      const message = JSON.parse(line);
      const waiter = message.id !== undefined ? this.#pending.get(message.id) : undefined;
      if (!waiter) continue; // notifications and requests from the server: not used here
      this.#pending.delete(message.id);
      if (waiter.onArrival) waiter.onArrival();
      if (message.error) waiter.reject(new Error(`${message.error.code}: ${message.error.message}`));
      else waiter.resolve({ result: message.result, ms: Number(at - waiter.sent) / 1e6 });
    }
  }

  /** Sends a request; resolves with its result and the time from writing it to the answer's arrival. */
  request(method, params, onArrival) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onArrival, sent: process.hrtime.bigint() });
      this.child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
    });
  }

  notify(method, params) {
    this.child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method, ...(params ? { params } : {}) })}\n`);
  }

  async initialize() {
    const answer = await this.request("initialize", INITIALIZE);
    this.notify("notifications/initialized");
    return answer;
  }

  callTool(name, args) {
    return this.request("tools/call", { name, arguments: args });
  }

  /** Ends stdin (a client closing), then makes sure the process is gone. */
  async close() {
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics.

function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  return { n: sorted.length, median: rank(0.5), p99: rank(0.99), min: sorted[0], max: sorted[sorted.length - 1] };
}

/** CPU time of the process's main thread so far (ms): less sensitive than wall time to other load. */
const mainThreadCpuMs = (pid) => Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1e6;

const vmRssMiB = (pid) => {
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) / 1024;
};

// ---------------------------------------------------------------------------------------------
// 1 + 2: cold start to the `initialize` answer, and resident memory at that moment.

async function coldStart(args, env, cwd) {
  const started = process.hrtime.bigint();
  const peer = new StdioPeer(args, { env, cwd });
  let ms = Number.NaN;
  let rss = Number.NaN;
  let cpu = Number.NaN;
  // All read as the answer arrives, before anything else happens in the child.
  await peer.request("initialize", INITIALIZE, () => {
    ms = Number(process.hrtime.bigint() - started) / 1e6;
    rss = vmRssMiB(peer.child.pid);
    cpu = mainThreadCpuMs(peer.child.pid);
  });
  await peer.close();
  return { ms, rss, cpu };
}

/**
 * Ours as an installed dependency (package.json and dist/, what npm installs), at a path exactly as
 * long as the reference's: Node's own start-up work grows with the length of the paths it loads,
 * so neither program may profit from a shorter one (see docs/benchmarks.md).
 */
function installedCopy(base) {
  const tail = join("node_modules", "vcc-interaction-content-mcp");
  const pad = REFERENCE.length - join(base, tail, "dist", "index.js").length - 1;
  const dir = join(pad > 0 ? join(base, "p".repeat(pad)) : base, tail);
  mkdirSync(dir, { recursive: true });
  cpSync(join(root, "package.json"), join(dir, "package.json"));
  cpSync(join(root, "dist"), join(dir, "dist"), { recursive: true });
  return join(dir, "dist", "index.js");
}

async function measureStartup(sim) {
  const cwd = mkdtempSync(join(tmpdir(), "vcc-bench-")); // no .env here: each program sees only `env`
  const installed = installedCopy(cwd);
  const programs = {
    ours: { args: [installed], env: { VCC_ACCESS_TOKEN: "sandbox-token", VCC_API_BASE_URL: sim.apiBaseUrl } },
    reference: { args: [REFERENCE, cwd], env: {} },
    bareNode: { args: BARE_NODE, env: {} },
  };
  const results = Object.fromEntries(Object.keys(programs).map((name) => [name, { ms: [], rss: [], cpu: [] }]));
  const names = Object.keys(programs);
  for (let run = 0; run < WARMUP + START_RUNS; run++) {
    // Interleaved, and the order rotates, so that drift and noise on the machine hit all alike.
    for (let i = 0; i < names.length; i++) {
      const name = names[(run + i) % names.length];
      const { ms, rss, cpu } = await coldStart(programs[name].args, programs[name].env, cwd);
      if (run >= WARMUP) {
        results[name].ms.push(ms);
        results[name].rss.push(rss);
        results[name].cpu.push(cpu);
      }
    }
  }
  rmSync(cwd, { recursive: true, force: true });
  const measured = Object.fromEntries(
    Object.entries(results).map(([name, r]) => [name, { ms: summary(r.ms), rssMiB: summary(r.rss), cpuMs: summary(r.cpu) }]),
  );
  return { ...measured, paths: { ours: installed, reference: REFERENCE } };
}

// ---------------------------------------------------------------------------------------------
// 3: a confirmed deletion: ours vs the minimal SDK server vs the floor. 4: sequential deletions
// against the rate limit.

const DELETE_TOOL = "delete_interaction_content";

/** The server's structured result, or a thrown error that says what came back instead. */
function structured(result, expected) {
  const content = result?.structuredContent;
  if (content?.status !== expected) throw new Error(`expected status ${expected}, got ${JSON.stringify(result)}`);
  return content;
}

/**
 * One deletion the way an assistant does it with VCC_CONFIRMATION=token: ask (the server looks the
 * item up and issues a token), then call again with the token (the server sends the DELETE). A 429
 * answer (rate_limited) spends the token: wait what the server says, then confirm again. A server
 * that retries 429 by itself simply never returns rate_limited here.
 */
async function confirmedDeletion(peer, item, stats) {
  for (;;) {
    const asked = await peer.callTool(DELETE_TOOL, item);
    const token = structured(asked.result, "confirmation_required").confirmationToken;
    const confirmed = await peer.callTool(DELETE_TOOL, { ...item, confirmationToken: token });
    const content = confirmed.result?.structuredContent;
    if (content?.status === "deleted") return { askMs: asked.ms, confirmMs: confirmed.ms };
    if (content?.status === "error" && content.error?.code === "rate_limited") {
      stats.rateLimited++;
      await new Promise((resolve) => setTimeout(resolve, (content.error.retryAfterSeconds ?? 1) * 1000));
      continue;
    }
    throw new Error(`deletion of ${JSON.stringify(item)} failed: ${JSON.stringify(confirmed.result)}`);
  }
}

function itemsFor(offset, count) {
  const items = [];
  for (let i = 0; items.length < count; i++) {
    const guid = generatedGuid(offset + i);
    items.push({ guid, contentKey: "callRecording" }, { guid, contentKey: "transcript" });
  }
  return items.slice(0, count);
}

/** Every item deleted exactly once: one 204 for its path, no second DELETE that succeeded or found nothing. */
function checkExactlyOnce(sim, items, fromJournalIndex) {
  const deletes = sim.journal.slice(fromJournalIndex).filter((e) => e.route === "delete-content");
  const byPath = new Map();
  for (const entry of deletes) {
    const list = byPath.get(entry.path) ?? [];
    list.push(entry.status);
    byPath.set(entry.path, list);
  }
  const problems = [];
  const remaining = new Map(sim.interactions().map((i) => [i.guid, new Set(i.content.map((c) => c.contentKey))]));
  for (const { guid, contentKey } of items) {
    const statuses = (byPath.get(`/interaction-content/interactions/${guid}/content/${contentKey}`) ?? []).filter((s) => s !== 429);
    if (statuses.length !== 1 || statuses[0] !== 204) problems.push(`${guid}/${contentKey}: DELETE answers ${JSON.stringify(statuses)}`);
    if (remaining.get(guid)?.has(contentKey)) problems.push(`${guid}/${contentKey}: still present`);
  }
  const expectedPaths = new Set(items.map((i) => `/interaction-content/interactions/${i.guid}/content/${i.contentKey}`));
  for (const path of byPath.keys()) if (!expectedPaths.has(path)) problems.push(`unexpected DELETE ${path}`);
  return problems;
}

/** Items of the per-call benchmark: one block of CALL_WARMUP + CALLS per program, generated interactions 0... */
const callBlock = () => Math.ceil((CALL_WARMUP + CALLS) / 2);
const PER_CALL_PROGRAMS = ["ours", "minimalSdk", "floor"];

/** With BENCH_CPU_PROF: node's flags that profile a program of the per-call and shared-state runs into <name>.cpuprofile. */
const profile = (name) =>
  CPU_PROF_DIR ? ["--cpu-prof", `--cpu-prof-dir=${CPU_PROF_DIR}`, `--cpu-prof-name=${name}.cpuprofile`, "--cpu-prof-interval=50"] : [];

async function measureCalls(sim) {
  const cwd = mkdtempSync(join(tmpdir(), "vcc-bench-"));
  // The simulator answers at once: no added latency and no rate limit (only the throughput run sets one).
  const env = { VCC_ACCESS_TOKEN: "sandbox-token", VCC_API_BASE_URL: sim.apiBaseUrl, VCC_CONFIRMATION: "token" };
  const peers = {
    ours: new StdioPeer([...profile("ours"), OURS], { env, cwd }),
    minimalSdk: new StdioPeer([...profile("minimal-sdk"), MINIMAL_SDK], { env, cwd }),
    floor: new StdioPeer([...profile("floor"), FLOOR], { env, cwd }),
  };
  const { ours } = peers;
  try {
    await Promise.all(Object.values(peers).map((peer) => peer.initialize()));
    const total = CALL_WARMUP + CALLS;
    const items = Object.fromEntries(PER_CALL_PROGRAMS.map((name, n) => [name, itemsFor(callBlock() * n, total)]));
    const journalStart = sim.journal.length;
    const samples = { ours: [], minimalSdk: [], floor: [] };
    const first = {};
    // Ours is asked for a batch of items first (it looks each up and issues a token; not timed), so
    // that its timed call does not follow its own previous call any more closely than the others'
    // do. Every timed call is preceded by a ping to the same process, which wakes it alike.
    const tokens = [];
    const ask = async (i) => {
      const { result, ms } = await ours.callTool(DELETE_TOOL, items.ours[i]);
      tokens[i] = structured(result, "confirmation_required").confirmationToken;
      return ms;
    };
    // Also the main-thread CPU time each process spends on the call (from /proc, read before and
    // after it): much less disturbed than wall time by other work on the machine.
    const cpu = { ours: [], minimalSdk: [], floor: [] };
    const timed = async (peer, args, name, keep) => {
      await peer.request("ping", {});
      const cpuBefore = mainThreadCpuMs(peer.child.pid);
      const { result, ms } = await peer.callTool(DELETE_TOOL, args);
      if (keep) cpu[name].push(mainThreadCpuMs(peer.child.pid) - cpuBefore);
      structured(result, "deleted");
      return ms;
    };
    const run = {
      ours: (i) => timed(ours, { ...items.ours[i], confirmationToken: tokens[i] }, "ours", i >= CALL_WARMUP),
      // The same arguments as ours' confirmed call (a token of the same length), so that the SDK
      // validates the same input; the reference ignores the token.
      minimalSdk: (i) =>
        timed(
          peers.minimalSdk,
          { ...items.minimalSdk[i], confirmationToken: `vcc-confirm-${"x".repeat(32)}` },
          "minimalSdk",
          i >= CALL_WARMUP,
        ),
      floor: (i) => timed(peers.floor, items.floor[i], "floor", i >= CALL_WARMUP),
    };
    const BATCH = 25;
    for (let start = 0; start < total; start += BATCH) {
      const end = Math.min(total, start + BATCH);
      for (let i = start; i < end; i++) {
        const ms = await ask(i);
        if (i === 0) first.ours = ms;
      }
      for (let i = start; i < end; i++) {
        // One at a time, in an order that rotates, so that none always meets a just-idle simulator.
        for (let k = 0; k < PER_CALL_PROGRAMS.length; k++) {
          const name = PER_CALL_PROGRAMS[(i + k) % PER_CALL_PROGRAMS.length];
          const ms = await run[name](i);
          if (i === 0 && name !== "ours") first[name] = ms;
          if (i >= CALL_WARMUP) samples[name].push(ms);
        }
      }
    }
    const problems = checkExactlyOnce(sim, Object.values(items).flat(), journalStart);
    if (problems.length > 0) throw new Error(`per-call benchmark: ${problems.slice(0, 5).join("; ")}`);

    const throughput = await measureThroughput(sim, ours, itemsFor(callBlock() * PER_CALL_PROGRAMS.length, THROUGHPUT_DELETIONS));
    return {
      latency: {
        ours: summary(samples.ours),
        minimalSdk: summary(samples.minimalSdk),
        floor: summary(samples.floor),
        firstCallMs: first,
        cpuMs: { ours: summary(cpu.ours), minimalSdk: summary(cpu.minimalSdk), floor: summary(cpu.floor) },
      },
      throughput,
    };
  } finally {
    await Promise.all(Object.values(peers).map((peer) => peer.close()));
    rmSync(cwd, { recursive: true, force: true });
  }
}

async function measureThroughput(sim, ours, items) {
  const journalStart = sim.journal.length;
  sim.setRateLimit(RATE_LIMIT); // at most RATE_LIMIT requests in any one second, starting now
  const stats = { rateLimited: 0 };
  const started = process.hrtime.bigint();
  for (const item of items) await confirmedDeletion(ours, item, stats);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  sim.setRateLimit(undefined);

  const problems = checkExactlyOnce(sim, items, journalStart);
  const api = sim.journal.slice(journalStart).filter((e) => e.route !== "token");
  const accepted = api.filter((e) => e.status !== 429).length;
  const refused = api.length - accepted;
  // No client could have had more accepted in this time: RATE_LIMIT at once, then RATE_LIMIT a second.
  const allowance = RATE_LIMIT + RATE_LIMIT * seconds;
  return {
    rateLimitPerSecond: RATE_LIMIT,
    deletions: items.length,
    seconds,
    deletionsPerSecond: items.length / seconds,
    apiRequests: api.length,
    apiRequestsAccepted: accepted,
    apiRequestsRefused429: refused,
    acceptedPerSecond: accepted / seconds,
    shareOfLimit: accepted / allowance,
    rateLimitedResults: stats.rateLimited,
    problems,
  };
}

// ---------------------------------------------------------------------------------------------
// 5: a one-year search of a repeat caller (both stored formats of the number) against the rate limit.

const SEARCH_ARGS = {
  from: "2025-12-01",
  to: "2026-11-30",
  party: [SEARCH_SAMPLE.callerA, SEARCH_SAMPLE.callerANational],
  maxResults: 500,
};
const DAY_MS = 86_400_000;

/**
 * The fewest requests any client needs: for each 7-day window and each side of each address, one
 * request per page of up to 1000 matches (at least one, to learn there are none). Counted from the
 * simulator's data with the API's rules (start inclusive, end inclusive, starts-with).
 */
function minimumSearchRequests(sim) {
  const from = Date.parse(`${SEARCH_ARGS.from}T00:00:00Z`);
  const to = Date.parse(`${SEARCH_ARGS.to}T00:00:00Z`) + DAY_MS;
  const live = sim.interactions().filter((i) => i.content.length > 0);
  let total = 0;
  let windows = 0;
  for (let start = from; start < to; start += 7 * DAY_MS) {
    windows++;
    const end = Math.min(start + 7 * DAY_MS, to);
    for (const address of SEARCH_ARGS.party) {
      for (const side of ["connectFrom", "connectTo"]) {
        const n = live.filter((i) => i[side].startsWith(address) && Date.parse(i.start) >= start && Date.parse(i.start) <= end).length;
        total += Math.max(1, Math.ceil(n / 1000));
      }
    }
  }
  return { total, windows };
}

async function measureSearch(sim) {
  const cwd = mkdtempSync(join(tmpdir(), "vcc-bench-"));
  const env = { VCC_ACCESS_TOKEN: "sandbox-token", VCC_API_BASE_URL: sim.apiBaseUrl };
  const peer = new StdioPeer([OURS], { env, cwd });
  try {
    await peer.initialize();
    const minimum = minimumSearchRequests(sim);
    const journalStart = sim.journal.length;
    sim.setRateLimit(SEARCH_RATE_LIMIT); // at most SEARCH_RATE_LIMIT requests in any one second, starting now
    const { result, ms } = await peer.callTool("search_interactions", SEARCH_ARGS);
    sim.setRateLimit(undefined);
    const s = result?.structuredContent;
    if (!s?.complete) throw new Error(`the search did not complete: ${JSON.stringify(result).slice(0, 500)}`);
    const api = sim.journal.slice(journalStart).filter((e) => e.route === "list-interactions");
    const accepted = api.filter((e) => e.status !== 429);
    const times = accepted.map((e) => Date.parse(e.time));
    const span = (Math.max(...times) - Math.min(...times)) / 1000;
    // With at most L requests in any one second, request k (0-based) cannot go before second
    // floor(k / L): the last of n requests not before floor((n - 1) / L) s after the first.
    const fewestSeconds = Math.floor((accepted.length - 1) / SEARCH_RATE_LIMIT);
    return {
      rateLimitPerSecond: SEARCH_RATE_LIMIT,
      windows: minimum.windows,
      interactionsFound: s.interactions.length,
      minimumRequests: minimum.total,
      apiRequests: api.length,
      apiRequestsAccepted: accepted.length,
      apiRequestsRefused429: api.length - accepted.length,
      requestRatio: api.length / minimum.total,
      seconds: ms / 1000,
      firstToLastRequestSeconds: span,
      fewestSeconds,
      shareOfLimit: span > 0 ? Math.min(1, fewestSeconds / span) : 1,
    };
  } finally {
    await peer.close();
    rmSync(cwd, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// 6: a confirmed deletion with the shared state in Redis (VCC_STATE_URL, a redis-server on this
// machine) against the same server with its state in the process, side by side and interleaved.
// Then, in a loop of their own (so that ours run as before), the floor of that figure: the least a
// program can do for a confirmed deletion with its token in Redis (bench/floor-state.mjs: one
// waited round trip that claims the token and takes the deletion lock) and in the process.

const STATE_PROGRAMS = ["memory", "redis"];
const FLOOR_STATE = join(root, "bench/floor-state.mjs");
const stateBlock = () => Math.ceil((STATE_CALL_WARMUP + STATE_CALLS) / 2);

/**
 * Ask + confirm, one at a time and the order alternating, of each of `peers` (memory, redis) with
 * items of its own from generated interaction `offset` on; each call after a ping that wakes its
 * process alike. Checks that every item was deleted exactly once. Medians of the timed calls.
 */
async function measureConfirmedPairs(sim, peers, offset) {
  const total = STATE_CALL_WARMUP + STATE_CALLS;
  const items = Object.fromEntries(STATE_PROGRAMS.map((name, n) => [name, itemsFor(offset + stateBlock() * n, total)]));
  const journalStart = sim.journal.length;
  const samples = Object.fromEntries(STATE_PROGRAMS.map((name) => [name, { ask: [], confirm: [], both: [] }]));
  for (let i = 0; i < total; i++) {
    for (let k = 0; k < STATE_PROGRAMS.length; k++) {
      const name = STATE_PROGRAMS[(i + k) % STATE_PROGRAMS.length];
      const peer = peers[name];
      await peer.request("ping", {});
      const asked = await peer.callTool(DELETE_TOOL, items[name][i]);
      const token = structured(asked.result, "confirmation_required").confirmationToken;
      await peer.request("ping", {});
      const confirmed = await peer.callTool(DELETE_TOOL, { ...items[name][i], confirmationToken: token });
      structured(confirmed.result, "deleted");
      if (i >= STATE_CALL_WARMUP) {
        samples[name].ask.push(asked.ms);
        samples[name].confirm.push(confirmed.ms);
        samples[name].both.push(asked.ms + confirmed.ms);
      }
    }
  }
  const problems = checkExactlyOnce(sim, Object.values(items).flat(), journalStart);
  if (problems.length > 0) throw new Error(`state benchmark: ${problems.slice(0, 5).join("; ")}`);
  const measured = Object.fromEntries(
    STATE_PROGRAMS.map((name) => [
      name,
      { ask: summary(samples[name].ask), confirm: summary(samples[name].confirm), askAndConfirm: summary(samples[name].both) },
    ]),
  );
  return {
    ...measured,
    ratio: measured.redis.confirm.median / measured.memory.confirm.median,
    ratioAskAndConfirm: measured.redis.askAndConfirm.median / measured.memory.askAndConfirm.median,
  };
}

/** Generated interactions the shared-state figure uses from its offset on (ours, then the floor's). */
const stateInteractions = () => stateBlock() * STATE_PROGRAMS.length * 2 + 1;

async function measureStateCalls(sim, redis, offset) {
  const cwd = mkdtempSync(join(tmpdir(), "vcc-bench-"));
  const env = { VCC_ACCESS_TOKEN: "sandbox-token", VCC_API_BASE_URL: sim.apiBaseUrl, VCC_CONFIRMATION: "token" };
  const peers = {
    memory: new StdioPeer([...profile("state-memory"), OURS], { env, cwd }),
    redis: new StdioPeer([...profile("state-redis"), OURS], { env: { ...env, VCC_STATE_URL: redis.url }, cwd }),
  };
  let ours;
  let redisCommands;
  let redisUnreachable;
  try {
    await Promise.all(Object.values(peers).map((peer) => peer.initialize()));
    ours = await measureConfirmedPairs(sim, peers, offset);
    // Redis commands of one more confirmed deletion (of the ask, and of the confirmation), from Redis's own counters.
    const extraItem = itemsFor(offset + stateInteractions() - 1, 1)[0];
    const beforeAsk = await redisCommandCounts(redis.url);
    const asked = await peers.redis.callTool(DELETE_TOOL, extraItem);
    const token = structured(asked.result, "confirmation_required").confirmationToken;
    const afterAsk = await redisCommandCounts(redis.url);
    structured((await peers.redis.callTool(DELETE_TOOL, { ...extraItem, confirmationToken: token })).result, "deleted");
    const afterConfirm = await redisCommandCounts(redis.url);
    redisCommands = { ask: commandsBetween(beforeAsk, afterAsk), confirm: commandsBetween(afterAsk, afterConfirm) };
    // Said when the server logs that Redis could not be reached (the figure would then be meaningless).
    redisUnreachable = /shared state \(Redis\) is unreachable/.test(peers.redis.stderr);
  } finally {
    await Promise.all(Object.values(peers).map((peer) => peer.close()));
  }
  const floors = {
    memory: new StdioPeer([FLOOR_STATE], { env, cwd }),
    redis: new StdioPeer([FLOOR_STATE], { env: { ...env, VCC_STATE_URL: redis.url }, cwd }),
  };
  try {
    await Promise.all(Object.values(floors).map((peer) => peer.initialize()));
    const floor = await measureConfirmedPairs(sim, floors, offset + stateBlock() * STATE_PROGRAMS.length);
    return { redisVersion: redis.version, redisCommands, ...ours, redisUnreachable, floor };
  } finally {
    await Promise.all(Object.values(floors).map((peer) => peer.close()));
    rmSync(cwd, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

function machine() {
  const meminfo = readFileSync("/proc/meminfo", "utf8");
  const total = /MemTotal:\s+(\d+)/.exec(meminfo)?.[1];
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Number(((total ? Number(total) * 1024 : totalmem()) / 2 ** 30).toFixed(1)),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    // Other work on the machine slows every program alike; the ratios are what the goals read.
    loadAverage1m: Number(loadavg()[0]?.toFixed(2)),
  };
}

const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const verdict = (ok) => (ok ? "met" : "MISSED");

async function main() {
  const reference = JSON.parse(readFileSync(join(root, "node_modules/@modelcontextprotocol/server-filesystem/package.json"), "utf8"));
  // Generated interactions (two items each): the per-call blocks, the throughput run's, then the shared-state figure's.
  const stateOffset = callBlock() * PER_CALL_PROGRAMS.length + Math.ceil(THROUGHPUT_DELETIONS / 2);
  const extra = stateOffset + stateInteractions() + 1;
  const loadBefore = Number(loadavg()[0]?.toFixed(2));
  const sim = await startSimulator({ extraInteractions: extra });
  try {
    process.stderr.write(`cold start: ${WARMUP} warm-up + ${START_RUNS} runs of each program ...\n`);
    const startup = await measureStartup(sim);
    process.stderr.write(
      `per call: ${CALL_WARMUP} warm-up + ${CALLS} confirmed deletions each (ours, minimal SDK server, floor); then ${THROUGHPUT_DELETIONS} deletions at ${RATE_LIMIT} requests/s ...\n`,
    );
    const { latency, throughput } = await measureCalls(sim);
    process.stderr.write(`search: one year of a repeat caller at ${SEARCH_RATE_LIMIT} requests/s ...\n`);
    // On a simulator of its own: the sample data only, not the interactions generated for the other
    // parts (the same caller on 2026-11-20), whose number would change with their sizes.
    const searchSim = await startSimulator();
    let search;
    try {
      search = await measureSearch(searchSim);
    } finally {
      await searchSim.close();
    }
    const redis = await startBenchRedis("shared state in Redis");
    let state;
    if (redis) {
      process.stderr.write(
        `shared state: ${STATE_CALL_WARMUP} warm-up + ${STATE_CALLS} confirmed deletions each, state in Redis ${redis.version} vs in the process ...\n`,
      );
      try {
        state = await measureStateCalls(sim, redis, stateOffset);
      } finally {
        await redis.close();
      }
    }

    const startRatio = startup.ours.ms.median / startup.reference.ms.median;
    const rssRatio = startup.ours.rssMiB.median / startup.reference.rssMiB.median;
    const callRatio = latency.ours.median / latency.floor.median;
    const sdkRatio = latency.ours.median / latency.minimalSdk.median;
    const results = {
      date: new Date().toISOString(),
      machine: { ...machine(), loadAverage1mBefore: loadBefore },
      reference: `${reference.name}@${reference.version}`,
      entryPaths: startup.paths,
      settings: {
        warmup: WARMUP,
        startRuns: START_RUNS,
        callWarmup: CALL_WARMUP,
        calls: CALLS,
        throughputDeletions: THROUGHPUT_DELETIONS,
        rateLimit: RATE_LIMIT,
        searchRateLimit: SEARCH_RATE_LIMIT,
      },
      coldStartMs: {
        ours: startup.ours.ms,
        reference: startup.reference.ms,
        bareNode: startup.bareNode.ms,
        ratio: startRatio,
        goal: 0.6,
        met: startRatio <= 0.6,
      },
      mainThreadCpuMsAtInitialize: {
        ours: startup.ours.cpuMs,
        reference: startup.reference.cpuMs,
        bareNode: startup.bareNode.cpuMs,
        ratio: startup.ours.cpuMs.median / startup.reference.cpuMs.median,
      },
      rssMiB: {
        ours: startup.ours.rssMiB,
        reference: startup.reference.rssMiB,
        bareNode: startup.bareNode.rssMiB,
        ratio: rssRatio,
        goal: 0.85,
        met: rssRatio <= 0.85,
      },
      confirmedDeletionMs: {
        ...latency,
        ratio: callRatio,
        goal: 1.3,
        met: callRatio <= 1.3,
        // What the server adds to the SDK's own cost (audit off): the goal of issue 16.
        ratioToMinimalSdk: sdkRatio,
        goalToMinimalSdk: 1.15,
        metToMinimalSdk: sdkRatio <= 1.15,
        minimalSdkToFloor: latency.minimalSdk.median / latency.floor.median,
        cpuRatioToMinimalSdk: latency.cpuMs.ours.median / latency.cpuMs.minimalSdk.median,
      },
      throughput: {
        ...throughput,
        goal: 0.95,
        met: throughput.shareOfLimit >= 0.95 && throughput.problems.length === 0,
      },
      search: {
        ...search,
        goals: { requestRatio: 1.05, shareOfLimit: 0.95 },
        met: search.requestRatio <= 1.05 && search.shareOfLimit >= 0.95,
      },
      sharedStateConfirmedDeletionMs: state
        ? { ...state, goal: 1.5, met: state.ratio <= 1.5 && !state.redisUnreachable }
        : { skipped: "no redis-server on this machine" },
    };
    writeFileSync(join(root, "bench/results.json"), `${JSON.stringify(results, null, 2)}\n`);

    const rows = [
      ["measure", "ours", "reference", "ratio", "goal", ""],
      [
        "cold start to initialize, ms (median / p99)",
        `${fmt(startup.ours.ms.median)} / ${fmt(startup.ours.ms.p99)}`,
        `${fmt(startup.reference.ms.median)} / ${fmt(startup.reference.ms.p99)}`,
        fmt(startRatio, 2),
        "<= 0.60",
        verdict(results.coldStartMs.met),
      ],
      [
        "RSS at initialize, MiB (median / p99)",
        `${fmt(startup.ours.rssMiB.median)} / ${fmt(startup.ours.rssMiB.p99)}`,
        `${fmt(startup.reference.rssMiB.median)} / ${fmt(startup.reference.rssMiB.p99)}`,
        fmt(rssRatio, 2),
        "<= 0.85",
        verdict(results.rssMiB.met),
      ],
      [
        "confirmed deletion, ms (median / p99)",
        `${fmt(latency.ours.median, 2)} / ${fmt(latency.ours.p99, 2)}`,
        `${fmt(latency.floor.median, 2)} / ${fmt(latency.floor.p99, 2)} (floor)`,
        fmt(callRatio, 2),
        "<= 1.30",
        verdict(results.confirmedDeletionMs.met),
      ],
      [
        "confirmed deletion vs the minimal SDK server, ms",
        `${fmt(latency.ours.median, 2)} / ${fmt(latency.ours.p99, 2)}`,
        `${fmt(latency.minimalSdk.median, 2)} / ${fmt(latency.minimalSdk.p99, 2)} (minimal SDK)`,
        fmt(sdkRatio, 2),
        "<= 1.15",
        verdict(results.confirmedDeletionMs.metToMinimalSdk),
      ],
      [
        `throughput at ${RATE_LIMIT} req/s: accepted API requests / allowed`,
        `${fmt(throughput.acceptedPerSecond, 2)}/s, ${fmt(throughput.deletionsPerSecond, 2)} deletions/s`,
        `${RATE_LIMIT}/s (limit)`,
        fmt(throughput.shareOfLimit, 3),
        ">= 0.95",
        verdict(results.throughput.met),
      ],
      [
        `search, 1 year at ${SEARCH_RATE_LIMIT} req/s: requests / minimum`,
        `${search.apiRequests} requests`,
        `${search.minimumRequests} (windows x sides x pages)`,
        fmt(search.requestRatio, 3),
        "<= 1.05",
        verdict(search.requestRatio <= 1.05),
      ],
      [
        "search: share of the rate limit used",
        `${fmt(search.firstToLastRequestSeconds, 2)} s first to last request`,
        `${search.fewestSeconds} s (fewest the limit allows)`,
        fmt(search.shareOfLimit, 3),
        ">= 0.95",
        verdict(search.shareOfLimit >= 0.95),
      ],
      state
        ? [
            "confirmed deletion, state in Redis vs in the process, ms",
            `${fmt(state.redis.confirm.median, 2)} / ${fmt(state.redis.confirm.p99, 2)}`,
            `${fmt(state.memory.confirm.median, 2)} / ${fmt(state.memory.confirm.p99, 2)} (in process)`,
            fmt(state.ratio, 2),
            "<= 1.50",
            verdict(results.sharedStateConfirmedDeletionMs.met),
          ]
        : ["confirmed deletion, state in Redis vs in the process", "skipped: no redis-server", "", "", "<= 1.50", ""],
      ...(state
        ? [
            [
              "  its floor: one waited round trip (floor-state.mjs), ms",
              `${fmt(state.floor.redis.confirm.median, 2)} / ${fmt(state.floor.redis.confirm.p99, 2)}`,
              `${fmt(state.floor.memory.confirm.median, 2)} / ${fmt(state.floor.memory.confirm.p99, 2)} (in process)`,
              fmt(state.floor.ratio, 2),
              "(reference)",
              "",
            ],
          ]
        : []),
    ];
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    const line = (r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]))
        .join("  ")
        .trimEnd();
    const out = [
      `${results.machine.cpus} CPUs (${results.machine.cpuModel}), ${results.machine.memoryGiB} GiB, Node ${results.machine.node}, load average ${results.machine.loadAverage1mBefore} before / ${results.machine.loadAverage1m} after; reference: ${results.reference}`,
      line(rows[0]),
      widths.map((w) => "-".repeat(w)).join("  "),
      ...rows.slice(1).map(line),
      "",
      `main-thread CPU to initialize (medians): ours ${fmt(startup.ours.cpuMs.median)} ms, reference ${fmt(startup.reference.cpuMs.median)} ms (${fmt(results.mainThreadCpuMsAtInitialize.ratio, 2)}), bare node ${fmt(startup.bareNode.cpuMs.median)} ms`,
      `bare node answering initialize: ${fmt(startup.bareNode.ms.median)} ms, ${fmt(startup.bareNode.rssMiB.median)} MiB (medians)`,
      `per call (medians): minimal SDK server ${fmt(results.confirmedDeletionMs.minimalSdkToFloor, 2)}x the floor; ours ${fmt(sdkRatio, 2)}x the minimal SDK server, ${fmt(callRatio, 2)}x the floor`,
      `per call, main-thread CPU (medians): ours ${fmt(latency.cpuMs.ours.median, 3)} ms, minimal SDK server ${fmt(latency.cpuMs.minimalSdk.median, 3)} ms, floor ${fmt(latency.cpuMs.floor.median, 3)} ms: ours ${fmt(latency.cpuMs.ours.median / latency.cpuMs.minimalSdk.median, 2)}x the minimal SDK server, which is ${fmt(latency.cpuMs.minimalSdk.median / latency.cpuMs.floor.median, 2)}x the floor`,
      `first tool call after start: ours ${fmt(latency.firstCallMs.ours, 1)} ms (loads the HTTP client, looks the item up, issues a token), minimal SDK server ${fmt(latency.firstCallMs.minimalSdk, 1)} ms and floor ${fmt(latency.firstCallMs.floor, 1)} ms (their first DELETE)`,
      `throughput: ${throughput.deletions} deletions in ${fmt(throughput.seconds, 2)} s, ${throughput.apiRequestsAccepted} API requests accepted, ${throughput.apiRequestsRefused429} answered 429, ${throughput.rateLimitedResults} rate_limited results; every item deleted exactly once: ${throughput.problems.length === 0 ? "yes" : `NO (${throughput.problems.slice(0, 3).join("; ")})`}`,
      `search: ${search.interactionsFound} interactions in ${search.windows} windows, ${fmt(search.seconds, 2)} s for the call, ${search.apiRequestsAccepted} requests accepted and ${search.apiRequestsRefused429} answered 429`,
      state
        ? `shared state (Redis ${state.redisVersion} on this machine): ask + confirm ${fmt(state.redis.askAndConfirm.median, 2)} ms vs ${fmt(state.memory.askAndConfirm.median, 2)} ms in the process (${fmt(state.ratioAskAndConfirm, 2)}x); the ask alone ${fmt(state.redis.ask.median, 2)} vs ${fmt(state.memory.ask.median, 2)} ms; Redis commands per deletion (INFO commandstats, the commands a script runs included): ${state.redisCommands.ask.total} for the ask (${JSON.stringify(state.redisCommands.ask.byCommand)}), ${state.redisCommands.confirm.total} for the confirmation (${JSON.stringify(state.redisCommands.confirm.byCommand)})${state.redisUnreachable ? "; REDIS WAS UNREACHABLE during the run" : ""}`
        : "shared state: skipped (no redis-server on this machine)",
      "written: bench/results.json",
    ];
    process.stdout.write(`${out.join("\n")}\n`);
  } finally {
    await sim.close();
  }
}

await main();
