// The steps every deletion goes through, shared by the deletion tools: look the item up and check
// the administrator's limits before anyone is asked; afterwards, delete (or dry-run) and audit.
import type { AuditRecord } from "../audit.js";
import type { ConfirmationItem } from "../confirmation/confirmer.js";
import type { Claim } from "../confirmation/store.js";
import { shuttingDown } from "../lifecycle.js";
import { log } from "../log.js";
import type { VccClient, WaitEvent } from "../vcc/client.js";
import type { ToolError } from "../vcc/errors.js";
import type { ToolContext } from "./context.js";
import { checkAllowed } from "./controls.js";
import { describeInteraction, describePreview } from "./format.js";
import { type InteractionLookup, lookupInteraction, lookupItem } from "./lookup.js";

export interface PreparedItem {
  item: ConfirmationItem;
  /** Words for the person: what would be deleted, with the preview when there is one. */
  description: string;
}

export type Prepared = { ok: true; prepared: PreparedItem } | { ok: false; error: ToolError };

/** Before confirmation: preview (best effort), refuse absent content, apply VCC_ALLOWED_CONTENT_KEYS. */
export async function prepareDeletion(
  context: ToolContext,
  client: VccClient,
  guid: string,
  contentKey: string,
  signal?: AbortSignal,
): Promise<Prepared> {
  return prepareFromLookup(context, await lookupInteraction(client, guid, signal), guid, contentKey);
}

/** The same, from a lookup already made (items of one interaction share one lookup). */
export function prepareFromLookup(context: ToolContext, interaction: InteractionLookup, guid: string, contentKey: string): Prepared {
  const subject = `content '${contentKey}' of interaction ${guid}`;
  const lookup = lookupItem(interaction, guid, contentKey);
  if (lookup.kind === "absent" || lookup.kind === "refused") return { ok: false, error: lookup.error };
  const notAllowed = checkAllowed(context.config, contentKey, lookup.kind === "found" ? lookup.item.type : undefined);
  if (notAllowed) return { ok: false, error: notAllowed };
  if (lookup.kind === "found")
    return {
      ok: true,
      prepared: {
        item: { guid, contentKey, preview: lookup.preview },
        description: `the ${describePreview(lookup.preview, contentKey)} of interaction ${guid} (${describeInteraction(lookup.interaction)})`,
      },
    };
  return { ok: true, prepared: { item: { guid, contentKey }, description: `${subject} (no preview available: ${lookup.reason})` } };
}

export type DeletionOutcome =
  | {
      status: "deleted";
      httpStatus: number;
      /** An earlier attempt got no answer; a retry found the content gone (404). */
      verifiedByAbsence?: true;
      auditWarning?: string;
    }
  | { status: "dry_run"; auditWarning?: string }
  | { status: "error"; error: ToolError; auditWarning?: string };

type AuditFields = Omit<AuditRecord, "tool" | "guid" | "contentKey">;

/** Writes an audit record for one item; resolves to an error message when it could not be written. */
export async function auditItem(
  context: ToolContext,
  tool: string,
  item: { guid: string; contentKey: string },
  fields: AuditFields,
  sessionId?: string,
): Promise<string | undefined> {
  if (!context.audit.enabled) return undefined;
  try {
    await context.audit.write({ tool, guid: item.guid, contentKey: item.contentKey, ...fields }, context.auditContext(sessionId));
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const SHUTTING_DOWN: ToolError = {
  code: "cancelled",
  message:
    "The server is shutting down, so the deletion was not started: nothing was sent and nothing was deleted. Ask again once the server is back.",
};

export const AUDIT_FAILED = (reason: string): ToolError => ({
  code: "audit_failed",
  message: `The audit log (VCC_AUDIT_LOG) could not be written (${reason}), so nothing was deleted: this server refuses deletions it cannot record. Ask the administrator to fix the log file's path or permissions.`,
});

/**
 * After a person agreed: records the decision (fail closed), then deletes — or, in dry-run mode,
 * only says what would have been deleted — and records the attempt. The claim of a confirmation
 * token is spent once a DELETE may have been sent, and released when nothing was.
 */
export async function performDeletion(
  context: ToolContext,
  client: VccClient,
  tool: string,
  item: { guid: string; contentKey: string },
  approval: { method: "elicitation" | "token" | "approval"; claim?: Claim },
  options: { signal?: AbortSignal; sessionId?: string; onWait?: (event: WaitEvent) => void },
): Promise<DeletionOutcome> {
  const audit = (fields: AuditFields) => auditItem(context, tool, item, fields, options.sessionId);
  const decisionFailure = await audit({ event: "decision", confirmation: approval.method, outcome: "confirmed" });
  if (decisionFailure) {
    approval.claim?.release();
    return { status: "error", error: AUDIT_FAILED(decisionFailure) };
  }

  if (context.config.dryRun) {
    approval.claim?.spend();
    const auditWarning = await audit({ event: "deletion", confirmation: approval.method, outcome: "dry_run" });
    return { status: "dry_run", ...(auditWarning ? { auditWarning } : {}) };
  }

  if (shuttingDown.aborted) {
    approval.claim?.release();
    const auditWarning = await audit({
      event: "deletion",
      confirmation: approval.method,
      outcome: "error",
      errorCode: SHUTTING_DOWN.code,
      attempts: 0,
    });
    return { status: "error", error: SHUTTING_DOWN, ...(auditWarning ? { auditWarning } : {}) };
  }

  const subject = `content '${item.contentKey}' of interaction ${item.guid}`;
  let outcome: Awaited<ReturnType<VccClient["deleteContent"]>> | undefined;
  try {
    outcome = await client.deleteContent(item.guid, item.contentKey, {
      signal: options.signal,
      subject,
      onWait: options.onWait,
      stopRetrying: shuttingDown,
    });
  } finally {
    // Spent by its first use, whatever the API answered; only a request that was never carried out
    // (no access token, or cancelled before it was sent) leaves the token usable.
    if (outcome && !outcome.ok && (outcome.noToken || outcome.attempts === 0)) approval.claim?.release();
    else approval.claim?.spend();
  }
  const record: AuditFields = outcome.ok
    ? {
        event: "deletion",
        confirmation: approval.method,
        outcome: "deleted",
        httpStatus: outcome.response.status,
        attempts: outcome.attempts,
        ...(outcome.verifiedByAbsence ? { verifiedByAbsence: true } : {}),
      }
    : {
        event: "deletion",
        confirmation: approval.method,
        outcome: "error",
        errorCode: outcome.error.code,
        attempts: outcome.attempts,
        ...(outcome.error.httpStatus !== undefined ? { httpStatus: outcome.error.httpStatus } : {}),
        ...(outcome.error.outcomeUnknown ? { outcomeUnknown: true } : {}),
      };
  if (!outcome.ok && outcome.error.outcomeUnknown) log.warn(`the outcome of deleting ${subject} is unknown`, { code: outcome.error.code });
  const auditWarning = await audit(record);
  const warning = auditWarning ? { auditWarning } : {};
  if (!outcome.ok) return { status: "error", error: outcome.error, ...warning };
  return {
    status: "deleted",
    httpStatus: outcome.response.status,
    ...(outcome.verifiedByAbsence ? { verifiedByAbsence: true as const } : {}),
    ...warning,
  };
}
