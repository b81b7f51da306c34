// A tool is a plain object: name, texts, schemas, annotations and a handler. The registry
// (server.ts) registers them all in one place and applies what every tool shares.
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { CallToolResult, ServerNotification, ServerRequest, ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod";
import type { ToolContext } from "./context.js";

/** What the SDK hands every tool call: signal, sessionId, requestId, progress token, sendNotification. */
export type CallExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface ToolDefinition<Input extends z.ZodObject = z.ZodObject, Output extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  inputSchema: Input;
  outputSchema: Output;
  annotations: ToolAnnotations;
  /** Destructive tools are not offered at all when the server is read-only. */
  destructive: boolean;
  /** Not offered when the server is read-only either, though it deletes nothing itself (e.g. cancelling a job). */
  changesState?: boolean;
  handler(input: z.infer<Input>, context: ToolContext, extra: CallExtra): Promise<CallToolResult>;
}

/** Keeps the handler's input typed by the schema while the registry holds definitions of any shape. */
export function defineTool<Input extends z.ZodObject, Output extends z.ZodObject>(
  definition: ToolDefinition<Input, Output>,
): ToolDefinition<Input, Output> {
  return definition;
}
