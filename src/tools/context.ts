// What every tool of one MCP session can use: what the deletion workflow needs, and the API client.
import type { Config } from "../config.js";
import type { ToolError } from "../core/errors.js";
import type { DeletionContext } from "../deletion/workflow.js";
import type { JobService } from "../jobs/service.js";
import type { VccClient } from "../vcc/client.js";
import type { Scope } from "../vcc/scopes.js";

export interface ToolContext extends DeletionContext {
  config: Config;
  /**
   * The API client, created on first use, with the access token of `scope` at hand (the scope the
   * tool cannot do without); an error when credentials are missing or cannot get that token.
   */
  /** The erasure jobs of this process (opened from VCC_DATA_DIR at the first call). */
  jobs(): Promise<JobService>;
  api(signal: AbortSignal | undefined, scope: Scope): Promise<{ ok: true; client: VccClient } | { ok: false; error: ToolError }>;
}
