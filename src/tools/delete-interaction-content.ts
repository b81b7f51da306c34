// delete_interaction_content: permanently deletes one content file of an interaction, only after a
// person agreed (elicitation, the approval page, or a confirmation token the model passes back after asking).
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { ConfirmationItem } from "../confirmation/confirmer.js";
import { trackDeletion } from "../lifecycle.js";
import type { ToolError } from "../vcc/errors.js";
import { contentKeySchema, guidSchema } from "../vcc/ids.js";
import { DELETE_SCOPE } from "../vcc/scopes.js";
import type { ToolContext } from "./context.js";
import { AUDIT_FAILED, auditItem, type DeletionOutcome, performDeletion, prepareDeletion } from "./deletion.js";
import { progressFor } from "./progress.js";
import {
  approvalText,
  approvalUrlSchema,
  confirmationTokenSchema,
  errorText,
  previewSchema,
  sandboxSchema,
  toolErrorSchema,
  toolResult,
} from "./results.js";

export const DELETE_TOOL_NAME = "delete_interaction_content";

const inputSchema = z
  .object({
    guid: guidSchema,
    contentKey: contentKeySchema,
    confirmationToken: confirmationTokenSchema("with the same guid and contentKey"),
  })
  .strict();

const outputSchema = z.object({
  status: z.enum(["deleted", "confirmation_required", "cancelled", "dry_run", "error"]),
  guid: z.string(),
  contentKey: z.string(),
  httpStatus: z.number().int().optional(),
  verifiedByAbsence: z
    .boolean()
    .optional()
    .describe(
      "With status deleted: an earlier attempt got no answer (timeout or broken connection) and a retry found the content gone (404), which confirms the deletion.",
    ),
  confirmationToken: z.string().optional(),
  expiresAt: z.string().optional(),
  preview: previewSchema.optional(),
  approvalUrl: approvalUrlSchema,
  error: toolErrorSchema.optional(),
  sandbox: sandboxSchema,
});

type DeleteOutput = z.infer<typeof outputSchema>;

const DESCRIPTION = `Permanently delete ONE content file of a Vonage Contact Center interaction (a call recording, transcript, voicemail, screen recording, ...). Deletion cannot be undone.

contentKey is either a named key — callRecording, transcript, chatTranscript, attachment, categorizationResult, sentimentSummary, ivrAudioRecording — or the id of one content item as listed by list_interaction_content (voicemails, screen recordings, IVR audio, video recordings, chat attachments, AI summaries; usually a GUID, older voicemails look like voicemail-123).

Confirmation: a person must agree before anything is deleted. If the client can show a prompt, the user is asked directly and the result is deleted or cancelled. Otherwise the result has status confirmation_required with a confirmationToken: show the user exactly what will be deleted, ask them, and only if they clearly agree call this tool again with the same guid, contentKey and that confirmationToken. Never pass a token the user did not approve. If the user declines (status cancelled), do not call again unless the user asks again.

If the result also has an approvalUrl, the person must approve on that page: show them the link, and call again with the token only after they say they decided there (until then a call returns error code approval_pending).`;

