// The guards both local HTTP servers (the MCP endpoint and the approval page) put in front of
// everything else: the request must name this server in Host (and Origin, when sent), its body is
// read only up to a limit, and secrets are compared in constant time. Also: listening on loopback.
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** The host name a URL (or `host[:port]`) names, as in URLs (lower case, IPv6 in brackets); undefined if unreadable. */
export function hostnameOf(url: string): string | undefined {
  try {
    return new URL(url.includes("://") ? url : `http://${url}`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * Why the request does not name this server (a DNS-rebinding attempt, or a misconfigured proxy), or
 * undefined when it does. `allowed` holds host names as in URLs; with `port`, Host must name it too,
 * and so must Origin when sent (another web app on this computer, at another port, is not this page).
 */
export function hostRefusal(req: IncomingMessage, allowed: ReadonlySet<string>, port?: number): string | undefined {
  const host = req.headers.host ?? "";
  // Only host[:port]: anything else (user info, a path) could make the URL parser name another host.
  if (/[@/\\?#]/.test(host) || !allowed.has(hostnameOf(host) ?? "") || (port !== undefined && portOf(host) !== port))
    return `Host header '${host}' does not name this server`;
  const origin = req.headers.origin;
  if (origin !== undefined && (!allowed.has(hostnameOf(origin) ?? "") || (port !== undefined && portOf(origin) !== port)))
    return `Origin '${origin}' is not this server`;
  return undefined;
}

/** The port a `host[:port]` or an origin (`scheme://host[:port]`) names, its scheme's default when it names none. */
function portOf(hostOrOrigin: string): number | undefined {
  try {
    const url = new URL(hostOrOrigin.includes("://") ? hostOrOrigin : `http://${hostOrOrigin}`);
    return url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
  } catch {
    return undefined;
  }
}

export type BodyRead = { ok: true; body: Buffer } | { ok: false; reason: "too_large" | "unreadable" };

/** Reads a request body of at most `maxBytes`, stopping as soon as it is known to be larger. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyRead> {
  if (Number(req.headers["content-length"] ?? 0) > maxBytes) return { ok: false, reason: "too_large" };
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) return { ok: false, reason: "too_large" };
      chunks.push(chunk);
    }
  } catch {
    return { ok: false, reason: "unreadable" };
  }
  return { ok: true, body: Buffer.concat(chunks) };
}

/**
 * Reads and drops the body of a refused request, so that the connection can be reused and the
 * client reads the answer (a client still sending when the connection is closed may see a reset
 * instead). At most `maxBytes`, the most the server reads of a request it accepts: a larger body
 * (declared, or found while reading) is not read on, and the connection is closed after the answer
 * (`Connection: close` on `res`), so that a client cannot keep the server reading for nothing.
 */
export async function discardBody(req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<void> {
  if (req.readableEnded || req.destroyed) return;
  const tooLarge = () => {
    if (!res.headersSent) res.setHeader("connection", "close");
  };
  if (Number(req.headers["content-length"] ?? 0) > maxBytes) return tooLarge();
  await new Promise<void>((resolve) => {
    let size = 0;
    const done = () => {
      req.off("data", onData);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return;
      req.pause();
      tooLarge();
      done();
    };
    req.on("data", onData);
    req.once("end", done);
    req.once("error", done);
    req.once("close", done);
  });
}

/** Compares secrets without leaking where they differ (digests make the lengths equal). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Starts `server` on 127.0.0.1 (`port` 0: a free one) and resolves to its port; rejects when it cannot listen. */
export function listenOnLoopback(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
