// Pieces every tool's results share: the error object's schema and its text.
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { ToolError } from "../vcc/errors.js";

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

export const previewSchema = z
  .object({
    type: z.string(),
    contentType: z.string().optional(),
    contentLength: z.number().optional(),
    lastModified: z.string().optional(),
  })
  .describe("What the item is, from the interaction's listing (absent when no preview was available).");

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
