// Where access tokens come from: a static VCC_ACCESS_TOKEN (lasts two hours, cannot be renewed, used
// for every request), or the OAuth 2.0 client-credentials grant: one token per scope (a VCC token is
// issued for one scope), each cached in memory and renewed shortly before it expires.
import { request } from "undici";
import { log, registerSecret } from "../log.js";
import {
  type CredentialKind,
  errorCancelledBeforeSending,
  errorForScopeNotConfigured,
  errorForTokenEndpoint,
  errorForTokenResponse,
  errorForTokenTransport,
  type ToolError,
} from "./errors.js";
import { SCOPES, type Scope } from "./scopes.js";

export type TokenResult = { ok: true; value: string } | { ok: false; error: ToolError };

export interface TokenSource {
  /** static: given by the user, cannot be renewed; client_credentials: obtained and renewed here. */
  readonly kind: CredentialKind;
  token(signal?: AbortSignal): Promise<TokenResult>;
  /** The API refused `token` (401): forget it. True when a new one can be obtained, so one retry is worth it. */
  invalidate(token: string): boolean;
}

/** The token source of each scope: GETs use the read scope's, DELETEs the delete scope's. */
export interface ScopedTokens {
  readonly kind: CredentialKind;
  forScope(scope: Scope): TokenSource;
}

/** A static token: one token, used for every scope. */
export function staticTokens(accessToken: string, scopes: readonly Scope[] = SCOPES): ScopedTokens {
  registerSecret(accessToken);
  const result: TokenResult = { ok: true, value: accessToken };
  const source: TokenSource = { kind: "static", token: async () => result, invalidate: () => false };
  // A VCC token is issued for one scope: VCC_SCOPES names it, and a request needing the other fails
  // without being sent (a delete tool before anyone is asked to approve).
  return { kind: "static", forScope: (scope) => (scopes.includes(scope) ? source : notConfigured(scope)) };
}

/** A token as the endpoint issued it. */
export interface IssuedToken {
  value: string;
  expiresInSeconds: number;
}

/** Must not reject: every failure is a value. */
export type ObtainToken = () => Promise<{ ok: true; token: IssuedToken } | { ok: false; error: ToolError }>;

/** How long after issue to renew a token of this lifetime: 60 s or 10 % of it before expiry, whichever is less. */
export function renewAfterMs(lifetimeMs: number): number {
  return lifetimeMs - Math.min(60_000, lifetimeMs / 10);
}

/** A cached token, renewed when due; concurrent callers share one request (single flight). */
export class RenewingTokenSource implements TokenSource {
  readonly kind = "client_credentials";
  readonly #obtain: ObtainToken;
  readonly #now: () => number;
  #cached: { value: string; renewAt: number } | undefined;
  #pending: Promise<TokenResult> | undefined;

  constructor(obtain: ObtainToken, now: () => number = Date.now) {
    this.#obtain = obtain;
    this.#now = now;
  }

