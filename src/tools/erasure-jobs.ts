// get_erasure_job, cancel_erasure_job, resume_erasure_job: following and steering the erasure jobs
// that erase_interaction_content started. The engine (src/jobs/) does the work; these say what a job
// is doing in words and in a structured view.
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { ERROR_CODE_LIST, type ToolError } from "../core/errors.js";
import { describeTypeCounts, formatBytes } from "../core/format.js";
import { type Identity, sameIdentity } from "../core/identity.js";
import type { JobResult, JobView } from "../jobs/engine.js";
import { isFinal } from "../jobs/journal.js";
import { ERASE_TOOL_NAME, type JobService, type Verification } from "../jobs/service.js";
import { criteriaRecord } from "../search/criteria.js";
import { StateUnavailableError, stateUnavailable } from "../state/index.js";
import type { ToolContext } from "./context.js";
import { defineTool } from "./define.js";
import { errorText, sandboxSchema, toolErrorSchema, toolResult } from "./results.js";
import { criteriaOutput } from "./search-interactions.js";

export const GET_JOB_TOOL_NAME = "get_erasure_job";
export const CANCEL_JOB_TOOL_NAME = "cancel_erasure_job";
export const RESUME_JOB_TOOL_NAME = "resume_erasure_job";

/** The receipts of a job as MCP resources (server.ts serves them). */
export function receiptUri(jobId: string, format: "json" | "md"): string {
  return `vcc-erasure://jobs/${jobId}/receipt.${format}`;
}

const jobStatus = z.enum(["running", "paused", "interrupted", "completed", "completed_with_errors", "cancelled"]);

export const planTotalsSchema = z.object({
  interactions: z.number().int(),
  items: z.number().int(),
  bytes: z.number().describe("Sum of the known sizes."),
  itemsOfUnknownSize: z.number().int(),
  byType: z.record(z.string(), z.object({ items: z.number().int(), bytes: z.number() })),
  firstInteractionStart: z.string().optional(),
  lastInteractionStart: z.string().optional(),
});

/** A person as the identity provider names them (team server). */
const identitySchema = z.object({ subject: z.string(), issuer: z.string(), name: z.string().optional(), email: z.string().optional() });

