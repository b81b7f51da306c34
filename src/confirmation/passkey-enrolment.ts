// Enrolling a passkey: `vcc-interaction-content-mcp passkey add` serves this one page itself, on
// http://localhost:<free port>, under a one-time link it prints in the person's terminal. Nothing
// about enrolment is reachable through MCP or the approval page server, so a model can neither start
// one nor learn its link. The link works once, for a few minutes; with a passkey already registered,
// the page first asks for it (an assertion), so a further passkey needs an existing one.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { hostRefusal, listenOnLoopback, sameSecret } from "../http-guards.js";
import { log } from "../log.js";
import { escapeHtml, messagePage, PASSKEY_PAGE_CSP, pageDocument } from "./approval-page.js";
import { crossOriginReason, discardForm, readForm, send as sendPage } from "./approval-server.js";
import type { Passkeys, StoredPasskey } from "./passkeys.js";

export type EnrolmentResult = { kind: "enrolled"; passkey: StoredPasskey } | { kind: "expired" } | { kind: "refused" };

export interface Enrolment {
  /** The one-time link to print for the person. */
  url: string;
  expiresAt: Date;
  /** Settles once: a passkey was added, the link expired, or too many failed attempts used it up. */
  done: Promise<EnrolmentResult>;
  close(): Promise<void>;
}

/** How long a link stays valid unless told otherwise. */
export const ENROLMENT_TTL_MS = 5 * 60_000;
/** Failed attempts after which the link is used up. */
const MAX_FAILURES = 5;
const EYEBROW = "Vonage Contact Center · approval passkeys";

const randomId = () => randomBytes(32).toString("base64url");

/** A page with the pages' security headers; its CSP allows the passkey script. */
function send(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
  sendPage(res, status, html, { "content-security-policy": PASSKEY_PAGE_CSP, ...headers });
}

