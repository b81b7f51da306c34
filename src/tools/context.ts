// What every tool of one MCP session can use: what the deletion workflow needs, the API client and
// the erasure jobs.
import type { Config } from "../config.js";
import type { DeletionContext } from "../deletion/workflow.js";
import type { JobService } from "../jobs/service.js";
import type { ApiAccess } from "../vcc/client.js";

export interface ToolContext extends DeletionContext {
  config: Config;
  /** The API client, created on first use, with the access token of the scope asked for at hand. */
  api: ApiAccess;
  /** The erasure jobs of this process (opened from VCC_DATA_DIR at the first call). */
  jobs(): Promise<JobService>;
}