export function registerDeleteInteractionContentTool(server: McpServer, context: ToolContext): void {
  server.registerTool(
    DELETE_TOOL_NAME,
    {
      title: "Delete interaction content (permanent)",
      description: DESCRIPTION,
      inputSchema,
      outputSchema,
      annotations: {
        title: "Delete interaction content (permanent)",
        destructiveHint: true,
        idempotentHint: true,
        readOnlyHint: false,
        openWorldHint: true,
      },
    },
    async ({ guid, contentKey, confirmationToken }, extra) => {
      // One reporter for the whole call, so that progress only ever increases.
      const progress = progressFor(extra, 1);
      const subject = `content '${contentKey}' of interaction ${guid}`;
      const base = { guid, contentKey };
      const sessionId = extra.sessionId;
      const audit = (fields: Parameters<typeof auditItem>[3]) => auditItem(context, DELETE_TOOL_NAME, base, fields, sessionId);

      // Do not ask a person to approve something that cannot be carried out.
      const configured = await context.api(extra.signal, DELETE_SCOPE);
      if (!configured.ok) return errorResult(context, base, configured.error);
      const client = configured.client;

      // Show the person what they would lose; refuse at once what is absent or not allowed. Skipped
      // when a token comes back: all of it was done when the token was issued, for this very item.
      let item: ConfirmationItem = { guid, contentKey };
      let description = `${subject} (no preview available)`;
      if (confirmationToken === undefined) {
        const prepared = await prepareDeletion(context, client, guid, contentKey, extra.signal);
        if (!prepared.ok) {
          if (prepared.error.code === "not_allowed") await audit({ event: "decision", outcome: "refused", errorCode: "not_allowed" });
          return errorResult(context, base, prepared.error);
        }
        ({ item, description } = prepared.prepared);
      }
      const withPreview = item.preview ? { ...base, preview: item.preview } : base;

      const decision = await context.confirmer.decide({
        binding: `delete:${guid.toLowerCase()}:${contentKey}`,
        items: [item],
        question: `Permanently delete ${description}? This cannot be undone.`,
        token: confirmationToken,
        signal: extra.signal,
        relatedRequestId: extra.requestId,
        progress: progress && ((update) => progress.report(update)),
      });

      switch (decision.kind) {
        case "refused":
          await audit({ event: "decision", outcome: "refused", errorCode: decision.error.code });
          return errorResult(context, base, decision.error, decision.approvalUrl);
        case "declined": {
          const onPage = decision.method === "approval";
          await audit({
            event: "decision",
            confirmation: decision.method,
            outcome: decision.action === "cancel" ? "cancelled" : "declined",
          });
          return result(
            context,
            { status: "cancelled", ...withPreview },
            `${onPage ? "The person chose Cancel on the approval page" : "The user did not confirm"}: nothing was deleted (${subject} is unchanged). Do not try again unless the user asks again.`,
          );
        }
        case "token_issued": {
          const { approvalUrl } = decision;
          const failure = await audit({
            event: "confirmation_requested",
            confirmation: approvalUrl ? "approval" : "token",
            outcome: "token_issued",
          });
          if (failure) return errorResult(context, base, AUDIT_FAILED(failure));
          const callAgain = `call ${DELETE_TOOL_NAME} again with the same guid and contentKey`;
          return result(
            context,
            {
              status: "confirmation_required",
              ...withPreview,
              confirmationToken: decision.token,
              expiresAt: decision.expiresAt.toISOString(),
              ...(approvalUrl ? { approvalUrl } : {}),
            },
            `${approvalUrl ? "Approval" : "Confirmation"} required: nothing has been deleted yet. This would PERMANENTLY delete ${description}; it cannot be undone. ${
              approvalUrl
                ? approvalText(decision, callAgain)
                : `Ask the user in the conversation whether to delete it. Only if they clearly agree, ${callAgain} and confirmationToken "${decision.token}" (single use, expires ${decision.expiresAt.toISOString()}). If they decline, do not call again.`
            }`,
          );
        }
        case "approved":
          break;
      }

      // Tracked from here to the result, so that shutting down lets the deletion finish and be reported.
      return trackDeletion(async () => {
        const outcome = await performDeletion(context, client, DELETE_TOOL_NAME, base, decision, {
          signal: extra.signal,
          sessionId,
          onWait: progress?.onWait(0),
        });
        return deletionResult(context, base, withPreview, subject, outcome);
      });
    },
  );
}

function deletionResult(
  context: ToolContext,
  base: { guid: string; contentKey: string },
  withPreview: Pick<DeleteOutput, "guid" | "contentKey" | "preview">,
  subject: string,
  outcome: DeletionOutcome,
): CallToolResult {
  const warning = outcome.auditWarning
    ? ` WARNING: the audit log could not be written (${outcome.auditWarning}); tell the administrator.`
    : "";
  if (outcome.status === "error") {
    const r = errorResult(context, base, outcome.error);
    if (warning) r.content.push({ type: "text", text: warning.trim() });
    return r;
  }
  if (outcome.status === "dry_run")
    return result(
      context,
      { status: "dry_run", ...withPreview },
      `Dry run (VCC_DRY_RUN=true): the person confirmed, and this would have permanently deleted ${subject}. Nothing was sent to the API; the content is unchanged.${warning}`,
    );
  if (outcome.verifiedByAbsence)
    return result(
      context,
      { status: "deleted", ...withPreview, httpStatus: outcome.httpStatus, verifiedByAbsence: true },
      `Deleted ${subject}; the deletion was confirmed by the content's absence: an earlier attempt got no answer (timeout or broken connection), and a retry found the content gone (HTTP ${outcome.httpStatus}). This cannot be undone.${warning}`,
    );
  return result(
    context,
    { status: "deleted", ...withPreview, httpStatus: outcome.httpStatus },
    `Deleted ${subject} (HTTP ${outcome.httpStatus}). This cannot be undone.${warning}`,
  );
}

function result(context: ToolContext, structured: DeleteOutput, text: string, isError = false): CallToolResult {
  return toolResult(structured, text, { isError, sandbox: context.config.sandbox });
}

function errorResult(
  context: ToolContext,
  base: { guid: string; contentKey: string },
  error: ToolError,
  approvalUrl?: string,
): CallToolResult {
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
