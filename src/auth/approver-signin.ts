// Team server: approvers sign in with OpenID Connect (authorization code with PKCE; this server is a
// registered confidential client of the issuer) before they see or decide an approval page. The SDK's
// own OAuth helpers build the authorization request and redeem the code; jose checks the ID token
// (signature against the issuer's keys, issuer, audience = our client id, expiry, nonce). A signed-in
// approver is remembered by an HttpOnly, SameSite=Lax cookie naming a random server-side session.
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { exchangeAuthorization, startAuthorization } from "@modelcontextprotocol/sdk/client/auth.js";
import { jwtVerify } from "jose";
import type { OAuthConfig } from "../config.js";
import { messagePage } from "../confirmation/approval-page.js";
import { type ApproverGate, send } from "../confirmation/approval-server.js";
import type { ApprovalChoice, ApprovalPageView } from "../confirmation/store.js";
import { describeIdentity, type Identity, identityFromClaims, sameIdentity } from "../core/identity.js";
import { sameSecret } from "../http-guards.js";
import { log } from "../log.js";
import type { Issuer } from "./issuer.js";

export const CALLBACK_PATH = "/approve/callback";
const SESSION_COOKIE = "vcc_approver";
const STATE_COOKIE = "vcc_signin";
/** How long a sign-in may take at the identity provider. */
const SIGN_IN_MS = 10 * 60_000;
/** At most this long an approver stays signed in (less when their ID token expires sooner). */
const MAX_SESSION_MS = 60 * 60_000;
/** Bounds on what unauthenticated browsers can make this server hold. */
const MAX_PENDING = 1000;
const MAX_SESSIONS = 10_000;

interface PendingSignIn {
  verifier: string;
  nonce: string;
  returnTo: string;
  expiresAt: number;
}

interface ApproverSession {
  identity: Identity;
  claims: Record<string, unknown>;
  expiresAt: number;
}

export interface ApproverSignInOptions {
  config: OAuthConfig;
  issuer: Issuer;
  /** The scopes asked for at sign-in (VCC_OIDC_SCOPE). */
  scope: string;
  now?: () => number;
}

export class ApproverSignIn implements ApproverGate {
  readonly #config: OAuthConfig;
  readonly #client: { client_id: string; client_secret?: string };
  readonly #issuer: Issuer;
  readonly #scope: string;
  readonly #now: () => number;
  readonly #redirectUri: string;
  readonly #secure: boolean;
  readonly #pending = new Map<string, PendingSignIn>();
  readonly #sessions = new Map<string, ApproverSession>();
  /** The ID token claims of each signed-in identity object handed out by approver(). */
  readonly #claims = new WeakMap<Identity, Record<string, unknown>>();

  constructor(options: ApproverSignInOptions) {
    const oidc = options.config.oidc;
    if (!oidc) throw new Error("approver sign-in needs VCC_OIDC_CLIENT_ID");
    this.#config = options.config;
    this.#client = { client_id: oidc.clientId, ...(oidc.clientSecret ? { client_secret: oidc.clientSecret } : {}) };
    this.#issuer = options.issuer;
    this.#scope = options.scope;
    this.#now = options.now ?? Date.now;
    this.#redirectUri = `${options.config.publicUrl}${CALLBACK_PATH}`;
    this.#secure = options.config.publicUrl.startsWith("https:");
  }

  approver(req: IncomingMessage): Identity | undefined {
    return this.#session(req)?.identity;
  }

