// erase_interaction_content: erase what a search finds (or an explicit list of items) with ONE
// approval, carried out as a durable erasure job (src/jobs/). Without a token it plans — the whole
// search, the exact set of items — and asks the person (typing the number of items in a form); with
// an approval it starts the job and answers at once. The Confirmer decides, as for every deletion.
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { ConfirmationItem } from "../core/content.js";
import type { ToolError } from "../core/errors.js";
import { asDryRun, formatBytes, formatDate, humanType } from "../core/format.js";
import type { Identity } from "../core/identity.js";
import { checkAllowed } from "../deletion/allowlist.js";
import { bindingOf } from "../deletion/binding.js";
import { type InteractionLookup, lookupInteraction, lookupItem } from "../deletion/lookup.js";
import { describeWait, progressFor } from "../deletion/progress.js";
import { collectItems } from "../jobs/collect.js";
import { excludesAnything, exclusionLines, MAX_PLAN_ITEMS, type PlanExclusions, type PlanItem, type ProposedPlan } from "../jobs/plan.js";
import { ERASE_TOOL_NAME, type JobService } from "../jobs/service.js";
import {
  criteriaInWords,
  criteriaKey,
  criteriaRecord,
  describeCriteria,
  describeRewritten,
  normaliseCriteria,
  type SearchCriteria,
} from "../search/criteria.js";
import type { VccClient } from "../vcc/client.js";
import { contentKeySchema, guidSchema } from "../vcc/ids.js";
import { DELETE_SCOPE, READ_SCOPE } from "../vcc/scopes.js";
import type { ToolContext } from "./context.js";
import { type CallExtra, defineTool } from "./define.js";
import { CANCEL_JOB_TOOL_NAME, GET_JOB_TOOL_NAME, planTotalsSchema } from "./erasure-jobs.js";
import {
  approvalText,
  approvalUrlSchema,
  confirmationTokenSchema,
  errorText,
  sandboxSchema,
  toolErrorSchema,
  toolResult,
} from "./results.js";
import { contentTypesList, criteriaOutput, criteriaShape } from "./search-interactions.js";

export { ERASE_TOOL_NAME };

/** Items listed in the text and the prompt (the approval page lists all of them). */
const SHOWN_ITEMS = 20;

const inputSchema = z
  .object({
    ...criteriaShape,
    from: criteriaShape.from.optional().describe(`${criteriaShape.from.description} Required with criteria.`),
    to: criteriaShape.to.optional().describe(`${criteriaShape.to.description} Required with criteria.`),
    contentTypes: contentTypesList
      .optional()
      .describe('Required with criteria: the content types to erase (e.g. ["callRecording", "voicemail"]), or ["all"] for every type.'),
    items: z
      .array(z.object({ guid: guidSchema, contentKey: contentKeySchema }).strict())
      .min(1)
      .max(MAX_PLAN_ITEMS)
      .optional()
      .describe(`Instead of criteria: the exact {guid, contentKey} items to erase (1-${MAX_PLAN_ITEMS}).`),
    confirmationToken: confirmationTokenSchema("with the same criteria (or items)"),
    verify: z
      .boolean()
      .optional()
      .describe(`With criteria: once the job has ended, run the search again and report what still matches (in ${GET_JOB_TOOL_NAME}).`),
  })
  .strict();

type Input = z.infer<typeof inputSchema>;

const shownItemSchema = z.object({
  guid: z.string(),
  contentKey: z.string(),
  type: z.string().optional(),
  contentLength: z.number().optional(),
  interactionStart: z.string().optional(),
});

