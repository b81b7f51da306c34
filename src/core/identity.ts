// Who did something, as the identity provider named them: on audit records, job records and receipts
// of a team server (VCC_HTTP_AUTH=oauth). Absent on stdio and with the static bearer (one user).

/** A person (or a machine client) as an access token or an ID token names them. */
export interface Identity {
  /**
   * The token's `sub` (or the claim VCC_PERSON_CLAIM names, e.g. Entra ID's `oid`): stable and unique
   * at its issuer, and the same in the access tokens and the approvers' ID tokens.
   */
  subject: string;
  /** The token's `iss`. */
  issuer: string;
  /** Display name (`name`, else `preferred_username`), where the token has one. */
  name?: string;
  email?: string;
}

/** Whether two identities are the same person (same subject at the same issuer). */
export function sameIdentity(a: Identity, b: Identity): boolean {
  return a.subject === b.subject && a.issuer === b.issuer;
}

/** How the identity reads in a log line or on a page: name and email where known, else the subject. */
export function describeIdentity(identity: Identity): string {
  const label = identity.name ?? identity.email ?? identity.subject;
  return identity.email && identity.name ? `${identity.name} <${identity.email}>` : label;
}

/**
 * The identity fields of a token's claims (undefined without the person's claim). `personClaim`: the
 * claim that names the person (default `sub`; Entra ID's `sub` differs per application, its `oid`
 * does not).
 */
export function identityFromClaims(claims: Record<string, unknown>, issuer: string, personClaim = "sub"): Identity | undefined {
  const value = claims[personClaim];
  const subject = typeof value === "string" && value ? value : undefined;
  if (!subject) return undefined;
  const text = (value: unknown) => (typeof value === "string" && value.trim() ? value.trim().slice(0, 200) : undefined);
  const name = text(claims.name) ?? text(claims.preferred_username);
  const email = text(claims.email);
  return { subject, issuer, ...(name ? { name } : {}), ...(email ? { email } : {}) };
}
