// The loopback approval page server: one per process, started on first need, bound to 127.0.0.1.
// It holds no approval state itself: pages and decisions live in the shared state (`state.tokens`,
// attached by the sessions that use pages, or given at construction), so a page opened through any
// replica works, and the call waiting on the replica that issued it learns the decision. A page is
// looked up by its unguessable id. Only a same-origin POST carrying the page's anti-forgery value
// records a decision; a GET never changes anything. While the shared state cannot be reached, pages
// answer that nothing can be shown or decided now (fail closed).
//
// With passkeys (VCC_APPROVAL_PASSKEY=required) the page is served at http://localhost:<port> (WebAuthn
// needs a domain; localhost is a secure context), and an approval also needs a WebAuthn assertion,
// verified here against a registered passkey, over the page's own challenge. Without one, nothing is
// approved, whatever the form says. Cancel needs no passkey. A page issued with passkeys required
// records that it needs one, so a page server without passkeys (another process or replica sharing
// the state) refuses to approve it.
//
// On a team server (VCC_HTTP_AUTH=oauth with VCC_OIDC_CLIENT_ID) the same pages are served by the MCP
// HTTP server on its public origin instead, and a gate (src/auth/approver-signin.ts) decides who is
// looking: a page is only shown to a person who signed in, and only one the rules allow may decide.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describeIdentity, type Identity } from "../core/identity.js";
import { discardBody, hostRefusal, readBody, sameSecret } from "../http-guards.js";
import { log } from "../log.js";
import { StateUnavailableError, type TokenStore } from "../state/types.js";
import { messagePage, PAGE_CSP, PASSKEY_PAGE_CSP, type PageViewer, renderApprovalPage } from "./approval-page.js";
import { approvalPagesNeedSignIn } from "./confirmer.js";
import type { PasskeyGate } from "./passkeys.js";
import { type ApprovalChoice, type ApprovalPageView, pageView } from "./store.js";

const LOOPBACK = "127.0.0.1";
/** The names the page may be reached by (with its port). */
const PAGE_HOSTS: ReadonlySet<string> = new Set([LOOPBACK, "localhost"]);
/** Page ids are 32 random bytes in base64url. */
const PAGE_PATH = /^\/approve\/([A-Za-z0-9_-]{43})$/;
/** Enough for a passkey's answer (about 1 kB) with room to spare. */
const MAX_FORM_BYTES = 16_384;

