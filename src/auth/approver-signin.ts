// Team server: approvers sign in with OpenID Connect (authorization code with PKCE; this server is a
// registered confidential client of the issuer) before they see or decide an approval page. The SDK's
// own OAuth helpers build the authorization request and redeem the code; jose checks the ID token
// (signature against the issuer's keys, issuer, audience = our client id, expiry, nonce). A signed-in
// approver is remembered by an HttpOnly, SameSite=Lax cookie naming a random server-side session.
//
// Both the sign-ins in progress and the signed-in approvers are kept in the shared state (src/state/,
// Redis with VCC_STATE_URL), so that behind a load balancer the return from the identity provider and
// every later page view or decision may reach any replica. A sign-in in progress is taken once
// (`challenges`); a session is read as often as needed until it ends (`sessions`). While the shared
// state cannot be reached, signing in and the pages answer 503 and nothing is decided.
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
import { type JsonValue, type SharedState, StateUnavailableError } from "../state/types.js";
import { type Issuer, issuerForms } from "./issuer.js";

export const CALLBACK_PATH = "/approve/callback";
const SESSION_COOKIE = "vcc_approver";
const STATE_COOKIE = "vcc_signin";
/** How long a sign-in may take at the identity provider. */
const SIGN_IN_MS = 10 * 60_000;
/** At most this long an approver stays signed in (less when their ID token expires sooner). */
const MAX_SESSION_MS = 60 * 60_000;
/**
 * Bounds on what browsers can make the shared state hold, per replica: sign-ins started here in the
 * last SIGN_IN_MS (each expires after it), and sessions made here that have not expired (beyond, the
 * oldest made here ends). Starting a sign-in needs a valid approval link, and a session a person who
 * signed in at the identity provider; everything expires by itself (in Redis by its key's TTL).
 */
