// npm run bench (second part): erasure jobs of the shipped server (dist/index.js) against the
// simulator. Self-contained: its own simulator, server processes and results file.
//   1. Throughput: a job of BENCH_JOB_ITEMS (1 000) items across BENCH_JOB_INTERACTIONS (300)
//      interactions with the API limited to BENCH_JOB_RATE_LIMIT requests/s: accepted DELETEs per
//      second ÷ the limit (goal ≥ 0.95), and no lookup per item.
//   3. The same throughput with the shared state in Redis (VCC_STATE_URL, a redis-server started
//      here; skipped without one): BENCH_STATE_JOB_ITEMS (300) items, goal ≥ 0.95 of the limit too.
//   2. Memory: a job of BENCH_MEMORY_ITEMS (10 000) items against an unlimited simulator: the growth
//      of the server's resident memory (VmRSS) from the job's start to its end (goal ≤ 20 MiB).
// Writes bench/results-erasure-jobs.json. Method and figures: docs/benchmarks.md.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { startSimulator } from "../dist/simulator/server.js";
import { startBenchRedis } from "./redis.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const int = (name, fallback) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number (got '${process.env[name]}')`);
  return value;
};
const JOB_ITEMS = int("BENCH_JOB_ITEMS", 1000);
const JOB_INTERACTIONS = int("BENCH_JOB_INTERACTIONS", 300);
const JOB_RATE_LIMIT = int("BENCH_JOB_RATE_LIMIT", 10);
const MEMORY_ITEMS = int("BENCH_MEMORY_ITEMS", 10_000);
/** 3. The throughput run again with the shared state in Redis (a redis-server the bench starts): a smaller job. */
const STATE_JOB_ITEMS = int("BENCH_STATE_JOB_ITEMS", 300);
const STATE_JOB_INTERACTIONS = int("BENCH_STATE_JOB_INTERACTIONS", 100);
const TOKEN = "bench-erasure-token";
/** The generated interactions (src/simulator/seed.ts): one caller, 2026-11-20 10:00 UTC. */
const CRITERIA = { connectFrom: "+441632960101", from: "2026-11-20T09:00:00Z", to: "2026-11-20T11:00:00Z", contentTypes: ["all"] };

