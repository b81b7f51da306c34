// The OAuth scopes of the Interaction Content API. A VCC access token is issued for one scope, so
// the client holds one token per scope: GETs use the read token, DELETEs the delete token.
export const READ_SCOPE = "interaction-content:read";
export const DELETE_SCOPE = "interaction-content:delete";
export const SCOPES = [READ_SCOPE, DELETE_SCOPE] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
