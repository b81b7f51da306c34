// list_interaction_content: what content an interaction still holds (read-only), so an assistant
// can find the key of a voicemail or screen recording and a person can see what exists.
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { ToolError } from "../core/errors.js";
import { describeInteraction, formatBytes, formatDate, humanType } from "../core/format.js";
import { progressFor } from "../deletion/progress.js";
import { guidSchema } from "../vcc/ids.js";
import { parseInteraction } from "../vcc/interaction.js";
import { READ_SCOPE } from "../vcc/scopes.js";
import type { ToolContext } from "./context.js";
import { defineTool } from "./define.js";
import { contentDetailsShape, errorText, sandboxSchema, toolErrorSchema, toolResult } from "./results.js";

export const LIST_TOOL_NAME = "list_interaction_content";

const outputSchema = z.object({
  guid: z.string(),
  start: z.string().optional(),
  direction: z.string().optional(),
  connectFrom: z.string().optional(),
  connectTo: z.string().optional(),
  content: z
    .array(
      z.object({
        contentKey: z.string().describe("Pass this as contentKey to delete_interaction_content."),
        ...contentDetailsShape,
        owningAgentId: z.string().optional(),
      }),
    )
    .optional()
    .describe("Every content item the interaction holds; absent when the interaction could not be read (see error)."),
  error: toolErrorSchema.optional(),
  sandbox: sandboxSchema,
});

export const listInteractionContent = defineTool({
  name: LIST_TOOL_NAME,
  title: "List interaction content",
  description:
    "List the content files a Vonage Contact Center interaction still holds (call recordings, transcripts, voicemails, screen recordings, ...) with each item's contentKey, type, content type, size and last-modified time (each absent when the API does not say). Read-only. Use it to find the contentKey for delete_interaction_content (voicemails and screen recordings have item ids, not named keys) and to show the user what exists. A not_found error means no such interaction, or no content left.",
  inputSchema: z.object({ guid: guidSchema }).strict(),
  outputSchema,
  annotations: {
    title: "List interaction content",
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: true,
  },
  destructive: false,
  async handler({ guid }, context, extra) {
    const api = await context.api(extra.signal, READ_SCOPE);
    if (!api.ok) return errorResult(context, guid, api.error);
    const outcome = await api.client.getInteraction(guid, {
      subject: `interaction ${guid}`,
      signal: extra.signal,
      onWait: progressFor(extra, 1)?.onWait(0),
    });
    if (!outcome.ok) return errorResult(context, guid, outcome.error);
    const interaction = parseInteraction(outcome.response.body);
    if (!interaction)
      return errorResult(context, guid, {
        code: "upstream_error",
        httpStatus: outcome.response.status,
        message:
          "The API answered, but not with an interaction record this server understands. Try again later; contact Vonage support if it persists.",
      });
    // What the API left out is said to be unknown, never guessed.
    const lines = interaction.content.map(
      (c) =>
        `- ${c.contentKey}: ${c.type ? humanType(c.type) : "type unknown"}, ${c.contentType ?? "content type unknown"}, ${c.contentLength !== undefined ? formatBytes(c.contentLength) : "size unknown"}, last modified ${c.lastModified ? formatDate(c.lastModified) : "unknown"}${c.owningAgentId ? `, agent ${c.owningAgentId}` : ""}`,
    );
    const count = interaction.content.length;
    const text = [
      `Interaction ${interaction.guid}: ${describeInteraction(interaction)}. ${count} content item${count === 1 ? "" : "s"}:`,
      ...lines,
      count > 0 ? "To delete one, call delete_interaction_content with this guid and the item's contentKey (a person must confirm)." : "",
    ]
      .filter(Boolean)
      .join("\n");
    return toolResult({ ...interaction }, text, { sandbox: context.config.sandbox });
  },
});

function errorResult(context: ToolContext, guid: string, error: ToolError): CallToolResult {
  return toolResult({ guid, error }, errorText(error), { isError: true, sandbox: context.config.sandbox });
}