const jobSchema = z.object({
  jobId: z.string(),
  status: jobStatus,
  dryRun: z.boolean(),
  criteria: criteriaOutput.describe("What the job was planned from (from/to in UTC, to exclusive), or the explicit items."),
  requester: identitySchema.optional().describe("Team server: who asked for the erasure (as the identity provider names them)."),
  approval: z.object({
    method: z.enum(["elicitation", "token", "approval"]),
    approvedAt: z.string(),
    approvedBy: z.string().optional(),
    via: z
      .object({
        client: z.object({ name: z.string(), version: z.string() }).optional(),
        sessionId: z.string().optional(),
        osUser: z.string().optional(),
      })
      .optional()
      .describe(
        "Where it was given, as the server knows it: the MCP client and session that approved (or passed back the token), and on stdio the operating-system account the server ran as. Not who the person was: that is approver (team server) or passkey.",
      ),
    approver: identitySchema.optional().describe("Team server: who approved on the approval page (as the identity provider names them)."),
    passkey: z.string().optional().describe("Passkeys required: the credential id of the passkey that approved on the page."),
    expiresAt: z.string().describe("Until when the approval is valid for resuming the job."),
  }),
  totals: planTotalsSchema.describe("What was approved."),
  progress: z.object({
    done: z.number().int().describe("Deleted, already gone, or dry run."),
    deleted: z.number().int(),
    alreadyGone: z.number().int(),
    dryRun: z.number().int(),
    failed: z.number().int().describe("Failed, certainly not deleted."),
    outcomeUnknown: z
      .number()
      .int()
      .describe("May or may not have been deleted: in flight when the job stopped, or failed without knowing (the receipt's unknown)."),
    remaining: z
      .number()
      .int()
      .describe("Not tried yet (or, while running, in flight); once the job has ended, never tried (not attempted)."),
  }),
  queued: z.boolean().optional(),
  awaitingTakeover: z
    .boolean()
    .optional()
    .describe("Replicas: running, but no replica is running it right now (its replica stopped); another takes it over shortly."),
  cancelRequested: z.boolean().optional(),
  pause: z.object({ code: z.enum(ERROR_CODE_LIST), reason: z.string(), at: z.string() }).optional(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  itemsPerMinute: z.number().optional(),
  rateLimitPerMinute: z.number().optional(),
  estimatedSecondsLeft: z.number().optional(),
  resumable: z.object({ ok: z.boolean(), reason: z.string().optional() }).optional(),
  failures: z.object({
    page: z.number().int(),
    pageSize: z.number().int(),
    total: z.number().int(),
    items: z.array(
      z.object({
        index: z.number().int(),
        guid: z.string(),
        contentKey: z.string(),
        code: z.enum(ERROR_CODE_LIST),
        message: z.string(),
        httpStatus: z.number().int().optional(),
        outcomeUnknown: z.boolean().optional(),
        retryable: z.boolean().describe("A transient failure: tried again on resume while the job has not ended."),
        time: z.string().optional(),
      }),
    ),
    nextPage: z.number().int().optional(),
  }),
  receipt: z
    .object({ sha256: z.string(), json: z.string().describe("Resource URI."), markdown: z.string().describe("Resource URI.") })
    .optional()
    .describe("When the job has ended: its receipts, readable with resources/read."),
  verification: z
    .object({
      status: z.enum(["pending", "done", "failed"]),
      at: z.string().optional(),
      stillMatching: z
        .array(
          z.object({
            guid: z.string(),
            contentKey: z.string(),
            type: z.string().optional(),
            interactionStart: z.string().optional(),
            inPlan: z.boolean().describe("Part of the approved plan (it failed or reappeared) rather than new."),
            notAllowed: z
              .literal(true)
              .optional()
              .describe("Of a kind this server does not delete (VCC_ALLOWED_CONTENT_KEYS): never part of its plans."),
          }),
        )
        .optional(),
      otherTypes: z
        .record(z.string(), z.number().int())
        .optional()
        .describe("Items of the same interactions not among the job's contentTypes, by type ('unknown': no type given): not checked."),
      error: toolErrorSchema.optional(),
    })
    .optional()
    .describe("With verify: true, the search run again after the job ended: what still matches."),
});

export type JobOutput = z.infer<typeof jobSchema>;

const outputSchema = z.object({
  job: jobSchema.optional(),
  jobs: z
    .array(
      z.object({
        jobId: z.string(),
        status: jobStatus,
        items: z.number().int(),
        outcomeUnknown: z.number().int(),
        remaining: z.number().int(),
        endedAt: z.string().optional(),
      }),
    )
    .optional()
    .describe("Without jobId: every job this server knows."),
  error: toolErrorSchema.optional(),
  sandbox: sandboxSchema,
});

/** The structured job, with the receipts as resource URIs. */
export function jobOutput(view: JobView, verification?: Verification): JobOutput {
  const { receipt, resumable, ...rest } = view;
  return {
    ...rest,
    criteria: criteriaRecord(view.criteria),
    ...(resumable ? { resumable: resumable.ok ? { ok: true } : { ok: false, reason: resumable.reason } } : {}),
    ...(receipt
      ? { receipt: { sha256: receipt.sha256, json: receiptUri(view.jobId, "json"), markdown: receiptUri(view.jobId, "md") } }
      : {}),
    ...(verification ? { verification } : {}),
  };
}

/** "N outcome unknown, " when there are any (as the receipt's unknown). */
const outcomeUnknownText = (n: number): string => (n > 0 ? `${n} outcome unknown, ` : "");

/** A job in words: status, progress, what to do next. */
export function jobText(view: JobView, verification?: Verification): string {
  const p = view.progress;
  const t = view.totals;
  const lines = [
    `Erasure job ${view.jobId}: ${view.status}${view.queued ? " (queued behind another job)" : ""}${view.dryRun ? " — DRY RUN, nothing is deleted" : ""}.`,
    // An ended job's remaining items are never tried: "not attempted", as its receipt says.
    `${p.done} of ${t.items} item(s) done (${p.deleted} deleted, ${p.alreadyGone} already gone${p.dryRun ? `, ${p.dryRun} dry run` : ""}), ${p.failed} failed, ${outcomeUnknownText(p.outcomeUnknown)}${p.remaining} ${isFinal(view.status) ? "not attempted" : "remaining"}; ${t.interactions} interaction(s), ${formatBytes(t.bytes)}.`,
  ];
  // Cancelling: no time left to estimate, the job stops after the item in flight.
  const stopping = view.status === "running" && view.cancelRequested;
  if (view.itemsPerMinute !== undefined)
    lines.push(
      `Rate: ${view.itemsPerMinute} item(s) a minute${view.rateLimitPerMinute !== undefined && !stopping ? ` so far; the API's rate limit now allows about ${view.rateLimitPerMinute} a minute (the pace it accepted before its last 429), and the job keeps to it` : ""}${view.estimatedSecondsLeft !== undefined && !stopping ? `; about ${Math.ceil(view.estimatedSecondsLeft / 60)} minute(s) left` : ""}.`,
    );
  if (stopping) lines.push("Cancelling: it stops after the item in flight, and nothing else is sent.");
  if (view.awaitingTakeover)
    lines.push(
      "No replica is running it at this moment (the one that ran it stopped, or lost the shared state): nothing is being sent for it until another replica takes it over, which happens by itself within the sweep interval (VCC_JOB_SWEEP_MS).",
    );
  if (view.pause) lines.push(`Paused (${view.pause.code}): ${view.pause.reason}`);
  if (view.resumable)
    lines.push(
      view.resumable.ok
        ? `Call ${RESUME_JOB_TOOL_NAME} to continue it (approval valid until ${view.approval.expiresAt}), or ${CANCEL_JOB_TOOL_NAME} to stop it.`
        : view.resumable.reason,
    );
  if (view.failures.total > 0) {
    lines.push(`Failures (page ${view.failures.page}, ${view.failures.items.length} of ${view.failures.total}):`);
    for (const f of view.failures.items)
      lines.push(
        `- ${f.guid} / ${f.contentKey}: ${f.code}${f.httpStatus ? ` (HTTP ${f.httpStatus})` : ""}${f.outcomeUnknown ? ", outcome unknown" : ""}${f.retryable ? (isFinal(view.status) ? ", transient (the job has ended: a new plan erases it)" : ", tried again on resume") : ""} — ${f.message}`,
      );
    if (view.failures.nextPage) lines.push(`More failures: call ${GET_JOB_TOOL_NAME} with page ${view.failures.nextPage}.`);
  }
  if (view.receipt)
    lines.push(
      `Receipt (SHA-256 ${view.receipt.sha256}): resources ${receiptUri(view.jobId, "md")} (readable) and ${receiptUri(view.jobId, "json")} (the record).`,
    );
  if (view.status === "running")
    lines.push(`Call ${GET_JOB_TOOL_NAME} again later to follow it${stopping ? " to its end and receipt" : ""}.`);
  // Ended with items not erased: only a new plan and approval erases them (resume is refused).
  if (isFinal(view.status) && p.failed + p.outcomeUnknown + p.remaining > 0 && !view.dryRun)
    lines.push(
      `Not known to be erased by this job: ${p.failed} failed, ${p.outcomeUnknown} of unknown outcome, ${p.remaining} not attempted. An ended job cannot be resumed: if what is left should still be erased, call ${ERASE_TOOL_NAME} again with the same criteria or items (it plans only what is still there), and a person approves that.`,
    );
  if (verification?.status === "pending")
    lines.push(
      isFinal(view.status)
        ? `Verification: the search is running again; call ${GET_JOB_TOOL_NAME} again later for what it finds.`
        : "Verification: the search runs again once the job has ended.",
    );
  if (verification?.status === "failed")
    lines.push(`Verification failed: ${verification.error ? errorText(verification.error) : "unknown error"}`);
  if (verification?.status === "done") {
    const left = verification.stillMatching ?? [];
    const notAllowed = left.filter((i) => i.notAllowed).length;
    const added = left.filter((i) => !i.inPlan && !i.notAllowed).length;
    const parts = [
      left.length - notAllowed - added
        ? `${left.length - notAllowed - added} of the approved plan (${view.dryRun ? "a dry run deletes nothing" : "failed, or outcome unknown"})`
        : "",
      added ? `${added} not in the approved plan, e.g. recorded after planning: those need a new ${ERASE_TOOL_NAME} call` : "",
      notAllowed
        ? `${notAllowed} of a kind this server does not delete (VCC_ALLOWED_CONTENT_KEYS): another call cannot erase them either`
        : "",
    ].filter(Boolean);
    lines.push(
      left.length === 0
        ? "Verification: the search run again after the job finds nothing left of the types asked for."
        : `Verification: ${left.length} item(s) still match the criteria (${parts.join("; ")}):`,
    );
    for (const i of left.slice(0, 20))
      lines.push(
        `- ${i.guid} / ${i.contentKey}${i.type ? ` (${i.type})` : ""}${i.inPlan ? " [in plan]" : i.notAllowed ? " [not deleted by this server]" : ""}`,
      );
    if (verification.otherTypes && Object.keys(verification.otherTypes).length > 0)
      lines.push(
        `Not checked: the same interactions still hold ${describeTypeCounts(verification.otherTypes)}, which are not among the content types asked for.`,
      );
  }
  return lines.join("\n");
}

const jobIdSchema = z.string().min(1).max(100).describe("The jobId erase_interaction_content answered with.");

type Output = z.infer<typeof outputSchema>;

function fail(context: ToolContext, error: ToolError): CallToolResult {
  return toolResult({ error } satisfies Output, errorText(error), { isError: true, sandbox: context.config.sandbox });
}

/**
 * Team server: a caller sees and acts on the jobs they asked for, not everyone's (a job's criteria
 * name the data subject). Without sign-in (stdio, the static bearer) there is one user: every job.
 */
export function mayAccessJob(view: Pick<JobView, "requester">, caller: Identity | undefined): boolean {
  return caller === undefined || (view.requester !== undefined && sameIdentity(view.requester, caller));
}

/** The job, when the caller may access it; the same answer as an unknown job otherwise. */
export async function ownJob(jobs: JobService["jobs"], jobId: string, caller: Identity | undefined, page?: number): Promise<JobResult> {
  const found = await jobs.get(jobId, page !== undefined ? { page } : {});
  if (found.ok && !mayAccessJob(found.job, caller))
    return {
      ok: false,
      error: {
        code: "not_found",
        message: `No erasure job ${jobId} of yours: check the jobId (get_erasure_job without one lists your jobs).`,
      },
    };
  return found;
}

async function service(context: ToolContext): Promise<{ ok: true; service: JobService } | { ok: false; error: ToolError }> {
  try {
    return { ok: true, service: await context.jobs() };
  } catch (error) {
    return {
      ok: false,
      error: {
        code: "internal_error",
        message: `The erasure jobs' data directory could not be opened (${error instanceof Error ? error.message : String(error)}). Check VCC_DATA_DIR.`,
      },
    };
  }
}

async function answer(context: ToolContext, s: JobService, view: JobView, lead = ""): Promise<CallToolResult> {
  const verification = await s.verification(view.jobId);
  return toolResult({ job: jobOutput(view, verification) } satisfies Output, `${lead}${jobText(view, verification)}`, {
    sandbox: context.config.sandbox,
  });
}

const annotationsOf = (title: string, readOnly: boolean, idempotent: boolean) => ({
  title,
  readOnlyHint: readOnly,
  destructiveHint: false,
  idempotentHint: idempotent,
  openWorldHint: false,
});

export const getErasureJob = defineTool({
  name: GET_JOB_TOOL_NAME,
  title: "Erasure job status",
  description: `The state of an erasure job started by ${ERASE_TOOL_NAME}: status (running, paused, interrupted, completed, completed_with_errors, cancelled), done / failed / outcome unknown / remaining, rate and estimated time left, failures 50 a page (page: 2, ...), the receipt when it has ended, and with verify the items that still match. Without jobId: every job this server knows (e.g. after a restart). Read-only.`,
  inputSchema: z
    .object({
      jobId: jobIdSchema.optional(),
      page: z.number().int().min(1).max(1000).optional().describe("Page of the failures list (50 a page), from 1."),
    })
    .strict(),
  outputSchema,
  annotations: annotationsOf("Erasure job status", true, true),
  destructive: false,
  async handler({ jobId, page }, context, extra) {
    const s = await service(context);
    if (!s.ok) return fail(context, s.error);
    const caller = context.auditContext(extra.sessionId).requester;
    if (jobId === undefined) {
      let all: JobView[];
      try {
        all = await s.service.jobs.list();
      } catch (error) {
        if (error instanceof StateUnavailableError) return fail(context, stateUnavailable(error, "The erasure jobs could not be listed"));
        throw error;
      }
      const jobs = all
        .filter((v) => mayAccessJob(v, caller))
        .map((v) => ({
          jobId: v.jobId,
          status: v.status,
          items: v.totals.items,
          outcomeUnknown: v.progress.outcomeUnknown,
          remaining: v.progress.remaining,
          ...(v.endedAt ? { endedAt: v.endedAt } : {}),
        }));
      const text =
        jobs.length === 0
          ? "No erasure jobs."
          : [
              `${jobs.length} erasure job(s):`,
              ...jobs.map(
                (j) =>
                  `- ${j.jobId}: ${j.status}, ${j.items} item(s), ${outcomeUnknownText(j.outcomeUnknown)}${j.remaining} ${isFinal(j.status) ? "not attempted" : "remaining"}`,
              ),
            ].join("\n");
      return toolResult({ jobs } satisfies Output, text, { sandbox: context.config.sandbox });
    }
    const found = await ownJob(s.service.jobs, jobId, caller, page);
    if (!found.ok) return fail(context, found.error);
    return answer(context, s.service, found.job);
  },
});

export const cancelErasureJob = defineTool({
  name: CANCEL_JOB_TOOL_NAME,
  title: "Cancel an erasure job",
  description: `Stops an erasure job: a running one after the item in flight (that deletion is not cut off), a paused or interrupted one at once. Items not yet deleted stay; the receipt lists them as not attempted. Needs no confirmation (it deletes nothing). Cannot be undone: continuing needs a new ${ERASE_TOOL_NAME} call and approval.`,
  inputSchema: z.object({ jobId: jobIdSchema }).strict(),
  outputSchema,
  annotations: annotationsOf("Cancel an erasure job", false, true),
  destructive: false,
  changesState: true,
  async handler({ jobId }, context, extra) {
    const s = await service(context);
    if (!s.ok) return fail(context, s.error);
    const own = await ownJob(s.service.jobs, jobId, context.auditContext(extra.sessionId).requester);
    if (!own.ok) return fail(context, own.error);
    const result = await s.service.jobs.cancel(jobId);
    if (!result.ok) return fail(context, result.error);
    const lead = result.job.status === "running" ? "Cancellation requested: the job stops after the item in flight.\n" : "Cancelled.\n";
    return answer(context, s.service, result.job, lead);
  },
});

export const resumeErasureJob = defineTool({
  name: RESUME_JOB_TOOL_NAME,
  title: "Resume an erasure job",
  description: `Continues a paused or interrupted erasure job (paused after repeated API failures or refused credentials; interrupted when the server stopped) with the items it approved and nothing else: items not tried yet, the one in flight when it stopped, and transient failures. Allowed while the approval is valid (VCC_JOB_APPROVAL_TTL_HOURS, default 24 h); after that it is refused — then call ${ERASE_TOOL_NAME} again (same criteria) for a new plan of what is left and a new approval.`,
  inputSchema: z.object({ jobId: jobIdSchema }).strict(),
  outputSchema,
  annotations: { ...annotationsOf("Resume an erasure job", false, false), destructiveHint: true, openWorldHint: true },
  destructive: true,
  async handler({ jobId }, context, extra) {
    const s = await service(context);
    if (!s.ok) return fail(context, s.error);
    const own = await ownJob(s.service.jobs, jobId, context.auditContext(extra.sessionId).requester);
    if (!own.ok) return fail(context, own.error);
    const result = await s.service.jobs.resume(jobId);
    if (!result.ok)
      return fail(
        context,
        // Expired, or ended with items left: both are erased further only by a new plan and approval.
        /plan a new job for what is left/i.test(result.error.message)
          ? {
              ...result.error,
              message: `${result.error.message} To do so, call ${ERASE_TOOL_NAME} again with the same criteria (or the remaining items): it plans only what is still there, and a person approves that.`,
            }
          : result.error,
      );
    return answer(context, s.service, result.job, "Resumed.\n");
  },
});
