// The loopback approval page server: one per process, started on first need, bound to 127.0.0.1.
// It holds no approval state itself: each MCP session's ConfirmationStore attaches as a source, and a
// page is looked up by its unguessable id. Only a same-origin POST carrying the page's anti-forgery
// value records a decision; a GET never changes anything.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { discardBody, hostRefusal, readBody } from "../http-guards.js";
import { log } from "../log.js";
import { messagePage, PAGE_CSP, renderApprovalPage } from "./approval-page.js";
import type { ApprovalChoice, ApprovalPageSource, ApprovalPageView } from "./store.js";

const LOOPBACK = "127.0.0.1";
/** The names the page may be reached by (with its port). */
const PAGE_HOSTS: ReadonlySet<string> = new Set([LOOPBACK, "localhost"]);
/** Page ids are 32 random bytes in base64url. */
const PAGE_PATH = /^\/approve\/([A-Za-z0-9_-]{43})$/;
const MAX_FORM_BYTES = 4096;

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

export class ApprovalServer {
  readonly #sources = new Set<ApprovalPageSource>();
  readonly #port: number;
  #listening: Promise<{ server: Server; port: number }> | undefined;

  /** `port` 0 picks a free port. */
  constructor(options: { port?: number } = {}) {
    this.#port = options.port ?? 0;
  }

  /** A session's store offers its pages; call the returned function when the session ends. */
  attach(source: ApprovalPageSource): () => void {
    this.#sources.add(source);
    return () => this.#sources.delete(source);
  }

  /** The page URL for `pageId`, starting the server if needed. Rejects when it cannot listen. */
  async urlFor(pageId: string): Promise<string> {
    const { port } = await this.#start();
    return `http://${LOOPBACK}:${port}/approve/${pageId}`;
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

  #find(pageId: string): { source: ApprovalPageSource; view: ApprovalPageView } | undefined {
    for (const source of this.#sources) {
      const view = source.page(pageId);
      if (view) return { source, view };
    }
    return undefined;
  }

  async #handle(req: IncomingMessage, res: ServerResponse, port: number): Promise<void> {
    // DNS rebinding: a page on another name that resolves to 127.0.0.1 arrives with its own Host.
    const host = (req.headers.host ?? "").toLowerCase();
    if (hostRefusal(req, PAGE_HOSTS, port)) {
      log.warn("approval page: refused a request with an unexpected Host or Origin header");
      return send(res, 403, messagePage("Refused", `This page is only served at http://${LOOPBACK}:${port}.`));
    }
    const path = (req.url ?? "").split("?")[0] ?? "";
    const match = PAGE_PATH.exec(path);
    if (!match) return send(res, 404, messagePage("Not found", "There is nothing here. Use the approval link your assistant gave you."));
    const pageId = match[1] as string;

    const method = req.method ?? "GET";
    if (method !== "GET" && method !== "HEAD" && method !== "POST") {
      return send(res, 405, messagePage("Not allowed", "This page only accepts GET and POST."), { allow: "GET, HEAD, POST" });
    }

    const found = this.#find(pageId);
    if (!found) {
      if (method === "POST") await discardBody(req);
      return send(
        res,
        404,
        messagePage(
          "This approval link is not valid",
          "It may have expired or been used, or the server was restarted. Nothing was deleted through it. Return to your assistant and ask again if you still want the deletion.",
        ),
      );
    }
    if (method !== "POST") return send(res, found.view.state === "expired" ? 410 : 200, renderApprovalPage(found.view, path));

    const crossSite = crossOriginReason(req, `http://${host}`);
    if (crossSite) {
      await discardBody(req);
      log.warn(`approval page: refused a POST (${crossSite})`);
      return send(res, 403, messagePage("Refused", "This form can only be sent from the approval page itself. Nothing was changed."));
    }
    if (!(req.headers["content-type"] ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded")) {
      await discardBody(req);
      return send(res, 415, messagePage("Refused", "Unexpected form encoding. Nothing was changed."));
    }
    const body = await readForm(req);
    const formKey = body?.get("formKey") ?? "";
    const decision = body?.get("decision");
    if (!body || !formKey || (decision !== "approve" && decision !== "reject")) {
      return send(res, 400, messagePage("Refused", "The form was incomplete. Nothing was changed. Open the approval link again."));
    }

    const outcome = found.source.decide(pageId, formKey, decision as ApprovalChoice);
    if (outcome.ok) {
      log.info(`approval page: the person ${outcome.state === "approved" ? "approved" : "rejected"} ${describe(found.view)}`);
      // Post/Redirect/Get: reloading the result page never re-sends the form.
      return send(res, 303, "", { location: path });
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
      case "decided":
        log.warn("approval page: refused a second decision for the same page");
        return send(res, 409, renderApprovalPage({ ...found.view, state: outcome.state }, path));
      case "expired":
        return send(res, 410, renderApprovalPage({ ...found.view, state: "expired" }, path));
      case "unknown":
        return send(res, 404, messagePage("This approval link is not valid", "Nothing was deleted through it."));
    }
  }
}

/** Why a POST does not come from the page's own origin, or undefined when it does. */
function crossOriginReason(req: IncomingMessage, origin: string): string | undefined {
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

function send(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    ...(html ? { "content-type": "text/html; charset=utf-8" } : {}),
    "content-length": String(Buffer.byteLength(html)),
    ...headers,
  });
  res.end(html);
}

/** The urlencoded form, or undefined when it is too large or unreadable. */
async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const read = await readBody(req, MAX_FORM_BYTES);
  return read.ok ? new URLSearchParams(read.body.toString("utf8")) : undefined;
}

let processServer: ApprovalServer | undefined;

/** The approval page server of this process (one for all MCP sessions). */
export function processApprovalServer(port?: number): ApprovalServer {
  processServer ??= new ApprovalServer({ port });
  return processServer;
}
