// The simulated token endpoint (OAuth 2.0 client credentials, RFC 6749 §4.4 and §5.2) and the
// bearer-token check of the API (RFC 6750).
import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { type Answer, emptyAnswer, jsonAnswer } from "./answer.js";

export const READ_SCOPE = "interaction-content:read";
export const DELETE_SCOPE = "interaction-content:delete";
export const ALL_SCOPES = [READ_SCOPE, DELETE_SCOPE];

export interface SimClient {
  secret: string;
  scopes: string[];
}

export const DEFAULT_CLIENTS: Record<string, SimClient> = {
  "sandbox-client": { secret: "sandbox-secret", scopes: ALL_SCOPES },
  "readonly-client": { secret: "readonly-secret", scopes: [READ_SCOPE] },
  "delete-only-client": { secret: "delete-only-secret", scopes: [DELETE_SCOPE] },
};
/** Static tokens are a test and sandbox device: one token may carry several scopes here. */
export const DEFAULT_STATIC_TOKENS: Record<string, string[]> = { "sandbox-token": ALL_SCOPES };

export type AuthState = "valid" | "missing" | "invalid" | "expired";

export interface TokenStoreOptions {
  clients: Record<string, SimClient>;
  staticTokens: Record<string, string[]>;
  /** Milliseconds since the epoch (a test may pass its own clock). */
  now: () => number;
}

/** Issued tokens and the static ones; answers the token endpoint and checks bearer tokens. */
export class TokenStore {
  /** Lifetime of tokens issued from now on, seconds. */
  expiresIn: number;
  readonly #issued = new Map<string, { scopes: string[]; expiresAt: number }>();
  #issuedSinceReset: string[] = [];
  readonly #options: TokenStoreOptions;

  constructor(options: TokenStoreOptions, expiresIn: number) {
    this.#options = options;
    this.expiresIn = expiresIn;
  }

  /** Tokens issued since startNewPeriod() (tests check that none of them leaks). */
  issuedSinceReset(): string[] {
    return [...this.#issuedSinceReset];
  }

  /** reset(): the tokens stay valid, but the list of recently issued ones starts afresh. */
  startNewPeriod(): void {
    this.#issuedSinceReset = [];
  }

  /** Every issued token expires now (static tokens never expire). */
  expireAll(): void {
    for (const entry of this.#issued.values()) entry.expiresAt = Number.NEGATIVE_INFINITY;
  }

  /** The bearer check: which state the request's token is in, and its scopes when valid. */
  authenticate(headers: IncomingHttpHeaders): { state: AuthState; scopes: string[] } {
    const match = headers.authorization?.match(/^Bearer +(\S+) *$/i);
    if (!match?.[1]) return { state: "missing", scopes: [] };
    const fixed = this.#options.staticTokens[match[1]];
    if (fixed) return { state: "valid", scopes: fixed };
    const entry = this.#issued.get(match[1]);
    if (!entry) return { state: "invalid", scopes: [] };
    if (this.#options.now() >= entry.expiresAt) return { state: "expired", scopes: [] };
    return { state: "valid", scopes: entry.scopes };
  }

  /**
   * POST /Auth/connect/token. Checked in this order, as IdentityServer-style token services do:
   * method and form content type, client credentials (form fields or HTTP Basic), grant type, scope.
   * As the VCC docs describe, a token is requested for one scope and grants only that one: naming
   * more than one is invalid_scope; naming none gets a token for the client's first scope.
   */
  tokenRequest(method: string, headers: IncomingHttpHeaders, body: string): Answer {
    const noStore = { "cache-control": "no-store", pragma: "no-cache" };
    const error = (status: number, code: string, extra: Record<string, string> = {}) =>
      jsonAnswer(status, { error: code }, { ...noStore, ...extra });
    if (method !== "POST") return error(405, "invalid_request", { allow: "POST" });
    const contentType = headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
    if (contentType !== "application/x-www-form-urlencoded") return error(400, "invalid_request");

    const form = new URLSearchParams(body);
    const basic = basicCredentials(headers.authorization);
    const clientId = basic ? basic.id : form.get("client_id");
    const clientSecret = basic ? basic.secret : form.get("client_secret");
    const client = clientId ? this.#options.clients[clientId] : undefined;
    if (!client || client.secret !== clientSecret) {
      return error(401, "invalid_client", basic ? { "www-authenticate": 'Basic realm="token"' } : {});
    }

    const grant = form.get("grant_type");
    if (!grant) return error(400, "invalid_request");
    if (grant !== "client_credentials") return error(400, "unsupported_grant_type");

    const requested = (form.get("scope") ?? "").split(" ").filter(Boolean);
    if (requested.length > 1 || requested.some((s) => !client.scopes.includes(s))) return error(400, "invalid_scope");
    const scopes = requested.length > 0 ? requested : client.scopes.slice(0, 1);

    const token = `sim-${randomBytes(24).toString("base64url")}`;
    this.#issued.set(token, { scopes, expiresAt: this.#options.now() + this.expiresIn * 1000 });
    this.#issuedSinceReset.push(token);
    return jsonAnswer(200, { access_token: token, expires_in: this.expiresIn, token_type: "Bearer", scope: scopes.join(" ") }, noStore);
  }
}

/** RFC 6749 §2.3.1: id and secret are form-encoded, then joined with ":" and base64-encoded. */
function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = header?.match(/^Basic +(\S+) *$/i);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return { id: "", secret: "" };
  const unform = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, " "));
    } catch {
      return s;
    }
  };
  return { id: unform(decoded.slice(0, colon)), secret: unform(decoded.slice(colon + 1)) };
}

/** RFC 6750 §3: the 401 of the API, saying why in WWW-Authenticate (the body is empty). */
export function unauthorized(state: AuthState): Answer {
  const challenge =
    state === "missing"
      ? 'Bearer realm="interaction-content"'
      : state === "expired"
        ? 'Bearer realm="interaction-content", error="invalid_token", error_description="The access token expired"'
        : 'Bearer realm="interaction-content", error="invalid_token", error_description="The access token is invalid"';
  return emptyAnswer(401, { "www-authenticate": challenge });
}

/** RFC 6750 §3.1: authenticated, but the token lacks the scope this route needs. */
export function forbidden(scope: string): Answer {
  return emptyAnswer(403, { "www-authenticate": `Bearer realm="interaction-content", error="insufficient_scope", scope="${scope}"` });
}
