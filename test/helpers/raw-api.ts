// Raw HTTP requests to the simulator with undici: the path goes on the wire exactly as written.
import { getGlobalDispatcher } from "undici";

export const V3 = "application/vnd.newvoicemedia.v3+json";

export interface SentRequest {
  method?: string;
  /** Default: the v3 media type; null sends no Accept header. */
  accept?: string | null;
  /** Bearer token; default sandbox-token; null sends no Authorization header. */
  token?: string | null;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export interface Received {
  status: number;
  headers: Record<string, string>;
  text: string;
  bytes: Buffer;
  // biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary JSON shapes
  json(): any;
}

export async function send(baseUrl: string, path: string, options: SentRequest = {}): Promise<Received> {
  const headers: Record<string, string> = { ...options.headers };
  const accept = options.accept === undefined ? V3 : options.accept;
  if (accept !== null) headers.accept = accept;
  const token = options.token === undefined ? "sandbox-token" : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  // dispatcher.request takes the path as given (no URL parsing, so ".." is not resolved here).
  const base = new URL(baseUrl);
  const res = await getGlobalDispatcher().request({
    origin: base.origin,
    path: base.pathname.replace(/\/$/, "") + path,
    method: (options.method ?? "GET") as "GET",
    headers,
    body: options.body,
    signal: options.signal,
  });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers))
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value;
  const text = bytes.toString("utf8");
  return { status: res.statusCode, headers: flat, text, bytes, json: () => JSON.parse(text) };
}

/** POST to the simulator's token endpoint, form-encoded, as an OAuth client would. */
export function requestToken(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Received> {
  return send(url, "/Auth/connect/token", {
    method: "POST",
    accept: null,
    token: null,
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

export const SANDBOX_CREDENTIALS = { grant_type: "client_credentials", client_id: "sandbox-client", client_secret: "sandbox-secret" };

/** Polls until the condition holds (no timing assumptions beyond a generous ceiling). */
export async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
