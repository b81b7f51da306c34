// The erasure jobs of this process: one engine per data directory, opened at the first need (like
// the approval page server), deleting through the process's API client with the shutdown signal as
// stopRetrying, reporting every engine event to the audit trail, and left `interrupted` cleanly when
// the process shuts down. Also keeps the optional verification of a job (a new search once it ended).
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { AuditTrail, JobAuditRecord } from "../audit.js";
import type { Config } from "../config.js";
import type { ToolError } from "../core/errors.js";
import { localAccount } from "../core/identity.js";
import { checkAllowed } from "../deletion/allowlist.js";
import { itemIdentity } from "../deletion/binding.js";
import { atShutdown, shuttingDown } from "../lifecycle.js";
import { log } from "../log.js";
import { normaliseCriteria, type SearchInput } from "../search/criteria.js";
import type { SharedState } from "../state/types.js";
import type { ApiAccess } from "../vcc/client.js";
import { Pacer } from "../vcc/pacer.js";
import { DELETE_SCOPE, READ_SCOPE } from "../vcc/scopes.js";
import { collectItems } from "./collect.js";
import { type DeleteItem, ErasureJobs, type JobEvent, type ReplicaOptions } from "./engine.js";
import { jobSettings } from "./files.js";
import { isFinal } from "./journal.js";
import type { JsonValue } from "./plan.js";
import { paceBeforeItem, vccDeleteItem } from "./vcc.js";

export const ERASE_TOOL_NAME = "erase_interaction_content";

/** What a verification found: items that still match the job's criteria after it ended. */
export interface Verification {
  status: "pending" | "done" | "failed";
  at?: string;
  /**
   * Still matching (for example recorded after planning: the job never touches those). `notAllowed`:
   * of a kind this server does not delete (VCC_ALLOWED_CONTENT_KEYS), so never in a plan of it.
   */
  stillMatching?: { guid: string; contentKey: string; type?: string; interactionStart?: string; inPlan: boolean; notAllowed?: true }[];
  /** Items of the same interactions not among the job's contentTypes, by type ("unknown": no type given): not checked. */
  otherTypes?: Record<string, number>;
  error?: ToolError;
}

export interface JobService {
  readonly jobs: ErasureJobs;
  /** Asks for a new search once the job has ended (criteria jobs only); kept on disk with the job. */
  requestVerification(jobId: string): Promise<void>;
  verification(jobId: string): Promise<Verification | undefined>;
}

/** `state`: with Redis (VCC_STATE_URL), jobs live there and are leased, and a sweeper takes over lapsed ones. */
type Deps = { config: Config; api: ApiAccess; audit: AuditTrail; state?: SharedState };

/** This process's name as a lease holder: host, process id and a random part (not a secret). */
const REPLICA = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;

/**
 * The lease and sweep timing for replicas from the configuration: the lease at least twice one API
 * attempt's time limit, so that the check before each DELETE (that much left) can pass.
 */
export function replicaTiming(config: Config): { leaseMs: number; sweepMs: number } {
  const configured = config.state.jobLeaseMs ?? 60_000;
  const leaseMs = Math.max(configured, 2 * config.api.timeoutMs);
  if (leaseMs > configured)
    log.warn(`VCC_JOB_LEASE_MS is raised to ${leaseMs}: a job's lease must outlast twice one API attempt (VCC_TIMEOUT_MS)`);
  return { leaseMs, sweepMs: config.state.jobSweepMs ?? 15_000 };
}

/** By data directory; with replicas, by shared state (two in-process "replicas" have one each). */
const services = new Map<string | SharedState, Promise<JobService>>();

/**
 * The shared state whose job records this service uses, if any: Redis (VCC_STATE_URL), except in
 * sandbox mode (jobs against the sample data must never be seen, or resumed, by a real server).
 */
function sharedState(deps: Deps): SharedState | undefined {
  return deps.state?.jobs && !deps.config.sandbox ? deps.state : undefined;
}

/**
 * The data directory of this process's jobs: VCC_DATA_DIR or the user's state directory — except in
 * sandbox mode without VCC_DATA_DIR, where jobs against the sample data live in a directory of this
 * process only (they must never be listed, or resumed, by a server that talks to the real API).
 */
function jobsDataDirOf(config: Config): string {
  if (config.sandbox && config.jobs.dataDir === undefined) return join(tmpdir(), `vcc-sandbox-jobs-${process.pid}`);
  return jobSettings(config).dataDir;
}

