// The deletion workflow: the one owner of prepare → decide → audit → delete → settle the token, for
// a list of content items (one item is a list of one). Every deleting tool (and later search-based
// erasure) calls `runDeletion` and turns its one typed outcome into a result; none of them audits,
// claims tokens or sends DELETEs itself.
import type { AuditContext, AuditRecord, AuditTrail } from "../audit.js";
import type { Config } from "../config.js";
import type { Confirmer } from "../confirmation/confirmer.js";
import type { ConfirmationItem, ContentPreview, ContentRef } from "../core/content.js";
import type { ToolError } from "../core/errors.js";
import { asDryRun, describeInteraction, describePreview } from "../core/format.js";
import { abandoned, shuttingDown, trackDeletion, trackUpkeep } from "../lifecycle.js";
import { log } from "../log.js";
import type { VccClient, WaitEvent } from "../vcc/client.js";
import { errorCancelledBetweenAttempts } from "../vcc/errors.js";
import { Pacer, paceAfter, pacedRequest, pause } from "../vcc/pacer.js";
import { checkAllowed } from "./allowlist.js";
import { bindingOf, itemIdentity } from "./binding.js";
import { type InteractionLookup, lookupInteraction, lookupItem } from "./lookup.js";

/** What the workflow needs of its session. */
export interface DeletionContext {
  config: { controls: Pick<Config["controls"], "allowedContentKeys" | "dryRun">; api?: Pick<Config["api"], "rateLimitWindowMs"> };
  confirmer: Confirmer;
  audit: AuditTrail;
  auditContext(sessionId?: string): AuditContext;
}

/** Progress notifications of the call (see progress.ts), when the client asked for them. */
export interface ProgressReporter {
  begin(steps: number): void;
  step(step: number, message: string): Promise<void>;
  report(update: { progress: number; total: number; message: string }): void;
  onWait(step: number): (event: WaitEvent) => void;
}

export interface DeletionRequest {
  /** The tool that asked, as the audit trail names it. */
  tool: string;
  /**
   * What to delete, in order, without duplicates. An item that carries a preview needs no lookup
   * (a caller that has just listed the interaction passes what it saw).
   */
  items: readonly ConfirmationItem[];
  /** A confirmationToken passed back by the model. */
  token?: string;
  signal: AbortSignal;
  sessionId?: string;
  /** The MCP request (prompts are routed by it). */
  requestId?: string | number;
  progress?: ProgressReporter;
}

export type ItemStatus = "pending" | "deleted" | "dry_run" | "cancelled" | "not_attempted" | "error";

export interface ItemResult extends ContentRef {
  status: ItemStatus;
  httpStatus?: number;
  /** Deleted: an earlier attempt got no answer or a 500/502/504, and a retry found the content gone. */
  verifiedByAbsence?: true;
  preview?: ContentPreview;
  error?: ToolError;
}

/** An item the person is (or was) asked about, with the words that describe it. */
export interface PlannedItem {
  item: ConfirmationItem;
  description: string;
}

export type DeletionOutcome =
  /** Nothing was asked of anyone, or the confirmation was refused; nothing was sent. */
  | { kind: "refused"; error: ToolError; items: ItemResult[]; approvalUrl?: string }
  /** A person said no (prompt declined or cancelled, or Cancel on the approval page). */
  | { kind: "declined"; by: "prompt" | "page"; items: ItemResult[] }
  /** Nobody could be asked in this call: a token for the model to pass back after asking (or after the page). */
  | {
      kind: "awaiting";
      token: string;
      expiresAt: Date;
      reason: string;
      approvalUrl?: string;
      plan: PlannedItem[];
      /** The question put to the person, listing every planned item and what was left out. */
      question: string;
      items: ItemResult[];
    }
  /** A person agreed and the items were processed one at a time. */
  /**
   * tokenUsable: nothing was carried out and the confirmation token the model passed back was given
   * back: it still works until it expires (never said of a token the model never had, or one that
   * could not be given back).
   */
  | { kind: "ran"; items: ItemResult[]; stopped: boolean; dryRun: boolean; auditWarnings: string[]; tokenUsable?: true };

