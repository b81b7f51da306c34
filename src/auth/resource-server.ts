// The team server as an OAuth 2.1 resource server (MCP authorization, 2025-11-25): it publishes its
// Protected Resource Metadata (RFC 9728), and accepts only JWT access tokens its authorization server
// signed for it (signature against the issuer's JWKS, issuer, audience, expiry), naming its scopes.
// The tokens identify the caller; they are never passed on (the server's own VCC credentials call VCC).
// Loaded only in this mode: jose and the discovery code stay out of the other paths' start-up.
import { type JWTVerifyGetKey, errors as joseErrors, jwtVerify } from "jose";
import type { OAuthConfig } from "../config.js";
import { type Identity, identityFromClaims } from "../core/identity.js";
import { log } from "../log.js";
import { type Issuer, issuerForms } from "./issuer.js";

export const METADATA_PATH = "/.well-known/oauth-protected-resource";

/** The caller a valid access token names, and what it may do. */
export interface Caller {
  identity: Identity;
  /** This server's scopes the token carries (read and/or delete, by their configured names). */
  scopes: string[];
  /** The OAuth client the token was issued to, where the token says. */
  clientId?: string;
}

export type Verdict =
  | { ok: true; caller: Caller }
  /** 401 (no or bad token), 403 (token without the scope), 503 (the issuer's keys cannot be fetched). */
  | { ok: false; status: 401 | 403 | 503; error: string; description: string; headers: Record<string, string> };

export interface ResourceServerOptions {
  /** The MCP endpoint's path (the resource URL is publicUrl + mcpPath). */
  mcpPath: string;
  issuer: Issuer;
}

export class ResourceServer {
  readonly resource: string;
  readonly metadataUrl: string;
  readonly #config: OAuthConfig;
  readonly #audience: string;
  readonly #issuer: Issuer;

  constructor(config: OAuthConfig, options: ResourceServerOptions) {
    this.#config = config;
    this.resource = `${config.publicUrl}${options.mcpPath}`;
    // RFC 9728 section 3.1: the well-known segment goes between the host and the resource's path.
    this.metadataUrl = `${config.publicUrl}${METADATA_PATH}${options.mcpPath}`;
    this.#audience = config.audience ?? this.resource;
    this.#issuer = options.issuer;
  }

  /** The paths the metadata is served at: the path-suffixed form and the bare one. */
  get metadataPaths(): string[] {
    return [new URL(this.metadataUrl).pathname, METADATA_PATH];
  }