const vmRssMiB = (pid) => Number(/VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;

/** A simulator whose generated interactions hold `items` content items in all (2 each, more on the first ones). */
async function simulatorWith(interactions, items) {
  if (items < interactions * 2) throw new Error("at least two items per interaction (a recording and a transcript)");
  const sim = await startSimulator({
    extraInteractions: interactions,
    staticTokens: { [TOKEN]: ["interaction-content:read", "interaction-content:delete"] },
  });
  const generated = sim.interactions().filter((i) => i.guid.startsWith("b0000000-"));
  for (let n = 0; n < items - interactions * 2; n++) {
    // Recorded on the same calls: more content of the same interactions (the live view, as a test does).
    generated[n % generated.length].content.push({
      contentKey: `c0000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
      type: "screenRecording",
      contentType: "video/mp4",
      contentLength: 4096,
      lastModified: "2026-11-20T10:10:00.000Z",
    });
  }
  return sim;
}

async function server(sim, dataDir, env = {}) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [join(root, "dist/index.js")],
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? tmpdir(),
      VCC_ACCESS_TOKEN: TOKEN,
      VCC_API_BASE_URL: sim.apiBaseUrl,
      VCC_DATA_DIR: dataDir,
      VCC_CONFIRMATION: "token",
      ...env,
    },
    stderr: "pipe",
    cwd: dataDir,
  });
  const client = new Client({ name: "bench-erasure", version: "1" });
  await client.connect(transport);
  await client.listTools();
  return { client, pid: transport.pid };
}

const call = async (client, name, args) => {
  const result = await client.callTool({ name, arguments: args }, undefined, { timeout: 600_000 });
  if (result.isError) throw new Error(`${name}: ${result.content?.[0]?.text}`);
  return result.structuredContent;
};

/** Plans, approves with the token (the person's part), and returns the job's id. */
async function plannedAndStarted(client, beforeStart = () => {}) {
  const asked = await call(client, "erase_interaction_content", CRITERIA);
  beforeStart();
  const started = await call(client, "erase_interaction_content", { ...CRITERIA, confirmationToken: asked.confirmationToken });
  return { jobId: started.jobId, planned: started.plan.items };
}

/** Polls get_erasure_job once a second, as an assistant following the job might, until it is no longer running. */
async function finished(client, jobId) {
  for (;;) {
    const { job } = await call(client, "get_erasure_job", { jobId });
    if (job.status !== "running") return job;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function throughput(interactions = JOB_INTERACTIONS, items = JOB_ITEMS, env = {}) {
  const sim = await simulatorWith(interactions, items);
  const dataDir = mkdtempSync(join(tmpdir(), "vcc-bench-jobs-"));
  try {
    const { client } = await server(sim, dataDir, env);
    let from = 0;
    const { jobId, planned } = await plannedAndStarted(client, () => {
      from = sim.journal.length;
      sim.setRateLimit(JOB_RATE_LIMIT); // at most JOB_RATE_LIMIT requests in any one second, from now on
    });
    const job = await finished(client, jobId);
    sim.setRateLimit(undefined);
    await client.close();
    const api = sim.journal.slice(from).filter((e) => e.route !== "token");
    const deletes = api.filter((e) => e.method === "DELETE");
    const accepted = deletes.filter((e) => e.status === 204);
    const times = accepted.map((e) => Date.parse(e.time));
    const seconds = (Math.max(...times) - Math.min(...times)) / 1000;
    // n accepted requests at L a second: the last cannot come before ⌊(n − 1) / L⌋ s after the first.
    const fewest = Math.floor((accepted.length - 1) / JOB_RATE_LIMIT);
    const perSecond = (accepted.length - 1) / seconds;
    const paths = new Set(accepted.map((e) => e.path));
    return {
      items: planned,
      interactions,
      rateLimitPerSecond: JOB_RATE_LIMIT,
      status: job.status,
      deleted: job.progress.deleted,
      acceptedDeletes: accepted.length,
      distinctItemsDeleted: paths.size,
      refused429: deletes.filter((e) => e.status === 429).length,
      lookupsDuringJob: api.filter((e) => e.method === "GET").length,
      firstToLastDeleteSeconds: seconds,
      deletesPerSecond: perSecond,
      ratioToLimit: perSecond / JOB_RATE_LIMIT,
      fewestSeconds: fewest,
      shareOfLimit: fewest / seconds,
    };
  } finally {
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function memory() {
  const sim = await simulatorWith(MEMORY_ITEMS / 2, MEMORY_ITEMS);
  const dataDir = mkdtempSync(join(tmpdir(), "vcc-bench-jobs-"));
  try {
    const { client, pid } = await server(sim, dataDir);
    const atReady = vmRssMiB(pid);
    const started = Date.now();
    const { jobId, planned } = await plannedAndStarted(client);
    const atStart = vmRssMiB(pid);
    let peak = atStart;
    const series = [];
    const jobStarted = Date.now();
    // Sampled from /proc every 100 ms, independently of the polling; one sample a second kept.
    const sampler = setInterval(() => {
      const rss = vmRssMiB(pid);
      peak = Math.max(peak, rss);
      const second = Math.floor((Date.now() - jobStarted) / 1000);
      if (series.length === 0 || series[series.length - 1][0] < second) series.push([second, Number(rss.toFixed(1))]);
    }, 100);
    const job = await finished(client, jobId);
    clearInterval(sampler);
    const atEnd = vmRssMiB(pid);
    peak = Math.max(peak, atEnd);
    const seconds = (Date.now() - started) / 1000;
    await client.close();
    return {
      items: planned,
      status: job.status,
      deleted: job.progress.deleted,
      seconds,
      rssMiB: { atReady, atJobStart: atStart, peakDuringJob: peak, atEnd },
      rssBySecondMiB: series,
      /** What the job left behind: resident memory at its end over its start. */
      growthAtEndMiB: atEnd - atStart,
      /** The highest sample over the start (V8 grows its heap before a major collection gives memory back). */
      peakGrowthMiB: peak - atStart,
      peakGrowthFromReadyMiB: peak - atReady,
    };
  } finally {
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const loadBefore = loadavg()[0];
process.stderr.write(`erasure job: ${JOB_ITEMS} items across ${JOB_INTERACTIONS} interactions at ${JOB_RATE_LIMIT} requests/s ...\n`);
const t = await throughput();
process.stderr.write(`erasure job: resident memory over a ${MEMORY_ITEMS}-item job ...\n`);
const m = await memory();
const redis = await startBenchRedis("erasure job with the shared state in Redis");
let r;
if (redis) {
  process.stderr.write(
    `erasure job, state in Redis ${redis.version}: ${STATE_JOB_ITEMS} items across ${STATE_JOB_INTERACTIONS} interactions at ${JOB_RATE_LIMIT} requests/s ...\n`,
  );
  try {
    r = { redisVersion: redis.version, ...(await throughput(STATE_JOB_INTERACTIONS, STATE_JOB_ITEMS, { VCC_STATE_URL: redis.url })) };
  } finally {
    await redis.close();
  }
}
const results = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, node: process.version, loadAverage1mBefore: loadBefore, loadAverage1m: loadavg()[0] },
  throughput: t,
  memory: m,
  throughputStateInRedis: r ?? { skipped: "no redis-server on this machine" },
};
writeFileSync(join(root, "bench/results-erasure-jobs.json"), `${JSON.stringify(results, null, 2)}\n`);
const ok = (met) => (met ? "met" : "MISSED");
const lines = [
  `erasure job throughput: ${t.acceptedDeletes} DELETEs accepted (${t.distinctItemsDeleted} distinct items of ${t.items} planned, status ${t.status}) in ${fmt(t.firstToLastDeleteSeconds)} s at ${t.rateLimitPerSecond}/s: ${fmt(t.deletesPerSecond)}/s, ${fmt(t.ratioToLimit, 3)} of the limit (goal >= 0.95: ${ok(t.ratioToLimit >= 0.95)}); share of the fewest seconds the limit allows ${fmt(t.shareOfLimit, 3)}; ${t.refused429} answered 429; ${t.lookupsDuringJob} GET during the job`,
  `erasure job memory: ${m.items} items (${m.status}, ${m.deleted} deleted) in ${fmt(m.seconds, 1)} s; VmRSS ${fmt(m.rssMiB.atReady, 1)} MiB ready, ${fmt(m.rssMiB.atJobStart, 1)} MiB at the job's start, ${fmt(m.rssMiB.peakDuringJob, 1)} MiB peak, ${fmt(m.rssMiB.atEnd, 1)} MiB at the end: growth at the end ${fmt(m.growthAtEndMiB, 1)} MiB (goal <= 20: ${ok(m.growthAtEndMiB <= 20)}), at the peak ${fmt(m.peakGrowthMiB, 1)} MiB (${ok(m.peakGrowthMiB <= 20)}), peak over ready ${fmt(m.peakGrowthFromReadyMiB, 1)} MiB`,
  r
    ? `erasure job throughput, state in Redis ${r.redisVersion}: ${r.acceptedDeletes} DELETEs accepted (${r.distinctItemsDeleted} distinct items of ${r.items} planned, status ${r.status}) in ${fmt(r.firstToLastDeleteSeconds)} s at ${r.rateLimitPerSecond}/s: ${fmt(r.deletesPerSecond)}/s, ${fmt(r.ratioToLimit, 3)} of the limit (goal >= 0.95: ${ok(r.ratioToLimit >= 0.95)}); ${r.refused429} answered 429`
    : "erasure job throughput, state in Redis: skipped (no redis-server on this machine)",
  "written: bench/results-erasure-jobs.json",
];
process.stdout.write(`${lines.join("\n")}\n`);