export const AUDIT_FAILED = (reason: string): ToolError => ({
  code: "audit_failed",
  message: `The audit log (VCC_AUDIT_LOG) could not be written (${reason}), so nothing was deleted: this server refuses deletions it cannot record. Ask the administrator to fix the log file's path or permissions.`,
});

const SHUTTING_DOWN: ToolError = {
  code: "cancelled",
  message:
    "The server is shutting down, so the deletion was not started: nothing was sent and nothing was deleted. Ask again once the server is back.",
};

const subjectOf = (ref: ContentRef) => `content '${ref.contentKey}' of interaction ${ref.guid}`;

type AuditFields = Omit<AuditRecord, "tool" | "guid" | "contentKey">;

/** Runs the whole workflow for `request.items` with `client` (an API client with credentials that work). */
export async function runDeletion(context: DeletionContext, client: VccClient, asked: DeletionRequest): Promise<DeletionOutcome> {
  // An item named twice (as the API compares them) is one item: it is asked about and deleted once.
  const unique = new Map<string, ConfirmationItem>();
  for (const i of asked.items) {
    const identity = itemIdentity(i);
    if (!unique.has(identity)) unique.set(identity, i);
  }
  const request = unique.size === asked.items.length ? asked : { ...asked, items: [...unique.values()] };
  const results = new Map<string, ItemResult>();
  for (const [identity, i] of unique) results.set(identity, { guid: i.guid, contentKey: i.contentKey, status: "pending" });
  const all = () => [...results.values()];
  const resultOf = (ref: ContentRef) => results.get(itemIdentity(ref)) as ItemResult;
  const audit = (ref: ContentRef, fields: AuditFields) => auditItem(context, request, ref, fields);
  const notAttempted = () => request.items.map((i): ItemResult => ({ guid: i.guid, contentKey: i.contentKey, status: "not_attempted" }));

  // 1. Prepare: preview, refuse what is absent or not allowed. Skipped when a token comes back: it
  //    was all done when the token was issued, and the token carries the plan the person saw.
  const plan: PlannedItem[] = [];
  if (request.token === undefined) {
    const prepared = await prepare(context, client, request);
    // The API refused the credentials (401), or the address is not the API's: nobody is asked, nothing is sent.
    const unauthorized = prepared.find((p) => p.error?.code === "unauthorized" || p.error?.code === "not_configured")?.error;
    if (unauthorized) return { kind: "refused", error: unauthorized, items: notAttempted() };
    const refusedItems = prepared.filter((p) => p.error?.code === "not_allowed");
    if (refusedItems.length > 0) {
      for (const p of prepared) Object.assign(resultOf(p.ref), p.error ? { status: "error", error: p.error } : { status: "not_attempted" });
      for (const p of refusedItems) await audit(p.ref, { event: "decision", outcome: "refused", errorCode: "not_allowed" });
      const only = refusedItems.length === 1 && request.items.length === 1 ? refusedItems[0]?.error : undefined;
      return {
        kind: "refused",
        error: only ?? {
          code: "not_allowed",
          message: `${refusedItems.length} of the items are of a kind this server does not delete (VCC_ALLOWED_CONTENT_KEYS), so nothing was deleted and no confirmation was asked. Remove them (see results) and call again, or ask the administrator.`,
        },
        items: all(),
      };
    }
    for (const p of prepared) {
      if (p.error)
        Object.assign(resultOf(p.ref), {
          status: "error",
          error: p.error,
          ...(p.error.httpStatus !== undefined ? { httpStatus: p.error.httpStatus } : {}),
        });
      else if (p.planned) {
        plan.push(p.planned);
        if (p.planned.item.preview) resultOf(p.ref).preview = p.planned.item.preview;
      }
    }
    if (plan.length === 0) {
      const first = prepared[0]?.error;
      return {
        kind: "refused",
        error:
          request.items.length === 1 && first
            ? first
            : {
                code: "not_found",
                message: "None of the items exists any more, so nothing was deleted and no confirmation was asked. See results.",
              },
        items: all(),
      };
    }
  }

  // 2. Decide: did a person agree? With a token nobody is asked: the question was put when it was issued.
  const put =
    request.token === undefined
      ? questionFor(
          plan,
          all().filter((r) => r.status === "error"),
        )
      : "";
  const question = put && context.config.controls.dryRun ? asDryRun(put) : put;
  // A token's claim goes to the shared state together with the deletion lock's acquisition (replicas).
  if (request.token !== undefined && !context.config.controls.dryRun) client.prepareDeletion();
  const decision = await context.confirmer.decide({
    binding: bindingOf(request.items),
    items: plan.map((p) => p.item),
    question,
    // The approval page shows the items; in a dry run it says first that nothing will be deleted.
    ...(question && context.config.controls.dryRun ? { summary: [question.split("\n")[0] ?? question] } : {}),
    token: request.token,
    // Which items the person was asked about: only those are deleted when the token comes back.
    payload: plan.map((p) => itemIdentity(p.item)),
    signal: request.signal,
    relatedRequestId: request.requestId,
    progress: request.progress && ((update) => request.progress?.report(update)),
  });

  switch (decision.kind) {
    case "refused":
      for (const i of request.items) await audit(i, { event: "decision", outcome: "refused", errorCode: decision.error.code });
      return {
        kind: "refused",
        error: decision.error,
        items: notAttempted(),
        ...(decision.approvalUrl ? { approvalUrl: decision.approvalUrl } : {}),
      };
    case "declined": {
      // With a token the plan is not rebuilt: the refusal is recorded against the items named, once
      // (the same token again is told the same, and recorded no more).
      const recorded = decision.method === "approval" && decision.repeat;
      for (const i of recorded ? [] : plan.length > 0 ? plan.map((p) => p.item) : request.items)
        await audit(i, {
          event: "decision",
          confirmation: decision.method,
          outcome: decision.action === "cancel" ? "cancelled" : "declined",
          ...(decision.method === "approval" && decision.approver ? { approver: decision.approver } : {}),
        });
      for (const r of results.values()) if (r.status === "pending") r.status = "cancelled";
      return { kind: "declined", by: decision.method === "approval" ? "page" : "prompt", items: all() };
    }
    case "token_issued": {
      const { approvalUrl } = decision;
      for (const p of plan) {
        const failure = await audit(p.item, {
          event: "confirmation_requested",
          confirmation: approvalUrl ? "approval" : "token",
          outcome: "token_issued",
        });
        if (failure) {
          // A token that was never recorded is never shown, and never works.
          await context.confirmer.store.withdraw(decision.token);
          return { kind: "refused", error: AUDIT_FAILED(failure), items: notAttempted() };
        }
      }
      return {
        kind: "awaiting",
        token: decision.token,
        expiresAt: decision.expiresAt,
        reason: decision.reason,
        ...(approvalUrl ? { approvalUrl } : {}),
        plan,
        question,
        items: all(),
      };
    }
    case "approved":
      break;
  }

  // 3. Perform. With a token, the plan is what the person was asked about when it was issued.
  const approved = new Set(
    decision.method === "elicitation"
      ? plan.map((p) => itemIdentity(p.item))
      : Array.isArray(decision.payload)
        ? decision.payload.map(String)
        : [],
  );
  for (const r of results.values())
    if (!approved.has(itemIdentity(r)) && r.status === "pending")
      Object.assign(r, {
        status: "error",
        error: {
          code: "not_found",
          message:
            "This item was not found when the deletion was confirmed, so it was not part of what the user approved; it was not attempted.",
        },
      });
  const todo = request.items.filter((i) => approved.has(itemIdentity(i)));
  const claim = decision.method === "elicitation" ? undefined : decision.claim;
  // Team server: the person who signed in on the approval page and approved.
  // Who approved on the page (team server), and with which passkey (passkeys required): on every record.
  const approvedBy: ApprovedBy =
    decision.method === "elicitation"
      ? {}
      : { ...(decision.approver ? { approver: decision.approver } : {}), ...(decision.passkey ? { passkey: decision.passkey } : {}) };

  // Tracked as one: shutting down lets the item in flight finish, starts no other, and reports.
  return trackDeletion(async () => {
    let used = false;
    let stopped = false;
    let completed = false;
    /** The token the model passed back was given back: it still works (only said to the model that holds it). */
    let released = false;
    const auditWarnings: string[] = [];
    // Several items: after a 429 they keep to the pace the API accepted (vcc/pacer.ts), as a job does.
    const windowMs = context.config.api?.rateLimitWindowMs;
    const pacer = todo.length > 1 ? new Pacer(Date.now, windowMs ? { unsaidWindowMs: windowMs } : {}) : undefined;
    try {
      // The person's approval of every item is recorded before the first DELETE, so that the log
      // holds all of it whatever happens next (a crash included); items then go in order, so the
      // first approved one without a deletion record is the one that may have been in flight.
      const notRecorded = new Map<ContentRef, string>();
      for (const ref of todo) {
        const failure = await auditItem(context, request, ref, {
          event: "decision",
          confirmation: decision.method,
          outcome: "confirmed",
          ...approvedBy,
        });
        if (failure) notRecorded.set(ref, failure);
      }
      request.progress?.begin(todo.length);
      for (const [index, ref] of todo.entries()) {
        const r = resultOf(ref);
        const failure = notRecorded.get(ref);
        if (failure !== undefined) {
          // Not recorded, not sent: this server refuses deletions it cannot record.
          Object.assign(r, { status: "error", error: AUDIT_FAILED(failure) });
          continue;
        }
        const paceMs = pacer?.waitMs() ?? 0;
        if (paceMs > 0 && !request.signal.aborted && !shuttingDown.aborted) {
          // Told as a wait after the item before, so that this item's own step still comes after it.
          request.progress?.onWait(index - 1)({ kind: "pace", delayMs: paceMs });
          await pause(paceMs, request.signal, shuttingDown);
        }
        const step = await performItem(context, client, request, ref, decision.method, approvedBy, index, todo.length, pacer);
        Object.assign(r, step.result);
        used ||= step.used;
        stopped ||= step.stopped;
        if (step.auditWarning) auditWarnings.push(step.auditWarning);
      }
      completed = true;
    } finally {
      // A failure nothing here expects (a defect) may have come after a DELETE was sent: the token is
      // then used up too, never usable again.
      used ||= !completed;
      // The token's claim is settled once: used up if a DELETE may have been sent (or a dry run
      // stood in for it); usable again only when nothing was. The spend is not waited for: the
      // result does not depend on it (a spend that fails leaves the token claimed until it expires,
      // never usable again), a claim of the token right after waits for it to land
      // (ConfirmationStore.claim), and shutdown waits for it as for a deletion. A release is waited
      // for: the result says the token still works.
      if (used) {
        // After the result was written (setImmediate): the spend is not part of the answer.
        if (claim) void trackUpkeep(() => new Promise(setImmediate).then(() => claim.spend()));
      } else if (claim) released = (await claim.release()) && request.token !== undefined;
    }
    return {
      kind: "ran",
      items: all(),
      stopped,
      dryRun: context.config.controls.dryRun,
      auditWarnings,
      ...(released ? { tokenUsable: true as const } : {}),
    };
  });
}