/**
 * The job service of this process for the configured data directory (with Redis state: for that
 * state, whose records it uses and whose sweeper it runs), opened on first use.
 */
export function jobServiceFor(deps: Deps): Promise<JobService> {
  const key = sharedState(deps) ?? jobsDataDirOf(deps.config);
  let service = services.get(key);
  if (!service) {
    service = openService(deps);
    services.set(key, service);
    service.catch(() => services.delete(key));
  }
  return service;
}

/** Closes every job service of this process (tests; shutdown does it through the lifecycle hook). */
export async function closeJobServices(): Promise<void> {
  const all = [...services.values()];
  services.clear();
  await Promise.all(all.map(async (s) => (await s.catch(() => undefined))?.jobs.close()));
}

/** The engine's events as records of the audit trail. */
export function jobAuditRecord(event: JobEvent): JobAuditRecord {
  const base = { event: "job" as const, tool: ERASE_TOOL_NAME, jobId: event.jobId };
  switch (event.type) {
    case "plan":
      return {
        ...base,
        action: "plan",
        criteria: event.criteria,
        items: event.totals.items,
        interactions: event.totals.interactions,
        bytes: event.totals.bytes,
        ...(event.excluded ? { excluded: event.excluded } : {}),
      };
    case "approval":
      return {
        ...base,
        action: "approval",
        confirmation: event.approval.method,
        outcome: "approved",
        ...(event.approval.approver ? { approver: event.approval.approver } : {}),
        ...(event.approval.passkey ? { passkey: event.approval.passkey } : {}),
      };
    case "start":
    case "resume":
    case "cancel":
      return { ...base, action: event.type };
    case "pause":
      return { ...base, action: "pause", errorCode: event.code, reason: event.reason };
    case "finish":
      return { ...base, action: "finish", outcome: event.status, receiptSha256: event.receiptSha256 };
    case "item": {
      const item = { guid: event.item.guid, contentKey: event.item.contentKey };
      if (event.phase === "started") return { ...base, action: "item_started", ...item, deleteCall: event.deleteCall };
      const r = event.result;
      return {
        ...base,
        action: "item_outcome",
        ...item,
        outcome: r.outcome,
        ...(event.attempts !== undefined ? { attempts: event.attempts } : {}),
        ...("httpStatus" in r && r.httpStatus !== undefined ? { httpStatus: r.httpStatus } : {}),
        ...(r.outcome === "deleted" && r.verifiedByAbsence ? { verifiedByAbsence: true } : {}),
        ...(r.outcome === "failed" ? { errorCode: r.code, ...(r.outcomeUnknown ? { outcomeUnknown: true } : {}) } : {}),
      };
    }
  }
}