  refusal(view: ApprovalPageView, approver: Identity, choice: ApprovalChoice): string | undefined {
    return decisionRefusal(this.#config, { requester: view.requester, approver, claims: this.#claims.get(approver) ?? {} }, choice);
  }

  async signIn(_req: IncomingMessage, res: ServerResponse, returnTo: string): Promise<void> {
    let metadata: Awaited<ReturnType<Issuer["info"]>>["metadata"];
    try {
      metadata = (await this.#issuer.info()).metadata;
    } catch (error) {
      log.error("approval page: the identity provider cannot be reached for sign-in", { error });
      return page(
        res,
        503,
        "Sign-in is unavailable",
        "The identity provider cannot be reached right now. Nothing was changed. Try again in a moment.",
      );
    }
    this.#prune();
    if (this.#pending.size >= MAX_PENDING)
      return page(res, 503, "Too many sign-ins", "Too many sign-ins are in progress. Try again in a minute.");
    const state = randomId();
    const nonce = randomId();
    const { authorizationUrl, codeVerifier } = await startAuthorization(this.#issuer.url, {
      metadata,
      clientInformation: this.#client,
      redirectUrl: this.#redirectUri,
      scope: this.#scope,
      state,
    });
    authorizationUrl.searchParams.set("nonce", nonce);
    this.#pending.set(state, { verifier: codeVerifier, nonce, returnTo, expiresAt: this.#now() + SIGN_IN_MS });
    // The state also goes into a cookie of this browser: a sign-in started elsewhere cannot be completed here.
    send(res, 302, "", {
      location: authorizationUrl.href,
      "set-cookie": this.#cookie(STATE_COOKIE, state, CALLBACK_PATH, SIGN_IN_MS / 1000),
    });
  }

  async handleOwn(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    if (path !== CALLBACK_PATH) return false;
    if (req.method !== "GET") {
      page(res, 405, "Not allowed", "This address only accepts the identity provider's redirect.");
      return true;
    }
    const params = new URL(req.url ?? "/", "http://localhost").searchParams;
    const state = params.get("state") ?? "";
    const pending = this.#pending.get(state);
    const cookieState = cookies(req).get(STATE_COOKIE) ?? "";
    if (!pending || !state || !sameSecret(cookieState, state) || pending.expiresAt <= this.#now()) {
      log.warn("approval page: refused a sign-in return that this browser did not start (or that expired)");
      page(res, 400, "Sign-in not recognised", "This sign-in was not started here, or took too long. Open the approval link again.");
      return true;
    }
    this.#pending.delete(state);
    const error = params.get("error");
    const code = params.get("code");
    if (error || !code) {
      log.info(`approval page: the identity provider did not sign the person in (${error ?? "no code"})`);
      page(
        res,
        403,
        "Not signed in",
        "The identity provider did not sign you in. Nothing was changed. Open the approval link again to retry.",
      );
      return true;
    }
    const signedIn = await this.#redeem(code, pending).catch((failure: unknown) => {
      log.warn("approval page: a sign-in could not be completed", { error: failure instanceof Error ? failure.message : String(failure) });
      return undefined;
    });
    if (!signedIn) {
      page(res, 403, "Not signed in", "The sign-in could not be verified. Nothing was changed. Open the approval link again to retry.");
      return true;
    }
    const id = randomId();
    if (this.#sessions.size >= MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value as string);
    this.#sessions.set(id, signedIn);
    this.#claims.set(signedIn.identity, signedIn.claims);
    log.info(`approval page: ${describeIdentity(signedIn.identity)} signed in`);
    send(res, 303, "", {
      location: pending.returnTo,
      "set-cookie": [
        this.#cookie(SESSION_COOKIE, id, "/approve/", Math.floor((signedIn.expiresAt - this.#now()) / 1000)),
        this.#cookie(STATE_COOKIE, "", CALLBACK_PATH, 0),
      ],
    });
    return true;
  }

  /** Redeems the code (PKCE verifier, client secret) and checks the ID token. */
  async #redeem(code: string, pending: PendingSignIn): Promise<ApproverSession> {
    const { metadata, keys } = await this.#issuer.info();
    const tokens = await exchangeAuthorization(this.#issuer.url, {
      metadata,
      clientInformation: this.#client,
      authorizationCode: code,
      codeVerifier: pending.verifier,
      redirectUri: this.#redirectUri,
    });
    if (!tokens.id_token) throw new Error("the token response has no id_token (is 'openid' in VCC_OIDC_SCOPE?)");
    const { payload } = await jwtVerify(tokens.id_token, keys, {
      issuer: this.#config.issuer,
      audience: this.#client.client_id,
      requiredClaims: ["sub", "exp", "nonce"],
    });
    if (typeof payload.nonce !== "string" || !sameSecret(payload.nonce, pending.nonce))
      throw new Error("the ID token's nonce does not match");
    const identity = identityFromClaims(payload, this.#config.issuer);
    if (!identity) throw new Error("the ID token names no subject");
    const exp = (payload.exp ?? 0) * 1000;
    return { identity, claims: payload, expiresAt: Math.min(exp, this.#now() + MAX_SESSION_MS) };
  }

  #session(req: IncomingMessage): ApproverSession | undefined {
    const id = cookies(req).get(SESSION_COOKIE);
    const session = id ? this.#sessions.get(id) : undefined;
    if (!session || !id) return undefined;
    if (session.expiresAt <= this.#now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return session;
  }

  #cookie(name: string, value: string, path: string, maxAgeSeconds: number): string {
    return `${name}=${value}; Path=${path}; Max-Age=${Math.max(0, maxAgeSeconds)}; HttpOnly; SameSite=Lax${this.#secure ? "; Secure" : ""}`;
  }

  #prune(): void {
    const now = this.#now();
    for (const [state, pending] of this.#pending) if (pending.expiresAt <= now) this.#pending.delete(state);
    for (const [id, session] of this.#sessions) if (session.expiresAt <= now) this.#sessions.delete(id);
  }
}

/**
 * Who may decide (undefined: they may; else why not, in words for the page). Approving: without the
 * four-eyes rule, the requester themselves, or anyone with the approver claim when one is configured;
 * with it, only someone else who carries the claim. Cancelling: the requester (withdrawing their own
 * request) or anyone who may approve.
 */
export function decisionRefusal(
  config: Pick<OAuthConfig, "separateApprover" | "approverClaim">,
  people: { requester: Identity | undefined; approver: Identity; claims: Record<string, unknown> },
  choice: ApprovalChoice,
): string | undefined {
  const claim = config.approverClaim;
  const hasClaim = claim !== undefined && carriesClaim(people.claims, claim.name, claim.value);
  const isRequester = people.requester !== undefined && sameIdentity(people.requester, people.approver);
  if (choice === "reject" && isRequester) return undefined;
  if (config.separateApprover) {
    if (isRequester) return "you asked for this deletion, and this server requires another person to approve it (four-eyes rule).";
    if (!hasClaim) return `approving needs ${claim?.name ?? "the approver claim"} to include ${claim?.value ?? "the approver value"}.`;
    return undefined;
  }
  if (isRequester || hasClaim) return undefined;
  return people.requester
    ? `only the person who asked (${describeIdentity(people.requester)})${claim ? ` or someone whose ${claim.name} include ${claim.value}` : ""} may decide this request.`
    : "this request names no requester.";
}

/** Whether the claim (a string, or a list of strings, e.g. groups or roles) contains `value`. */
export function carriesClaim(claims: Record<string, unknown>, name: string, value: string): boolean {
  const claim = claims[name];
  if (typeof claim === "string") return claim === value || claim.split(" ").includes(value);
  return Array.isArray(claim) && claim.includes(value);
}

function cookies(req: IncomingMessage): Map<string, string> {
  const found = new Map<string, string>();
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) found.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return found;
}

const randomId = () => randomBytes(32).toString("base64url");

function page(res: ServerResponse, status: number, title: string, text: string): void {
  send(res, status, messagePage(title, text));
}