const outputSchema = z.object({
  status: z.enum(["running", "confirmation_required", "cancelled", "error"]),
  jobId: z.string().optional().describe(`Follow the job with ${GET_JOB_TOOL_NAME}.`),
  plan: planTotalsSchema.optional().describe("What the plan holds: interactions, items, count and size by type, date span."),
  criteria: criteriaOutput.optional().describe("The criteria as planned (from/to in UTC, to exclusive), or the explicit items."),
  items: z.array(shownItemSchema).optional().describe(`The first ${SHOWN_ITEMS} items of the plan.`),
  excluded: z
    .object({
      notAllowed: z.number().int().describe("Found, but of a kind this server does not delete (VCC_ALLOWED_CONTENT_KEYS)."),
      notFound: z.number().int().describe("Explicit items that are not there (nothing to erase)."),
      unreadable: z
        .number()
        .int()
        .optional()
        .describe("Interaction records the search found but could not read: whatever they hold is NOT in this plan."),
      otherTypes: z
        .record(z.string(), z.number().int())
        .optional()
        .describe(
          "Items of the matching interactions not among contentTypes, by type ('unknown': the API gave no type): NOT in this plan.",
        ),
      typesNotFound: z.array(z.string()).optional().describe("Types of contentTypes that no item found had (check the names)."),
    })
    .optional()
    .describe("What was found and left out of the plan, and why; kept in the job's receipt."),
  confirmationToken: z.string().optional(),
  expiresAt: z.string().optional(),
  approvalUrl: approvalUrlSchema,
  dryRun: z.boolean().optional(),
  verify: z.boolean().optional(),
  error: toolErrorSchema.optional(),
  sandbox: sandboxSchema,
});

type Output = z.infer<typeof outputSchema>;

const DESCRIPTION = `Permanently erase the content of Vonage Contact Center interactions found by a search (e.g. everything of one data subject), or an explicit list of items, as a background ERASURE JOB with ONE approval by a person. Deletion cannot be undone.

Input: the criteria of search_interactions (from, to and party / connectFrom / connectTo / handlingAgentId / direction) plus contentTypes (required: a list of types or ["all"]); OR items: an explicit list of {guid, contentKey}. At most ${MAX_PLAN_ITEMS} items per job; narrow the criteria for more.

Without confirmationToken the tool PLANS: it runs the whole search, fixes the exact set of items and asks the person once (in a prompt they type the number of items). If the result is status confirmation_required, show the person the summary, and only if they clearly agree call again with the same criteria (or items) and the confirmationToken; if there is an approvalUrl, they must approve on that page first. Exactly the planned items are erased, nothing found later.

Once approved, the job starts and this tool answers at once with jobId and status running. Follow it with ${GET_JOB_TOOL_NAME}; stop it with ${CANCEL_JOB_TOOL_NAME}; a paused or interrupted job continues with resume_erasure_job. verify: true re-runs the search when the job ends and lists what still matches.`;

/** What the person approves: the totals and criteria, the first items, then what was left out. */
function planText(proposal: ProposedPlan, dryRun: boolean): string {
  const [totals = "", criteria = "", ...leftOut] = planSummary(proposal, dryRun);
  const items = proposal.items
    .slice(0, SHOWN_ITEMS)
    .map(
      (item, i) =>
        `${i + 1}. ${item.type ? humanType(item.type) : "item of unknown type"} '${item.contentKey}' of interaction ${item.guid}${item.interactionStart ? ` (${formatDate(item.interactionStart)})` : ""}${item.contentLength !== undefined ? `, ${formatBytes(item.contentLength)}` : ""}`,
    );
  const more = proposal.items.length > SHOWN_ITEMS ? [`… and ${proposal.items.length - SHOWN_ITEMS} more item(s).`] : [];
  return [totals, criteria, ...items, ...more, ...leftOut].join("\n");
}

/** The plan's totals, criteria and what was left out: the prompt's head and the approval page's summary. */
function planSummary(proposal: ProposedPlan, dryRun: boolean): string[] {
  const t = proposal.totals;
  const types = Object.entries(t.byType)
    .sort((a, b) => b[1].items - a[1].items)
    .map(([type, v]) => `${v.items} ${humanType(type)}${v.items === 1 ? "" : "s"} (${formatBytes(v.bytes)})`)
    .join(", ");
  const span =
    t.firstInteractionStart && t.lastInteractionStart
      ? `, interactions from ${formatDate(t.firstInteractionStart)} to ${formatDate(t.lastInteractionStart)}`
      : "";
  const what = `Permanently erase ${t.items} content item(s) of ${t.interactions} interaction(s): ${types}; ${formatBytes(t.bytes)} in all${t.itemsOfUnknownSize ? ` plus ${t.itemsOfUnknownSize} item(s) of unknown size` : ""}${span}. This cannot be undone.`;
  const lines = [dryRun ? asDryRun(what) : what, `Found by: ${criteriaInWords(proposal.criteria)}.`];
  lines.push(...exclusionLines(proposal.excluded));
  return lines;
}

