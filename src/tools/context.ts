// What every tool of one MCP session can use.
import type { AuditContext, AuditTrail } from "../audit.js";
import type { Config } from "../config.js";
import type { Confirmer } from "../confirmation/confirmer.js";
import type { VccClient } from "../vcc/client.js";
import type { ToolError } from "../vcc/errors.js";
import type { Scope } from "../vcc/scopes.js";

export interface ToolContext {
  config: Config;
  confirmer: Confirmer;
  audit: AuditTrail;
  /** Who is calling (from initialize) and in which session: for the audit trail. */
  auditContext(sessionId?: string): AuditContext;
  /**
   * The API client, created on first use, with the access token of `scope` at hand (the scope the
   * tool cannot do without); an error when credentials are missing or cannot get that token.
   */
  api(signal: AbortSignal | undefined, scope: Scope): Promise<{ ok: true; client: VccClient } | { ok: false; error: ToolError }>;
}
