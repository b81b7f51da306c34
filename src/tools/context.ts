// What every tool of one MCP session can use.
import type { Config } from "../config.js";
import type { Confirmer } from "../confirmation/confirmer.js";
import type { VccClient } from "../vcc/client.js";
import type { ToolError } from "../vcc/errors.js";

export interface ToolContext {
  config: Config;
  confirmer: Confirmer;
  /** The API client, created on first use, with an access token at hand; an error when credentials are missing or do not work. */
  api(signal?: AbortSignal): Promise<{ ok: true; client: VccClient } | { ok: false; error: ToolError }>;
}