async function openService(deps: Deps): Promise<JobService> {
  const settings = { ...jobSettings(deps.config), dataDir: jobsDataDirOf(deps.config) };
  const osUser = localAccount(deps.config.transport);
  const auditContext = { dryRun: deps.config.controls.dryRun, sandbox: deps.config.sandbox, ...(osUser ? { osUser } : {}) };
  // The process's API client, asked for at each DELETE (cheap once created): no lookup, no GET. One
  // pacer for the process's jobs: after a 429 they keep to the pace the API accepted (for a minute).
  const pacer = new Pacer(Date.now, { forgetAfterMs: 60_000, unsaidWindowMs: deps.config.api.rateLimitWindowMs });
  const deleteItem: DeleteItem = async (item, signal, guard, stop) => {
    // The allowlist in force now, also for a job planned before it changed (resumed or taken over).
    const notAllowed = checkAllowed(deps.config.controls, item.contentKey, item.type);
    if (notAllowed) return { kind: "error", error: notAllowed, notSent: true };
    const api = await deps.api(signal, DELETE_SCOPE);
    if (!api.ok) return { kind: "error", error: api.error, notSent: true };
    return vccDeleteItem(api.client, { stopRetrying: shuttingDown, pacer })(item, signal, guard, stop);
  };
  const state = sharedState(deps);
  const shared = state?.jobs;
  const timing = state ? replicaTiming(deps.config) : undefined;
  const replicas: ReplicaOptions | undefined = state && timing ? { leases: state.leases, holder: REPLICA, ...timing } : undefined;
  const verifications = new Map<string, Verification>();
  let jobs: ErasureJobs | undefined;
  // Kept with the job's records (disk, or Redis: then any replica that ends the job verifies it).
  const REQUESTED = "verify-requested";
  const RESULT = "verification.json";

  /** Verifications under way in this process, by job: a second request meanwhile is the same one. */
  const verifying = new Map<string, Promise<void>>();

  /**
   * With replicas, one replica at a time verifies a job: it holds a lease on `verify:<jobId>`, renewed
   * while the search runs (undefined: another replica does it now). Without replicas (disk), always:
   * another process on the data directory doing it at the same time only repeats a search (nothing is
   * deleted; the file is replaced atomically by an equally valid result).
   */
  const claim = async (jobId: string): Promise<(() => Promise<void>) | undefined> => {
    if (!state || !timing) return async () => {};
    const { leases } = state;
    const { leaseMs } = timing;
    const lease = await leases.acquire(`verify:${jobId}`, REPLICA, leaseMs).catch(() => null);
    // The shared state cannot be asked: verified here (at worst twice, never not at all).
    if (lease === null) return async () => {};
    if (!lease) return undefined;
    const renewal = setInterval(() => void leases.renew(lease, leaseMs).catch(() => false), Math.max(1, Math.floor(leaseMs / 4)));
    renewal.unref();
    return async () => {
      clearInterval(renewal);
      await leases.release(lease).catch(() => {});
    };
  };

  /** Runs the job's search again, once: the result is saved with the job before its status says so. */
  const verify = (jobId: string): Promise<void> => {
    const under = verifying.get(jobId);
    if (under) return under;
    const known = verifications.get(jobId);
    if (known && known.status !== "pending") return Promise.resolve();
    const run = (async () => {
      const view = await jobs?.get(jobId);
      if (!view?.ok) return;
      const release = await claim(jobId);
      if (!release) return;
      try {
        // Saved meanwhile (by another replica or process): nothing to do again.
        if ((await jobs?.note(jobId, RESULT).catch(() => undefined)) !== undefined) return;
        verifications.set(jobId, { status: "pending" });
        const result = await verifyNow(deps, view.job.criteria, jobId, jobs as ErasureJobs);
        // On disk (or in Redis) first: whoever sees "done" finds the file there, also after a restart.
        await jobs
          ?.putNote(jobId, RESULT, result)
          .catch((error: unknown) => log.warn("the verification of an erasure job could not be saved", { jobId, error: String(error) }));
        verifications.set(jobId, result);
      } finally {
        await release();
      }
    })()
      .catch((error: unknown) => log.warn("the verification of an erasure job failed", { jobId, error: String(error) }))
      .finally(() => verifying.delete(jobId));
    verifying.set(jobId, run);
    return run;
  };

  /** An ended job whose verification was asked for (kept with the job) and not saved: the search runs again now. */
  const verifyIfAsked = async (jobId: string) => {
    const asked = await jobs?.note(jobId, REQUESTED).catch(() => undefined);
    if (asked !== undefined) void verify(jobId);
  };
  jobs = await ErasureJobs.open({
    dataDir: settings.dataDir,
    approvalTtlHours: settings.approvalTtlHours,
    dryRun: settings.dryRun,
    readOnly: deps.config.controls.readOnly,
    sandbox: deps.config.sandbox,
    deleteItem,
    beforeItem: paceBeforeItem(pacer),
    pace: () => pacer.perMinute(),
    ...(shared && replicas ? { store: shared, replicas } : {}),
    onEvent: async (event) => {
      // The approval names who asked (team server): the person behind the session that planned the
      // job; and where it was given: the client and session, as the tools' records do.
      if (deps.audit.enabled) {
        const via = event.type === "approval" ? event.approval.via : undefined;
        await deps.audit.write(
          jobAuditRecord(event),
          event.type === "approval"
            ? {
                ...auditContext,
                ...(event.requester ? { requester: event.requester } : {}),
                ...(via?.client ? { client: via.client } : {}),
                ...(via?.sessionId ? { sessionId: via.sessionId } : {}),
              }
            : auditContext,
        );
      }
      // Ended while the jobs were being opened (a job whose end is recorded at start): found by the look below.
      if (event.type === "finish" && jobs) await verifyIfAsked(event.jobId);
    },
  });
  const opened = jobs;
  /**
   * Ended jobs whose verification was asked for and never saved (the process stopped after the job's
   * end, or during the search): it runs now, as for a job ending here.
   */
  const verifyUnsaved = async (): Promise<void> => {
    for (const jobId of await opened.ids()) {
      if ((await opened.note(jobId, REQUESTED).catch(() => undefined)) === undefined) continue;
      if ((await opened.note(jobId, RESULT).catch(() => undefined)) !== undefined) continue;
      const view = await opened.get(jobId).catch(() => undefined);
      if (view?.ok && isFinal(view.job.status)) void verify(jobId);
    }
  };
  void verifyUnsaved().catch((error: unknown) =>
    log.warn("the verifications of erasure jobs could not be looked up", { error: String(error) }),
  );
  const temporary = deps.config.sandbox && deps.config.jobs.dataDir === undefined;
  atShutdown(async () => {
    await opened.close();
    // The sandbox's jobs end with the process that owns its simulator.
    if (temporary) await rm(settings.dataDir, { recursive: true, force: true });
  });
  return {
    jobs: opened,
    async requestVerification(jobId) {
      await opened.putNote(jobId, REQUESTED, 1);
      const view = await opened.get(jobId);
      // Ended before the request was written down (a very short job): verify now.
      if (view.ok && isFinal(view.job.status)) void verify(jobId);
      else {
        if (!verifications.has(jobId)) verifications.set(jobId, { status: "pending" });
        // Its end may come before the request was written down for it to see: verified once it has ended.
        void opened.settled(jobId).then(
          async (ended) => {
            if (isFinal(ended.status)) await verify(jobId);
          },
          () => {},
        );
      }
    },
    async verification(jobId) {
      const known = verifications.get(jobId);
      if (known && known.status !== "pending") return known;
      // Saved by whoever ran it (this process, another one, another replica): what it found.
      const saved = await opened.note(jobId, RESULT).catch(() => undefined);
      if (saved !== undefined) return saved as Verification;
      const asked = known ?? (await opened.note(jobId, REQUESTED).catch(() => undefined));
      if (asked === undefined) return undefined;
      // Asked for and not saved: it runs when the job ends. An ended job's runs now unless it is under
      // way (here, or with replicas on the replica holding its lease): the process that ran it may
      // have died, or its search failed, and "pending" must not wait for a next start.
      if (!verifying.has(jobId)) {
        const view = await opened.get(jobId).catch(() => undefined);
        if (view?.ok && isFinal(view.job.status)) void verify(jobId);
      }
      return { status: "pending" };
    },
  };
}

