// The team server's parts (VCC_HTTP_AUTH=oauth), built once per process and loaded only in this mode:
// the resource server in front of /mcp and, with VCC_OIDC_CLIENT_ID, the approval pages on the public
// origin behind the approvers' sign-in.
import type { OAuthConfig } from "../config.js";
import { ApprovalServer } from "../confirmation/approval-server.js";
import type { SharedState } from "../state/types.js";
import { ApproverSignIn } from "./approver-signin.js";
import { Issuer } from "./issuer.js";
import { ResourceServer } from "./resource-server.js";

export interface TeamServer {
  resourceServer: ResourceServer;
  /** The approval pages on the public origin (requests under /approve/ go to its handle()). */
  approvals?: ApprovalServer;
}

/**
 * `state`: the shared state, whose approval pages are served (from any replica) and which keeps the
 * approvers' sign-ins, so that a sign-in started through one replica completes through another.
 */
export async function teamServer(config: OAuthConfig, mcpPath: string, state: SharedState): Promise<TeamServer> {
  const issuer = new Issuer(config.issuer);
  const resourceServer = new ResourceServer(config, { mcpPath, issuer });
  if (!config.oidc) return { resourceServer };
  const gate = new ApproverSignIn({ config, state, issuer, scope: config.oidc.scope });
  return { resourceServer, approvals: new ApprovalServer({ publicPages: { origin: config.publicUrl, gate }, tokens: state.tokens }) };
}
