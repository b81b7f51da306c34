// The one HTTP client for the VCC Interaction Content API: one keep-alive pool, the required
// headers, a per-request timeout, and every failure mapped through errors.ts.
import { Pool } from "undici";
import type { TokenSource } from "./auth.js";
import { errorForStatus, errorForTransport, type ToolError } from "./errors.js";
import { contentPath, interactionPath } from "./ids.js";

export const ACCEPT_V3 = "application/vnd.newvoicemedia.v3+json";

export interface ApiResponse {
  status: number;
  contentType?: string;
  retryAfter?: string;
  body: string;
}

export type ApiResult =
  | { ok: true; response: ApiResponse }
  | {
      ok: false;
      error: ToolError;
      /** No valid access token could be obtained, so the request was not carried out. */
      noToken?: true;
    };

export interface RequestOptions {
  /** Aborts the request (e.g. the MCP request was cancelled). */
  signal?: AbortSignal;
  /** Words for messages: what the request is about, e.g. "callRecording of interaction …". */
  subject: string;
  /** A shorter limit than VCC_TIMEOUT_MS, e.g. for best-effort lookups. */
  timeoutMs?: number;
}

export interface VccClientOptions {
  apiBaseUrl: string;
  timeoutMs: number;
  tokens: TokenSource;
}

export class VccClient {
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #timeoutMs: number;
  readonly #tokens: TokenSource;

  constructor(options: VccClientOptions) {
    const base = new URL(options.apiBaseUrl);
    this.#pool = new Pool(base.origin, { connections: 4, keepAliveTimeout: 30_000 });
    this.#basePath = base.pathname.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs;
    this.#tokens = options.tokens;
  }

  /** DELETE /interactions/{guid}/content/{contentKey}: 204 is success. */
  deleteContent(guid: string, contentKey: string, options: RequestOptions): Promise<ApiResult> {
    return this.#send("DELETE", contentPath(guid, contentKey), options);
  }

  /** GET /interactions/{guid}: the interaction and the content it still holds. */
  getInteraction(guid: string, options: RequestOptions): Promise<ApiResult> {
    return this.#send("GET", interactionPath(guid), options);
  }

  /**
   * Obtains an access token now, so that credentials that do not work are reported before a person
   * is asked to approve anything. The token is cached for the requests that follow.
   */
  async authenticate(signal?: AbortSignal): Promise<{ ok: true } | { ok: false; error: ToolError }> {
    const token = await this.#tokens.token(signal);
    return token.ok ? { ok: true } : token;
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }

  async #send(method: "GET" | "DELETE", path: string, options: RequestOptions): Promise<ApiResult> {
    for (let attempt = 1; ; attempt++) {
      const token = await this.#tokens.token(options.signal);
      if (!token.ok) return { ok: false, error: token.error, noToken: true };
      const sent = await this.#exchange(method, path, token.value, options);
      if (!sent.ok) return sent;
      const { response } = sent;
      if (response.status >= 200 && response.status < 300) return { ok: true, response };
      // A 401 was not carried out: a token that can be renewed is, and the request is retried once.
      if (response.status === 401 && this.#tokens.invalidate(token.value) && attempt === 1) continue;
      return { ok: false, error: errorForStatus(response, options.subject, method === "GET" ? "read" : "delete", this.#tokens.kind) };
    }
  }

  /** One request on the wire: its answer, or the transport failure mapped to a ToolError. */
  async #exchange(
    method: "GET" | "DELETE",
    path: string,
    accessToken: string,
    options: RequestOptions,
  ): Promise<{ ok: true; response: ApiResponse } | { ok: false; error: ToolError }> {
    const timeoutMs = Math.min(options.timeoutMs ?? this.#timeoutMs, this.#timeoutMs);
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    try {
      const res = await this.#pool.request({
        method,
        path: this.#basePath + path,
        headers: { accept: ACCEPT_V3, authorization: `Bearer ${accessToken}` },
        signal,
      });
      const body = await res.body.text();
      const header = (name: string) => {
        const value = res.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      const response: ApiResponse = {
        status: res.statusCode,
        contentType: header("content-type"),
        retryAfter: header("retry-after"),
        body,
      };
      return { ok: true, response };
    } catch (cause) {
      const kind = options.signal?.aborted ? "cancelled" : timeout.aborted ? "timeout" : "network";
      return { ok: false, error: errorForTransport(cause, options.subject, timeoutMs, kind, method === "GET" ? "read" : "delete") };
    }
  }
}
