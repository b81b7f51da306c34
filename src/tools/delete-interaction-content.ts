// delete_interaction_content: permanently deletes one content file of an interaction, only after a
// person agreed (elicitation, or a confirmation token the model passes back after asking).
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { ToolError } from "../vcc/errors.js";
import { contentKeySchema, guidSchema } from "../vcc/ids.js";
import type { ToolContext } from "./context.js";

export const DELETE_TOOL_NAME = "delete_interaction_content";

const inputSchema = z
  .object({
    guid: guidSchema,
    contentKey: contentKeySchema,
    confirmationToken: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe(
        "Only when a previous call returned status confirmation_required: the token it gave, passed back after the user explicitly agreed in the conversation.",
      ),
  })
  .strict();

export const toolErrorSchema = z.object({
  code: z.string().describe("Stable machine-readable code, e.g. not_found, forbidden, confirmation_invalid."),
  message: z.string().describe("What happened and what to do next."),
  httpStatus: z.number().int().optional(),
  retryAfterSeconds: z.number().optional(),
  upstreamMessage: z.string().optional(),
  outcomeUnknown: z
    .boolean()
    .optional()
    .describe("True when the request may have reached the API: the deletion may or may not have happened."),
});

const outputSchema = z.object({
  status: z.enum(["deleted", "confirmation_required", "cancelled", "error"]),
  guid: z.string(),
  contentKey: z.string(),
  httpStatus: z.number().int().optional(),
  confirmationToken: z.string().optional(),
  expiresAt: z.string().optional(),
  error: toolErrorSchema.optional(),
});

type DeleteOutput = z.infer<typeof outputSchema>;

const DESCRIPTION = `Permanently delete ONE content file of a Vonage Contact Center interaction (a call recording, transcript, voicemail, screen recording, ...). Deletion cannot be undone.

contentKey is either a named key — callRecording, transcript, chatTranscript, attachment, categorizationResult, sentimentSummary, ivrAudioRecording — or the id of one content item as listed for the interaction (voicemails, screen recordings, IVR audio, video recordings, chat attachments, AI summaries; usually a GUID, older voicemails look like voicemail-123).

Confirmation: a person must agree before anything is deleted. If the client can show a prompt, the user is asked directly and the result is deleted or cancelled. Otherwise the result has status confirmation_required with a confirmationToken: show the user exactly what will be deleted, ask them, and only if they clearly agree call this tool again with the same guid, contentKey and that confirmationToken. Never pass a token the user did not approve. If the user declines (status cancelled), do not call again unless the user asks again.`;

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
      const subject = `content '${contentKey}' of interaction ${guid}`;
      const base = { guid, contentKey };

      // Do not ask a person to approve something that cannot be carried out.
      const configured = await context.api(extra.signal);
      if (!configured.ok) return errorResult(base, configured.error);

      const decision = await context.confirmer.decide({
        binding: `delete:${guid.toLowerCase()}:${contentKey}`,
        items: [{ guid, contentKey }],
        question: `Permanently delete ${subject}? This cannot be undone.`,
        token: confirmationToken,
        signal: extra.signal,
        relatedRequestId: extra.requestId,
      });

      switch (decision.kind) {
        case "refused":
          return errorResult(base, decision.error);
        case "declined":
          return result(
            { status: "cancelled", ...base },
            `The user did not confirm: nothing was deleted (${subject} is unchanged). Do not try again unless the user asks again.`,
          );
        case "token_issued":
          return result(
            {
              status: "confirmation_required",
              ...base,
              confirmationToken: decision.token,
              expiresAt: decision.expiresAt.toISOString(),
            },
            `Confirmation required: nothing has been deleted yet. This would PERMANENTLY delete ${subject}; it cannot be undone. Ask the user in the conversation whether to delete it. Only if they clearly agree, call ${DELETE_TOOL_NAME} again with the same guid and contentKey and confirmationToken "${decision.token}" (single use, expires ${decision.expiresAt.toISOString()}). If they decline, do not call again.`,
          );
        case "approved":
          break;
      }

      let outcome: Awaited<ReturnType<typeof configured.client.deleteContent>> | undefined;
      try {
        outcome = await configured.client.deleteContent(guid, contentKey, { signal: extra.signal, subject });
      } finally {
        // Spent by its first use, whatever the API answered; only a request that could not be
        // authenticated (nothing was carried out) leaves the token usable.
        if (decision.method === "token") {
          if (outcome && !outcome.ok && outcome.noToken) decision.claim.release();
          else decision.claim.spend();
        }
      }
      if (!outcome.ok) return errorResult(base, outcome.error);
      return result(
        { status: "deleted", ...base, httpStatus: outcome.response.status },
        `Deleted ${subject} (HTTP ${outcome.response.status}). This cannot be undone.`,
      );
    },
  );
}

function result(structured: DeleteOutput, text: string, isError = false): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured, ...(isError ? { isError: true } : {}) };
}

function errorResult(base: { guid: string; contentKey: string }, error: ToolError): CallToolResult {
  return result(
    { status: "error", ...base, ...(error.httpStatus !== undefined ? { httpStatus: error.httpStatus } : {}), error },
    `Error (${error.code}): ${error.message}${error.upstreamMessage ? ` API said: ${error.upstreamMessage}` : ""}`,
    true,
  );
}