const shown = (items: readonly PlanItem[]): Output["items"] =>
  items.slice(0, SHOWN_ITEMS).map((i) => ({
    guid: i.guid,
    contentKey: i.contentKey,
    ...(i.type !== undefined ? { type: i.type } : {}),
    ...(i.contentLength !== undefined ? { contentLength: i.contentLength } : {}),
    ...(i.interactionStart !== undefined ? { interactionStart: i.interactionStart } : {}),
  }));

const confirmationItem = (i: PlanItem): ConfirmationItem => ({
  guid: i.guid,
  contentKey: i.contentKey,
  preview: {
    ...(i.type !== undefined ? { type: i.type } : {}),
    ...(i.contentType !== undefined ? { contentType: i.contentType } : {}),
    ...(i.contentLength !== undefined ? { contentLength: i.contentLength } : {}),
    ...(i.lastModified !== undefined ? { lastModified: i.lastModified } : {}),
  },
});

/** What a confirmation token carries: the exact plan the person was shown, and whether to verify. */
interface Approved {
  proposal: ProposedPlan;
  verify: boolean;
}

type Planned = {
  ok: true;
  items: PlanItem[];
  criteria: Record<string, string | string[]>;
  binding: string;
  excluded: PlanExclusions;
};
type Refused = { ok: false; error: ToolError };

/** Which way the caller asked, checked: the binding a token must match, and (to plan) how to find the items. */
function modeOf(
  input: Input,
  now: number,
): Refused | { ok: true; binding: string; criteria: Record<string, string | string[]>; find: "search" | "items"; search?: SearchCriteria } {
  const { items, contentTypes, confirmationToken: _t, verify, from, to, ...narrowing } = input;
  const criteriaGiven = from !== undefined || to !== undefined || Object.values(narrowing).some((v) => v !== undefined);
  const invalid = (message: string): Refused => ({
    ok: false,
    error: { code: "invalid_input", message: `${message} Nothing was planned or deleted.` },
  });
  if (items) {
    if (criteriaGiven || contentTypes) return invalid("Give either search criteria with contentTypes, or items, not both.");
    if (verify) return invalid("verify works with search criteria only (it runs the search again); leave it out with items.");
    return { ok: true, binding: `erase:items:${bindingOf(items)}`, criteria: { items: "explicit list" }, find: "items" };
  }
  if (from === undefined || to === undefined)
    return invalid("Give from and to (with party, connectFrom, connectTo or handlingAgentId), or items.");
  if (!contentTypes)
    return invalid('contentTypes is required with criteria: list the types to erase (e.g. ["callRecording"]) or ["all"] for every type.');
  const all = contentTypes.some((t) => t.trim().toLowerCase() === "all");
  if (all && contentTypes.length > 1) return invalid('contentTypes is either ["all"] or a list of types, not both.');
  const checked = normaliseCriteria({ from, to, ...narrowing, ...(all ? {} : { contentTypes }) }, now);
  if (!checked.ok)
    return {
      ok: false,
      error: { ...checked.error, message: checked.error.message.replace("Nothing was searched.", "Nothing was planned or deleted.") },
    };
  return {
    ok: true,
    binding: `erase:criteria:${criteriaKey(checked.criteria)}`,
    criteria: { ...describeCriteria(checked.criteria), ...(all ? { contentTypes: ["all"] } : {}) },
    find: "search",
    // What is searched: the criteria as checked once (the described form's `to` is already the end of the day).
    search: checked.criteria,
  };
}