/** Runs the job's search again and lists what still matches. */
async function verifyNow(deps: Deps, criteria: JsonValue, jobId: string, jobs: ErasureJobs): Promise<Verification> {
  const at = () => new Date().toISOString();
  const stored = (criteria ?? {}) as Record<string, unknown>;
  const { contentTypes, ...rest } = stored;
  const input = { ...rest, ...(Array.isArray(contentTypes) && !contentTypes.includes("all") ? { contentTypes } : {}) } as SearchInput;
  const checked = normaliseCriteria(input, Date.now());
  if (!checked.ok) return { status: "failed", at: at(), error: checked.error };
  const api = await deps.api(undefined, READ_SCOPE);
  if (!api.ok) return { status: "failed", at: at(), error: api.error };
  const found = await collectItems(api.client, checked.criteria, {
    signal: shuttingDown,
    rateLimitWindowMs: deps.config.api.rateLimitWindowMs,
    advice: {
      again: "Nothing was changed: run search_interactions with the same criteria to see what is left.",
      afterRateLimit: "Nothing was changed: wait a few minutes, then run search_interactions with the same criteria to see what is left.",
    },
  });
  if (!found.ok) return { status: "failed", at: at(), error: found.error };
  // Records it could not read may still hold matching content: "nothing matches" would not be known.
  if (found.collected.unreadable > 0)
    return {
      status: "failed",
      at: at(),
      error: {
        code: "upstream_error",
        message: `The search after the job found ${found.collected.unreadable} interaction record(s) this server could not read, so whether anything still matches is not known. Look at them in the VCC Admin Portal.`,
      },
    };
  const planned = new Set<string>();
  for (const item of await jobs.planItems(jobId).catch(() => [])) planned.add(itemIdentity(item));
  const { otherTypes } = found.collected;
  return {
    status: "done",
    at: at(),
    stillMatching: found.collected.items.map((i) => {
      const inPlan = planned.has(itemIdentity(i));
      return {
        guid: i.guid,
        contentKey: i.contentKey,
        ...(i.type !== undefined ? { type: i.type } : {}),
        ...(i.interactionStart !== undefined ? { interactionStart: i.interactionStart } : {}),
        inPlan,
        ...(!inPlan && checkAllowed(deps.config.controls, i.contentKey, i.type) ? { notAllowed: true as const } : {}),
      };
    }),
    ...(Object.keys(otherTypes).length > 0 ? { otherTypes } : {}),
  };
}
