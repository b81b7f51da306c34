// bulk_delete_interaction_content: many deletions with ONE confirmation, carried out strictly one
// at a time (VCC asks for deletions one by one), each reported on its own. The deletion workflow does
// the work; this file says what the tool is and words its outcome.
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { progressFor } from "../deletion/progress.js";
import { type ItemResult, runDeletion } from "../deletion/workflow.js";
import { MAX_PLAN_ITEMS } from "../jobs/plan.js";
import { contentKeySchema, guidSchema } from "../vcc/ids.js";
import { DELETE_SCOPE } from "../vcc/scopes.js";
import type { ToolContext } from "./context.js";
import { defineTool } from "./define.js";
import {
  approvalText,
  approvalUrlSchema,
  auditWarningText,
  confirmationTokenSchema,
  errorText,
  previewSchema,
  sandboxSchema,
  TOKEN_STILL_WORKS,
  toolErrorSchema,
  toolResult,
} from "./results.js";

export const BULK_DELETE_TOOL_NAME = "bulk_delete_interaction_content";
const MAX_ITEMS = 100;

/** Input rule: no item twice, not even differing only in case (the API's lookups ignore case). */
const duplicateKey = (i: { guid: string; contentKey: string }) => `${i.guid.toLowerCase()}:${i.contentKey.toLowerCase()}`;

const itemStatus = z.enum(["pending", "deleted", "dry_run", "cancelled", "not_attempted", "error"]);
const outputSchema = z.object({
  status: z.enum(["deleted", "partial", "confirmation_required", "cancelled", "dry_run", "error"]),
  results: z.array(
    z.object({
      guid: z.string(),
      contentKey: z.string(),
      status: itemStatus,
      httpStatus: z.number().int().optional(),
      verifiedByAbsence: z
        .boolean()
        .optional()
        .describe(
          "With status deleted: an earlier attempt got no answer or a gateway error (HTTP 500/502/504) and a retry found the content gone (404), confirming the deletion.",
        ),
      preview: previewSchema.optional(),
      error: toolErrorSchema.optional(),
    }),
  ),
  deleted: z.number().int().describe("How many items were deleted."),
  failed: z
    .number()
    .int()
    .describe("How many items this call tried (or checked) and certainly did not delete: an error whose outcome is known."),
  notAttempted: z
    .number()
    .int()
    .describe(
      "How many items this call did not try: the call cancelled or stopped before their turn, or the whole call refused (e.g. a token already used, whose earlier call may have deleted them). Says nothing of whether they still exist. Items the person declined have status cancelled and are in no count.",
    ),
  outcomeUnknown: z
    .number()
    .int()
    .describe("How many items may or may not have been deleted (an attempt got no answer): check with list_interaction_content."),
  confirmationToken: z.string().optional(),
  expiresAt: z.string().optional(),
  approvalUrl: approvalUrlSchema,
  error: toolErrorSchema.optional().describe("Why the whole request was refused, when it was."),
  sandbox: sandboxSchema,
});

type Output = z.infer<typeof outputSchema>;

const DESCRIPTION = `Permanently delete SEVERAL content files of Vonage Contact Center interactions (e.g. every recording named in an erasure request) with ONE confirmation by a person. Deletion cannot be undone.

items: 1-100 {guid, contentKey} pairs (same rules as delete_interaction_content; no duplicates); for more, or for everything a search found, use erase_interaction_content (one approval, a background job, a receipt). Items that are already gone are reported as not_found and left out of the confirmation; if any item is of a kind the administrator does not allow, the whole request is refused.

Confirmation works as for delete_interaction_content: a prompt listing every item, or status confirmation_required with one confirmationToken for exactly this set of items (any order) — ask the user, and only if they clearly agree call again with the same items and the token. Deletions then run strictly one at a time (the API rate-limits concurrent deletions); each item is reported on its own, and one failure never stops the others. If the result also has an approvalUrl, the person must approve on that page first: show them the link and call again with the token only after they say they decided there.`;