/** Starts the enrolment page on 127.0.0.1 (`port` 0: a free one) and resolves to its link. */
export async function startEnrolment(options: { store: Passkeys; ttlMs?: number; port?: number }): Promise<Enrolment> {
  const { store } = options;
  const ttlMs = options.ttlMs ?? ENROLMENT_TTL_MS;
  const webauthn = await import("./webauthn.js");
  const existing = await store.list();
  const userId = await store.userId();
  const linkId = randomId();
  const registerChallenge = randomId();
  const proveChallenge = randomId();
  const register = await webauthn.registrationOptions({ userId, challenge: registerChallenge, existing });
  const expiresAt = new Date(Date.now() + ttlMs);

  let state: "open" | "busy" | "used" | "expired" = "open";
  let failures = 0;
  let settle: (result: EnrolmentResult) => void = () => {};
  const done = new Promise<EnrolmentResult>((resolve) => {
    settle = resolve;
  });
  const finish = (result: EnrolmentResult) => {
    clearTimeout(timer);
    settle(result);
  };
  const timer = setTimeout(() => {
    if (state === "open" || state === "busy") {
      state = "expired";
      finish({ kind: "expired" });
    }
  }, ttlMs);

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error("passkey enrolment: request failed", { error });
      if (!res.headersSent) send(res, 500, messagePage("Something went wrong", "No passkey was added. Run the command again."));
      else res.destroy();
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 15_000;
  const port = await listenOnLoopback(server, options.port);
  const origin = `http://localhost:${port}`;
  const path = `/enrol/${linkId}`;

  const gone = () =>
    messagePage(
      state === "expired" ? "This enrolment link has expired" : "This enrolment link was already used",
      "Each link works once, for a few minutes. No passkey was added through it now. To add a passkey, run `vcc-interaction-content-mcp passkey add` again in a terminal on this computer.",
    );

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (hostRefusal(req, new Set(["localhost", "127.0.0.1"]), port))
      return send(res, 403, messagePage("Refused", `This page is only served at ${origin}.`));
    const host = (req.headers.host ?? "").toLowerCase();
    const requested = (req.url ?? "").split("?")[0] ?? "";
    const method = req.method ?? "GET";
    const known = requested.startsWith("/enrol/") && sameSecret(requested.slice("/enrol/".length), linkId);
    if (!known) {
      if (method === "POST") await discardForm(req, res);
      return send(res, 404, messagePage("Not found", "There is nothing here. Use the link the terminal shows."));
    }
    // WebAuthn works on the localhost origin only.
    if (host !== `localhost:${port}` && (method === "GET" || method === "HEAD")) return send(res, 308, "", { location: origin + path });
    if (method === "GET" || method === "HEAD") {
      if (state === "used" || state === "expired") return send(res, 410, gone());
      return send(
        res,
        200,
        enrolmentPage({
          register,
          prove: existing.length ? { challenge: proveChallenge, ids: existing.map((p) => p.id) } : undefined,
          existing: existing.length,
          expiresAt,
          path,
        }),
      );
    }
    if (method !== "POST")
      return send(res, 405, messagePage("Not allowed", "This page only accepts GET and POST."), { allow: "GET, HEAD, POST" });

    const crossSite = crossOriginReason(req, `http://${host}`);
    if (crossSite) {
      await discardForm(req, res);
      log.warn(`passkey enrolment: refused a POST (${crossSite})`);
      return send(res, 403, messagePage("Refused", "This form can only be sent from the enrolment page itself. No passkey was added."));
    }
    const form = await readForm(req);
    if (state === "used" || state === "expired") return send(res, 410, gone());
    if (state === "busy")
      return send(
        res,
        409,
        messagePage("Already in progress", "Another answer for this link is being checked. No passkey was added by this one."),
      );
    if (!form) return send(res, 400, messagePage("Refused", "The form was incomplete. No passkey was added."));

    state = "busy";
    const failed = (reason: string) => {
      failures++;
      log.warn(`passkey enrolment: refused (${reason})`);
      state = failures >= MAX_FAILURES ? "used" : "open";
      if (state === "used") finish({ kind: "refused" });
      return send(
        res,
        403,
        messagePage(
          "No passkey was added",
          state === "used"
            ? "Too many failed attempts: this link is used up. Run `vcc-interaction-content-mcp passkey add` again."
            : existing.length
              ? "The check failed: adding a passkey needs one you already registered, confirmed first, then the new one. Open the link again to retry."
              : "The new passkey could not be verified. Open the link again to retry.",
        ),
      );
    };
    // WebAuthn answers are checked against the origin the page is served on (its relying party is
    // localhost), never one taken from the Host header.
    if (existing.length) {
      const proved = await webauthn.verifyAssertion(form.get("assertion") ?? "", {
        challenge: proveChallenge,
        origin,
        passkeys: existing,
      });
      if (!proved.ok) return failed(`no valid assertion of an existing passkey: ${proved.reason}`);
    }
    const registered = await webauthn.verifyRegistration(form.get("registration") ?? "", {
      challenge: registerChallenge,
      origin,
      now: new Date(),
    });
    if (!registered.ok) return failed(`registration: ${registered.reason}`);
    if (Date.now() >= expiresAt.getTime()) {
      state = "expired";
      return send(res, 410, gone());
    }
    try {
      await store.add(registered.passkey);
    } catch (error) {
      state = "open";
      throw error;
    }
    state = "used";
    send(
      res,
      200,
      pageDocument(
        "Passkey added",
        `<h1>Passkey added.</h1>
<p>From now on, approving a deletion on the approval page asks for this passkey (when the server runs with <code>VCC_APPROVAL_PASSKEY=required</code>).</p>
<p>Its id: <code>${escapeHtml(registered.passkey.id)}</code>. You can close this page and return to the terminal.</p>`,
        { eyebrow: EYEBROW },
      ),
    );
    finish({ kind: "enrolled", passkey: registered.passkey });
  }

  return {
    url: origin + path,
    expiresAt,
    done,
    close: async () => {
      clearTimeout(timer);
      if (state === "open" || state === "busy") state = "expired";
      finish({ kind: "expired" });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function enrolmentPage(options: {
  register: unknown;
  prove: { challenge: string; ids: string[] } | undefined;
  existing: number;
  expiresAt: Date;
  path: string;
}): string {
  const data = JSON.stringify({ register: options.register, ...(options.prove ? { prove: options.prove } : {}) });
  const steps = options.existing
    ? `<p>${options.existing === 1 ? "A passkey is" : `${options.existing} passkeys are`} already registered: first confirm with one of them, then create the new one.</p>`
    : "<p>Your browser or device will ask you to create a passkey: your fingerprint, face, device PIN or a security key.</p>";
  return pageDocument(
    "Add a passkey for approving deletions",
    `<h1>Add a passkey for approving deletions</h1>
<p>With a passkey, approving a deletion on the approval page needs your fingerprint, face, device PIN or security key: an assistant cannot approve on its own.</p>
<p class="warning"><strong>Only continue if you ran <code>passkey add</code> in your terminal just now.</strong></p>
${steps}
<form method="post" action="${escapeHtml(options.path)}" data-passkey="${escapeHtml(data)}">
<div class="actions">
<button class="primary" type="submit">Add passkey</button>
</div>
</form>
<p class="small" id="passkey-status" role="status" aria-live="polite">This link works once and expires at ${escapeHtml(options.expiresAt.toISOString().slice(11, 16))} UTC.</p>
<noscript><p class="warning">Adding a passkey needs JavaScript in this browser.</p></noscript>`,
    { eyebrow: EYEBROW, script: true },
  );
}
