// What every tool of one MCP session can use: what the deletion workflow needs, and the API client.
import type { Config } from "../config.js";
import type { ToolError } from "../core/errors.js";
import type { DeletionContext } from "../deletion/workflow.js";
import type { VccClient } from "../vcc/client.js";

export interface ToolContext extends DeletionContext {
  config: Config;
  /** The API client, created on first use, with an access token at hand; an error when credentials are missing or do not work. */
  api(signal?: AbortSignal): Promise<{ ok: true; client: VccClient } | { ok: false; error: ToolError }>;
}