export const eraseInteractionContent = defineTool({
  name: ERASE_TOOL_NAME,
  title: "Erase interaction content (permanent, as a job)",
  description: DESCRIPTION,
  inputSchema,
  outputSchema,
  annotations: {
    title: "Erase interaction content (permanent, as a job)",
    destructiveHint: true,
    idempotentHint: false,
    readOnlyHint: false,
    openWorldHint: true,
  },
  destructive: true,
  async handler(input, context, extra) {
    const sandbox = context.config.sandbox;
    const respond = (output: Output, text: string, isError = false): CallToolResult => toolResult(output, text, { isError, sandbox });
    const fail = (error: ToolError, more: Partial<Output> = {}) => respond({ status: "error", ...more, error }, errorText(error), true);

    const mode = modeOf(input, Date.now());
    if (!mode.ok) return fail(mode.error);
    let service: JobService;
    try {
      service = await context.jobs();
    } catch (error) {
      return fail({
        code: "internal_error",
        message: `The erasure jobs' data directory could not be opened (${error instanceof Error ? error.message : String(error)}), so nothing was planned or deleted. Check VCC_DATA_DIR.`,
      });
    }
    const audit = async (proposal: ProposedPlan, outcome: string, method?: "elicitation" | "token" | "approval", approver?: Identity) => {
      if (!context.audit.enabled) return undefined;
      try {
        await context.audit.write(
          {
            event: "job",
            tool: ERASE_TOOL_NAME,
            jobId: proposal.jobId,
            action: "decision",
            outcome,
            ...(method ? { confirmation: method } : {}),
            ...(approver ? { approver } : {}),
          },
          context.auditContext(extra.sessionId),
        );
        return undefined;
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    };

    // 1. Plan (not when a token comes back: the token carries the plan the person was shown).
    let proposal: ProposedPlan | undefined;
    let excluded: Output["excluded"];
    if (input.confirmationToken === undefined) {
      const planned = await plan(input, mode, context, extra);
      if (!planned.ok) return fail(planned.error);
      excluded = excludesAnything(planned.excluded) ? planned.excluded : undefined;
      if (planned.items.length === 0 && planned.excluded.unreadable)
        return fail(
          {
            code: "upstream_error",
            message: `Nothing readable matches: the search found ${planned.excluded.unreadable} interaction record(s) this server could not read, so whatever they hold could not be planned. Nothing was planned or deleted. Look at them in the VCC Admin Portal.`,
          },
          { criteria: planned.criteria, excluded: planned.excluded },
        );
      if (planned.items.length === 0)
        return fail(
          {
            code: "not_found",
            message: [
              `Nothing to erase: ${mode.find === "items" ? "none of the items is there" : "no content of the types asked for matches these criteria"}, so nothing was planned or deleted.`,
              ...exclusionLines(planned.excluded),
              mode.find === "items"
                ? "Content erased before (e.g. by an earlier job) is no longer there."
                : "Content erased before (e.g. by an earlier job) is no longer found. If the person's content should be there, check the period, every format their number may be stored in (party takes several), and contentTypes; search_interactions shows what matches.",
            ].join(" "),
          },
          { criteria: planned.criteria, ...(excluded ? { excluded } : {}) },
        );
      const requester = context.auditContext(extra.sessionId).requester;
      const proposed = await service.jobs.propose({
        items: planned.items,
        criteria: planned.criteria as never,
        ...(requester ? { requester } : {}),
        ...(excluded ? { excluded } : {}),
      });
      if (!proposed.ok) return fail(proposed.error, { criteria: planned.criteria, ...(excluded ? { excluded } : {}) });
      proposal = proposed.plan;
    }

    // 2. Decide: the one Confirmer, bound to these criteria (or items); the token carries the exact plan.
    const dryRun = context.config.controls.dryRun;
    // Addresses searched in another form than typed (a phone number's spaces): said where it is approved.
    const rewritten = input.items ? "" : describeRewritten(input);
    const question = proposal ? [planText(proposal, dryRun), rewritten].filter(Boolean).join("\n") : "";
    const decision = await context.confirmer.decide({
      binding: mode.binding,
      items: proposal ? proposal.items.map(confirmationItem) : [],
      question,
      token: input.confirmationToken,
      payload: proposal ? ({ proposal, verify: Boolean(input.verify) } satisfies Approved) : undefined,
      ...(proposal ? { summary: [...planSummary(proposal, dryRun), ...(rewritten ? [rewritten] : [])] } : {}),
      typedCount: proposal?.totals.items,
      signal: extra.signal,
      relatedRequestId: extra.requestId,
      progress: (() => {
        const progress = progressFor(extra, 1);
        return progress && ((update) => progress.report(update));
      })(),
    });
    const summary = (p: ProposedPlan): Partial<Output> => ({
      plan: p.totals,
      criteria: criteriaRecord(p.criteria),
      items: shown(p.items),
      ...(p.excluded ? { excluded: p.excluded } : {}),
    });

    switch (decision.kind) {
      case "refused": {
        if (proposal) await audit(proposal, "refused");
        // A token used before (a repeated call): it started a job, which is what to follow.
        const earlier = (decision.payload as Approved | undefined)?.proposal;
        const job = earlier ? await service.jobs.get(earlier.jobId) : undefined;
        if (earlier && job?.ok)
          return fail(
            {
              ...decision.error,
              message: `The confirmationToken has already been used: it started erasure job ${earlier.jobId}, now ${job.job.status}. This call started nothing more. Follow the job with ${GET_JOB_TOOL_NAME} (jobId "${earlier.jobId}").`,
            },
            { jobId: earlier.jobId, ...summary(earlier) },
          );
        return fail(decision.error, {
          ...(proposal ? summary(proposal) : {}),
          ...(decision.approvalUrl ? { approvalUrl: decision.approvalUrl } : {}),
        });
      }
      case "declined": {
        // With a token, the plan the page showed comes with the decline: the record names its job.
        const declined = proposal ?? (decision.method === "approval" ? (decision.payload as Approved | undefined)?.proposal : undefined);
        // Recorded once: the same token again is told the same, and recorded no more.
        if (declined && !(decision.method === "approval" && decision.repeat))
          await audit(
            declined,
            decision.action === "cancel" ? "cancelled" : "declined",
            decision.method,
            decision.method === "approval" ? decision.approver : undefined,
          );
        return respond(
          { status: "cancelled", ...(declined ? summary(declined) : {}) },
          `${decision.method === "approval" ? "The person chose Cancel on the approval page" : decision.action === "unconfirmed" ? "The number typed did not match the number of items, so the erasure was not confirmed" : "The user did not confirm"}: nothing was deleted and no job was started. Do not try again unless the user asks again.`,
        );
      }
      case "token_issued": {
        const p = proposal as ProposedPlan;
        const failure = await audit(p, "token_issued", decision.approvalUrl ? "approval" : "token");
        if (failure) {
          // Never shown to anyone: it must not be redeemable either.
          await context.confirmer.store.withdraw(decision.token);
          return fail({
            code: "audit_failed",
            message: `The audit log (VCC_AUDIT_LOG) could not be written (${failure}), so no approval was offered and nothing was deleted. Ask the administrator to fix it.`,
          });
        }
        const callAgain = `call ${ERASE_TOOL_NAME} again with the same criteria (or items)`;
        return respond(
          {
            status: "confirmation_required",
            ...summary(p),
            confirmationToken: decision.token,
            expiresAt: decision.expiresAt.toISOString(),
            ...(decision.approvalUrl ? { approvalUrl: decision.approvalUrl } : {}),
          },
          `${decision.approvalUrl ? "Approval" : "Confirmation"} required: nothing has been deleted yet.\n${question}\n\n${
            decision.approvalUrl
              ? approvalText({ ...decision, approvalUrl: decision.approvalUrl }, callAgain)
              : `Show the user this summary and ask whether to erase all ${p.totals.items} item(s). Only if they clearly agree, ${callAgain} and confirmationToken "${decision.token}" (single use, expires ${decision.expiresAt.toISOString()}). If they decline, do not call again.`
          }`,
        );
      }
      case "approved":
        break;
    }

    // 3. Start the job with exactly the approved plan.
    const carried = decision.method === "elicitation" ? undefined : (decision.payload as Approved | undefined);
    const approved = decision.method === "elicitation" ? proposal : carried?.proposal;
    // verify asked for on the planning call or on the call that starts the job.
    const verify = Boolean(input.verify || carried?.verify);
    const claim = decision.method === "elicitation" ? undefined : decision.claim;
    if (!approved) {
      await claim?.release();
      return fail({
        code: "confirmation_invalid",
        message: "The confirmation carries no plan. Nothing was deleted. Call again without a token.",
      });
    }
    const approver = decision.method === "elicitation" ? undefined : decision.approver;
    const approvedAt = decision.method === "elicitation" ? undefined : decision.decidedAt;
    const { client, sessionId, osUser } = context.auditContext(extra.sessionId);
    const started = await service.jobs.start(approved, {
      method: decision.method,
      via: { ...(client ? { client } : {}), ...(sessionId ? { sessionId } : {}), ...(osUser ? { osUser } : {}) },
      ...(approver ? { approver } : {}),
      ...(approvedAt ? { approvedAt } : {}),
      ...(decision.method !== "elicitation" && decision.passkey ? { passkey: decision.passkey } : {}),
    });
    if (!started.ok) {
      // The plan may be on disk already (it is written before the start is recorded): then the
      // approval is used, and the job waits, interrupted, for resume_erasure_job.
      const found = await service.jobs.get(approved.jobId);
      const recorded = found.ok;
      if (recorded) await claim?.spend();
      else await claim?.release();
      // What the job is now, as recorded (another replica or process may have run it meanwhile).
      const now = found.ok ? found.job.status : undefined;
      const error = recorded
        ? {
            ...started.error,
            message: `${started.error.message.replace(/: nothing was deleted/, ": this call sent nothing")} The approved job ${approved.jobId} is recorded, now ${now}${now === "interrupted" || now === "paused" ? ": once the cause is fixed, continue it with resume_erasure_job" : `: follow it with ${GET_JOB_TOOL_NAME}`}.`,
          }
        : started.error;
      return fail(error, { ...summary(approved), ...(recorded ? { jobId: approved.jobId } : {}) });
    }
    await claim?.spend();
    const job = started.job;
    // The job runs whatever happens here; a verification that could not be arranged is said, not hidden.
    const verifyArranged = verify
      ? await service.requestVerification(job.jobId).then(
          () => true,
          () => false,
        )
      : false;
    return respond(
      {
        status: "running",
        jobId: job.jobId,
        ...summary(approved),
        dryRun: job.dryRun,
        ...(verifyArranged ? { verify: true } : {}),
      },
      `Erasure job ${job.jobId} started${job.dryRun ? " as a DRY RUN (VCC_DRY_RUN=true: nothing is deleted)" : ""}: ${approved.totals.items} item(s) of ${approved.totals.interactions} interaction(s), one deletion at a time at the API's pace. It runs in the server, independent of this call. Follow it with ${GET_JOB_TOOL_NAME} (jobId "${job.jobId}"); stop it with ${CANCEL_JOB_TOOL_NAME}.${verifyArranged ? " When it ends, the search runs again and get_erasure_job lists anything that still matches." : verify ? " The check after the job (verify) could not be arranged (its file in the data directory could not be written): run search_interactions with the same criteria once the job has ended." : ""}`,
    );
  },
});

/** The exact set of items: the whole search, or the explicit items looked up (one GET per interaction). */
async function plan(
  input: Input,
  mode: { criteria: Record<string, string | string[]>; binding: string; find: "search" | "items"; search?: SearchCriteria },
  context: ToolContext,
  extra: CallExtra,
): Promise<Planned | Refused> {
  const read = await context.api(extra.signal, READ_SCOPE);
  if (!read.ok) return read;
  // Credentials that cannot delete are reported before anyone is asked.
  const del = await context.api(extra.signal, DELETE_SCOPE);
  if (!del.ok) return del;
  const progress = progressFor(extra, 1);
  const excluded: PlanExclusions = { notAllowed: 0, notFound: 0 };
  let found: PlanItem[];
  if (mode.find === "search" && mode.search) {
    let total = 1;
    let last = 0;
    /** Waits told so far: each one's progress is closer to the next window's than the one before. */
    let waits = 0;
    const collected = await collectItems(read.client, mode.search, {
      signal: extra.signal,
      rateLimitWindowMs: context.config.api.rateLimitWindowMs,
      onProgress: ({ windowsDone, windowsTotal, items }) => {
        total = windowsTotal;
        last = windowsDone;
        progress?.report({
          progress: windowsDone,
          total: windowsTotal,
          message: `Planning: searched ${windowsDone} of ${windowsTotal} windows; ${items} item(s) so far.`,
        });
      },
      onWait: (event) => {
        waits++;
        progress?.report({ progress: last + 1 - 1 / (waits + 1), total, message: describeWait(event) });
      },
    });
    if (!collected.ok) return collected;
    if (collected.collected.overCap)
      return {
        ok: false,
        error: {
          code: "invalid_input",
          message: `More than ${MAX_PLAN_ITEMS} items match (the search stopped at ${collected.collected.items.length}), more than one erasure job may hold. Nothing was planned or deleted. Narrow the criteria — a shorter from/to range (e.g. one quarter at a time), fewer contentTypes, one party address or one direction — and erase in several jobs.`,
        },
      };
    found = collected.collected.items;
    if (collected.collected.unreadable > 0) excluded.unreadable = collected.collected.unreadable;
    if (Object.keys(collected.collected.otherTypes).length > 0) excluded.otherTypes = collected.collected.otherTypes;
    const seen = new Set(found.map((i) => i.type?.toLowerCase()));
    const missing = (mode.search.contentTypes ?? []).filter((t) => !seen.has(t.toLowerCase()));
    if (missing.length > 0) excluded.typesNotFound = missing;
  } else {
    const looked = await lookUp(read.client, input.items ?? [], extra.signal);
    if (!looked.ok) return looked;
    found = looked.items;
    excluded.notFound = looked.notFound;
  }
  const allowed = found.filter((i) => !checkAllowed(context.config.controls, i.contentKey, i.type));
  excluded.notAllowed = found.length - allowed.length;
  if (allowed.length === 0 && found.length > 0)
    return {
      ok: false,
      error: {
        code: "not_allowed",
        message: `All ${found.length} item(s) found are of kinds this server does not delete (VCC_ALLOWED_CONTENT_KEYS: ${context.config.controls.allowedContentKeys?.join(", ")}). Nothing was planned or deleted.`,
      },
    };
  return { ok: true, items: allowed, criteria: mode.criteria, binding: mode.binding, excluded };
}

/** Explicit items: what each is (type, size, the interaction's start), and which are not there. */
async function lookUp(
  client: VccClient,
  items: readonly { guid: string; contentKey: string }[],
  signal: AbortSignal,
): Promise<{ ok: true; items: PlanItem[]; notFound: number } | Refused> {
  const lookups = new Map<string, InteractionLookup>();
  const out: PlanItem[] = [];
  let notFound = 0;
  for (const ref of items) {
    const id = ref.guid.toLowerCase();
    let lookup = lookups.get(id);
    if (!lookup) {
      lookup = await lookupInteraction(client, ref.guid, signal);
      lookups.set(id, lookup);
    }
    if (signal.aborted)
      return { ok: false, error: { code: "cancelled", message: "Cancelled while planning: nothing was planned or deleted." } };
    const found = lookupItem(lookup, ref.guid, ref.contentKey);
    if (found.kind === "refused") return { ok: false, error: found.error };
    if (found.kind === "absent") {
      notFound++;
      continue;
    }
    if (found.kind === "unavailable") {
      out.push({ guid: ref.guid, contentKey: ref.contentKey });
      continue;
    }
    out.push({
      guid: ref.guid,
      contentKey: ref.contentKey,
      ...found.preview,
      ...(found.interaction.start !== undefined ? { interactionStart: found.interaction.start } : {}),
      ...(found.interaction.direction !== undefined ? { direction: found.interaction.direction } : {}),
    });
  }
  return { ok: true, items: out, notFound };
}
