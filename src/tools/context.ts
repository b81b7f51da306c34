// What every tool of one MCP session can use.
import type { AuditContext, AuditTrail } from "../audit.js";
import type { Config } from "../config.js";
import type { Confirmer } from "../confirmation/confirmer.js";
import type { VccClient } from "../vcc/client.js";
import type { ToolError } from "../vcc/errors.js";

export interface ToolContext {
  config: Config;
  confirmer: Confirmer;
  audit: AuditTrail;
  /** Who is calling (from initialize) and in which session: for the audit trail. */
  auditContext(sessionId?: string): AuditContext;
  /** The API client, created on first use, with an access token at hand; an error when credentials are missing or do not work. */
  api(signal?: AbortSignal): Promise<{ ok: true; client: VccClient } | { ok: false; error: ToolError }>;
}