const SECURITY_HEADERS: Record<string, string> = {
  "cache-control": "no-store, max-age=0",
  pragma: "no-cache",
  "content-security-policy": PAGE_CSP,
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  // same-origin keeps the Origin header on the page's own POST and sends nothing to other sites.
  "referrer-policy": "same-origin",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/** Team server: who is looking at an approval page, and what they may do there. */
export interface ApproverGate {
  /** Answers the gate's own requests under /approve/ (the sign-in's return); false when `path` is not one. */
  handleOwn(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
  /** The person signed in on this browser, if any (throws StateUnavailableError when that cannot be known). */
  approver(req: IncomingMessage): Promise<Identity | undefined>;
  /** Sends the browser to sign in, returning to `returnTo` afterwards. */
  signIn(req: IncomingMessage, res: ServerResponse, returnTo: string): Promise<void>;
  /** Why `approver` may not make `choice` on this page (undefined: they may). */
  refusal(view: ApprovalPageView, approver: Identity, choice: ApprovalChoice): string | undefined;
}

export interface PublicPages {
  /** The origin the pages are served at (the team server's public URL). */
  origin: string;
  gate: ApproverGate;
}

export class ApprovalServer {
  /** The shared states whose pages this serves (normally one), with how many sessions attached each. */
  readonly #sources = new Map<TokenStore, number>();
  readonly #port: number;
  readonly #passkeys: PasskeyGate | undefined;
  readonly #public: PublicPages | undefined;
  #listening: Promise<{ server: Server; port: number }> | undefined;

  /**
   * `port` 0 picks a free port. With `passkeys`, approving needs a registered passkey. With
   * `publicPages` (team server), nothing listens here: the MCP HTTP server passes requests to handle().
   */
  constructor(options: { port?: number; passkeys?: PasskeyGate; publicPages?: PublicPages; tokens?: TokenStore } = {}) {
    // A store given here is served for good (a team server's pages are reachable before any session).
    if (options.tokens) this.#sources.set(options.tokens, Number.POSITIVE_INFINITY);
    this.#port = options.port ?? 0;
    this.#passkeys = options.passkeys;
    this.#public = options.publicPages;
    if (options.publicPages) approvalPagesNeedSignIn(options.publicPages.origin);
  }

  /** Team server: answers a request under /approve/ that reached the MCP HTTP server (Host already checked). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return this.#handle(req, res, 0).catch((error: unknown) => {
      log.error("approval page: request failed", { error });
      if (!res.headersSent) send(res, 500, messagePage("Something went wrong", "Nothing was changed. Try again."));
      else res.destroy();
    });
  }

  /** The name in the page's links: localhost for passkeys (a WebAuthn relying party must be a domain). */
  get #hostName(): string {
    return this.#passkeys ? "localhost" : LOOPBACK;
  }

  /** A session's shared state offers its pages; call the returned function when the session ends. */
  attach(tokens: TokenStore): () => void {
    this.#sources.set(tokens, (this.#sources.get(tokens) ?? 0) + 1);
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      const count = (this.#sources.get(tokens) ?? 1) - 1;
      if (count > 0) this.#sources.set(tokens, count);
      else this.#sources.delete(tokens);
    };
  }

  /** The page URL for `pageId`, starting the server if needed. Rejects when it cannot listen. */
  async urlFor(pageId: string): Promise<string> {
    if (this.#public) return `${this.#public.origin}/approve/${pageId}`;
    const { port } = await this.#start();
    return `http://${this.#hostName}:${port}/approve/${pageId}`;
  }

  /** Stops listening (if it was) and ends open connections; the next need starts it again. */
  async close(): Promise<void> {
    const listening = this.#listening;
    this.#listening = undefined;
    const started = await listening?.catch(() => undefined);
    if (!started) return;
    await new Promise<void>((resolve) => {
      started.server.close(() => resolve());
      started.server.closeAllConnections();
    });
  }

  #start(): Promise<{ server: Server; port: number }> {
    this.#listening ??= new Promise<{ server: Server; port: number }>((resolve, reject) => {
      const server = createServer((req, res) => {
        this.#handle(req, res, (server.address() as AddressInfo).port).catch((error: unknown) => {
          log.error("approval page: request failed", { error });
          if (!res.headersSent) send(res, 500, messagePage("Something went wrong", "Nothing was changed. Try again."));
          else res.destroy();
        });
      });
      // Slow or idle clients must not hold sockets for long.
      server.requestTimeout = 30_000;
      server.headersTimeout = 15_000;
      server.once("error", reject);
      server.listen(this.#port, LOOPBACK, () => {
        server.off("error", reject);
        server.on("error", (error) => log.error("approval page server error", { error }));
        const port = (server.address() as AddressInfo).port;
        log.info(`approval page listening on http://${LOOPBACK}:${port}`);
        resolve({ server, port });
      });
    }).catch((error: unknown) => {
      // Try again on the next need (the port may be free by then).
      this.#listening = undefined;
      throw error;
    });
    return this.#listening;
  }

  /** The page and the store that holds it; throws StateUnavailableError. */
  async #find(pageId: string): Promise<{ source: TokenStore; view: ApprovalPageView } | undefined> {
    for (const source of this.#sources.keys()) {
      const view = await source.page(pageId);
      if (view) return { source, view: pageView(view) };
    }
    return undefined;
  }

  async #handle(req: IncomingMessage, res: ServerResponse, port: number): Promise<void> {
    try {
      return await this.#serve(req, res, port);
    } catch (error) {
      if (!(error instanceof StateUnavailableError)) throw error;
      log.warn("approval page: the shared state is unreachable; nothing was shown or decided", { reason: error.message });
      if (res.headersSent) return void res.destroy();
      await discardForm(req, res).catch(() => {});
      const unknown = error.mayHaveApplied && req.method === "POST";
      return send(
        res,
        503,
        messagePage(
          "Decisions cannot be recorded right now",
          unknown
            ? "The server's shared state stopped answering while your decision was being recorded, so whether it was recorded is unknown. Nothing was deleted through this page yet. Reload this page in a little while to see the decision."
            : "The server's shared state cannot be reached right now, so this page cannot be shown and no decision can be recorded. Nothing was changed or deleted. Try again in a little while.",
        ),
        { "retry-after": "5" },
      );
    }
  }

  async #serve(req: IncomingMessage, res: ServerResponse, port: number): Promise<void> {
    // Pages with the passkey script allow it (by hash); the others allow no script at all.
    const csp: Record<string, string> = this.#passkeys ? { "content-security-policy": PASSKEY_PAGE_CSP } : {};
    // A body not read (a refusal) is dropped first, up to a form's size (see discardForm).
    const reply = async (status: number, html: string, headers: Record<string, string> = {}) => {
      await discardForm(req, res);
      send(res, status, html, { ...csp, ...headers });
    };
    // DNS rebinding: a page on another name that resolves to 127.0.0.1 arrives with its own Host.
    // (A team server's pages: the MCP HTTP server checked Host already.)
    const publicPages = this.#public;
    const host = (req.headers.host ?? "").toLowerCase();
    const origin = publicPages ? publicPages.origin : `http://${host}`;
    if (!publicPages && hostRefusal(req, PAGE_HOSTS, port)) {
      log.warn("approval page: refused a request with an unexpected Host or Origin header");
      return reply(403, messagePage("Refused", `This page is only served at http://${this.#hostName}:${port}.`));
    }
    const path = (req.url ?? "").split("?")[0] ?? "";
    if (publicPages && (await publicPages.gate.handleOwn(req, res, path))) return;
    // Passkeys work on the localhost origin only: a link opened as 127.0.0.1 moves there.
    if (this.#passkeys && host !== `localhost:${port}` && (req.method === "GET" || req.method === "HEAD"))
      return reply(308, "", { location: `http://localhost:${port}${path}` });
    const match = PAGE_PATH.exec(path);
    if (!match) return reply(404, messagePage("Not found", "There is nothing here. Use the approval link your assistant gave you."));
    const pageId = match[1] as string;

    const method = req.method ?? "GET";
    if (method !== "GET" && method !== "HEAD" && method !== "POST") {
      return reply(405, messagePage("Not allowed", "This page only accepts GET and POST."), { allow: "GET, HEAD, POST" });
    }

    const found = await this.#find(pageId);
    if (!found) {
      return reply(
        404,
        messagePage(
          "This approval link is not valid",
          "It may have expired or been used, or the server was restarted. Nothing was deleted through it. Return to your assistant and ask again if you still want the deletion.",
        ),
      );
    }
    // Team server: the page shows who asked and what is to be deleted, so only to a person who signed in.
    const approver = publicPages ? await publicPages.gate.approver(req) : undefined;
    if (publicPages && !approver) {
      if (method === "POST") {
        return reply(403, messagePage("Sign in first", "Nothing was changed. Open the approval link again and sign in."));
      }
      return publicPages.gate.signIn(req, res, path);
    }
    let viewer: PageViewer | undefined;
    if (approver && publicPages) {
      const refusal = publicPages.gate.refusal(found.view, approver, "approve");
      viewer = {
        approver,
        ...(refusal ? { refusal } : {}),
        mayCancel: publicPages.gate.refusal(found.view, approver, "reject") === undefined,
      };
    }
    // A page that needs a passkey, served by a page server that checks none (another server on the
    // same shared state): approving here is refused, so the page does not offer it.
    if (found.view.passkeyRequired && !this.#passkeys)
      viewer = {
        ...viewer,
        refusal:
          "it needs a passkey, and this page server cannot check one (it runs without VCC_APPROVAL_PASSKEY=required). Open the approval link your assistant gave you and approve there with your passkey, or Cancel here.",
      };
    if (method !== "POST") {
      const passkey =
        this.#passkeys && found.view.state === "pending" ? { credentialIds: await this.#passkeys.credentialIds() } : undefined;
      return reply(found.view.state === "expired" ? 410 : 200, renderApprovalPage(found.view, path, new Date(), passkey, viewer));
    }

    const crossSite = crossOriginReason(req, origin);
    if (crossSite) {
      log.warn(`approval page: refused a POST (${crossSite})`);
      return reply(403, messagePage("Refused", "This form can only be sent from the approval page itself. Nothing was changed."));
    }
    if (!(req.headers["content-type"] ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded")) {
      return reply(415, messagePage("Refused", "Unexpected form encoding. Nothing was changed."));
    }
    const body = await readForm(req);
    const formKey = body?.get("formKey") ?? "";
    const decision = body?.get("decision");
    if (!body || !formKey || (decision !== "approve" && decision !== "reject")) {
      return reply(400, messagePage("Refused", "The form was incomplete. Nothing was changed. Open the approval link again."));
    }

    // A passkey approval: the assertion must answer this page's challenge, made on the origin the page
    // is served on (the relying party is localhost; never an origin taken from the Host header). It is
    // verified for every approval with the page's own form key, whatever the page looked like when it
    // was read above: decide() records an approval only as the result allows, in the same atomic step
    // that finds the page pending and unexpired. A page issued with passkeys required cannot be
    // approved through a page server without them (passkeyVerified stays undefined: decide() refuses).
    const view = found.view;
    let passkeyVerified: boolean | undefined;
    let passkeyId: string | undefined;
    let passkeyFailure = "no passkey answer was checked";
    if (this.#passkeys && decision === "approve") {
      passkeyVerified = false;
      if (sameSecret(formKey, view.formKey)) {
        const checked = view.challenge
          ? await this.#passkeys.verify(body.get("assertion") ?? "", view.challenge, `http://localhost:${port}`)
          : ({ ok: false, reason: "the page has no challenge" } as const);
        if (checked.ok) {
          passkeyVerified = true;
          passkeyId = checked.id;
          log.info(`approval page: passkey ${checked.id.slice(0, 8)}… verified`);
        } else passkeyFailure = checked.reason;
      }
    }

    const refused = approver && publicPages?.gate.refusal(found.view, approver, decision);
    if (approver && refused) {
      log.warn(`approval page: refused a decision by ${describeIdentity(approver)}: ${refused}`);
      return reply(403, messagePage("Not allowed", `Nothing was changed: ${refused}`));
    }
    const outcome = await found.source.decide(pageId, formKey, decision as ApprovalChoice, approver, {
      passkeyVerified,
      ...(passkeyId ? { passkeyId } : {}),
    });
    if (outcome.ok) {
      log.info(
        `approval page: ${approver ? describeIdentity(approver) : "the person"} ${outcome.state === "approved" ? "approved" : "rejected"} ${describe(found.view)}`,
      );
      // Post/Redirect/Get: reloading the result page never re-sends the form.
      return reply(303, "", { location: path });
    }
    switch (outcome.reason) {
      case "forged":
        log.warn("approval page: refused a POST without the page's anti-forgery value");
        return send(
          res,
          403,
          messagePage(
            "This form could not be verified",
            "Nothing was changed. Open the approval link your assistant gave you again and decide on that page.",
          ),
        );
      case "passkey_required":
        if (!this.#passkeys) {
          log.warn(
            "approval page: refused an approval of a page issued with passkeys required: this server checks no passkeys (every server sharing VCC_STATE_URL needs the same VCC_APPROVAL_PASSKEY)",
          );
          return send(
            res,
            403,
            messagePage(
              "Not approved: this page needs a passkey",
              "The server that asked for this deletion requires a passkey to approve it, and this page server cannot check one (it runs without VCC_APPROVAL_PASSKEY=required). Nothing was approved or deleted. Open the approval link your assistant gave you and approve there with your passkey, or Cancel. An administrator should give every server that shares VCC_STATE_URL the same VCC_APPROVAL_PASSKEY.",
            ),
          );
        }
        log.warn(`approval page: refused an approval without a valid passkey assertion (${passkeyFailure})`);
        return send(
          res,
          403,
          messagePage(
            "Not approved: the passkey check failed",
            "Approving needs a passkey registered with this server, confirmed on this page. Nothing was approved or deleted. Open the approval link again and approve to try again, or Cancel.",
          ),
        );
      case "decided":
        log.warn("approval page: refused a second decision for the same page");
        return reply(409, renderApprovalPage({ ...found.view, state: outcome.state }, path));
      case "expired":
        return reply(410, renderApprovalPage({ ...found.view, state: "expired" }, path));
      case "unknown":
        return reply(404, messagePage("This approval link is not valid", "Nothing was deleted through it."));
    }
  }
}

/** Why a POST does not come from the page's own origin, or undefined when it does. */
export function crossOriginReason(req: IncomingMessage, origin: string): string | undefined {
  const fetchSite = req.headers["sec-fetch-site"];
  if (fetchSite !== undefined && fetchSite !== "same-origin") return `Sec-Fetch-Site ${String(fetchSite)}`;
  const originHeader = req.headers.origin;
  if (originHeader !== undefined) return originHeader.toLowerCase() === origin ? undefined : "cross-origin Origin";
  // Browsers send Origin on every form POST; without it, insist on a same-origin Referer.
  const referer = req.headers.referer;
  if (referer === undefined) return "no Origin or Referer";
  try {
    return new URL(referer).origin === origin ? undefined : "cross-origin Referer";
  } catch {
    return "malformed Referer";
  }
}

function describe(view: ApprovalPageView): string {
  return view.items.map((item) => `content '${item.contentKey}' of interaction ${item.guid}`).join(", ");
}

/** A page (or an empty redirect) with the pages' security headers. */
export function send(res: ServerResponse, status: number, html: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    ...(html ? { "content-type": "text/html; charset=utf-8" } : {}),
    "content-length": String(Buffer.byteLength(html)),
    ...headers,
  });
  res.end(html);
}

/** Drops the body of a refused form post, up to the size of a form this server reads (see discardBody). */
export function discardForm(req: IncomingMessage, res: ServerResponse): Promise<void> {
  return discardBody(req, res, MAX_FORM_BYTES);
}

/** The urlencoded form, or undefined when it is too large or unreadable. */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const read = await readBody(req, MAX_FORM_BYTES);
  return read.ok ? new URLSearchParams(read.body.toString("utf8")) : undefined;
}

const processServers = new Map<string, ApprovalServer>();

/**
 * The approval page server of this process (one for all MCP sessions). A process has one setting;
 * servers built in-process with other settings (tests) get their own, so that a page without passkeys
 * never serves a session that requires them. `passkeys.key` names the passkey store.
 */
export function processApprovalServer(port?: number, passkeys?: { key: string; gate: PasskeyGate }): ApprovalServer {
  const key = passkeys ? `passkeys ${passkeys.key}` : "plain";
  let server = processServers.get(key);
  if (!server) {
    server = new ApprovalServer({ port, passkeys: passkeys?.gate });
    processServers.set(key, server);
  }
  return server;
}