/** Who approved on the approval page, where known, and the passkey that did. */
type ApprovedBy = Pick<AuditRecord, "approver" | "passkey">;

interface Prepared {
  ref: ContentRef;
  planned?: PlannedItem;
  error?: ToolError;
}

/** Preview (one lookup per interaction, one at a time, only for items without one) and the allowlist. */
async function prepare(context: DeletionContext, client: VccClient, request: DeletionRequest): Promise<Prepared[]> {
  const lookups = new Map<string, InteractionLookup>();
  const prepared: Prepared[] = [];
  for (const item of request.items) {
    const ref = { guid: item.guid, contentKey: item.contentKey };
    if (item.preview) {
      const notAllowed = checkAllowed(context.config.controls, item.contentKey, item.preview.type);
      prepared.push(
        notAllowed
          ? { ref, error: notAllowed }
          : { ref, planned: { item, description: `the ${describePreview(item.preview, item.contentKey)} of interaction ${item.guid}` } },
      );
      continue;
    }
    const id = item.guid.toLowerCase();
    // After a refusal (401), no further lookup: every item gets the same answer.
    let lookup = [...lookups.values()].find((l) => l.kind === "refused") ?? lookups.get(id);
    if (!lookup) {
      lookup = await lookupInteraction(client, item.guid, request.signal);
      lookups.set(id, lookup);
    }
    const found = lookupItem(lookup, item.guid, item.contentKey);
    if (found.kind === "absent" || found.kind === "refused") {
      prepared.push({ ref, error: found.error });
      continue;
    }
    const notAllowed = checkAllowed(context.config.controls, item.contentKey, found.kind === "found" ? found.item.type : undefined);
    if (notAllowed) prepared.push({ ref, error: notAllowed });
    else if (found.kind === "found")
      prepared.push({
        ref,
        planned: {
          item: { ...ref, preview: found.preview },
          description: `the ${describePreview(found.preview, item.contentKey)} of interaction ${item.guid} (${describeInteraction(found.interaction)})`,
        },
      });
    else prepared.push({ ref, planned: { item: ref, description: `${subjectOf(ref)} (no preview available: ${found.reason})` } });
  }
  return prepared;
}