  /** The Protected Resource Metadata document (RFC 9728 section 2). */
  metadata(): Record<string, unknown> {
    return {
      resource: this.resource,
      authorization_servers: [this.#config.issuer],
      scopes_supported: this.#scopes(),
      bearer_methods_supported: ["header"],
      resource_name: "VCC interaction content (deletion with approval)",
      resource_documentation: "https://github.com/your-org/vcc-interaction-content-mcp/blob/main/docs/team-server.md",
    };
  }

  /** Whether the caller may use the deletion tools. */
  mayDelete(caller: Caller): boolean {
    return caller.scopes.includes(this.#config.deleteScope);
  }

  /** A 403 insufficient_scope for a call that needs the delete scope (the client may ask for it and retry). */
  deleteScopeMissing(): Verdict & { ok: false } {
    return this.#refusal(403, "insufficient_scope", `this call needs the scope ${this.#config.deleteScope}`, this.#scopes());
  }

  /** Checks the request's Authorization header: a valid token of this server with at least the read scope. */
  async verify(authorization: string | undefined): Promise<Verdict> {
    const match = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(authorization ?? "");
    // Without credentials, RFC 6750 section 3.1: no error code, just the challenge.
    if (!authorization) return this.#refusal(401, "", "an access token is required", this.#scopes());
    if (!match?.[1]) return this.#refusal(401, "invalid_request", "the Authorization header must be 'Bearer <token>'", this.#scopes());
    let keys: JWTVerifyGetKey;
    try {
      keys = (await this.#issuer.info()).keys;
    } catch (error) {
      log.error(`cannot fetch the authorization server's metadata or keys from ${this.#config.issuer}`, { error });
      return this.#refusal(
        503,
        "temporarily_unavailable",
        "the authorization server's signing keys cannot be fetched; try again later",
        [],
      );
    }
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(match[1], keys, {
        issuer: issuerForms(this.#config.issuer),
        audience: this.#audience,
        requiredClaims: ["exp", "sub"],
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWKSTimeout || error instanceof TypeError) {
        log.error("cannot fetch the authorization server's signing keys", { error });
        return this.#refusal(
          503,
          "temporarily_unavailable",
          "the authorization server's signing keys cannot be fetched; try again later",
          [],
        );
      }
      const why = tokenProblem(error);
      log.info(`refused an access token: ${why}`);
      return this.#refusal(401, "invalid_token", why, this.#scopes());
    }
    const identity = identityFromClaims(claims, this.#config.issuer, this.#config.personClaim);
    if (!identity)
      return this.#refusal(
        401,
        "invalid_token",
        `the access token has no ${this.#config.personClaim} claim (VCC_PERSON_CLAIM)`,
        this.#scopes(),
      );
    const granted = grantedScopes(claims);
    const scopes = this.#scopes().filter((scope) => granted.has(scope) || granted.has(shortScope(scope)));
    if (!scopes.includes(this.#config.readScope))
      return this.#refusal(403, "insufficient_scope", `this server needs the scope ${this.#config.readScope}`, this.#scopes());
    const clientId = typeof claims.client_id === "string" ? claims.client_id : typeof claims.azp === "string" ? claims.azp : undefined;
    return { ok: true, caller: { identity, scopes, ...(clientId ? { clientId } : {}) } };
  }

  #scopes(): string[] {
    return [this.#config.readScope, this.#config.deleteScope];
  }

  #refusal(status: 401 | 403 | 503, error: string, description: string, scopes: string[]): Verdict & { ok: false } {
    const parts = ["Bearer"];
    const params = [
      ...(error ? [`error="${error}"`, `error_description="${description.replace(/["\\]/g, "")}"`] : []),
      `resource_metadata="${this.metadataUrl}"`,
      ...(scopes.length > 0 ? [`scope="${scopes.join(" ")}"`] : []),
    ];
    parts.push(params.join(", "));
    return {
      ok: false,
      status,
      error: error || "invalid_token",
      description,
      headers: status === 503 ? { "retry-after": "5" } : { "www-authenticate": parts.join(" ") },
    };
  }
}

/** The scopes a token grants: `scope` (RFC 9068, space-separated) or `scp` (Entra ID, Okta: a string or a list). */
function grantedScopes(claims: Record<string, unknown>): Set<string> {
  const granted = new Set<string>();
  for (const value of [claims.scope, claims.scp]) {
    if (typeof value === "string") for (const s of value.split(" ")) if (s) granted.add(s);
    if (Array.isArray(value)) for (const s of value) if (typeof s === "string") granted.add(s);
  }
  return granted;
}

/** Entra ID: clients ask for api://<app>/vcc.read, the token's scp says vcc.read. */
function shortScope(scope: string): string {
  return scope.includes("://") ? scope.slice(scope.lastIndexOf("/") + 1) : scope;
}

/** Why jose refused a token, in words safe to send back (never the token). */
function tokenProblem(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "the access token has expired";
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === "aud") return "the access token was not issued for this server (audience)";
    if (error.claim === "iss") return "the access token was issued by another authorization server";
    return `the access token's ${error.claim} claim is not acceptable`;
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed || error instanceof joseErrors.JWKSNoMatchingKey)
    return "the access token's signature does not verify";
  return "the access token is not a valid JWT of the authorization server";
}
