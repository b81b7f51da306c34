// What every tool of one MCP session can use: what the deletion workflow needs, the API client and
// the erasure jobs.
import type { Config } from "../config.js";
import type { Identity } from "../core/identity.js";
import type { DeletionContext } from "../deletion/workflow.js";
import type { JobService } from "../jobs/service.js";
import type { SharedState } from "../state/types.js";
import type { ApiAccess } from "../vcc/client.js";

export interface ToolContext extends DeletionContext {
  config: Config;
  /** What replicas share: Redis with VCC_STATE_URL, this process's memory otherwise. */
  state: SharedState;
  /** The team server's authenticated caller of this session (absent on stdio and with the static bearer). */
  requester?: Identity;
  /** The API client, created on first use, with the access token of the scope asked for at hand. */
  api: ApiAccess;
  /** The erasure jobs of this process (opened from VCC_DATA_DIR at the first call). */
  jobs(): Promise<JobService>;
}