/** One question for one item or many: what would be deleted, and what was left out. */
function questionFor(plan: PlannedItem[], absent: ItemResult[]): string {
  const [only] = plan;
  if (plan.length === 1 && only && absent.length === 0) return `Permanently delete ${only.description}? This cannot be undone.`;
  const lines = [`Permanently delete these ${plan.length} item${plan.length === 1 ? "" : "s"}? This cannot be undone.`];
  plan.forEach((p, i) => {
    lines.push(`${i + 1}. ${p.description}`);
  });
  if (absent.length > 0) lines.push(`Not found, so not included: ${absent.map((a) => `${a.guid} / ${a.contentKey}`).join("; ")}.`);
  return lines.join("\n");
}

interface ItemStep {
  result: Omit<ItemResult, "guid" | "contentKey" | "preview">;
  /** A DELETE may have been sent (or a dry run stood in for one). */
  used: boolean;
  stopped: boolean;
  auditWarning?: string;
}

/**
 * One approved item: cancellation and shutdown are checked first, then the decision is recorded
 * (fail closed), then the item is deleted — or, in dry-run mode, only described — and recorded.
 */
async function performItem(
  context: DeletionContext,
  client: VccClient,
  request: DeletionRequest,
  ref: ContentRef,
  method: "elicitation" | "token" | "approval",
  approvedBy: ApprovedBy,
  index: number,
  total: number,
  pacer: Pacer | undefined,
): Promise<ItemStep> {
  const audit = (fields: AuditFields) => auditItem(context, request, ref, { ...fields, ...approvedBy });
  const subject = subjectOf(ref);
  const stop = request.signal.aborted
    ? errorCancelledBetweenAttempts(subject, "delete", 0, false)
    : shuttingDown.aborted
      ? SHUTTING_DOWN
      : undefined;
  if (!stop && request.progress)
    // Sent before each item rather than after: a notification written just before the final result
    // can be dropped by clients that handle results before queued notifications.
    await request.progress.step(index, `Deleting ${index + 1} of ${total}: ${ref.guid} / ${ref.contentKey}`);

  if (stop) {
    const auditWarning = await audit({ event: "deletion", confirmation: method, outcome: "error", errorCode: stop.code, attempts: 0 });
    return { result: { status: "not_attempted", error: stop }, used: false, stopped: true, ...(auditWarning ? { auditWarning } : {}) };
  }

  if (context.config.controls.dryRun) {
    const auditWarning = await audit({ event: "deletion", confirmation: method, outcome: "dry_run" });
    return { result: { status: "dry_run" }, used: true, stopped: false, ...(auditWarning ? { auditWarning } : {}) };
  }

  const onWait = request.progress?.onWait(index);
  const outcome = await client.deleteContent(ref.guid, ref.contentKey, {
    signal: request.signal,
    subject,
    ...(pacer ? pacedRequest(pacer, onWait) : { onWait }),
    stopRetrying: shuttingDown,
    cutOff: abandoned,
  });
  paceAfter(pacer, outcome);
  // Only a request that was certainly not carried out leaves the token usable: none sent (no access
  // token, stopped before it was sent), or every attempt refused by the rate limit (a 429 deletes
  // nothing; the person's approval then still stands for a later try).
  const refusedOnly = !outcome.ok && outcome.error.code === "rate_limited" && !outcome.error.outcomeUnknown;
  const used = outcome.ok || !(outcome.noToken || outcome.attempts === 0 || refusedOnly);
  if (!outcome.ok && outcome.error.outcomeUnknown) log.warn(`the outcome of deleting ${subject} is unknown`, { code: outcome.error.code });
  const auditWarning = await audit(
    outcome.ok
      ? {
          event: "deletion",
          confirmation: method,
          outcome: "deleted",
          httpStatus: outcome.response.status,
          attempts: outcome.attempts,
          ...(outcome.verifiedByAbsence ? { verifiedByAbsence: true } : {}),
        }
      : {
          event: "deletion",
          confirmation: method,
          outcome: "error",
          errorCode: outcome.error.code,
          attempts: outcome.attempts,
          ...(outcome.error.httpStatus !== undefined ? { httpStatus: outcome.error.httpStatus } : {}),
          ...(outcome.error.outcomeUnknown ? { outcomeUnknown: true } : {}),
        },
  );
  const warning = auditWarning ? { auditWarning } : {};
  if (!outcome.ok)
    return {
      result: {
        status: "error",
        error: outcome.error,
        ...(outcome.error.httpStatus !== undefined ? { httpStatus: outcome.error.httpStatus } : {}),
      },
      used,
      stopped: false,
      ...warning,
    };
  return {
    result: {
      status: "deleted",
      httpStatus: outcome.response.status,
      ...(outcome.verifiedByAbsence ? { verifiedByAbsence: true as const } : {}),
    },
    used,
    stopped: false,
    ...warning,
  };
}

/** Writes one audit record; resolves to the reason when it could not be written. Nothing to wait for with the audit off. */
function auditItem(
  context: DeletionContext,
  request: DeletionRequest,
  ref: ContentRef,
  fields: AuditFields,
): Promise<string | undefined> | undefined {
  return context.audit.enabled ? writeAudit(context, request, ref, fields) : undefined;
}

async function writeAudit(
  context: DeletionContext,
  request: DeletionRequest,
  ref: ContentRef,
  fields: AuditFields,
): Promise<string | undefined> {
  try {
    await context.audit.write(
      { tool: request.tool, guid: ref.guid, contentKey: ref.contentKey, ...fields },
      context.auditContext(request.sessionId),
    );
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