const MAX_PENDING = 1000;
const MAX_SESSIONS = 10_000;
/** Sign-ins in progress are kept among the challenges under this prefix (their ids never meet a passkey challenge's). */
const PENDING_KEY = "signin:";

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
  /** Where sign-ins in progress and signed-in approvers are kept (shared by the replicas). */
  state: SharedState;
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
  readonly #state: SharedState;
  /** When each sign-in started here expires (the bound MAX_PENDING). */
  #started: number[] = [];
  /** The sessions made here, oldest first, with when each ends (the bound MAX_SESSIONS). */
  readonly #made = new Map<string, number>();
  /** The ID token claims of each signed-in identity object handed out by approver(). */
  readonly #claims = new WeakMap<Identity, Record<string, unknown>>();

  constructor(options: ApproverSignInOptions) {
    const oidc = options.config.oidc;
    if (!oidc) throw new Error("approver sign-in needs VCC_OIDC_CLIENT_ID");
    this.#config = options.config;
    this.#client = { client_id: oidc.clientId, ...(oidc.clientSecret ? { client_secret: oidc.clientSecret } : {}) };
    this.#issuer = options.issuer;
    this.#state = options.state;
    this.#scope = options.scope;
    this.#now = options.now ?? Date.now;
    this.#redirectUri = `${options.config.publicUrl}${CALLBACK_PATH}`;
    this.#secure = options.config.publicUrl.startsWith("https:");
  }

  async approver(req: IncomingMessage): Promise<Identity | undefined> {
    return (await this.#session(req))?.identity;
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
    if (this.#started.length >= MAX_PENDING)
      return page(
        res,
        503,
        "Too many sign-ins",
        "Too many sign-ins were started through this server in the last few minutes. Try again in a few minutes.",
      );
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
    const expiresAt = this.#now() + SIGN_IN_MS;
    const pending: PendingSignIn = { verifier: codeVerifier, nonce, returnTo, expiresAt };
    try {
      await this.#state.challenges.put(PENDING_KEY + state, { ...pending }, SIGN_IN_MS);
    } catch (error) {
      if (error instanceof StateUnavailableError) return stateDown(res, error);
      throw error;
    }
    this.#started.push(expiresAt);
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
    const cookieState = cookies(req).get(STATE_COOKIE) ?? "";
    // Taken (once, on whichever replica the return reaches) only by the browser that started it.
    let pending: PendingSignIn | undefined;
    try {
      pending = state && sameSecret(cookieState, state) ? pendingSignIn(await this.#state.challenges.take(PENDING_KEY + state)) : undefined;
    } catch (error) {
      if (error instanceof StateUnavailableError) {
        stateDown(res, error);
        return true;
      }
      throw error;
    }
    if (!pending || pending.expiresAt <= this.#now()) {
      log.warn("approval page: refused a sign-in return that this browser did not start (or that expired)");
      page(res, 400, "Sign-in not recognised", "This sign-in was not started here, or took too long. Open the approval link again.");
      return true;
    }
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
    try {
      await this.#remember(id, signedIn);
    } catch (failure) {
      if (failure instanceof StateUnavailableError) {
        stateDown(res, failure);
        return true;
      }
      throw failure;
    }
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
      issuer: issuerForms(this.#config.issuer),
      audience: this.#client.client_id,
      requiredClaims: ["sub", "exp", "nonce"],
    });
    if (typeof payload.nonce !== "string" || !sameSecret(payload.nonce, pending.nonce))
      throw new Error("the ID token's nonce does not match");
    const identity = identityFromClaims(payload, this.#config.issuer, this.#config.personClaim);
    if (!identity) throw new Error(`the ID token has no ${this.#config.personClaim} claim (VCC_PERSON_CLAIM)`);
    const exp = (payload.exp ?? 0) * 1000;
    return { identity, claims: payload, expiresAt: Math.min(exp, this.#now() + MAX_SESSION_MS) };
  }

  /** Keeps a new session in the shared state; past MAX_SESSIONS made here, the oldest of them ends. */
  async #remember(id: string, session: ApproverSession): Promise<void> {
    this.#prune();
    for (const [oldest] of this.#made) {
      if (this.#made.size < MAX_SESSIONS) break;
      await this.#state.sessions.delete(oldest);
      this.#made.delete(oldest);
    }
    const value: JsonValue = { identity: { ...session.identity }, claims: session.claims as JsonValue, expiresAt: session.expiresAt };
    await this.#state.sessions.put(id, value, session.expiresAt - this.#now());
    this.#made.set(id, session.expiresAt);
  }

  /** The session named by the browser's cookie (on any replica); throws StateUnavailableError. */
  async #session(req: IncomingMessage): Promise<ApproverSession | undefined> {
    const id = cookies(req).get(SESSION_COOKIE);
    if (!id) return undefined;
    const session = approverSession(await this.#state.sessions.get(id));
    if (!session || session.expiresAt <= this.#now()) return undefined;
    this.#claims.set(session.identity, session.claims);
    return session;
  }

  #cookie(name: string, value: string, path: string, maxAgeSeconds: number): string {
    return `${name}=${value}; Path=${path}; Max-Age=${Math.max(0, maxAgeSeconds)}; HttpOnly; SameSite=Lax${this.#secure ? "; Secure" : ""}`;
  }

  #prune(): void {
    const now = this.#now();
    this.#started = this.#started.filter((expiresAt) => expiresAt > now);
    for (const [id, expiresAt] of this.#made) if (expiresAt <= now) this.#made.delete(id);
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

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** A sign-in in progress as stored (undefined when there is none, or it is not one). */
function pendingSignIn(value: JsonValue | undefined): PendingSignIn | undefined {
  if (!isRecord(value)) return undefined;
  const { verifier, nonce, returnTo, expiresAt } = value;
  return typeof verifier === "string" && typeof nonce === "string" && typeof returnTo === "string" && typeof expiresAt === "number"
    ? { verifier, nonce, returnTo, expiresAt }
    : undefined;
}

/** A signed-in approver as stored. */
function approverSession(value: JsonValue | undefined): ApproverSession | undefined {
  if (!isRecord(value) || !isRecord(value.identity) || !isRecord(value.claims) || typeof value.expiresAt !== "number") return undefined;
  const identity = value.identity as unknown as Identity;
  if (typeof identity.subject !== "string" || typeof identity.issuer !== "string") return undefined;
  return { identity, claims: value.claims, expiresAt: value.expiresAt };
}

/** The shared state cannot be reached: nothing was started, completed or decided. */
function stateDown(res: ServerResponse, error: StateUnavailableError): void {
  log.warn("approval page: the shared state is unreachable; sign-in refused", { reason: error.message });
  send(
    res,
    503,
    messagePage(
      "Sign-in is unavailable right now",
      "The server's shared state cannot be reached, so signing in cannot be started or completed now. Nothing was changed or deleted. Open the approval link again in a little while.",
    ),
    { "retry-after": "5" },
  );
}

function page(res: ServerResponse, status: number, title: string, text: string): void {
  send(res, status, messagePage(title, text));
}