  token(signal?: AbortSignal): Promise<TokenResult> {
    if (signal?.aborted) return Promise.resolve({ ok: false, error: errorCancelledBeforeSending() });
    const cached = this.#cached;
    if (cached && this.#now() < cached.renewAt) return Promise.resolve({ ok: true, value: cached.value });
    if (!this.#pending) {
      const pending = this.#renew();
      this.#pending = pending;
      const settle = () => {
        if (this.#pending === pending) this.#pending = undefined;
      };
      pending.then(settle, settle);
    }
    // One caller giving up must not cancel the request the others wait for.
    return signal ? untilAborted(this.#pending, signal) : this.#pending;
  }

  invalidate(token: string): boolean {
    // Only the refused token: a concurrent call may already have renewed it.
    if (this.#cached?.value === token) this.#cached = undefined;
    return true;
  }

  async #renew(): Promise<TokenResult> {
    // Counted from the request's start: the endpoint's clock for expires_in started no earlier.
    const started = this.#now();
    const result = await this.#obtain();
    if (!result.ok) return result;
    const { value, expiresInSeconds } = result.token;
    this.#cached = { value, renewAt: started + renewAfterMs(expiresInSeconds * 1000) };
    return { ok: true, value };
  }
}

function untilAborted(pending: Promise<TokenResult>, signal: AbortSignal): Promise<TokenResult> {
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve({ ok: false, error: errorCancelledBeforeSending() });
    signal.addEventListener("abort", onAbort, { once: true });
    pending.then(
      (result) => {
        signal.removeEventListener("abort", onAbort);
        resolve(result);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

export interface ClientCredentialsOptions {
  authUrl: string;
  clientId: string;
  clientSecret: string;
  /** The scopes to obtain tokens for (one token each); a request needing another one fails without a token request. */
  scopes: readonly Scope[];
  timeoutMs: number;
}

/** Tokens from the OAuth 2.0 client-credentials grant: one cached, renewed token per scope. */
export function clientCredentialsTokens(options: ClientCredentialsOptions, now?: () => number): ScopedTokens {
  registerSecret(options.clientSecret);
  const sources = new Map<Scope, TokenSource>();
  for (const scope of SCOPES) {
    const source: TokenSource = options.scopes.includes(scope)
      ? new RenewingTokenSource(() => requestToken(options, scope), now)
      : notConfigured(scope);
    sources.set(scope, source);
  }
  return {
    kind: "client_credentials",
    forScope: (scope) => sources.get(scope) ?? notConfigured(scope),
  };
}

function notConfigured(scope: Scope): TokenSource {
  const result: TokenResult = { ok: false, error: errorForScopeNotConfigured(scope) };
  return { kind: "client_credentials", token: async () => result, invalidate: () => false };
}

/** Used when the endpoint leaves out expires_in: shorter than VCC's two hours, and a 401 renews anyway. */
const DEFAULT_EXPIRES_IN_SECONDS = 3600;

/** One token request for one scope: POST the form the VCC docs describe, bounded by the API timeout. */
export async function requestToken(
  options: Omit<ClientCredentialsOptions, "scopes">,
  scope: Scope,
): Promise<{ ok: true; token: IssuedToken } | { ok: false; error: ToolError }> {
  const form = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: options.clientId,
    client_secret: options.clientSecret,
    scope,
  });
  const timeout = AbortSignal.timeout(options.timeoutMs);
  let status: number;
  let body: string;
  let contentType: string | undefined;
  try {
    const res = await request(options.authUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: form.toString(),
      signal: timeout,
    });
    status = res.statusCode;
    body = await res.body.text();
    const header = res.headers["content-type"];
    contentType = Array.isArray(header) ? header[0] : header;
  } catch (cause) {
    const error = errorForTokenTransport(cause, options.authUrl, options.timeoutMs, timeout.aborted ? "timeout" : "network");
    log.warn("could not obtain an access token", { scope, error: error.message });
    return { ok: false, error: forScope(error, scope) };
  }
  const result =
    status >= 200 && status < 300
      ? parseTokenResponse(body, options.authUrl)
      : { ok: false as const, error: errorForTokenEndpoint({ status, body, contentType }, options.authUrl, scope) };
  if (result.ok) {
    log.debug("obtained an access token", { expiresInSeconds: result.token.expiresInSeconds, scope });
    return result;
  }
  log.warn("could not obtain an access token", { scope, error: result.error.message });
  return { ok: false, error: forScope(result.error, scope) };
}

/** Says which scope's token could not be obtained. */
function forScope(error: ToolError, scope: Scope): ToolError {
  return { ...error, message: `No access token for the scope ${scope}: ${error.message}` };
}

/** The token of a 2xx answer: {"access_token","expires_in","token_type":"Bearer"}. */
export function parseTokenResponse(body: string, authUrl: string): { ok: true; token: IssuedToken } | { ok: false; error: ToolError } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { ok: false, error: errorForTokenResponse(authUrl, "the answer is not JSON") };
  }
  const record = parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
  const value = record.access_token;
  // Printable ASCII only: anything else cannot be sent in an Authorization header.
  if (typeof value !== "string" || !/^[\x21-\x7E]+$/.test(value))
    return { ok: false, error: errorForTokenResponse(authUrl, "no access_token") };
  registerSecret(value);
  const type = record.token_type;
  if (type !== undefined && (typeof type !== "string" || type.toLowerCase() !== "bearer"))
    return { ok: false, error: errorForTokenResponse(authUrl, "token_type is not Bearer") };
  const raw = record.expires_in;
  // A number of seconds; some endpoints send it as a string.
  const expiresIn = typeof raw === "number" ? raw : typeof raw === "string" && /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : Number.NaN;
  const expiresInSeconds = Number.isFinite(expiresIn) && expiresIn >= 0 ? expiresIn : DEFAULT_EXPIRES_IN_SECONDS;
  return { ok: true, token: { value, expiresInSeconds } };
}