export const bulkDeleteInteractionContent = defineTool({
  name: BULK_DELETE_TOOL_NAME,
  title: "Delete several interaction contents (permanent)",
  description: DESCRIPTION,
  inputSchema: z
    .object({
      items: z
        .array(z.object({ guid: guidSchema, contentKey: contentKeySchema }).strict())
        .min(1, { message: "items must list at least one {guid, contentKey} pair" })
        .max(MAX_ITEMS, {
          message: `items may list at most ${MAX_ITEMS} pairs: erase more as one job, with one approval, with erase_interaction_content (items, up to ${MAX_PLAN_ITEMS})`,
        })
        .superRefine((items, ctx) => {
          const seen = new Set<string>();
          items.forEach((item, index) => {
            const key = duplicateKey(item);
            if (seen.has(key))
              ctx.addIssue({
                code: "custom",
                path: [index],
                message: `duplicate item: ${item.guid} / ${item.contentKey} is listed more than once`,
              });
            seen.add(key);
          });
        })
        .describe("The content items to delete, 1-100 {guid, contentKey} pairs, no duplicates."),
      confirmationToken: confirmationTokenSchema("with the same items (any order)"),
    })
    .strict(),
  outputSchema,
  annotations: {
    title: "Delete several interaction contents (permanent)",
    destructiveHint: true,
    idempotentHint: true,
    readOnlyHint: false,
    openWorldHint: true,
  },
  destructive: true,
  async handler({ items, confirmationToken }, context, extra) {
    const configured = await context.api(extra.signal, DELETE_SCOPE);
    if (!configured.ok)
      return respond(
        context,
        { status: "error", results: items.map((i) => ({ ...i, status: "not_attempted" as const })), error: configured.error },
        errorText(configured.error),
        true,
      );

    const outcome = await runDeletion(context, configured.client, {
      tool: BULK_DELETE_TOOL_NAME,
      items,
      token: confirmationToken,
      signal: extra.signal,
      sessionId: extra.sessionId,
      requestId: extra.requestId,
      progress: progressFor(extra, items.length),
    });
    const results = outcome.items.map(itemOutput);

    switch (outcome.kind) {
      case "refused":
        return respond(
          context,
          { status: "error", results, error: outcome.error, ...(outcome.approvalUrl ? { approvalUrl: outcome.approvalUrl } : {}) },
          errorText(outcome.error),
          true,
        );
      case "declined":
        return respond(
          context,
          { status: "cancelled", results },
          `${outcome.by === "page" ? "The person chose Cancel on the approval page" : "The user did not confirm"}: nothing was deleted. Do not try again unless the user asks again.`,
        );
      case "awaiting": {
        const { approvalUrl, token, expiresAt } = outcome;
        const callAgain = `call ${BULK_DELETE_TOOL_NAME} again with the same items`;
        return respond(
          context,
          {
            status: "confirmation_required",
            results,
            confirmationToken: token,
            expiresAt: expiresAt.toISOString(),
            ...(approvalUrl ? { approvalUrl } : {}),
          },
          `${approvalUrl ? "Approval" : "Confirmation"} required: nothing has been deleted yet. ${outcome.question}\n\n${
            approvalUrl
              ? approvalText(outcome, callAgain)
              : `Ask the user in the conversation whether to delete all of these. Only if they clearly agree, ${callAgain} and confirmationToken "${token}" (single use, expires ${expiresAt.toISOString()}). If they decline, do not call again.`
          }`,
        );
      }
      case "ran":
        return summarize(context, results, outcome);
    }
  },
});

/** The structured form of one item's result (only the fields the schema declares). */
function itemOutput(r: ItemResult): Output["results"][number] {
  return {
    guid: r.guid,
    contentKey: r.contentKey,
    status: r.status,
    ...(r.httpStatus !== undefined ? { httpStatus: r.httpStatus } : {}),
    ...(r.verifiedByAbsence ? { verifiedByAbsence: true } : {}),
    ...(r.preview ? { preview: r.preview } : {}),
    ...(r.error ? { error: r.error } : {}),
  };
}

/** An item that may or may not have been deleted. */
const unknown = (r: Output["results"][number]) => r.status === "error" && r.error?.outcomeUnknown === true;

function respond(
  context: ToolContext,
  structured: Omit<Output, "deleted" | "failed" | "notAttempted" | "outcomeUnknown">,
  text: string,
  isError = false,
): CallToolResult {
  const deleted = structured.results.filter((r) => r.status === "deleted").length;
  const outcomeUnknown = structured.results.filter(unknown).length;
  const failed = structured.results.filter((r) => r.status === "error" && !unknown(r)).length;
  const notAttempted = structured.results.filter((r) => r.status === "not_attempted").length;
  return toolResult({ ...structured, deleted, failed, notAttempted, outcomeUnknown }, text, { isError, sandbox: context.config.sandbox });
}

function summarize(
  context: ToolContext,
  results: Output["results"],
  outcome: { stopped: boolean; dryRun: boolean; auditWarnings: string[]; tokenUsable?: true },
): CallToolResult {
  const count = (status: ItemResult["status"]) => results.filter((r) => r.status === status).length;
  const deleted = count("deleted");
  const uncertain = results.filter(unknown).length;
  const failed = count("error") - uncertain;
  const skipped = count("not_attempted");
  const mayHave = uncertain ? `, ${uncertain} outcome unknown (may or may not have been deleted: check with list_interaction_content)` : "";
  const warning = auditWarningText(outcome.auditWarnings);
  const lines = results.map(
    (r) =>
      `- ${r.guid} / ${r.contentKey}: ${r.status}${r.httpStatus ? ` (HTTP ${r.httpStatus})` : ""}${r.verifiedByAbsence ? " — confirmed by the content's absence after an attempt whose answer was lost or a gateway error (HTTP 500/502/504)" : ""}${r.error ? ` — ${r.error.code}: ${r.error.message}` : ""}`,
  );
  if (outcome.dryRun && count("dry_run") > 0)
    return respond(
      context,
      { status: "dry_run", results },
      `Dry run (VCC_DRY_RUN=true): the person confirmed; ${count("dry_run")} item(s) would have been deleted. Nothing was sent to the API.${warning}\n${lines.join("\n")}`,
    );
  const head = outcome.stopped
    ? `Stopped part-way (the call was cancelled, or the server is shutting down): ${deleted} deleted, ${failed} failed, ${skipped} not attempted${mayHave}.`
    : `${deleted} of ${results.length} item(s) deleted${failed ? `, ${failed} failed` : ""}${skipped ? `, ${skipped} not attempted` : ""}${mayHave}.`;
  // Not "error" while an item may have been deleted: the result must not say nothing was.
  const status = failed + skipped + uncertain === 0 ? "deleted" : deleted > 0 || uncertain > 0 ? "partial" : "error";
  const usable = outcome.tokenUsable ? `\n${TOKEN_STILL_WORKS}` : "";
  return respond(
    context,
    { status, results },
    `${head} Deletions cannot be undone.${warning}\n${lines.join("\n")}${usable}`,
    status === "error",
  );
}
