// delete_interaction_content: permanently deletes one content file of an interaction, only after a
// person agreed. The deletion workflow does the work; this file says what the tool is and words its outcome.
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { ToolError } from "../core/errors.js";
import { progressFor } from "../deletion/progress.js";
import { runDeletion } from "../deletion/workflow.js";
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

export const DELETE_TOOL_NAME = "delete_interaction_content";

const outputSchema = z.object({
  status: z.enum(["deleted", "confirmation_required", "cancelled", "dry_run", "error"]),
  guid: z.string(),
  contentKey: z.string(),
  httpStatus: z.number().int().optional(),
  verifiedByAbsence: z
    .boolean()
    .optional()
    .describe(
      "With status deleted: an earlier attempt got no answer or a gateway error (timeout, broken connection, HTTP 500/502/504) and a retry found the content gone (404), which confirms the deletion.",
    ),
  confirmationToken: z.string().optional(),
  expiresAt: z.string().optional(),
  preview: previewSchema.optional(),
  approvalUrl: approvalUrlSchema,
  error: toolErrorSchema.optional(),
  sandbox: sandboxSchema,
});

type DeleteOutput = z.infer<typeof outputSchema>;
type Ref = { guid: string; contentKey: string };

const DESCRIPTION = `Permanently delete ONE content file of a Vonage Contact Center interaction (a call recording, transcript, voicemail, screen recording, ...). Deletion cannot be undone.

contentKey is either a named key — callRecording, transcript, chatTranscript, attachment, categorizationResult, sentimentSummary, ivrAudioRecording — or the id of one content item as listed by list_interaction_content (voicemails, screen recordings, IVR audio, video recordings, chat attachments, AI summaries; usually a GUID, older voicemails look like voicemail-123).

Confirmation: a person must agree before anything is deleted. If the client can show a prompt, the user is asked directly and the result is deleted or cancelled. Otherwise the result has status confirmation_required with a confirmationToken: show the user exactly what will be deleted, ask them, and only if they clearly agree call this tool again with the same guid, contentKey and that confirmationToken. Never pass a token the user did not approve. If the user declines (status cancelled), do not call again unless the user asks again.

If the result also has an approvalUrl, the person must approve on that page: show them the link, and call again with the token only after they say they decided there (until then a call returns error code approval_pending).`;

export const deleteInteractionContent = defineTool({
  name: DELETE_TOOL_NAME,
  title: "Delete interaction content (permanent)",
  description: DESCRIPTION,
  inputSchema: z
    .object({
      guid: guidSchema,
      contentKey: contentKeySchema,
      confirmationToken: confirmationTokenSchema("with the same guid and contentKey"),
    })
    .strict(),
  outputSchema,
  annotations: {
    title: "Delete interaction content (permanent)",
    destructiveHint: true,
    idempotentHint: true,
    readOnlyHint: false,
    openWorldHint: true,
  },
  destructive: true,
  async handler({ guid, contentKey, confirmationToken }, context, extra) {
    const base = { guid, contentKey };
    // Do not ask a person to approve something that cannot be carried out.
    const configured = await context.api(extra.signal, DELETE_SCOPE);
    if (!configured.ok) return errorResult(context, base, configured.error);

    const outcome = await runDeletion(context, configured.client, {
      tool: DELETE_TOOL_NAME,
      items: [base],
      token: confirmationToken,
      signal: extra.signal,
      sessionId: extra.sessionId,
      requestId: extra.requestId,
      // One reporter for the whole call (the approval wait, then the deletion), so that progress only increases.
      progress: progressFor(extra, 1),
    });
    const subject = `content '${contentKey}' of interaction ${guid}`;
    const [item] = outcome.items;
    const withPreview = item?.preview ? { ...base, preview: item.preview } : base;

    switch (outcome.kind) {
      case "refused":
        return errorResult(context, base, outcome.error, outcome.approvalUrl);
      case "declined":
        return result(
          context,
          { status: "cancelled", ...withPreview },
          `${outcome.by === "page" ? "The person chose Cancel on the approval page" : "The user did not confirm"}: nothing was deleted (${subject} is unchanged). Do not try again unless the user asks again.`,
        );
      case "awaiting": {
        const { approvalUrl, token, expiresAt } = outcome;
        const callAgain = `call ${DELETE_TOOL_NAME} again with the same guid and contentKey`;
        return result(
          context,
          {
            status: "confirmation_required",
            ...withPreview,
            confirmationToken: token,
            expiresAt: expiresAt.toISOString(),
            ...(approvalUrl ? { approvalUrl } : {}),
          },
          `${approvalUrl ? "Approval" : "Confirmation"} required: nothing has been deleted yet. ${
            context.config.controls.dryRun
              ? `DRY RUN (VCC_DRY_RUN=true): nothing will be deleted; this rehearses deleting ${outcome.plan[0]?.description ?? subject}.`
              : `This would PERMANENTLY delete ${outcome.plan[0]?.description ?? subject}; it cannot be undone.`
          } ${
            approvalUrl
              ? approvalText(outcome, callAgain)
              : `Ask the user in the conversation whether to delete it. Only if they clearly agree, ${callAgain} and confirmationToken "${token}" (single use, expires ${expiresAt.toISOString()}). If they decline, do not call again.`
          }`,
        );
      }
      case "ran": {
        const warning = auditWarningText(outcome.auditWarnings);
        if (
          !item ||
          item.status === "error" ||
          item.status === "not_attempted" ||
          item.status === "pending" ||
          item.status === "cancelled"
        ) {
          const r = errorResult(context, base, item?.error ?? unknownState(subject));
          if (warning) r.content.push({ type: "text", text: warning.trim() });
          if (outcome.tokenUsable) r.content.push({ type: "text", text: TOKEN_STILL_WORKS });
          return r;
        }
        if (item.status === "dry_run")
          return result(
            context,
            { status: "dry_run", ...withPreview },
            `Dry run (VCC_DRY_RUN=true): the person confirmed, and this would have permanently deleted ${subject}. Nothing was sent to the API; the content is unchanged.${warning}`,
          );
        const httpStatus = item.httpStatus ?? 204;
        if (item.verifiedByAbsence)
          return result(
            context,
            { status: "deleted", ...withPreview, httpStatus, verifiedByAbsence: true },
            `Deleted ${subject}; the deletion was confirmed by the content's absence: an earlier attempt got no answer or a gateway error (timeout, broken connection, HTTP 500/502/504) and may have deleted it, and a retry found the content gone (HTTP ${httpStatus}). This cannot be undone.${warning}`,
          );
        return result(
          context,
          { status: "deleted", ...withPreview, httpStatus },
          `Deleted ${subject} (HTTP ${httpStatus}). This cannot be undone.${warning}`,
        );
      }
    }
  },
});

/** Never expected: an item the workflow left without a final state. Said as what it is: unknown. */
function unknownState(subject: string): ToolError {
  return {
    code: "internal_error",
    outcomeUnknown: true,
    message: `The server lost track of ${subject}: it may or may not have been deleted. Check with list_interaction_content before trying again.`,
  };
}

function result(context: ToolContext, structured: DeleteOutput, text: string, isError = false): CallToolResult {
  return toolResult(structured, text, { isError, sandbox: context.config.sandbox });
}

function errorResult(context: ToolContext, base: Ref, error: ToolError, approvalUrl?: string): CallToolResult {
  return result(
    context,
    {
      status: "error",
      ...base,
      ...(error.httpStatus !== undefined ? { httpStatus: error.httpStatus } : {}),
      ...(approvalUrl ? { approvalUrl } : {}),
      error,
    },
    errorText(error),
    true,
  );
}
