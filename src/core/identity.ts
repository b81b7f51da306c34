// Who did something, as the identity provider named them: on audit records, job records and receipts
// of a team server (VCC_HTTP_AUTH=oauth). Absent on stdio and with the static bearer (one user); on
// stdio, the operating-system account the server runs as is recorded instead (localAccount).
import { userInfo } from "node:os";

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

let account: string | null | undefined;

/**
 * The operating-system account this process runs as, for a server on stdio: there it is a child of
 * one person's client on their computer, so the account is theirs (over HTTP it is the service's, which
 * says nothing of the person: undefined). Undefined too where the system cannot name it.
 */
export function localAccount(transport: "stdio" | "http"): string | undefined {
  if (transport !== "stdio") return undefined;
  if (account === undefined) {
    try {
      account = userInfo().username.slice(0, 100) || null;
    } catch {
      account = null; // No name for this uid (e.g. a container without a passwd entry).
    }
  }
  return account ?? undefined;
}
