// Pieces every tool's results share: the error object's schema and its text, the preview schema,
// the token input, and the one builder of results.
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { whereToOpen } from "../confirmation/confirmer.js";
import { ERROR_CODE_LIST, type ToolError } from "../core/errors.js";

export const toolErrorSchema = z.object({
  code: z
    .enum(ERROR_CODE_LIST)
    .describe("Stable machine-readable code (docs/tools.md lists them all), e.g. not_found, forbidden, confirmation_invalid."),
  message: z.string().describe("What happened and what to do next."),
  httpStatus: z.number().int().optional(),
  retryAfterSeconds: z.number().optional(),
  upstreamMessage: z.string().optional(),
  outcomeUnknown: z
    .boolean()
    .optional()
    .describe("True when the request may have reached the API: the deletion may or may not have happened."),
});

/** What the API says of a content item; a field it left out is absent (unknown), never a default. */
export const contentDetailsShape = {
  type: z.string().optional().describe("The kind of content, e.g. callRecording, voicemail; absent when the API did not say."),
  contentType: z.string().optional().describe("MIME type; absent when the API did not say."),
  contentLength: z.number().optional().describe("Size in bytes; absent when the API did not say."),
  lastModified: z.string().optional().describe("Absent when the API did not say."),
};

export const previewSchema = z
  .object(contentDetailsShape)
  .describe("What the item is, from the interaction's listing (absent when no preview was available).");

export const approvalUrlSchema = z
  .string()
  .optional()
  .describe(
    "Approval mode: the page where the person approves or cancels (on this computer, or a team server's page where they sign in). Show it to the user; the confirmationToken works only after they approved there.",
  );

/** What the model must do with an approval link: show it, wait for the person, then call again with the token. */
export function approvalText(issued: { token: string; expiresAt: Date; approvalUrl?: string; reason: string }, callAgain: string): string {
  return `${issued.reason === "approval_timeout" ? "The person has not decided on the approval page yet. " : ""}Show the user this link and ask them to open it ${whereToOpen(issued.approvalUrl)}, where they can approve or cancel: ${issued.approvalUrl} . Do not open the link yourself. After the user says they decided, ${callAgain} and confirmationToken "${issued.token}" (works only after their approval on the page, single use, expires ${issued.expiresAt.toISOString()}).`;
}

/** Said when a run carried nothing out and gave the person's confirmation token back. */
export const TOKEN_STILL_WORKS =
  "Nothing was carried out, so the confirmation token was not used up: it still works until it expires. Once the cause above has passed (e.g. after the wait), call again with the same token; the person's approval stands.";

export function errorText(error: ToolError): string {
  return `Error (${error.code}): ${error.message}${error.upstreamMessage ? ` API said: ${error.upstreamMessage}` : ""}`;
}

/** The optional token input of the destructive tools; `passBack` says what must come with it. */
export function confirmationTokenSchema(passBack: string) {
  return z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe(
      `Only when a previous call returned status confirmation_required: its token, passed back ${passBack} after the user explicitly agreed in the conversation.`,
    );
}

export const sandboxSchema = z
  .boolean()
  .optional()
  .describe("True when the server runs in sandbox mode: a local simulator with sample data, nothing real was touched.");

/** A result with text for people and models, and structuredContent for programs. */
export function toolResult(
  structured: Record<string, unknown>,
  text: string,
  options: { isError?: boolean; sandbox?: boolean } = {},
): CallToolResult {
  return {
    content: [{ type: "text", text: options.sandbox ? `[SANDBOX] ${text}` : text }],
    structuredContent: options.sandbox ? { ...structured, sandbox: true } : structured,
    ...(options.isError ? { isError: true } : {}),
  };
}

/** The sentence appended to a result when audit records of the run could not be written. */
export function auditWarningText(warnings: readonly string[]): string {
  if (warnings.length === 0) return "";
  return ` WARNING: the audit log could not be written (${[...new Set(warnings)].join("; ")}); tell the administrator.`;
}
